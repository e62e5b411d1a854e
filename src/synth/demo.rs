//! Synthetic CloudTrail trail for `trail-insights demo`.
//!
//! Writes a multi-day trail for one account and region as real CloudTrail
//! delivery files (`AWSLogs/.../*.json.gz`), with a steady, plausible baseline
//! and two injected incidents. The incidents are returned as ground truth so
//! the demo can show what the detector is expected to find.
//!
//! Generation is deterministic for a seed and streams one five-minute
//! delivery window at a time, so memory stays flat however many days are asked.

use std::f64::consts::TAU;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::base::time::Minute;
use crate::cloudtrail::writer;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use flate2::Compression;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpec {
    /// RNG seed; the same seed gives byte-identical files.
    pub seed: u64,
    /// Number of whole days of traffic.
    pub days: u32,
    /// First event time; truncated to the whole minute.
    pub start: DateTime<Utc>,
    /// Twelve-digit AWS account id.
    pub account: String,
    /// Region the trail is for (e.g. `us-east-1`).
    pub region: String,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            seed: 7,
            days: 9,
            // A Monday, so the weekday/weekend rhythm starts at a clean edge.
            start: Utc
                .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            account: "123456789012".to_string(),
            region: "us-east-1".to_string(),
        }
    }
}

/// One injected anomaly: the ground truth the detector should report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Short human label.
    pub name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    pub event_source: String,
    pub event_name: String,
    /// The error code of the injected calls, for error-rate incidents.
    pub error_code: Option<String>,
    /// First minute of the incident.
    pub start: DateTime<Utc>,
    /// Exclusive end, on a whole minute.
    pub end: DateTime<Utc>,
    /// Injected calls in every minute of `[start, end)` (on top of normal traffic).
    pub per_minute: u32,
    /// Caller ARN normalised the way Insights groups it (assumed-role without session).
    pub caller_arn: String,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTrail {
    /// Every delivery file, sorted by path.
    pub files: Vec<PathBuf>,
    /// Distinct events written (duplicated deliveries counted once).
    pub events: u64,
    /// Injected incidents, in time order.
    pub incidents: Vec<Incident>,
}

/// CloudTrail delivers roughly every five minutes.
const WINDOW_MINUTES: i64 = 5;
/// Delivery lands 0..3 minutes after the window closes.
const MAX_JITTER_SECS: i64 = 180;
/// Share of events that slip into the next delivery.
const DELAY_P: f64 = 0.02;
/// Share of events delivered twice in the same file (CloudTrail is at-least-once).
const DUP_P: f64 = 0.0005;
/// Share of normal read events written in the older 1.05 shape.
const OLD_STYLE_P: f64 = 0.01;

const UA_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off";
const UA_BOTO: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython Botocore/1.34.69";
const UA_BOTO_LAMBDA: &str = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12 Botocore/1.34.42";
const UA_GO: &str = "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/cloudwatch#1.36.3 grafana/10.4.1";
const UA_TF: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1";
const UA_CONSOLE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const UA_SSM: &str = "aws-sdk-go/1.44.302 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.131.0";
const UA_LAMBDA_LOGS: &str = "awslambda-worker/1.0 rusage/0.01 0.00 0.02";
const UA_ATTACKER: &str = "python-requests/2.31.0";

/// The fleet that sends SSM heartbeats every five minutes.
const FLEET: [(&str, &str); 12] = [
    ("i-0a1f3c5e7b9d20461", "10.0.1.17"),
    ("i-0b2e4d6f8a0c31572", "10.0.1.42"),
    ("i-0c3d5e7f9b1a42683", "10.0.1.88"),
    ("i-0d4c6f8a0b2e53794", "10.0.2.11"),
    ("i-0e5b7a9c1d3f648a5", "10.0.2.57"),
    ("i-0f6a8b0d2e4c759b6", "10.0.2.93"),
    ("i-01798c1e3f5d86ac7", "10.0.3.24"),
    ("i-02889d2f4a6e97bd8", "10.0.3.61"),
    ("i-0397ae3b5c7fa8ce9", "10.0.3.105"),
    ("i-04a6bf4c6d8eb9dfa", "10.0.4.19"),
    ("i-05b5c05d7e9fcae0b", "10.0.4.77"),
    ("i-06c4d16e8fa0dbf1c", "10.0.4.130"),
];

const APP_SESSIONS: [&str; 3] = ["i-0abc", "i-0def", "i-0fed"];
const BUCKETS: [&str; 4] = [
    "acme-prod-assets",
    "acme-prod-logs",
    "acme-data-lake",
    "acme-terraform-state",
];

/// Who makes a call, in CloudTrail's terms.
#[derive(Clone, Copy)]
enum Principal {
    /// An assumed role: role name and session name.
    Role(&'static str, &'static str),
    /// A long-lived IAM user.
    User(&'static str),
    /// An AWS service acting on its own behalf (named by `invokedBy`).
    Service,
}

/// A principal plus how it reaches the API.
#[derive(Clone, Copy)]
struct Caller {
    who: Principal,
    invoked_by: Option<&'static str>,
    agent: &'static str,
    ip: &'static str,
    console: bool,
}

impl Caller {
    const fn new(who: Principal, agent: &'static str, ip: &'static str) -> Self {
        Caller {
            who,
            invoked_by: None,
            agent,
            ip,
            console: false,
        }
    }

    /// A call a service makes for a principal: IP and agent are the service name.
    const fn via(who: Principal, service: &'static str) -> Self {
        Caller {
            who,
            invoked_by: Some(service),
            agent: service,
            ip: service,
            console: false,
        }
    }

    const fn console(role: &'static str, session: &'static str, ip: &'static str) -> Self {
        Caller {
            who: Principal::Role(role, session),
            invoked_by: None,
            agent: UA_CONSOLE,
            ip,
            console: true,
        }
    }
}

const MONITORING: Caller = Caller::new(
    Principal::Role("MonitoringRole", "grafana"),
    UA_GO,
    "54.210.17.33",
);
const CI: Caller = Caller::new(
    Principal::Role("CIDeployRole", "gh-actions"),
    UA_TF,
    "192.0.2.140",
);
const TF_USER: Caller = Caller::new(Principal::User("terraform-ci"), UA_TF, "192.0.2.141");
const JANE: Caller = Caller::new(Principal::User("dev-jane"), UA_CLI, "203.0.113.24");
const BACKUP: Caller = Caller::new(
    Principal::Role("BackupRole", "cron"),
    UA_BOTO_LAMBDA,
    "3.227.14.201",
);
const AUDITOR: Caller = Caller::new(
    Principal::Role("SecurityAuditRole", "prowler"),
    UA_BOTO,
    "34.201.9.77",
);
const AUTOSCALING: Caller = Caller::via(
    Principal::Role("AWSServiceRoleForAutoScaling", "AutoScaling"),
    "autoscaling.amazonaws.com",
);
const LOGS_WORKER: Caller = Caller::new(
    Principal::Role("LambdaExecRole", "order-processor"),
    UA_LAMBDA_LOGS,
    "3.91.170.5",
);
const ALICE: Caller = Caller::console("AdminRole", "alice", "203.0.113.10");
const BOB: Caller = Caller::console("AdminRole", "bob", "198.51.100.35");
const ATTACKER: Caller = Caller::new(
    Principal::Role("CompromisedRole", "x"),
    UA_ATTACKER,
    "198.51.100.201",
);

/// One API call before it is rendered.
struct Call {
    time: DateTime<Utc>,
    source: &'static str,
    name: &'static str,
    read_only: bool,
    caller: Caller,
    /// Raw JSON for requestParameters, responseElements, resources, additionalEventData.
    params: String,
    response: String,
    resources: Option<String>,
    extra: Option<String>,
    /// Error code and free-text message (escaped when rendered).
    error: Option<(&'static str, String)>,
    /// Injected incident calls are never old-style or duplicated, so counts stay exact.
    injected: bool,
}

impl Call {
    fn new(
        time: DateTime<Utc>,
        source: &'static str,
        name: &'static str,
        read_only: bool,
        caller: Caller,
    ) -> Self {
        Call {
            time,
            source,
            name,
            read_only,
            caller,
            params: "null".to_string(),
            response: "null".to_string(),
            error: None,
            resources: None,
            extra: None,
            injected: false,
        }
    }

    fn params(mut self, v: String) -> Self {
        self.params = v;
        self
    }

    fn response(mut self, v: String) -> Self {
        self.response = v;
        self
    }

    fn error(mut self, code: &'static str, message: String) -> Self {
        self.error = Some((code, message));
        self
    }
}

/// A rendered event waiting for delivery.
struct Ev {
    time: DateTime<Utc>,
    json: String,
    injected: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Burst,
    Storm,
}

/// Generates the trail into `dir` and returns the files and the ground truth.
///
/// Incidents go into the last two days (`days - 2` at 10:23 and `days - 1` at
/// 03:41, UTC offsets from the start day), so the default 9-day spec has them
/// on days 7 and 8; with fewer than 3 days there is no baseline worth the name
/// and no incident is injected.
pub fn generate(dir: &Path, spec: &DemoSpec) -> Result<DemoTrail> {
    if spec.days == 0 {
        bail!("demo needs at least one day");
    }
    // Both end up in paths and file names, so hold them to AWS's own shapes.
    if spec.account.len() != 12 || !spec.account.bytes().all(|b| b.is_ascii_digit()) {
        bail!("account must be 12 digits, got {:?}", spec.account);
    }
    let region_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if spec.region.is_empty() || !spec.region.bytes().all(region_ok) {
        bail!("region must look like us-east-1, got {:?}", spec.region);
    }
    let start = truncate_minute(spec.start);
    let end = start + Duration::days(i64::from(spec.days));
    let planned = plan_incidents(spec, start);
    let mut g = Gen {
        spec,
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        planned: &planned,
        acct: json_inner(&spec.account),
        region: json_inner(&spec.region),
    };

    let windows = i64::from(spec.days) * 24 * 60 / WINDOW_MINUTES;
    let mut future: Vec<Ev> = Vec::new();
    let mut delayed: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut events = 0u64;

    for w in 0..windows {
        let ws = start + Duration::minutes(w * WINDOW_MINUTES);
        let we = ws + Duration::minutes(WINDOW_MINUTES);
        let mut current = std::mem::take(&mut future);
        let mut produced = Vec::new();
        if w == 0 {
            g.heartbeat(ws, &mut produced);
        }
        for m in 0..WINDOW_MINUTES {
            g.minute(ws + Duration::minutes(m), &mut produced);
        }
        // The next heartbeat straddles the window edge; its early half is ours.
        g.heartbeat(we, &mut produced);
        for ev in produced {
            if ev.time < ws || ev.time >= end {
                continue;
            } else if ev.time < we {
                current.push(ev);
            } else {
                future.push(ev);
            }
        }

        let mut batch = std::mem::take(&mut delayed);
        events += current.len() as u64;
        for ev in current {
            let dup = !ev.injected && g.rng.random_bool(DUP_P);
            let target = if g.rng.random_bool(DELAY_P) {
                &mut delayed
            } else {
                &mut batch
            };
            if dup {
                target.push(ev.json.clone());
            }
            target.push(ev.json);
        }
        if !batch.is_empty() {
            files.push(g.write_file(dir, we, batch)?);
        }
    }
    if !delayed.is_empty() {
        let next = end + Duration::minutes(WINDOW_MINUTES);
        files.push(g.write_file(dir, next, delayed)?);
    }

    files.sort();
    Ok(DemoTrail {
        files,
        events,
        incidents: planned.into_iter().map(|(i, _)| i).collect(),
    })
}

fn truncate_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t - Duration::seconds(i64::from(t.second())) - Duration::nanoseconds(i64::from(t.nanosecond()))
}

/// Fixed offsets from the start so the ground truth is reproducible.
fn plan_incidents(spec: &DemoSpec, start: DateTime<Utc>) -> Vec<(Incident, Kind)> {
    if spec.days < 3 {
        return Vec::new();
    }
    let acct = &spec.account;
    let day = |d: u32, h: i64, m: i64| {
        start + Duration::days(i64::from(d)) + Duration::hours(h) + Duration::minutes(m)
    };
    let burst = day(spec.days - 2, 10, 23);
    let storm = day(spec.days - 1, 3, 41);
    vec![
        (
            Incident {
                name: "write-call burst".to_string(),
                insight_type: "ApiCallRateInsight".to_string(),
                event_source: "ec2.amazonaws.com".to_string(),
                event_name: "RunInstances".to_string(),
                error_code: None,
                start: burst,
                end: burst + Duration::minutes(6),
                per_minute: 40,
                caller_arn: format!("arn:aws:sts::{acct}:assumed-role/CompromisedRole"),
            },
            Kind::Burst,
        ),
        (
            Incident {
                name: "AccessDenied storm".to_string(),
                insight_type: "ApiErrorRateInsight".to_string(),
                event_source: "secretsmanager.amazonaws.com".to_string(),
                event_name: "GetSecretValue".to_string(),
                error_code: Some("AccessDeniedException".to_string()),
                start: storm,
                end: storm + Duration::minutes(10),
                per_minute: 30,
                caller_arn: format!("arn:aws:sts::{acct}:assumed-role/AppRole"),
            },
            Kind::Storm,
        ),
    ]
}

/// Builds one call of a given API at a given time.
type MakeCall<'g> = fn(&mut Gen<'g>, DateTime<Utc>) -> Call;

/// Generator state: one RNG stream consumed in a fixed order, for determinism.
struct Gen<'a> {
    spec: &'a DemoSpec,
    rng: ChaCha8Rng,
    planned: &'a [(Incident, Kind)],
    /// Account and region, already JSON-escaped for hand-assembled records.
    acct: String,
    region: String,
}

impl<'g> Gen<'g> {
    fn poisson(&mut self, lambda: f64) -> u32 {
        match Poisson::new(lambda) {
            Ok(d) => d.sample(&mut self.rng) as u32,
            Err(_) => 0,
        }
    }

    fn second_in(&mut self, minute: DateTime<Utc>) -> DateTime<Utc> {
        minute + Duration::seconds(self.rng.random_range(0..60))
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    fn alnum(&mut self, n: usize, upper_only: bool) -> String {
        const ALL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let set = if upper_only { UPPER } else { ALL };
        (0..n)
            .map(|_| char::from(set[self.rng.random_range(0..set.len())]))
            .collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.rng.random_range(0..16)]))
            .collect()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// Emits `n` calls built by `make` at random seconds of `minute`.
    fn repeat(&mut self, n: u32, minute: DateTime<Utc>, out: &mut Vec<Ev>, make: MakeCall<'g>) {
        for _ in 0..n {
            let t = self.second_in(minute);
            let call = make(self, t);
            out.push(self.emit(call));
        }
    }

    /// Steady fleet heartbeat: every instance reports within a minute of the mark.
    fn heartbeat(&mut self, mark: DateTime<Utc>, out: &mut Vec<Ev>) {
        for (i, (id, ip)) in FLEET.iter().enumerate() {
            let t = mark + Duration::seconds(self.rng.random_range(-60..60));
            let az = ["a", "b", "c"][i % 3];
            let region = &self.region;
            let caller = Caller::new(Principal::Role("SSMInstanceRole", id), UA_SSM, ip);
            let params = format!(
                r#"{{"instanceId":"{id}","agentVersion":"3.3.131.0","agentStatus":"Active","platformType":"Linux","iPAddress":"{ip}","availabilityZone":"{region}{az}"}}"#
            );
            let call = Call::new(
                t,
                "ssm.amazonaws.com",
                "UpdateInstanceInformation",
                false,
                caller,
            )
            .params(params);
            let ev = self.emit(call);
            out.push(ev);
        }
    }

    /// All normal traffic and incident calls whose event time falls in `minute`.
    fn minute(&mut self, minute: DateTime<Utc>, out: &mut Vec<Ev>) {
        let hour = f64::from(minute.hour()) + f64::from(minute.minute()) / 60.0;
        // 0 at 02:00, 1 at 14:00 UTC.
        let daily = (1.0 + ((hour - 14.0) / 24.0 * TAU).cos()) / 2.0;
        let weekday = minute.weekday().num_days_from_monday() < 5;
        let office = (9..18).contains(&minute.hour());
        let human = match (weekday, office) {
            (true, true) => 1.0,
            (false, true) => 0.15,
            _ => 0.02,
        };

        let plan: [(f64, MakeCall<'g>); 14] = [
            (1.0 + 2.0 * daily, Self::describe_instances),
            (2.0, Self::assume_role),
            (0.5, Self::list_buckets),
            (1.0, Self::get_secret_ok),
            (1.0, Self::decrypt),
            (1.2, Self::get_metric_data),
            (0.8, Self::describe_instance_status),
            (0.5, Self::get_caller_identity),
            (0.3, Self::create_log_stream),
            (0.2, Self::get_bucket_acl_ok),
            (0.05, Self::get_bucket_acl_denied),
            (0.02, Self::run_instances_ci),
            (0.2 * human, Self::create_tags),
            (0.5 * human, Self::describe_security_groups),
        ];
        for (lambda, make) in plan {
            let n = self.poisson(lambda);
            self.repeat(n, minute, out, make);
        }
        // Nightly backup cron.
        if minute.hour() == 2 && minute.minute() == 0 {
            for k in 0..6 {
                let t = self.second_in(minute);
                let call = self.create_snapshot(t, k);
                out.push(self.emit(call));
            }
        }

        for idx in 0..self.planned.len() {
            let (inc, kind) = &self.planned[idx];
            if minute < inc.start || minute >= inc.end {
                continue;
            }
            let (per_minute, kind) = (inc.per_minute, *kind);
            let make = match kind {
                Kind::Burst => Self::run_instances_attacker,
                Kind::Storm => Self::get_secret_denied,
            };
            for _ in 0..per_minute {
                let t = self.second_in(minute);
                let mut call = make(self, t);
                call.injected = true;
                out.push(self.emit(call));
            }
        }
    }

    fn describe_instances(&mut self, t: DateTime<Utc>) -> Call {
        let caller = if self.rng.random_bool(0.8) {
            MONITORING
        } else {
            self.pick(&[CI, TF_USER, JANE, ALICE])
        };
        let params = if self.rng.random_bool(0.5) {
            let id = self.pick(&FLEET).0;
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{id}"}}]}},"filterSet":{{}}}}"#)
        } else {
            r#"{"maxResults":1000,"instancesSet":{},"filterSet":{"items":[{"name":"tag:Environment","valueSet":{"items":[{"value":"prod"}]}}]}}"#.to_string()
        };
        Call::new(t, "ec2.amazonaws.com", "DescribeInstances", true, caller).params(params)
    }

    fn assume_role(&mut self, t: DateTime<Utc>) -> Call {
        let acct = self.acct.clone();
        let fails = self.rng.random_bool(0.005);
        let (caller, role, session) = if fails {
            (self.pick(&[JANE, TF_USER]), "ProdAdminRole", "break-glass")
        } else {
            let r: f64 = self.rng.random();
            if r < 0.5 {
                let svc = self.pick(&[
                    "lambda.amazonaws.com",
                    "ecs-tasks.amazonaws.com",
                    "ec2.amazonaws.com",
                ]);
                (Caller::via(Principal::Service, svc), "AppRole", "i-0abc")
            } else if r < 0.8 {
                (CI, "CIDeployRole", "gh-actions")
            } else {
                (self.pick(&[JANE, TF_USER]), "ReadOnlyRole", "dev-jane")
            }
        };
        let role_arn = format!("arn:aws:iam::{acct}:role/{role}");
        let params = format!(
            r#"{{"roleArn":"{role_arn}","roleSessionName":"{session}","durationSeconds":3600}}"#
        );
        let mut call =
            Call::new(t, "sts.amazonaws.com", "AssumeRole", false, caller).params(params);
        call.resources = Some(format!(
            r#"[{{"accountId":"{acct}","type":"AWS::IAM::Role","ARN":"{role_arn}"}}]"#
        ));
        if fails {
            let who = match caller.who {
                Principal::User(u) => format!("arn:aws:iam::{}:user/{u}", self.spec.account),
                _ => String::new(),
            };
            let role_arn = format!("arn:aws:iam::{}:role/{role}", self.spec.account);
            let msg = format!(
                "User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            );
            return call.error("AccessDenied", msg);
        }
        let expiration = aws_date(t + Duration::hours(1));
        let key = format!("ASIA{}", self.alnum(16, true));
        let role_id = stable_id("AROA", role);
        call.response(format!(
            r#"{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEHwaCXVzLWVhc3QtMSJHMEUCIQD","expiration":"{expiration}"}},"assumedRoleUser":{{"assumedRoleId":"{role_id}:{session}","arn":"arn:aws:sts::{acct}:assumed-role/{role}/{session}"}}}}"#
        ))
    }

    fn list_buckets(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[TF_USER, JANE, CI, ALICE]);
        let call = Call::new(t, "s3.amazonaws.com", "ListBuckets", true, caller)
            .params(r#"{"Host":"s3.amazonaws.com"}"#.to_string());
        self.s3_extra(call)
    }

    fn get_secret(&mut self, t: DateTime<Utc>, session: &'static str) -> Call {
        let caller = Caller::new(Principal::Role("AppRole", session), UA_BOTO, "3.218.44.10");
        Call::new(
            t,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            true,
            caller,
        )
        .params(r#"{"secretId":"prod/orders/db"}"#.to_string())
    }

    fn get_secret_ok(&mut self, t: DateTime<Utc>) -> Call {
        let session = self.pick(&APP_SESSIONS);
        self.get_secret(t, session)
    }

    /// The storm: one app instance loses its secret access.
    fn get_secret_denied(&mut self, t: DateTime<Utc>) -> Call {
        let (acct, region) = (&self.spec.account, &self.spec.region);
        let msg = format!(
            "User: arn:aws:sts::{acct}:assumed-role/AppRole/i-0abc is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:{region}:{acct}:secret:prod/orders/db-Xk2p9Q because no identity-based policy allows the secretsmanager:GetSecretValue action"
        );
        self.get_secret(t, "i-0abc")
            .error("AccessDeniedException", msg)
    }

    /// KMS decrypts made by Secrets Manager on behalf of the app.
    fn decrypt(&mut self, t: DateTime<Utc>) -> Call {
        let (acct, region) = (self.acct.clone(), self.region.clone());
        let session = self.pick(&APP_SESSIONS);
        let caller = Caller::via(
            Principal::Role("AppRole", session),
            "secretsmanager.amazonaws.com",
        );
        let mut call = Call::new(t, "kms.amazonaws.com", "Decrypt", true, caller).params(format!(
            r#"{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"SecretARN":"arn:aws:secretsmanager:{region}:{acct}:secret:prod/orders/db-Xk2p9Q"}}}}"#
        ));
        call.resources = Some(format!(
            r#"[{{"accountId":"{acct}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{acct}:key/5d2f8c1e-7a4b-4e9d-b3c6-1f0a9e8d7c65"}}]"#
        ));
        call
    }

    fn get_metric_data(&mut self, t: DateTime<Utc>) -> Call {
        let end = aws_date(truncate_minute(t));
        let begin = aws_date(truncate_minute(t) - Duration::hours(3));
        let metric = self.pick(&["CPUUtilization", "NetworkIn", "StatusCheckFailed"]);
        Call::new(t, "monitoring.amazonaws.com", "GetMetricData", true, MONITORING).params(format!(
            r#"{{"metricDataQueries":[{{"id":"a","metricStat":{{"metric":{{"namespace":"AWS/EC2","metricName":"{metric}"}},"period":60,"stat":"Average"}}}}],"startTime":"{begin}","endTime":"{end}"}}"#
        ))
    }

    fn describe_instance_status(&mut self, t: DateTime<Utc>) -> Call {
        let id = self.pick(&FLEET).0;
        Call::new(t, "ec2.amazonaws.com", "DescribeInstanceStatus", true, AUTOSCALING).params(
            format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"{id}"}}]}},"filterSet":{{}},"includeAllInstances":true}}"#
            ),
        )
    }

    fn get_caller_identity(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[CI, TF_USER, JANE]);
        Call::new(t, "sts.amazonaws.com", "GetCallerIdentity", true, caller)
    }

    fn create_log_stream(&mut self, t: DateTime<Utc>) -> Call {
        let (y, m, d) = (t.year(), t.month(), t.day());
        let hex = self.hex(32);
        Call::new(t, "logs.amazonaws.com", "CreateLogStream", false, LOGS_WORKER).params(format!(
            r#"{{"logGroupName":"/aws/lambda/order-processor","logStreamName":"{y:04}/{m:02}/{d:02}/[$LATEST]{hex}"}}"#
        ))
    }

    fn get_bucket_acl_ok(&mut self, t: DateTime<Utc>) -> Call {
        let bucket = self.pick(&BUCKETS);
        self.get_bucket_acl(t, bucket)
    }

    /// The scanner is routinely refused on a partner bucket: normal AccessDenied noise.
    fn get_bucket_acl_denied(&mut self, t: DateTime<Utc>) -> Call {
        self.get_bucket_acl(t, "acme-partner-exchange")
            .error("AccessDenied", "Access Denied".to_string())
    }

    fn get_bucket_acl(&mut self, t: DateTime<Utc>, bucket: &str) -> Call {
        let region = &self.region;
        let call = Call::new(t, "s3.amazonaws.com", "GetBucketAcl", true, AUDITOR).params(format!(
            r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","acl":""}}"#
        ));
        self.s3_extra(call)
    }

    /// S3 records carry additionalEventData in real trails.
    fn s3_extra(&mut self, mut call: Call) -> Call {
        let amz_id = self.alnum(56, false);
        let out: u32 = self.rng.random_range(300..2400);
        call.extra = Some(format!(
            r#"{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{amz_id}","bytesTransferredOut":{out}}}"#
        ));
        call
    }

    fn run_instances_ci(&mut self, t: DateTime<Utc>) -> Call {
        self.run_instances(t, CI, "t3.medium")
    }

    /// The burst: a stolen role launching GPU instances from a script.
    fn run_instances_attacker(&mut self, t: DateTime<Utc>) -> Call {
        self.run_instances(t, ATTACKER, "g4dn.12xlarge")
    }

    fn run_instances(&mut self, t: DateTime<Utc>, caller: Caller, itype: &str) -> Call {
        let acct = self.acct.clone();
        let id = format!("i-0{}", self.hex(16));
        let reservation = format!("r-0{}", self.hex(16));
        let request = self.uuid();
        let token = self.uuid();
        let ami = "ami-0c7217cdde317cfec";
        let subnet = "subnet-0f3a9b1c2d4e5f607";
        Call::new(t, "ec2.amazonaws.com", "RunInstances", false, caller)
            .params(format!(
                r#"{{"instancesSet":{{"items":[{{"imageId":"{ami}","minCount":1,"maxCount":1}}]}},"instanceType":"{itype}","blockDeviceMapping":{{}},"subnetId":"{subnet}","disableApiTermination":false,"clientToken":"{token}"}}"#
            ))
            .response(format!(
                r#"{{"requestId":"{request}","reservationId":"{reservation}","ownerId":"{acct}","groupSet":{{}},"instancesSet":{{"items":[{{"instanceId":"{id}","imageId":"{ami}","instanceState":{{"code":0,"name":"pending"}},"instanceType":"{itype}","subnetId":"{subnet}"}}]}}}}"#
            ))
    }

    fn create_tags(&mut self, t: DateTime<Utc>) -> Call {
        let (caller, owner) = if self.rng.random_bool(0.5) {
            (ALICE, "alice")
        } else {
            (BOB, "bob")
        };
        let id = self.pick(&FLEET).0;
        let request = self.uuid();
        Call::new(t, "ec2.amazonaws.com", "CreateTags", false, caller)
            .params(format!(
                r#"{{"resourcesSet":{{"items":[{{"resourceId":"{id}"}}]}},"tagSet":{{"items":[{{"key":"Owner","value":"{owner}"}}]}}}}"#
            ))
            .response(format!(r#"{{"requestId":"{request}","_return":true}}"#))
    }

    fn describe_security_groups(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[ALICE, BOB]);
        Call::new(
            t,
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            true,
            caller,
        )
        .params(r#"{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}"#.to_string())
    }

    fn create_snapshot(&mut self, t: DateTime<Utc>, k: u32) -> Call {
        let db = format!("orders-db-{k}");
        let (y, m, d) = (t.year(), t.month(), t.day());
        let snap = format!("nightly-{db}-{y:04}-{m:02}-{d:02}");
        Call::new(t, "rds.amazonaws.com", "CreateDBSnapshot", false, BACKUP)
            .params(format!(
                r#"{{"dBSnapshotIdentifier":"{snap}","dBInstanceIdentifier":"{db}"}}"#
            ))
            .response(format!(
                r#"{{"dBSnapshotIdentifier":"{snap}","dBInstanceIdentifier":"{db}","engine":"postgres","allocatedStorage":200,"status":"creating","port":5432,"snapshotType":"manual","encrypted":true}}"#
            ))
    }

    /// Renders a call as one CloudTrail record.
    ///
    /// Assembled by hand rather than through serde: in a debug build the
    /// per-byte escaping of ~1 KB records dominated generation time. Only
    /// strings this module controls (constants, ids, times, the pre-escaped
    /// account and region) are pushed unescaped; free text goes through serde.
    fn emit(&mut self, call: Call) -> Ev {
        let old = call.read_only && !call.injected && self.rng.random_bool(OLD_STYLE_P);
        let request_id = if call.source == "s3.amazonaws.com" {
            self.alnum(16, true)
        } else {
            self.uuid()
        };
        let event_id = self.uuid();
        let acct = self.acct.as_str();
        let region = self.region.as_str();
        let c = call.caller;
        let mut s = String::with_capacity(1536);
        s.push_str("{\"eventVersion\":\"");
        s.push_str(if old { "1.05" } else { "1.09" });
        s.push_str("\",\"userIdentity\":");
        push_identity(&mut s, acct, &c, call.time);
        push_field(&mut s, "eventTime", &format_time(call.time));
        push_field(&mut s, "eventSource", call.source);
        push_field(&mut s, "eventName", call.name);
        push_field(&mut s, "awsRegion", region);
        push_field(&mut s, "sourceIPAddress", c.ip);
        push_field(&mut s, "userAgent", c.agent);
        if let Some((code, msg)) = &call.error {
            push_field(&mut s, "errorCode", code);
            push_field(&mut s, "errorMessage", &json_inner(msg));
        }
        s.push_str(",\"requestParameters\":");
        s.push_str(&call.params);
        s.push_str(",\"responseElements\":");
        s.push_str(&call.response);
        if let Some(extra) = &call.extra {
            s.push_str(",\"additionalEventData\":");
            s.push_str(extra);
        }
        push_field(&mut s, "requestID", &request_id);
        push_field(&mut s, "eventID", &event_id);
        if !old {
            s.push_str(if call.read_only {
                ",\"readOnly\":true"
            } else {
                ",\"readOnly\":false"
            });
        }
        if let Some(res) = &call.resources {
            s.push_str(",\"resources\":");
            s.push_str(res);
        }
        push_field(&mut s, "eventType", "AwsApiCall");
        if !old {
            s.push_str(",\"managementEvent\":true");
        }
        push_field(&mut s, "recipientAccountId", acct);
        if !old {
            push_field(&mut s, "eventCategory", "Management");
            let service_call = c.invoked_by.is_some() || matches!(c.who, Principal::Service);
            if !service_call {
                s.push_str(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\"");
                push_field(
                    &mut s,
                    "clientProvidedHostHeader",
                    &host_header(call.source, region),
                );
                s.push('}');
            }
        }
        if c.console {
            push_field(&mut s, "sessionCredentialFromConsole", "true");
        }
        s.push('}');
        Ev {
            time: call.time,
            json: s,
            injected: call.injected,
        }
    }

    /// Writes one delivery file for the window that closed at `window_end`.
    fn write_file(
        &mut self,
        dir: &Path,
        window_end: DateTime<Utc>,
        mut records: Vec<String>,
    ) -> Result<PathBuf> {
        records.shuffle(&mut self.rng);
        let delivered = window_end + Duration::seconds(self.rng.random_range(0..MAX_JITTER_SECS));
        let unique = self.alnum(16, false);
        let key = writer::key(
            &self.spec.account,
            &self.spec.region,
            Minute::from_datetime(delivered),
            &unique,
        );
        // Level 2 is the fastest miniz level here and still compresses ~10x.
        let path = writer::write(dir, &key, &records, Compression::new(2))
            .with_context(|| format!("writing {}", dir.join(&key).display()))?;
        Ok(path)
    }
}

/// Writes `userIdentity`. Sessions start on the hour, as role credentials rotate hourly.
fn push_identity(s: &mut String, acct: &str, c: &Caller, time: DateTime<Utc>) {
    match c.who {
        Principal::Role(role, session) => {
            let role_id = stable_id("AROA", role);
            let created = format_time(truncate_hour(time));
            let key = stable_id("ASIA", &format!("{role}/{session}/{created}"));
            let mfa = if c.console { "true" } else { "false" };
            let _ = write!(
                s,
                "{{\"type\":\"AssumedRole\",\"principalId\":\"{role_id}:{session}\",\
                 \"arn\":\"arn:aws:sts::{acct}:assumed-role/{role}/{session}\",\
                 \"accountId\":\"{acct}\",\"accessKeyId\":\"{key}\",\
                 \"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\
                 \"principalId\":\"{role_id}\",\"arn\":\"arn:aws:iam::{acct}:role/{role}\",\
                 \"accountId\":\"{acct}\",\"userName\":\"{role}\"}},\
                 \"webIdFederationData\":{{}},\"attributes\":{{\
                 \"creationDate\":\"{created}\",\"mfaAuthenticated\":\"{mfa}\"}}}}"
            );
        }
        Principal::User(name) => {
            let _ = write!(
                s,
                "{{\"type\":\"IAMUser\",\"principalId\":\"{}\",\
                 \"arn\":\"arn:aws:iam::{acct}:user/{name}\",\"accountId\":\"{acct}\",\
                 \"accessKeyId\":\"{}\",\"userName\":\"{name}\"",
                stable_id("AIDA", name),
                stable_id("AKIA", name)
            );
        }
        Principal::Service => s.push_str("{\"type\":\"AWSService\""),
    }
    if let Some(by) = c.invoked_by {
        push_field(s, "invokedBy", by);
    }
    s.push('}');
}

/// Appends `,"key":"value"`; `value` must not need JSON escaping.
fn push_field(s: &mut String, key: &str, value: &str) {
    s.push_str(",\"");
    s.push_str(key);
    s.push_str("\":\"");
    s.push_str(value);
    s.push('"');
}

/// JSON-escaped contents of a string, without the surrounding quotes.
fn json_inner(raw: &str) -> String {
    // Serialising a str cannot fail; an empty string keeps the record valid regardless.
    let quoted = serde_json::to_string(raw).unwrap_or_else(|_| "\"\"".to_string());
    quoted[1..quoted.len() - 1].to_string()
}

/// The `Jan 5, 2026, 3:00:00 PM` style AWS uses for dates inside API payloads.
fn aws_date(t: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[t.month0() as usize];
    let (pm, hour) = t.hour12();
    let ampm = if pm { "PM" } else { "AM" };
    format!(
        "{month} {}, {}, {hour}:{:02}:{:02} {ampm}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

fn truncate_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_minute(t) - Duration::minutes(i64::from(t.minute()))
}

fn format_time(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn host_header(source: &str, region: &str) -> String {
    match source {
        "s3.amazonaws.com" | "sts.amazonaws.com" => source.to_string(),
        _ => {
            let svc = source.trim_end_matches(".amazonaws.com");
            format!("{svc}.{region}.amazonaws.com")
        }
    }
}

/// AWS-looking id (`AROA…`, `ASIA…`) derived from a name, so a principal keeps one id.
fn stable_id(prefix: &str, name: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prefix.bytes().chain(name.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let len = if prefix == "AROA" || prefix == "AIDA" {
        17
    } else {
        16
    };
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    for _ in 0..len {
        // splitmix64 step: cheap, well-mixed stream from the hash.
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push(char::from(CHARS[(z % 32) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;
    use serde_json::Value;
    use std::collections::{BTreeMap, HashSet};
    use std::fs::File;
    use std::io::Read;

    fn small_spec(seed: u64) -> DemoSpec {
        DemoSpec {
            seed,
            days: 3,
            ..DemoSpec::default()
        }
    }

    fn read_gz(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(File::open(path).expect("open"))
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }

    fn records(path: &Path) -> Vec<Value> {
        let v: Value = serde_json::from_slice(&read_gz(path)).expect("json");
        v["Records"].as_array().expect("Records").clone()
    }

    fn parse_time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    /// (stamp, folder date) from a delivery file path.
    fn stamp_of(path: &Path, spec: &DemoSpec) -> DateTime<Utc> {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let rest = name.strip_suffix(".json.gz").expect("suffix");
        let parts: Vec<&str> = rest.split('_').collect();
        assert_eq!(parts.len(), 5, "{name}");
        assert_eq!(parts[0], spec.account);
        assert_eq!(parts[1], "CloudTrail");
        assert_eq!(parts[2], spec.region);
        let stamp = parts[3];
        assert_eq!(stamp.len(), 14, "{name}");
        assert!(stamp.ends_with('Z') && &stamp[8..9] == "T", "{name}");
        assert_eq!(parts[4].len(), 16, "{name}");
        assert!(
            parts[4].chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}"
        );
        let t = Utc
            .with_ymd_and_hms(
                stamp[0..4].parse().expect("y"),
                stamp[4..6].parse().expect("m"),
                stamp[6..8].parse().expect("d"),
                stamp[9..11].parse().expect("H"),
                stamp[11..13].parse().expect("M"),
                0,
            )
            .single()
            .expect("stamp");
        let comps: Vec<&str> = path
            .iter()
            .rev()
            .skip(1)
            .take(7)
            .map(|c| c.to_str().expect("utf8"))
            .collect();
        assert_eq!(comps[0], &stamp[6..8]);
        assert_eq!(comps[1], &stamp[4..6]);
        assert_eq!(comps[2], &stamp[0..4]);
        assert_eq!(comps[3], spec.region);
        assert_eq!(comps[4], "CloudTrail");
        assert_eq!(comps[5], spec.account);
        assert_eq!(comps[6], "AWSLogs");
        t
    }

    fn normalise(arn: &str) -> String {
        if arn.contains(":assumed-role/") {
            match arn.rfind('/') {
                Some(i) => arn[..i].to_string(),
                None => arn.to_string(),
            }
        } else {
            arn.to_string()
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let spec = DemoSpec {
            days: 1,
            ..DemoSpec::default()
        };
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let ta = generate(a.path(), &spec).expect("gen a");
        let tb = generate(b.path(), &spec).expect("gen b");
        assert_eq!(ta.events, tb.events);
        assert_eq!(ta.files.len(), tb.files.len());
        for (fa, fb) in ta.files.iter().zip(&tb.files) {
            let ra = fa.strip_prefix(a.path()).expect("prefix");
            let rb = fb.strip_prefix(b.path()).expect("prefix");
            assert_eq!(ra, rb);
            assert_eq!(read_gz(fa), read_gz(fb));
        }
        let c = tempfile::tempdir().expect("tmp");
        let other = DemoSpec {
            seed: 8,
            ..spec.clone()
        };
        let tc = generate(c.path(), &other).expect("gen c");
        assert_ne!(
            ta.files.iter().map(|f| f.file_name()).collect::<Vec<_>>(),
            tc.files.iter().map(|f| f.file_name()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn files_events_and_incidents_are_consistent() {
        let spec = small_spec(11);
        let dir = tempfile::tempdir().expect("tmp");
        let trail = generate(dir.path(), &spec).expect("gen");
        assert_eq!(trail.incidents.len(), 2);
        let mut sorted = trail.files.clone();
        sorted.sort();
        assert_eq!(sorted, trail.files);

        let mut ids = HashSet::new();
        let mut dup_records = 0u64;
        let mut old_style = 0u64;
        let mut delays = Vec::new();
        let mut matches: Vec<BTreeMap<DateTime<Utc>, u32>> = vec![BTreeMap::new(); 2];
        let start = spec.start;
        let end = start + Duration::days(i64::from(spec.days));
        for path in &trail.files {
            let stamp = stamp_of(path, &spec);
            let recs = records(path);
            assert!(!recs.is_empty());
            for r in recs {
                let id = r["eventID"].as_str().expect("eventID").to_string();
                if !ids.insert(id) {
                    dup_records += 1;
                    continue;
                }
                let t = parse_time(r["eventTime"].as_str().expect("eventTime"));
                assert!(t >= start && t < end, "{t}");
                assert!(stamp >= t, "stamp {stamp} before event {t}");
                assert!(
                    stamp <= t + Duration::minutes(14),
                    "stamp {stamp} late for {t}"
                );
                delays.push((stamp - t).num_seconds());
                match r["eventVersion"].as_str() {
                    Some("1.05") => {
                        assert!(r.get("readOnly").is_none());
                        assert!(r.get("eventCategory").is_none());
                        assert!(r.get("managementEvent").is_none());
                        old_style += 1;
                    }
                    Some("1.09") => {
                        assert!(r["readOnly"].is_boolean());
                        assert_eq!(r["eventCategory"], "Management");
                        assert_eq!(r["managementEvent"], true);
                    }
                    other => panic!("eventVersion {other:?}"),
                }
                assert_eq!(r["eventType"], "AwsApiCall");
                assert_eq!(r["recipientAccountId"], spec.account.as_str());
                assert_eq!(r["awsRegion"], spec.region.as_str());
                let arn = r["userIdentity"]["arn"].as_str().map(normalise);
                for (k, inc) in trail.incidents.iter().enumerate() {
                    if r["eventSource"] == inc.event_source.as_str()
                        && r["eventName"] == inc.event_name.as_str()
                        && r["errorCode"].as_str() == inc.error_code.as_deref()
                        && arn.as_deref() == Some(inc.caller_arn.as_str())
                    {
                        *matches[k].entry(truncate_minute(t)).or_default() += 1;
                    }
                }
            }
        }
        assert_eq!(ids.len() as u64, trail.events);
        assert!(old_style > 0, "expected some 1.05 records");
        assert!(dup_records > 0, "expected some duplicated deliveries");
        // Most events land 5..8 minutes late; a few slip to the next delivery.
        let late = delays.iter().filter(|d| **d > 10 * 60).count();
        assert!(late > 0 && (late as f64) < 0.05 * delays.len() as f64);

        for (k, inc) in trail.incidents.iter().enumerate() {
            let minutes = (inc.end - inc.start).num_minutes();
            assert_eq!(matches[k].len() as i64, minutes, "{}", inc.name);
            for (m, n) in &matches[k] {
                assert!(*m >= inc.start && *m < inc.end, "{} at {m}", inc.name);
                assert_eq!(*n, inc.per_minute, "{} at {m}", inc.name);
            }
        }
    }

    #[test]
    fn default_incidents_sit_on_days_seven_and_eight() {
        let spec = DemoSpec::default();
        let plan = plan_incidents(&spec, spec.start);
        let burst = &plan[0].0;
        let storm = &plan[1].0;
        assert_eq!(burst.start.to_rfc3339(), "2026-01-12T10:23:00+00:00");
        assert_eq!(burst.end.to_rfc3339(), "2026-01-12T10:29:00+00:00");
        assert_eq!(storm.start.to_rfc3339(), "2026-01-13T03:41:00+00:00");
        assert_eq!(storm.end.to_rfc3339(), "2026-01-13T03:51:00+00:00");
        assert_eq!(
            burst.caller_arn,
            "arn:aws:sts::123456789012:assumed-role/CompromisedRole"
        );
        assert_eq!(storm.error_code.as_deref(), Some("AccessDeniedException"));
        let end = spec.start + Duration::days(i64::from(spec.days));
        assert!(
            plan.iter()
                .all(|(i, _)| i.end + Duration::minutes(30) < end)
        );
    }

    #[test]
    fn short_or_bad_specs() {
        let spec = DemoSpec {
            days: 2,
            ..DemoSpec::default()
        };
        assert!(plan_incidents(&spec, spec.start).is_empty());
        let zero = DemoSpec {
            days: 0,
            ..DemoSpec::default()
        };
        let dir = tempfile::tempdir().expect("tmp");
        assert!(generate(dir.path(), &zero).is_err());
        let bad = DemoSpec {
            account: "../etc".to_string(),
            ..DemoSpec::default()
        };
        assert!(generate(dir.path(), &bad).is_err());
    }

    #[test]
    fn stable_ids_look_like_aws() {
        let a = stable_id("AROA", "AppRole");
        assert_eq!(a, stable_id("AROA", "AppRole"));
        assert_eq!(a.len(), 21);
        assert_ne!(a, stable_id("AROA", "CIDeployRole"));
        assert_eq!(stable_id("ASIA", "x").len(), 20);
    }
}
