//! Shared helpers for the integration tests: real log files on disk, a shared demo trail.
#![allow(dead_code)]

pub mod logs;

use flate2::{Compression, write::GzEncoder};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use trail_insights::synth::demo::{DemoSpec, DemoTrail, generate};

/// The default demo trail, generated once per test binary.
pub fn demo_trail() -> &'static (PathBuf, DemoTrail) {
    static TRAIL: OnceLock<(PathBuf, DemoTrail)> = OnceLock::new();
    TRAIL.get_or_init(|| {
        // Under the target directory, one per test binary (they run one after another), and
        // replaced on each run, so repeated runs do not fill the temporary directory.
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_stem().unwrap().to_string_lossy();
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("demo-trail-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let trail = generate(&dir, &DemoSpec::default()).unwrap();
        (dir, trail)
    })
}

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The delivery stamp of a log file name (`YYYYMMDDTHHmmZ`) for minute `m`.
pub fn stamp(m: trail_insights::base::time::Minute) -> String {
    let digits: String = m
        .to_rfc3339()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .take(13)
        .collect();
    format!("{digits}Z")
}

/// Write a CloudTrail log file for `records` delivered at `stamp` (`YYYYMMDDTHHmmZ`).
pub fn write_log(
    root: &Path,
    account: &str,
    region: &str,
    stamp: &str,
    unique: &str,
    records: &[Value],
) -> PathBuf {
    let dir = root.join(format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{}/{}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    ));
    let body = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    std::fs::write(&path, gz(&body)).unwrap();
    path
}

/// A management event as CloudTrail writes it.
pub fn event(
    time: &str,
    source: &str,
    name: &str,
    read_only: bool,
    error: Option<&str>,
    arn: &str,
    id: &str,
) -> Value {
    let mut v = json!({
        "eventVersion": "1.09",
        "userIdentity": { "type": "AssumedRole", "arn": arn, "accountId": "123456789012" },
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1",
        "userAgent": "aws-cli/2.13.5",
        "requestParameters": null,
        "responseElements": null,
        "eventID": id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management"
    });
    if let Some(code) = error {
        v["errorCode"] = json!(code);
        v["errorMessage"] = json!("denied");
    }
    v
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if e.file_type().is_file() {
            out.push((
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            ));
        }
    }
    out
}

/// Keys of a JSON value, recursively, with their JSON types: `a.b[].c: number`.
pub fn shape(v: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        let kind = match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        out.push(format!("{path}: {kind}"));
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    walk(x, &format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                if let Some(first) = a.first() {
                    walk(first, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out.sort();
    out.dedup();
    out
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Start the local servers (idempotent) and point this process's SDK at them. Every test here
/// calls this first, so the environment is set before any test thread reads it.
pub fn local_aws() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let up = Command::new(root().join("scripts/local-aws.sh"))
            .arg("up")
            .status()
            .unwrap();
        assert!(up.success(), "scripts/local-aws.sh up failed");
        let env = Command::new(root().join("scripts/local-aws.sh"))
            .arg("env")
            .output()
            .unwrap();
        for line in String::from_utf8_lossy(&env.stdout).lines() {
            if let Some((k, v)) = line
                .trim()
                .strip_prefix("export ")
                .and_then(|l| l.split_once('='))
            {
                // SAFETY: runs once, inside OnceLock initialisation, before any test of this
                // binary reads the environment (they all wait on this lock first).
                unsafe { std::env::set_var(k, v.trim_matches('"').trim_matches('\'')) };
            }
        }
    });
}

pub mod spike;
pub mod watch;

/// A quiet week, an AccessDenied storm at 10:00 on day 9, and a later file that closes it:
/// one Start and one End. Returns the keys in delivery order.
pub fn storm_trail(dir: &Path) -> Vec<String> {
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let mut keys = Vec::new();
    let mut f =
        |stamp: &str, u: &str, records: &[Value]| keys.push(log_key(dir, stamp, u, records));
    let create =
        |t: &str, id: &str| event(t, "iam.amazonaws.com", "CreateUser", false, None, arn, id);
    f(
        "20260101T0005Z",
        "EVBRIDGEEVBRIDG1",
        &[create("2026-01-01T00:00:00Z", "c-1")],
    );
    let denied: Vec<Value> = (0..20)
        .map(|i| {
            event(
                &format!("2026-01-09T10:00:{:02}Z", i * 2),
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                true,
                Some("AccessDenied"),
                arn,
                &format!("d-{i}"),
            )
        })
        .collect();
    f("20260109T1005Z", "EVBRIDGEEVBRIDG2", &denied);
    f(
        "20260109T1040Z",
        "EVBRIDGEEVBRIDG3",
        &[create("2026-01-09T10:35:00Z", "c-2")],
    );
    keys
}

/// The configuration `settings` give, as the environment would give them.
pub fn config_from(settings: &[(&str, &str)]) -> trail_insights::config::Config {
    let env: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    trail_insights::config::Config::load_from(None, &env).unwrap()
}

/// Replay `logs` into `state` (Insights under `state.out`) with `settings` given as the
/// environment would give them; every record written, Start before End per insight.
pub fn replay_records(
    logs: &Path,
    state: &Path,
    settings: &[(&str, &str)],
) -> Vec<trail_insights::insight::record::InsightRecord> {
    let config = config_from(settings);
    let out = state.with_extension("out");
    trail_insights::app::cli::replay::replay(
        &[logs.to_path_buf()],
        state,
        &out,
        config,
        true,
        false,
    )
    .unwrap();
    if !out.exists() {
        return Vec::new();
    }
    trail_insights::insight::pairs::lookup(&out)
        .unwrap()
        .into_iter()
        .flat_map(|p| [p.start, p.end])
        .flatten()
        .collect()
}

/// Write a log file of account 123456789012 in us-east-1 under `dir`; its key relative to `dir`.
pub fn log_key(dir: &Path, stamp: &str, unique: &str, records: &[Value]) -> String {
    let p = write_log(dir, "123456789012", "us-east-1", stamp, unique, records);
    p.strip_prefix(dir).unwrap().to_string_lossy().to_string()
}

/// A name unique to this process and moment (tables, prefixes).
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// A state store on a new DynamoDB Local table named after `name` (servers already up).
pub fn dynamo_store(
    rt: &tokio::runtime::Runtime,
    name: &str,
) -> trail_insights::aws::dynamo::DynamoStore {
    let table = unique(name);
    let client = rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_dynamodb::Client::new(&sdk);
        trail_insights::aws::dynamo::create_table(&client, &table)
            .await
            .unwrap();
        client
    });
    trail_insights::aws::dynamo::DynamoStore::new(client, &table, rt.handle().clone(), 15)
}

/// A multi-threaded Tokio runtime for the AWS SDK.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// An AccessDenied `GetSecretValue` at 2026-01-09T10:00:`second` by an assumed role: the
/// error-rate spike the tests raise.
pub fn access_denied(second: u32, id: &str) -> Value {
    event(
        &format!("2026-01-09T10:00:{second:02}Z"),
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        Some("AccessDenied"),
        "arn:aws:sts::123456789012:assumed-role/App/i-1",
        id,
    )
}

/// The storm trail in S3 for the function's code path: a fresh table, the buckets `logs` and
/// `out` (fixed names are reused: every new bucket is a SeaweedFS collection with volumes of its
/// own, and a shared server runs out of them), the trail's files uploaded under `run/`.
/// Returns the uploaded keys in delivery order.
pub fn upload_storm(
    rt: &tokio::runtime::Runtime,
    sdk: &aws_config::SdkConfig,
    table: &str,
    logs: &str,
    out: &str,
    run: &str,
) -> Vec<String> {
    upload_trail(rt, sdk, table, logs, out, run, storm_trail)
}

/// As [`upload_storm`], for the trail `write` puts in a directory (returning its keys in
/// delivery order).
pub fn upload_trail(
    rt: &tokio::runtime::Runtime,
    sdk: &aws_config::SdkConfig,
    table: &str,
    logs: &str,
    out: &str,
    run: &str,
    write: impl FnOnce(&Path) -> Vec<String>,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let files = write(dir.path());
    let keys: Vec<String> = files.iter().map(|k| format!("{run}/{k}")).collect();
    rt.block_on(async {
        trail_insights::aws::dynamo::create_table(&aws_sdk_dynamodb::Client::new(sdk), table)
            .await
            .unwrap();
        let s3 = trail_insights::aws::s3::client(sdk);
        for b in [logs, out] {
            let _ = s3.create_bucket().bucket(b).send().await;
        }
        for (k, f) in keys.iter().zip(&files) {
            s3.put_object()
                .bucket(logs)
                .key(k)
                .body(std::fs::read(dir.path().join(f)).unwrap().into())
                .send()
                .await
                .unwrap();
        }
    });
    keys
}

/// A data event as CloudTrail writes it for S3 object-level logging.
pub fn data_event(time: &str, name: &str, error: Option<&str>, arn: &str, id: &str) -> Value {
    let mut v = event(time, "s3.amazonaws.com", name, true, error, arn, id);
    v["eventCategory"] = json!("Data");
    v["managementEvent"] = json!(false);
    v["resources"] = json!([{ "type": "AWS::S3::Object", "ARN": "arn:aws:s3:::bucket/key" }]);
    v
}

/// Quiet history on day 1, two bursts at 10:00 on day 9 (20 successful DescribeInstances reads,
/// 20 GetObject data events failing with NoSuchKey), and a later file that closes them. Nothing
/// here is analysed by AWS's defaults. Returns the keys in delivery order.
pub fn reads_and_data_trail(dir: &Path) -> Vec<String> {
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let mut keys = Vec::new();
    let mut f =
        |stamp: &str, u: &str, records: &[Value]| keys.push(log_key(dir, stamp, u, records));
    let create =
        |t: &str, id: &str| event(t, "iam.amazonaws.com", "CreateUser", false, None, arn, id);
    let describe = |t: &str, id: &str| {
        event(
            t,
            "ec2.amazonaws.com",
            "DescribeInstances",
            true,
            None,
            arn,
            id,
        )
    };
    f(
        "20260101T0005Z",
        "COVERAGECOVERAG1",
        &[
            create("2026-01-01T00:00:00Z", "c-1"),
            describe("2026-01-01T00:01:00Z", "r-0"),
            data_event("2026-01-01T00:02:00Z", "GetObject", None, arn, "g-0"),
        ],
    );
    let mut burst: Vec<Value> = Vec::new();
    for i in 0..20 {
        let t = format!("2026-01-09T10:00:{:02}Z", i * 2);
        burst.push(describe(&t, &format!("r-{}", i + 1)));
        burst.push(data_event(
            &t,
            "GetObject",
            Some("NoSuchKey"),
            arn,
            &format!("g-{}", i + 1),
        ));
    }
    f("20260109T1005Z", "COVERAGECOVERAG2", &burst);
    f(
        "20260109T1040Z",
        "COVERAGECOVERAG3",
        &[create("2026-01-09T10:35:00Z", "c-2")],
    );
    keys
}

/// Process the log file at `path` through `engine`, its key being its path under `root`.
pub fn process_path(
    engine: &trail_insights::engine::Engine<'_>,
    root: &Path,
    path: &Path,
) -> Result<trail_insights::engine::Outcome, trail_insights::engine::ProcessError> {
    let key = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .to_string();
    let open =
        || -> std::io::Result<Box<dyn std::io::Read>> { Ok(Box::new(std::fs::File::open(path)?)) };
    engine.process(&format!("trail/{key}"), &key, &open)
}
