//! Large, realistic CloudTrail log files for benchmarks (`make bench`).
//!
//! The demo trail (`demo/`) is built for detection: a handful of callers with a daily rhythm and
//! injected incidents. Benchmarks need something else: files as large as CloudTrail ever delivers
//! (up to a million events), whose records have the shape and size of real ones (1–2 KB: a full
//! `userIdentity` with session context, TLS details, request parameters and response elements),
//! spread over many services, APIs, identities and user agents, so that parsing, counting and
//! state sizes are measured on what a busy account really sends. Output is deterministic for a
//! seed.
//!
//! The APIs, errors, user agents and identities drawn from are in `catalogue`; this module
//! renders records from them and writes the files.

use crate::base::time::Minute;
use flate2::{Compression, write::GzEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io::{self, Write};

/// One log file to generate.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub account: String,
    pub region: String,
    /// Delivery minute (in the file name); events fall in the five minutes before it.
    pub delivered: Minute,
    pub events: u64,
    pub seed: u64,
}

impl FileSpec {
    /// The object key CloudTrail would use for this file.
    pub fn key(&self) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5eed);
        let suffix: String = (0..16)
            .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
            .collect();
        crate::cloudtrail::writer::key(&self.account, &self.region, self.delivered, &suffix)
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Write the gzip-compressed log file for `spec` to `out`, one record at a time (memory stays
/// flat for a million events). Returns the uncompressed size.
pub fn write_gz(spec: &FileSpec, out: impl Write) -> io::Result<u64> {
    let mut gz = GzEncoder::new(out, Compression::default());
    let n = write_json(spec, &mut gz)?;
    gz.finish()?.flush()?;
    Ok(n)
}

/// Write the uncompressed log file (`{"Records":[...]}`). Returns its size.
pub fn write_json(spec: &FileSpec, out: impl Write) -> io::Result<u64> {
    let mut g = Generator::new(spec);
    let records = (0..spec.events).map(|_| {
        let mut record = String::with_capacity(2048);
        g.record(&mut record);
        record
    });
    crate::cloudtrail::writer::write_records(out, records)
}

/// A whole gzip log file in memory (for benchmarks of small files).
pub fn gz_bytes(spec: &FileSpec) -> Vec<u8> {
    let mut v = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_gz(spec, &mut v);
    v
}

mod catalogue;

use catalogue::{AGENTS, APIS, Api, ERRORS, Params, ROLES, SERVICES, USERS, Who};

struct Generator<'a> {
    spec: &'a FileSpec,
    rng: ChaCha8Rng,
    cumulative: Vec<u32>,
    total_weight: u32,
    first_second: i64,
}

impl<'a> Generator<'a> {
    fn new(spec: &'a FileSpec) -> Self {
        let mut acc = 0;
        let cumulative = APIS
            .iter()
            .map(|a| {
                acc += a.weight;
                acc
            })
            .collect();
        Generator {
            spec,
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            cumulative,
            total_weight: acc,
            first_second: spec.delivered.plus(-5).0 * 60,
        }
    }

    fn api(&mut self) -> &'static Api {
        let x = self.rng.random_range(0..self.total_weight);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &APIS[i.min(APIS.len() - 1)]
    }

    fn who(&mut self) -> Who {
        // Skewed: low indices are the busy principals.
        let r: f64 = self.rng.random();
        match self.rng.random_range(0..20) {
            0..=14 => Who::Role(ROLES[((r * r) * ROLES.len() as f64) as usize]),
            15..=17 => Who::User(USERS[((r * r) * USERS.len() as f64) as usize]),
            _ => Who::Service(SERVICES[(r * SERVICES.len() as f64) as usize]),
        }
    }

    fn hex(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            let d = self.rng.random_range(0..16u8);
            out.push(char::from_digit(u32::from(d), 16).unwrap_or('0'));
        }
    }

    fn uuid(&mut self, out: &mut String) {
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            self.hex(out, n);
        }
    }

    fn upper(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push(ALNUM[self.rng.random_range(0..26)] as char);
        }
    }

    fn record(&mut self, s: &mut String) {
        let api = self.api();
        let who = self.who();
        let acct = self.spec.account.as_str();
        let region = self.spec.region.as_str();
        let t = self.first_second + self.rng.random_range(0..300);
        let time =
            Minute(t.div_euclid(60)).to_datetime() + chrono::Duration::seconds(t.rem_euclid(60));
        let time = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let error = (self.rng.random_range(0..100) < 3)
            .then(|| ERRORS[self.rng.random_range(0..ERRORS.len())]);
        let agent = match who {
            Who::Service(svc) => svc,
            _ => AGENTS[self.rng.random_range(0..AGENTS.len())],
        };
        let session = self.rng.random_range(0..40u32);
        let _ = write!(s, "{{\"eventVersion\":\"1.09\",\"userIdentity\":");
        match who {
            Who::Role(role) => {
                let _ = write!(
                    s,
                    "{{\"type\":\"AssumedRole\",\"principalId\":\"AROA{id}:session-{session}\",\
                     \"arn\":\"arn:aws:sts::{acct}:assumed-role/{role}/session-{session}\",\
                     \"accountId\":\"{acct}\",\"accessKeyId\":\"ASIA",
                    id = role.len() * 7919 + 100_000_000_000
                );
                self.upper(s, 16);
                let _ = write!(
                    s,
                    "\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\
                     \"principalId\":\"AROA{id}\",\"arn\":\"arn:aws:iam::{acct}:role/{role}\",\
                     \"accountId\":\"{acct}\",\"userName\":\"{role}\"}},\"webIdFederationData\":{{}},\
                     \"attributes\":{{\"creationDate\":\"{date}T00:00:00Z\",\"mfaAuthenticated\":\"false\"}}}}}}",
                    id = role.len() * 7919 + 100_000_000_000,
                    date = &time[..10],
                );
            }
            Who::User(user) => {
                let _ = write!(
                    s,
                    "{{\"type\":\"IAMUser\",\"principalId\":\"AIDA{id}\",\
                     \"arn\":\"arn:aws:iam::{acct}:user/{user}\",\"accountId\":\"{acct}\",\
                     \"accessKeyId\":\"AKIA",
                    id = user.len() * 104_729 + 200_000_000_000
                );
                self.upper(s, 16);
                let _ = write!(s, "\",\"userName\":\"{user}\"}}");
            }
            Who::Service(svc) => {
                let _ = write!(s, "{{\"type\":\"AWSService\",\"invokedBy\":\"{svc}\"}}");
            }
        }
        let ip = match who {
            Who::Service(svc) => svc.to_string(),
            _ => format!(
                "{}.{}.{}.{}",
                [198, 203, 192, 10][session as usize % 4],
                self.rng.random_range(0..255),
                self.rng.random_range(0..255),
                self.rng.random_range(1..255)
            ),
        };
        let _ = write!(
            s,
            ",\"eventTime\":\"{time}\",\"eventSource\":\"{src}\",\"eventName\":\"{name}\",\
             \"awsRegion\":\"{region}\",\"sourceIPAddress\":\"{ip}\",\"userAgent\":\"{agent}\"",
            src = api.source,
            name = api.name,
        );
        if let Some((code, msg)) = error {
            let _ = write!(s, ",\"errorCode\":\"{code}\",\"errorMessage\":\"{msg}\"");
        }
        s.push_str(",\"requestParameters\":");
        self.params(s, api.params, acct, region);
        s.push_str(",\"responseElements\":");
        if error.is_some() || api.read_only {
            s.push_str("null");
        } else {
            self.response(s, api.params, acct, region);
        }
        s.push_str(",\"requestID\":\"");
        self.uuid(s);
        s.push_str("\",\"eventID\":\"");
        self.uuid(s);
        let _ = write!(
            s,
            "\",\"readOnly\":{ro},\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\
             \"recipientAccountId\":\"{acct}\",\"eventCategory\":\"Management\"",
            ro = api.read_only,
        );
        if !matches!(who, Who::Service(_)) {
            let _ = write!(
                s,
                ",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\
                 \"clientProvidedHostHeader\":\"{host}.{region}.amazonaws.com\"}}",
                host = api.source.trim_end_matches(".amazonaws.com"),
            );
        }
        s.push('}');
    }

    fn params(&mut self, s: &mut String, p: Params, acct: &str, region: &str) {
        match p {
            Params::None => s.push_str("null"),
            Params::Instance => {
                s.push_str("{\"instancesSet\":{\"items\":[");
                for i in 0..self.rng.random_range(1..4) {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str("{\"instanceId\":\"i-0");
                    self.hex(s, 16);
                    s.push_str("\"}");
                }
                s.push_str("]},\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"team\",\"value\":\"platform\"},{\"key\":\"env\",\"value\":\"prod\"}]}]}}");
            }
            Params::Bucket => {
                let _ = write!(
                    s,
                    "{{\"bucketName\":\"app-assets-{acct}-{n}\",\"Host\":\"app-assets-{acct}-{n}.s3.{region}.amazonaws.com\",\"acl\":\"\"}}",
                    n = self.rng.random_range(0..12)
                );
            }
            Params::Object => {
                let _ = write!(
                    s,
                    "{{\"bucketName\":\"app-uploads-{acct}\",\"Host\":\"app-uploads-{acct}.s3.{region}.amazonaws.com\",\"key\":\"uploads/2026/01/"
                );
                self.uuid(s);
                s.push_str(".jpg\",\"x-amz-server-side-encryption\":\"aws:kms\"}");
            }
            Params::Secret => {
                let _ = write!(
                    s,
                    "{{\"secretId\":\"arn:aws:secretsmanager:{region}:{acct}:secret:prod/service-{n}/db-credentials-",
                    n = self.rng.random_range(0..30)
                );
                self.upper(s, 6);
                s.push_str("\",\"versionStage\":\"AWSCURRENT\"}");
            }
            Params::Key => {
                let _ = write!(s, "{{\"keyId\":\"arn:aws:kms:{region}:{acct}:key/");
                self.uuid(s);
                s.push_str("\",\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":{\"aws:lambda:FunctionArn\":\"arn:aws:lambda:");
                let _ = write!(
                    s,
                    "{region}:{acct}:function:orders-processor-{n}\"}}}}",
                    n = self.rng.random_range(0..20)
                );
            }
            Params::Role => {
                let _ = write!(
                    s,
                    "{{\"roleArn\":\"arn:aws:iam::{acct}:role/{role}\",\"roleSessionName\":\"session-",
                    role = ROLES[self.rng.random_range(0..ROLES.len())]
                );
                self.hex(s, 12);
                s.push_str("\",\"durationSeconds\":3600}");
            }
            Params::LogStream => {
                let _ = write!(
                    s,
                    "{{\"logGroupName\":\"/aws/lambda/orders-processor-{n}\",\"logStreamName\":\"2026/01/05/[$LATEST]",
                    n = self.rng.random_range(0..20)
                );
                self.hex(s, 32);
                s.push_str("\"}");
            }
            Params::Metric => {
                s.push_str("{\"metricDataQueries\":[");
                for i in 0..self.rng.random_range(1..4) {
                    if i > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "{{\"id\":\"q{i}\",\"metricStat\":{{\"metric\":{{\"namespace\":\"AWS/EC2\",\"metricName\":\"CPUUtilization\",\"dimensions\":[{{\"name\":\"InstanceId\",\"value\":\"i-0"
                    );
                    self.hex(s, 16);
                    s.push_str("\"}]},\"period\":60,\"stat\":\"Average\"},\"returnData\":true}");
                }
                s.push_str("],\"startTime\":\"Jan 5, 2026, 9:00:00 AM\",\"endTime\":\"Jan 5, 2026, 10:00:00 AM\"}");
            }
            Params::Table => {
                let _ = write!(
                    s,
                    "{{\"tableName\":\"orders-{n}\"}}",
                    n = self.rng.random_range(0..15)
                );
            }
            Params::Queue => {
                let _ = write!(
                    s,
                    "{{\"queueUrl\":\"https://sqs.{region}.amazonaws.com/{acct}/jobs-{n}\",\"attributeNames\":[\"All\"]}}",
                    n = self.rng.random_range(0..10)
                );
            }
            Params::Function => {
                let _ = write!(
                    s,
                    "{{\"functionName\":\"arn:aws:lambda:{region}:{acct}:function:orders-processor-{n}\",\"qualifier\":\"$LATEST\"}}",
                    n = self.rng.random_range(0..20)
                );
            }
            Params::Filter => {
                s.push_str("{\"filterSet\":{\"items\":[{\"name\":\"tag:team\",\"valueSet\":{\"items\":[{\"value\":\"platform\"}]}},{\"name\":\"instance-state-name\",\"valueSet\":{\"items\":[{\"value\":\"running\"},{\"value\":\"pending\"}]}}]},\"maxResults\":1000}");
            }
        }
    }

    fn response(&mut self, s: &mut String, p: Params, acct: &str, region: &str) {
        match p {
            Params::Instance => {
                s.push_str("{\"requestId\":\"");
                self.uuid(s);
                s.push_str("\",\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0");
                self.hex(s, 16);
                let _ = write!(
                    s,
                    "\",\"imageId\":\"ami-0a1b2c3d4e5f67890\",\"instanceState\":{{\"code\":0,\"name\":\"pending\"}},\
                     \"privateDnsName\":\"ip-10-0-{a}-{b}.{region}.compute.internal\",\"instanceType\":\"m6i.large\",\
                     \"placement\":{{\"availabilityZone\":\"{region}a\",\"tenancy\":\"default\"}},\
                     \"subnetId\":\"subnet-0123456789abcdef0\",\"vpcId\":\"vpc-0123456789abcdef0\",\
                     \"privateIpAddress\":\"10.0.{a}.{b}\",\"ownerId\":\"{acct}\"}}]}}}}",
                    a = self.rng.random_range(0..255),
                    b = self.rng.random_range(1..255),
                );
            }
            Params::Role => {
                s.push_str("{\"credentials\":{\"accessKeyId\":\"ASIA");
                self.upper(s, 16);
                s.push_str("\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
                self.upper(s, 120);
                let _ = write!(
                    s,
                    "\",\"expiration\":\"Jan 5, 2026, 11:00:00 AM\"}},\"assumedRoleUser\":{{\"assumedRoleId\":\"AROA{acct}:session\",\"arn\":\"arn:aws:sts::{acct}:assumed-role/Role/session\"}}}}"
                );
            }
            Params::LogStream | Params::Table | Params::Bucket | Params::None => s.push_str("null"),
            _ => {
                let _ = write!(s, "{{\"arn\":\"arn:aws:service:{region}:{acct}:resource/");
                self.uuid(s);
                s.push_str("\",\"version\":\"");
                self.uuid(s);
                s.push_str("\"}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::key::classify_key;
    use crate::cloudtrail::reader::{ReadLimits, read_records};
    use crate::cloudtrail::record::classify_record;

    fn spec(events: u64) -> FileSpec {
        FileSpec {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            delivered: Minute::parse_event_time("2026-01-05T10:05:00Z").unwrap_or(Minute(0)),
            events,
            seed: 7,
        }
    }

    #[test]
    fn records_are_realistic_and_readable() {
        let s = spec(2000);
        let mut json = Vec::new();
        let size = write_json(&s, &mut json).unwrap();
        assert_eq!(size, json.len() as u64);
        let per_record = size / s.events;
        assert!(
            (900..=2200).contains(&per_record),
            "{per_record} bytes per record"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed["Records"].as_array().unwrap().len(), 2000);

        let gz = gz_bytes(&s);
        let mut sources = std::collections::BTreeSet::new();
        let (mut writes, mut errors, mut records) = (0, 0, 0);
        read_records(gz.as_slice(), ReadLimits::default(), |raw, _| {
            records += 1;
            if let Ok(e) = classify_record(raw, Default::default(), || 0) {
                sources.insert(e.event_source.clone());
                writes += u32::from(e.call_rate.is_some());
                errors += u32::from(e.error_code.is_some());
            }
        })
        .unwrap();
        assert_eq!(records, 2000);
        assert!(sources.len() >= 15, "{} services", sources.len());
        assert!((20..400).contains(&writes), "{writes} writes");
        assert!((20..150).contains(&errors), "{errors} errors");
        assert!(classify_key(&s.key()).is_ok(), "{}", s.key());
        assert_eq!(gz_bytes(&s), gz, "deterministic for a seed");
    }
}
