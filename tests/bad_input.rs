//! The bad-input corpus, through the real function path (`lambda::handle` → `App` → DynamoDB
//! Local + SeaweedFS) and through the `trail-insights replay` binary: every case has an expected
//! outcome (processed with exact counts, skipped with a named reason, rejected with a named
//! reason, or failed for retry) and the structured log line it must produce. All cases go to the
//! function in one SQS batch, with good files among them: nothing else in the batch is lost.

mod common;

use common::logs;
use common::{access_denied, event, gz, local_aws, runtime, unique};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use trail_insights::app::lambda::{App, FunctionConfig, handle};
use trail_insights::aws::dynamo::{DynamoStore, create_table};
use trail_insights::aws::s3::{S3Location, list_keys};
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::engine::Engine;
use trail_insights::insight::sink::DirectorySink;

const ACCOUNT: &str = "123456789012";
const ARN: &str = "arn:aws:sts::123456789012:assumed-role/App/i-1";
/// The decompression cap the function is configured with here (MAX_DECOMPRESSED_BYTES).
const CAP: u64 = 64 << 20;

/// What must happen to one object.
#[derive(Debug, Clone)]
enum Expect {
    /// Read and counted: records read, events counted, and the `ignored` log field.
    Processed {
        records: u64,
        counted: u64,
        ignored: &'static str,
    },
    /// Not a CloudTrail log file: not read, reason named.
    Skipped(&'static str),
    /// A log file that cannot be read: refused for good (remembered), reason named.
    Rejected(&'static str),
    /// Deleted before it was read: refused, but not remembered (it is read if it reappears).
    Missing,
}

struct Case {
    name: &'static str,
    key: String,
    /// `None`: never uploaded (deleted before the notification was handled).
    body: Option<Vec<u8>>,
    expect: Expect,
}

/// A valid CloudTrail log key delivered at `stamp` (YYYYMMDDTHHmmZ) with a 16-character id.
fn log_key(prefix: &str, stamp: &str, id: &str) -> String {
    log_key_in(ACCOUNT, prefix, stamp, id)
}

/// Another account: its first file is the first its trail state sees.
const FRESH_ACCOUNT: &str = "210987654321";

fn log_key_in(account: &str, prefix: &str, stamp: &str, id: &str) -> String {
    assert_eq!(id.len(), 16);
    format!(
        "{prefix}AWSLogs/{account}/CloudTrail/us-east-1/{}/{}/{}/{account}_CloudTrail_us-east-1_{stamp}_{id}.json.gz",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

fn good(time: &str, id: &str) -> Value {
    event(
        time,
        "ec2.amazonaws.com",
        "RunInstances",
        false,
        None,
        ARN,
        id,
    )
}

fn records(records: &[Value]) -> Vec<u8> {
    gz(&serde_json::to_vec(&json!({ "Records": records })).unwrap())
}

/// `data` repeated to `len` bytes, gzip-compressed as concatenated members (fast to build: one
/// 8 MiB member compressed once and repeated), between `head` and `tail`.
fn bomb(head: &[u8], filler: u8, len: u64, tail: &[u8]) -> Vec<u8> {
    let chunk = gz(&vec![filler; 8 << 20]);
    let mut out = gz(head);
    for _ in 0..len.div_ceil(8 << 20) {
        out.extend_from_slice(&chunk);
    }
    out.extend(gz(tail));
    out
}

fn nested(depth: usize) -> Value {
    let text = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    serde_json::from_str::<Value>(&text).unwrap_or(Value::Null)
}

/// The corpus. Cases are delivered minutes apart on 2026-01-05 so each file's counts are its own.
fn corpus() -> Vec<Case> {
    let mut n = 0u32;
    let mut next = |tag: &str| {
        n += 1;
        let stamp = format!("20260105T{:02}{:02}Z", n / 60, n % 60);
        let time = format!("2026-01-05T{:02}:{:02}:00Z", n / 60, n % 60);
        let id = format!("{tag:X<12.12}{n:04}");
        (stamp, time, id)
    };
    let mut cases = Vec::new();
    let mut add = |name: &'static str, key: String, body: Option<Vec<u8>>, expect: Expect| {
        cases.push(Case {
            name,
            key,
            body,
            expect,
        })
    };

    // Bytes that are not a CloudTrail log file.
    let (s, _, id) = next("NOTGZIP");
    add(
        "not gzip",
        log_key("", &s, &id),
        Some(b"this is not gzip\n".to_vec()),
        Expect::Rejected("neither gzip nor a JSON object"),
    );
    let (s, t, id) = next("TRUNCATED");
    let full = records(&[good(&t, "t-1"), good(&t, "t-2")]);
    add(
        "truncated gzip",
        log_key("", &s, &id),
        Some(full[..full.len() - 12].to_vec()),
        Expect::Rejected("corrupt or truncated gzip data"),
    );
    let (s, _, id) = next("GZNOTJSON");
    add(
        "gzip of text that is not JSON",
        log_key("", &s, &id),
        Some(gz(b"hello, world\n")),
        Expect::Rejected("invalid JSON"),
    );
    let (s, _, id) = next("GZBINARY");
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    add(
        "gzip of binary noise",
        log_key("", &s, &id),
        Some(gz(&noise)),
        Expect::Rejected("invalid JSON"),
    );
    let (s, _, id) = next("GZEMPTY");
    add(
        "gzip of nothing",
        log_key("", &s, &id),
        Some(gz(b"")),
        Expect::Rejected("JSON ends early"),
    );
    let (s, _, id) = next("BOM");
    add(
        "plain JSON behind a byte-order mark",
        log_key("", &s, &id),
        Some(b"\xEF\xBB\xBF{\"Records\":[]}".to_vec()),
        Expect::Rejected("neither gzip nor a JSON object"),
    );
    let (s, _, id) = next("EMPTY");
    add(
        "an empty object (0 bytes)",
        log_key("", &s, &id),
        Some(Vec::new()),
        Expect::Rejected("the object is empty"),
    );

    // JSON that is not CloudTrail's.
    let (s, _, id) = next("NORECORDS");
    add(
        "JSON without Records",
        log_key("", &s, &id),
        Some(gz(br#"{"foo":[{"eventName":"A"}]}"#)),
        Expect::Rejected("no \"Records\" array"),
    );
    let (s, _, id) = next("EMPTYOBJ");
    add(
        "the empty JSON object",
        log_key("", &s, &id),
        Some(gz(b"{}")),
        Expect::Rejected("no \"Records\" array"),
    );
    let (s, _, id) = next("RECOBJECT");
    add(
        "Records is an object",
        log_key("", &s, &id),
        Some(gz(br#"{"Records":{"eventName":"A"}}"#)),
        Expect::Rejected("\"Records\" is an object, not an array"),
    );
    let (s, _, id) = next("RECSTRING");
    add(
        "Records is a string",
        log_key("", &s, &id),
        Some(gz(br#"{"Records":"AKIAEXAMPLESTRINGVALUE"}"#)),
        Expect::Rejected("\"Records\" is a string, not an array"),
    );
    let (s, _, id) = next("RECNULL");
    add(
        "Records is null",
        log_key("", &s, &id),
        Some(gz(br#"{"Records":null}"#)),
        Expect::Rejected("\"Records\" is null, not an array"),
    );
    let (s, _, id) = next("TOPARRAY");
    add(
        "a top-level array",
        log_key("", &s, &id),
        Some(gz(br#"[{"Records":[]}]"#)),
        Expect::Rejected("top-level value is an array"),
    );
    let (s, t, id) = next("TRAILING");
    add(
        "a second JSON value after the object",
        log_key("", &s, &id),
        Some(gz(format!(
            "{} {{}}",
            json!({"Records": [good(&t, "tr-1")]})
        )
        .as_bytes())),
        Expect::Rejected("invalid JSON"),
    );

    // Odd records: the file is processed, the odd records are skipped and counted as such.
    let (s, _, id) = next("NORECS");
    add(
        "an empty Records array",
        log_key("", &s, &id),
        Some(records(&[])),
        Expect::Processed {
            records: 0,
            counted: 0,
            ignored: "",
        },
    );
    let (s, t, id) = next("INVALID");
    let mut no_time = good(&t, "i-2");
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut no_source = good(&t, "i-3");
    no_source.as_object_mut().unwrap().remove("eventSource");
    let mut no_name = good(&t, "i-4");
    no_name.as_object_mut().unwrap().remove("eventName");
    let mut bad_time = good(&t, "i-5");
    bad_time["eventTime"] = json!("yesterday at noon");
    let mut num_time = good(&t, "i-6");
    num_time["eventTime"] = json!(1_767_571_200);
    let mut empty_source = good(&t, "i-7");
    empty_source["eventSource"] = json!("");
    let mut obj_name = good(&t, "i-8");
    obj_name["eventName"] = json!({"name": "RunInstances"});
    let mut null_name = good(&t, "i-9");
    null_name["eventName"] = Value::Null;
    let mut bad_date = good(&t, "i-10");
    bad_date["eventTime"] = json!("2026-02-30T10:00:00Z");
    add(
        "records missing or with invalid eventTime, eventSource or eventName",
        log_key("", &s, &id),
        Some(records(&[
            good(&t, "i-1"),
            no_time,
            no_source,
            no_name,
            bad_time,
            num_time,
            empty_source,
            obj_name,
            null_name,
            bad_date,
            json!(42),
            json!("a string"),
            Value::Null,
            json!([1, 2]),
        ])),
        Expect::Processed {
            records: 14,
            counted: 1,
            ignored: "invalid record: 13",
        },
    );
    let (s, t, id) = next("FUTURE");
    let mut future = good(&t, "f-2");
    future["eventTime"] = json!("2999-01-01T00:00:00Z");
    let mut next_day = good(&t, "f-3");
    next_day["eventTime"] = json!("2026-01-06T00:00:00Z");
    add(
        "times far in the future",
        log_key("", &s, &id),
        Some(records(&[good(&t, "f-1"), future, next_day])),
        Expect::Processed {
            records: 3,
            counted: 1,
            ignored: "time in the future: 2",
        },
    );
    let (s, t, id) = next("PAST");
    let mut epoch = good(&t, "p-2");
    epoch["eventTime"] = json!("1970-01-01T00:00:00Z");
    let mut year_one = good(&t, "p-3");
    year_one["eventTime"] = json!("0001-01-01T00:00:00Z");
    let mut last_year = good(&t, "p-4");
    last_year["eventTime"] = json!("2025-01-05T00:00:00Z");
    add(
        "times far in the past (the first file of an account)",
        log_key_in(FRESH_ACCOUNT, "", &s, &id),
        Some(records(&[good(&t, "p-1"), epoch, year_one, last_year])),
        Expect::Processed {
            records: 4,
            counted: 1,
            ignored: "older than the retention: 3",
        },
    );
    let (s, t, id) = next("BIGAGENT");
    let mut big_agent = good(&t, "u-2");
    big_agent["userAgent"] = json!("M".repeat(1 << 20));
    add(
        "a 1 MB userAgent (over the record cap)",
        log_key("", &s, &id),
        Some(records(&[good(&t, "u-1"), big_agent])),
        Expect::Rejected("record 1 exceeds the limit of 524288 bytes"),
    );
    let (s, t, id) = next("AGENT100K");
    let mut long_agent = good(&t, "ua-1");
    long_agent["userAgent"] = json!("M".repeat(100_000));
    add(
        "a 100 kB userAgent (under the record cap)",
        log_key("", &s, &id),
        Some(records(&[long_agent])),
        Expect::Processed {
            records: 1,
            counted: 1,
            ignored: "",
        },
    );
    let (s, t, id) = next("DEEP100K");
    // 100,000 levels: built as text (serde_json's Value would itself recurse that deep).
    let deep = |open: &str, close: &str, id: &str| {
        format!(
            r#"{{"eventTime":"{t}","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":false,"eventID":"{id}","requestParameters":{}1{},"userIdentity":{{"arn":"{ARN}","sessionContext":{}1{}}}}}"#,
            open.repeat(100_000),
            close.repeat(100_000),
            open.repeat(100_000),
            close.repeat(100_000),
        )
    };
    add(
        "requestParameters and userIdentity nested 100,000 levels deep",
        log_key("", &s, &id),
        Some(gz(format!(
            r#"{{"Records":[{},{}]}}"#,
            good(&t, "d-1"),
            deep("[", "]", "d-2")
        )
        .as_bytes())),
        Expect::Processed {
            records: 2,
            counted: 2,
            ignored: "",
        },
    );
    let (s, t, id) = next("DEEPOBJ100K");
    let deep_obj = format!(
        r#"{{"eventTime":"{t}","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"do-2","requestParameters":{}1{}}}"#,
        "{\"a\":".repeat(100_000),
        "}".repeat(100_000)
    );
    add(
        "requestParameters nested 100,000 objects deep (over the record cap)",
        log_key("", &s, &id),
        Some(gz(format!(
            r#"{{"Records":[{},{deep_obj}]}}"#,
            good(&t, "do-1")
        )
        .as_bytes())),
        Expect::Rejected("record 1 exceeds the limit of 524288 bytes"),
    );
    let (s, t, id) = next("DEEP100");
    let mut deep_ok = good(&t, "dd-1");
    deep_ok["requestParameters"] = nested(100);
    add(
        "requestParameters nested 100 levels deep",
        log_key("", &s, &id),
        Some(records(&[deep_ok])),
        Expect::Processed {
            records: 1,
            counted: 1,
            ignored: "",
        },
    );
    let (s, t, id) = next("BOMB");
    add(
        "a decompression bomb over the cap",
        log_key("", &s, &id),
        Some(bomb(
            format!("{{\"Records\":[{}]", good(&t, "b-1")).as_bytes(),
            b' ',
            CAP + (16 << 20),
            b"}",
        )),
        Expect::Rejected("decompressed size exceeds the limit of 67108864 bytes"),
    );
    let (s, t, id) = next("DUPKEY");
    // serde's derived reader refuses a repeated field, and with it the file (see RELIABILITY.md).
    add(
        "a record with a repeated key",
        log_key("", &s, &id),
        Some(gz(format!(
            r#"{{"Records":[{},{{"eventTime":"{t}","eventTime":"{t}","eventSource":"ec2.amazonaws.com","eventName":"RunInstances"}}]}}"#,
            good(&t, "dk-1")
        )
        .as_bytes())),
        Expect::Rejected("duplicate field `eventTime`"),
    );
    let (s, t, id) = next("MULTIMEMBER");
    let mut two_members = gz(format!("{{\"Records\":[{},", good(&t, "mm-1")).as_bytes());
    two_members.extend(gz(format!("{}]}}", good(&t, "mm-2")).as_bytes()));
    add(
        "multi-member gzip (as concatenated deliveries produce)",
        log_key("", &s, &id),
        Some(two_members),
        Expect::Processed {
            records: 2,
            counted: 2,
            ignored: "",
        },
    );
    let (s, _, id) = next("DELETED");
    add(
        "an object deleted before it is read",
        log_key("", &s, &id),
        None,
        Expect::Missing,
    );

    // Keys: odd characters in a trail prefix are decoded and read; unknown layouts are skipped.
    let (s, t, id) = next("SPACES");
    add(
        "a trail prefix with spaces, + and unicode",
        log_key("my logs+café ü/", &s, &id),
        Some(records(&[good(&t, "k-1")])),
        Expect::Processed {
            records: 1,
            counted: 1,
            ignored: "",
        },
    );
    let (s, _, _) = next("UNUSED");
    add(
        "a file name with a space",
        format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/01/05/{ACCOUNT}_CloudTrail_us-east-1_{s}_with space.json.gz"
        ),
        Some(records(&[])),
        Expect::Skipped("file name's unique part is not alphanumeric"),
    );
    add(
        "no AWSLogs segment",
        "exports/2026/01/05/events.json.gz".into(),
        Some(records(&[])),
        Expect::Skipped("no AWSLogs/ segment"),
    );
    add(
        "unknown folder after the account",
        format!(
            "AWSLogs/{ACCOUNT}/Config/us-east-1/2026/01/05/{ACCOUNT}_Config_us-east-1_ConfigHistory_x.json.gz"
        ),
        Some(records(&[])),
        Expect::Skipped("unknown folder after the account"),
    );
    add(
        "account that is not 12 digits",
        format!(
            "AWSLogs/12345/CloudTrail/us-east-1/2026/01/05/12345_CloudTrail_us-east-1_{s}_AAAAAAAAAAAAAAAA.json.gz"
        ),
        Some(records(&[])),
        Expect::Skipped("account is not 12 digits"),
    );
    add(
        "too few folders",
        format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/01/{ACCOUNT}_CloudTrail_us-east-1_{s}_AAAAAAAAAAAAAAAA.json.gz"
        ),
        Some(records(&[])),
        Expect::Skipped("expected <account>/<folder>/<region>/YYYY/MM/DD/<file>"),
    );
    add(
        "not a .json.gz or .json file",
        format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/01/05/{ACCOUNT}_CloudTrail_us-east-1_{s}_AAAAAAAAAAAAAAAA.json.gz.tmp"
        ),
        Some(records(&[])),
        Expect::Skipped("does not end in .json.gz or .json"),
    );
    add(
        "a digest file",
        format!(
            "AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2026/01/05/{ACCOUNT}_CloudTrail-Digest_us-east-1_trail_us-east-1_20260105T001500Z.json.gz"
        ),
        Some(gz(
            br#"{"awsAccountId":"123456789012","digestStartTime":"2026-01-05T00:00:00Z"}"#,
        )),
        Expect::Skipped("CloudTrail-Digest files are not analysed"),
    );
    // Other CloudTrail outputs, and our own (under the default DESTINATION_PREFIX).
    for (name, prefix, folder, reason) in [
        (
            "a CloudTrail Insights file",
            "",
            "CloudTrail-Insight",
            "CloudTrail-Insight files are not analysed",
        ),
        (
            "our own output",
            "trail-insights/",
            "CloudTrail-Insight",
            "CloudTrail-Insight files are not analysed",
        ),
        (
            "an aggregated-events file",
            "",
            "CloudTrail-Aggregated",
            "CloudTrail-Aggregated files are not analysed",
        ),
        (
            "a network-activity file",
            "",
            "CloudTrail-NetworkActivity",
            "CloudTrail-NetworkActivity files are not analysed",
        ),
    ] {
        add(
            name,
            format!(
                "{prefix}AWSLogs/{ACCOUNT}/{folder}/us-east-1/2026/01/05/{ACCOUNT}_{folder}_us-east-1_{s}_AAAAAAAAAAAAAAAA.json.gz"
            ),
            Some(records(&[])),
            Expect::Skipped(reason),
        );
    }
    cases
}

/// An S3 notification for `bucket`/`key`, the key form-encoded as S3 sends it.
fn s3_notification(bucket: &str, key: &str) -> Value {
    let mut encoded = String::new();
    for b in key.bytes() {
        match b {
            b' ' => encoded.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-01-05T00:10:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "bucket": {"name": bucket, "arn": format!("arn:aws:s3:::{bucket}")},
               "object": {"key": encoded, "size": 1}}
    }]})
}

fn sqs_message(id: &str, body: &str) -> Value {
    json!({"messageId": id, "receiptHandle": "r", "body": body, "attributes": {},
           "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
           "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"})
}

struct Env {
    rt: tokio::runtime::Runtime,
    sdk: aws_config::SdkConfig,
    app: Arc<App>,
    table: String,
    trail: String,
    out: String,
}

impl Drop for Env {
    /// Delete the buckets: SeaweedFS gives every bucket its own volumes, and a shared server on
    /// a small disk runs out of them ("no free volumes left") if test buckets pile up.
    fn drop(&mut self) {
        let s3 = trail_insights::aws::s3::client(&self.sdk);
        for bucket in [&self.trail, &self.out] {
            let location = S3Location {
                bucket: bucket.clone(),
                prefix: String::new(),
            };
            let _ = self.rt.block_on(async {
                for (key, _) in list_keys(&s3, &location).await.unwrap_or_default() {
                    let _ = s3.delete_object().bucket(bucket).key(key).send().await;
                }
                s3.delete_bucket().bucket(bucket).send().await
            });
        }
    }
}

/// A table, a trail bucket and an insights bucket, and the function's `App` over them.
fn env(extra: &[(&str, &str)]) -> Env {
    local_aws();
    logs::capture("info");
    let rt = runtime();
    let (table, trail, out) = (unique("bad"), unique("trail"), unique("out"));
    let mut vars: Vec<(String, String)> = vec![
        ("TABLE_NAME".into(), table.clone()),
        ("DESTINATION_BUCKET".into(), out.clone()),
        ("DESTINATION_PREFIX".into(), "trail-insights/".into()),
        ("MAX_DECOMPRESSED_BYTES".into(), CAP.to_string()),
    ];
    // Later entries win; `TRAIL` as DESTINATION_BUCKET means the trail bucket itself.
    for (k, v) in extra {
        let v = if *k == "DESTINATION_BUCKET" && *v == "TRAIL" {
            trail.clone()
        } else {
            v.to_string()
        };
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v));
    }
    let config = FunctionConfig::from_vars(&vars).unwrap();
    let (app, sdk) = rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .unwrap();
        let s3 = trail_insights::aws::s3::client(&sdk);
        for b in [&trail, &out] {
            s3.create_bucket().bucket(b).send().await.unwrap();
        }
        let app = App::new(config, &sdk, tokio::runtime::Handle::current());
        (app, sdk)
    });
    Env {
        rt,
        sdk,
        app: Arc::new(app),
        table,
        trail,
        out,
    }
}

impl Env {
    fn put(&self, key: &str, body: &[u8]) {
        let (s3, bucket) = (self.app.s3.clone(), self.trail.clone());
        let body = aws_sdk_s3::primitives::ByteStream::from(body.to_vec());
        self.rt
            .block_on(s3.put_object().bucket(bucket).key(key).body(body).send())
            .unwrap();
    }

    fn invoke(&self, event: Value) -> Result<Value, String> {
        self.rt
            .block_on(handle(self.app.clone(), event))
            .map_err(|e| e.to_string())
    }

    /// Per-minute counts of every series of both test accounts in DynamoDB.
    fn counts(&self) -> BTreeMap<(i64, String), u64> {
        let scopes = [ACCOUNT, FRESH_ACCOUNT].map(|account| TrailScope {
            org: None,
            account: account.into(),
            region: "us-east-1".into(),
        });
        let dynamo = aws_sdk_dynamodb::Client::new(&self.sdk);
        let store = DynamoStore::new(dynamo, &self.table, self.rt.handle().clone(), 15);
        let dir = tempfile::tempdir().unwrap();
        let sink = DirectorySink {
            root: dir.path().to_path_buf(),
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                let engine = Engine::new(Config::default(), &store, &sink);
                let mut out = BTreeMap::new();
                for scope in &scopes {
                    for (m, c) in engine
                        .minute_counts(scope, Minute(i64::MIN / 4), Minute(i64::MAX / 4))
                        .unwrap()
                    {
                        for (sid, s) in c.series {
                            *out.entry((m.0, sid)).or_default() += s.count;
                        }
                    }
                }
                out
            })
            .join()
            .unwrap()
        })
    }
}

/// The `object` log line of `key` in `bucket` (exactly one per handling).
fn object_lines(bucket: &str, key: &str) -> Vec<Value> {
    logs::matching(&[("message", "object"), ("bucket", bucket), ("key", key)])
}

fn check_log(case: &Case, bucket: &str, handled: usize) {
    let lines = object_lines(bucket, &case.key);
    assert_eq!(
        lines.len(),
        handled,
        "{}: one `object` log line per handling: {lines:#?}",
        case.name
    );
    let line = &lines[handled - 1];
    assert_eq!(line["level"], "INFO", "{}", case.name);
    let rejected_warning = || {
        let warn = logs::matching(&[
            ("message", "object rejected (permanently bad; not retried)"),
            ("bucket", bucket),
            ("key", &case.key),
        ]);
        assert_eq!(warn.len(), handled, "{}: {warn:#?}", case.name);
        assert_eq!(warn[0]["level"], "WARN");
        assert_eq!(warn[0]["reason"], line["reason"]);
    };
    match &case.expect {
        Expect::Processed {
            records,
            counted,
            ignored,
        } => {
            assert_eq!(line["status"], "processed", "{}: {line}", case.name);
            // DynamoDB's consumed capacity: at least the marker's write.
            let wcu = line["write_capacity_units"].as_f64().unwrap_or(0.0);
            assert!(
                wcu >= 1.0,
                "{}: consumed capacity in the log line: {line}",
                case.name
            );
            assert!(
                line["read_capacity_units"].as_f64().is_some(),
                "{}: {line}",
                case.name
            );
            assert_eq!(line["events"], json!(records), "{}: {line}", case.name);
            assert_eq!(line["counted"], json!(counted), "{}: {line}", case.name);
            assert_eq!(line["ignored"], json!(ignored), "{}: {line}", case.name);
            assert_eq!(line["reason"], "", "{}", case.name);
        }
        Expect::Skipped(reason) => {
            assert_eq!(line["status"], "skipped", "{}: {line}", case.name);
            let got = line["reason"].as_str().unwrap();
            assert!(got.contains(reason), "{}: {got}", case.name);
            assert_eq!(line["events"], 0);
        }
        Expect::Rejected(reason) => {
            assert_eq!(line["status"], "rejected", "{}: {line}", case.name);
            let got = line["reason"].as_str().unwrap();
            assert!(got.contains(reason), "{}: {got}", case.name);
            assert!(got.len() < 400, "{}: a short reason: {got}", case.name);
            rejected_warning();
        }
        Expect::Missing => {
            assert_eq!(line["status"], "rejected", "{}: {line}", case.name);
            let got = line["reason"].as_str().unwrap();
            assert_eq!(
                got,
                format!("s3://{bucket}/{} no longer exists", case.key),
                "{}",
                case.name
            );
            rejected_warning();
        }
    }
}

#[test]
fn corpus_through_the_function_in_one_sqs_batch() {
    let env = env(&[]);
    let cases = corpus();
    for c in &cases {
        if let Some(body) = &c.body {
            env.put(&c.key, body);
        }
    }
    let bucket = env.trail.clone();
    let mut messages: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            sqs_message(
                &format!("case-{i}"),
                &s3_notification(&bucket, &c.key).to_string(),
            )
        })
        .collect();
    // Messages that carry nothing to read, each with the reason it is logged with.
    let notes: Vec<(&str, String, &str, &str)> = vec![
        (
            "test-event",
            json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-01-05T00:00:00.000Z",
                   "Bucket": bucket, "RequestId": "r", "HostId": "h"})
            .to_string(),
            "notification ignored",
            "s3:TestEvent",
        ),
        (
            "not-json",
            "{\"Records\": [ this is not json".into(),
            "malformed notification skipped",
            "message body is not JSON",
        ),
        (
            "foreign-json",
            json!({"hello": "world"}).to_string(),
            "malformed notification skipped",
            "not an S3, SNS, SQS or EventBridge notification",
        ),
        (
            "no-key",
            json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": bucket}}}]})
            .to_string(),
            "malformed notification skipped",
            "S3 record without bucket name or object key",
        ),
        (
            "removed",
            {
                let mut v = s3_notification(&bucket, &cases[0].key);
                v["Records"][0]["eventName"] = json!("ObjectRemoved:Delete");
                v.to_string()
            },
            "notification ignored",
            "\"ObjectRemoved\" event is not an object creation",
        ),
        (
            "sns-not-json",
            json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}).to_string(),
            "malformed notification skipped",
            "SNS message is not JSON",
        ),
    ];
    for (id, body, _, _) in &notes {
        messages.push(sqs_message(id, body));
    }
    let mut no_body = sqs_message("no-body", "");
    no_body.as_object_mut().unwrap().remove("body");
    messages.push(no_body);

    let response = env.invoke(json!({ "Records": messages })).unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": []}),
        "no message of the batch is retried: every case is decided"
    );
    for c in &cases {
        check_log(c, &bucket, 1);
    }
    for (id, _, message, reason) in &notes {
        let lines = logs::matching(&[("message", message), ("message_id", id)]);
        assert_eq!(lines.len(), 1, "{id}: {lines:#?}");
        let got = lines[0]["reason"].as_str().unwrap();
        assert!(got.contains(reason), "{id}: {got}");
        let level = if message.starts_with("malformed") {
            "WARN"
        } else {
            "INFO"
        };
        assert_eq!(lines[0]["level"], level, "{id}");
    }
    let lines = logs::matching(&[
        ("message", "malformed notification skipped"),
        ("message_id", "no-body"),
    ]);
    assert_eq!(lines[0]["reason"], "SQS message without a body");
    let summary = logs::matching(&[("message", "invocation")]);
    let processed = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Processed { .. }))
        .count();
    let rejected = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Rejected(_) | Expect::Missing))
        .count();
    assert!(
        summary.iter().any(|l| l["processed"] == json!(processed)
            && l["rejected"] == json!(rejected)
            && l["skipped"] == json!(cases.len() - processed - rejected)
            && l["malformed"] == json!(5)
            && l["failed"] == json!(0)),
        "the invocation line counts every case: {summary:#?}"
    );
    let invalid = logs::matching(&[(
        "message",
        "records without a valid eventTime, eventSource or eventName were skipped",
    )]);
    let invalid_case = cases
        .iter()
        .find(|c| c.name.starts_with("records missing"))
        .unwrap();
    let object_id = format!("{bucket}/{}", invalid_case.key);
    assert!(
        invalid.iter().any(|l| l["key"] == json!(object_id)
            && l["invalid"] == json!(13)
            && l["level"] == "WARN"),
        "{invalid:#?}"
    );

    // The counts are exactly the good events: nothing lost beside the bad cases, nothing else.
    let want: u64 = cases
        .iter()
        .map(|c| match c.expect {
            Expect::Processed { counted, .. } => counted,
            _ => 0,
        })
        .sum();
    let counts = env.counts();
    assert_eq!(counts.values().sum::<u64>(), want, "{counts:?}");
    let first = Minute::parse_event_time("2026-01-05T00:00:00Z").unwrap().0;
    let last = Minute::parse_event_time("2026-01-05T02:00:00Z").unwrap().0;
    assert!(
        counts.keys().all(|(m, _)| (first..last).contains(m)),
        "no minute outside the delivery day: {counts:?}"
    );

    // Re-delivery: permanently bad files are remembered and not read again; the deleted
    // object, once it exists, is read.
    let deleted = cases
        .iter()
        .find(|c| matches!(c.expect, Expect::Missing))
        .unwrap();
    let t = "2026-01-05T00:30:00Z";
    env.put(&deleted.key, &records(&[good(t, "late-1")]));
    let again: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            sqs_message(
                &format!("again-{i}"),
                &s3_notification(&bucket, &c.key).to_string(),
            )
        })
        .collect();
    let response = env.invoke(json!({ "Records": again })).unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    for c in &cases {
        let lines = object_lines(&bucket, &c.key);
        assert_eq!(lines.len(), 2, "{}", c.name);
        let status = lines[1]["status"].as_str().unwrap();
        let want = match c.expect {
            Expect::Skipped(_) => "skipped",
            Expect::Missing => "processed",
            _ => "already processed",
        };
        assert_eq!(status, want, "{}: {}", c.name, lines[1]);
    }
    assert_eq!(env.counts().values().sum::<u64>(), want + 1);
}

/// A loopback HTTP proxy in front of SeaweedFS that answers every request for `bucket` with
/// S3's 503 SlowDown (throttling) and passes everything else through, one request per
/// connection. Returns its port; it lives as long as the test process.
fn throttling_proxy(upstream: &str, bucket: &str) -> u16 {
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let throttled = format!(" /{bucket}/");
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (upstream, throttled) = (upstream.clone(), throttled.clone());
            std::thread::spawn(move || -> std::io::Result<()> {
                let mut client = client;
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte)? == 0 {
                        return Ok(());
                    }
                    head.push(byte[0]);
                }
                let text = String::from_utf8_lossy(&head).to_string();
                if text.lines().next().unwrap_or("").contains(&throttled) {
                    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                    write!(
                        client,
                        "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )?;
                    return Ok(());
                }
                // One request per connection, so every request passes the check above.
                let mut rewritten: String = text
                    .trim_end_matches("\r\n")
                    .split("\r\n")
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                    .map(|l| format!("{l}\r\n"))
                    .collect();
                rewritten.push_str("Connection: close\r\n\r\n");
                let mut server = TcpStream::connect(&upstream)?;
                server.write_all(rewritten.as_bytes())?;
                let (mut to_server, mut from_client) = (server.try_clone()?, client.try_clone()?);
                let upload = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from_client, &mut to_server);
                    let _ = to_server.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Both);
                let _ = upload.join();
                Ok(())
            });
        }
    });
    port
}

#[test]
fn a_failing_message_is_the_only_one_retried() {
    let mut env = env(&[]);
    let t = "2026-01-07T00:01:00Z";
    let ok = log_key("", "20260107T0005Z", "GOODGOODGOOD0001");
    env.put(&ok, &records(&[good(t, "g-1"), good(t, "g-2")]));
    let bad = log_key("", "20260107T0006Z", "BADBADBADBAD0001");
    env.put(&bad, b"not gzip");
    // A bucket S3 throttles (through the proxy): retrying helps, so its message is retried.
    let throttled = unique("throttled");
    let upstream = std::env::var("AWS_ENDPOINT_URL_S3").unwrap();
    let port = throttling_proxy(&upstream, &throttled);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&env.sdk)
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .force_path_style(true)
            .build(),
    );
    Arc::get_mut(&mut env.app).unwrap().s3 = s3;
    let batch = json!({"Records": [
        sqs_message("ok", &s3_notification(&env.trail, &ok).to_string()),
        sqs_message("bad", &s3_notification(&env.trail, &bad).to_string()),
        sqs_message("garbage", "{{{"),
        sqs_message("throttled", &s3_notification(&throttled, &ok).to_string()),
        sqs_message("empty-bucket", &s3_notification("", &ok).to_string()),
        sqs_message("test", &json!({"Event": "s3:TestEvent"}).to_string()),
    ]});
    let response = env.invoke(batch).unwrap();
    assert_eq!(
        response,
        json!({"batchItemFailures": [{"itemIdentifier": "throttled"}]}),
        "only the message that failed transiently is retried"
    );
    let failed = logs::matching(&[
        ("message", "object failed; will be retried"),
        ("bucket", &throttled),
        ("key", &ok),
    ]);
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["level"], "ERROR");
    assert_eq!(failed[0]["transient"], true);
    assert!(
        failed[0]["error"].as_str().unwrap().contains("SlowDown"),
        "{}",
        failed[0]
    );
    assert_eq!(object_lines(&env.trail, &ok)[0]["counted"], 2);
    assert_eq!(object_lines(&env.trail, &bad)[0]["status"], "rejected");
    let empty = logs::matching(&[
        ("message", "malformed notification skipped"),
        ("message_id", "empty-bucket"),
    ]);
    assert_eq!(
        empty.len(),
        1,
        "an empty bucket name is malformed, not retried: {empty:#?}"
    );
    assert_eq!(env.counts().values().sum::<u64>(), 2);

    // Outside SQS the whole invocation fails, so Lambda retries the event.
    let err = env
        .invoke(s3_notification(&throttled, &ok))
        .expect_err("a direct invocation with a failing object fails");
    assert!(err.contains("1 object(s) failed transiently"), "{err}");
}

#[test]
fn corpus_through_the_replay_command() {
    let cases: Vec<Case> = corpus().into_iter().filter(|c| c.body.is_some()).collect();
    let work = tempfile::tempdir().unwrap();
    let logs_dir = work.path().join("logs");
    for c in &cases {
        let path = logs_dir.join(&c.key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(c.body.as_ref().unwrap()).unwrap();
    }
    let config = work.path().join("config.toml");
    std::fs::write(&config, format!("max_decompressed_bytes = {CAP}\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trail-insights"))
        .arg("replay")
        .arg(&logs_dir)
        .arg("--state")
        .arg(work.path().join("state"))
        .arg("--out")
        .arg(work.path().join("out"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{stderr}");
    let mut rejected = 0;
    for c in &cases {
        let path = logs_dir.join(&c.key);
        let line = format!("warning: rejected {}: ", path.display());
        let warned = stderr.lines().find(|l| l.starts_with(&line));
        match &c.expect {
            Expect::Rejected(reason) => {
                rejected += 1;
                let got = warned.unwrap_or_else(|| panic!("{}: no warning in {stderr}", c.name));
                assert!(got.contains(reason), "{}: {got}", c.name);
            }
            _ => assert!(warned.is_none(), "{}: {stderr}", c.name),
        }
    }
    let processed = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Processed { .. }))
        .count();
    let counted: u64 = cases
        .iter()
        .map(|c| match c.expect {
            Expect::Processed { counted, .. } => counted,
            _ => 0,
        })
        .sum();
    // `replay` picks up only files named like log files; the rest are not even listed.
    let listed = processed + rejected;
    let row = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("| {listed} ")))
        .unwrap_or_else(|| panic!("no summary row for {listed} files: {stdout}"));
    let cells: Vec<&str> = row
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[1], processed.to_string(), "{row}");
    assert_eq!(cells[3], rejected.to_string(), "{row}");
    assert_eq!(cells[4], "0", "nothing failed: {row}");
    assert_eq!(cells[6], counted.to_string(), "{row}");
}

#[test]
fn a_missing_trail_bucket_is_reported_not_retried_forever() {
    let env = env(&[]);
    let key = log_key("", "20260108T0005Z", "NOBUCKETNOBUCKE1");
    let gone = unique("gone");
    let r = env.invoke(s3_notification(&gone, &key)).unwrap();
    assert_eq!(r["rejected"], 1, "{r}");
    let lines = object_lines(&gone, &key);
    assert_eq!(lines[0]["status"], "rejected");
    assert!(
        lines[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no longer exists")
    );
    // Checked here too, so a regression in listing shows up in this file's own terms.
    let keys = env.rt.block_on(list_keys(
        &env.app.s3,
        &S3Location {
            bucket: env.trail.clone(),
            prefix: String::new(),
        },
    ));
    assert!(keys.unwrap().is_empty());
}

/// Three log files that raise one error-rate insight (Start at 10:00, End at 10:01 on
/// 2026-01-09) after a day of history; returns their keys in delivery order.
fn spike(env: &Env) -> Vec<String> {
    let denied = |i: u32| access_denied(i, &format!("own-d-{i}"));
    let files = [
        (
            log_key("", "20260101T0005Z", "OWNOUTPUTFILE001"),
            records(&[good("2026-01-01T00:00:00Z", "own-c-1")]),
        ),
        (
            log_key("", "20260109T1005Z", "OWNOUTPUTFILE002"),
            records(&(0..14).map(denied).collect::<Vec<_>>()),
        ),
        (
            log_key("", "20260109T1030Z", "OWNOUTPUTFILE003"),
            records(&[good("2026-01-09T10:25:00Z", "own-c-2")]),
        ),
    ];
    for (key, body) in &files {
        env.put(key, body);
    }
    files.into_iter().map(|(k, _)| k).collect()
}

fn trail_keys(env: &Env) -> Vec<String> {
    let mut keys: Vec<String> = env
        .rt
        .block_on(list_keys(
            &env.app.s3,
            &S3Location {
                bucket: env.trail.clone(),
                prefix: String::new(),
            },
        ))
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    keys.sort();
    keys
}

/// The destination is the trail bucket, with prefixes the template forbids (empty, the trail's
/// own `AWSLogs/`, inside a CloudTrail folder) as well as the default: the function's own
/// Insights files, when their notifications arrive, are skipped, counted nowhere, and write
/// nothing, so there is no loop.
#[test]
fn own_insights_files_in_the_trail_bucket_are_never_reingested() {
    for prefix in [
        "trail-insights/",
        "",
        "AWSLogs/",
        "AWSLogs/123456789012/CloudTrail/us-east-1/",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/09/",
    ] {
        let env = env(&[
            ("DESTINATION_BUCKET", "TRAIL"),
            ("DESTINATION_PREFIX", prefix),
            ("WARMUP_HOURS", "24"),
        ]);
        let logs = spike(&env);
        let mut written = 0;
        for key in &logs {
            let r = env.invoke(s3_notification(&env.trail, key)).unwrap();
            assert_eq!(r["processed"], 1, "{prefix:?}: {r}");
            written += r["insights"].as_u64().unwrap();
        }
        assert_eq!(written, 2, "{prefix:?}: one Start and one End");
        let before = trail_keys(&env);
        let outputs: Vec<&String> = before.iter().filter(|k| !logs.contains(k)).collect();
        assert_eq!(outputs.len(), 2, "{prefix:?}: {before:#?}");
        for k in &outputs {
            assert!(
                k.starts_with(prefix)
                    && k[prefix.len()..].starts_with(
                        "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2026/01/09/"
                    ),
                "{prefix:?}: {k}"
            );
        }
        let counts = env.counts();

        // Every object of the bucket notified again, in every shape, twice over.
        let mut messages = Vec::new();
        for (i, k) in before.iter().enumerate() {
            messages.push(sqs_message(
                &format!("sqs-{i}"),
                &s3_notification(&env.trail, k).to_string(),
            ));
        }
        for round in 0..2 {
            let r = env.invoke(json!({ "Records": messages.clone() })).unwrap();
            assert_eq!(r, json!({"batchItemFailures": []}), "{prefix:?}");
            for k in &before {
                let eb = json!({"version": "0", "source": "aws.s3", "detail-type": "Object Created",
                    "detail": {"bucket": {"name": env.trail}, "object": {"key": k}}});
                let r = env.invoke(eb).unwrap();
                assert_eq!(r["processed"], 0, "{prefix:?} round {round}: {r}");
                assert_eq!(r["insights"], 0, "{prefix:?} round {round}: {r}");
            }
        }
        for k in &outputs {
            let lines = object_lines(&env.trail, k);
            assert_eq!(lines.len(), 4, "{prefix:?}: {k}");
            for l in &lines {
                assert_eq!(l["status"], "skipped", "{prefix:?}: {l}");
                assert_eq!(
                    l["reason"],
                    "CloudTrail-Insight files are not analysed (only CloudTrail log files are)"
                );
                assert_eq!(l["events"], 0);
            }
        }
        for k in &logs {
            let lines = object_lines(&env.trail, k);
            assert!(
                lines[1..]
                    .iter()
                    .all(|l| l["status"] == "already processed"),
                "{lines:#?}"
            );
        }
        assert_eq!(trail_keys(&env), before, "{prefix:?}: nothing new written");
        assert_eq!(env.counts(), counts, "{prefix:?}: nothing counted again");
    }
}

/// `replay` with `--out` inside the directory it reads: a second run does not pick up the
/// Insights files the first one wrote, and changes nothing.
#[test]
fn replay_into_its_own_input_directory_does_not_reingest() {
    let work = tempfile::tempdir().unwrap();
    let logs_dir = work.path().join("logs");
    let denied: Vec<Value> = (0..14)
        .map(|i| access_denied(i, &format!("r-d-{i}")))
        .collect();
    common::write_log(
        &logs_dir,
        ACCOUNT,
        "us-east-1",
        "20260101T0005Z",
        "REPLAYOWNOUTPUT1",
        &[good("2026-01-01T00:00:00Z", "r-c-1")],
    );
    common::write_log(
        &logs_dir,
        ACCOUNT,
        "us-east-1",
        "20260109T1005Z",
        "REPLAYOWNOUTPUT2",
        &denied,
    );
    common::write_log(
        &logs_dir,
        ACCOUNT,
        "us-east-1",
        "20260109T1030Z",
        "REPLAYOWNOUTPUT3",
        &[good("2026-01-09T10:25:00Z", "r-c-2")],
    );
    let run = || {
        let out = Command::new(env!("CARGO_BIN_EXE_trail-insights"))
            .arg("replay")
            .arg(&logs_dir)
            .arg("--state")
            .arg(work.path().join("state"))
            .arg("--out")
            .arg(&logs_dir)
            .env("WARMUP_HOURS", "24")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let first = run();
    let files_after_first = common::snapshot(&logs_dir);
    let insights: Vec<_> = files_after_first
        .iter()
        .filter(|(p, _)| p.to_string_lossy().contains("/CloudTrail-Insight/"))
        .collect();
    assert_eq!(
        insights.len(),
        2,
        "Start and End written into the input tree: {first}"
    );
    let second = run();
    let row = |s: &str| {
        s.lines()
            .find(|l| l.trim_start().starts_with("| 3 "))
            .map(|l| {
                l.split('|')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|| panic!("no summary row for 3 files: {s}"))
    };
    assert_eq!(row(&first)[1], "3", "{first}");
    let again = row(&second);
    assert_eq!(
        (again[1].as_str(), again[2].as_str(), again[9].as_str()),
        ("0", "3", "0"),
        "{second}"
    );
    assert_eq!(common::snapshot(&logs_dir), files_after_first);
}
