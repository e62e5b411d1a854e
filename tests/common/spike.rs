//! A small trail of one account and region with two spikes (a RunInstances write burst and a
//! GetSecretValue AccessDenied burst) spread over files that overlap (neighbouring files carry
//! the same events, as CloudTrail redeliveries do), an independent count of it, and snapshots of
//! what the engine keeps for it. Shared by the concurrency, ordering and fault tests.

use super::{event, write_log};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::engine::{stored_series_states, trail_pk};
use trail_insights::insight::record::InsightRecord;
use trail_insights::store::StateStore;

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";
/// Spike files (overlapping windows of the burst events).
pub const SPIKE_FILES: usize = 8;
/// Burst events of each kind; file `i` holds events `i*6 .. i*6+12`.
pub const BURST: usize = 6 * (SPIKE_FILES - 1) + 12;

pub struct TrailFile {
    /// The object key (path under the trail root).
    pub key: String,
    pub path: PathBuf,
    pub records: Vec<Value>,
}

pub fn scope() -> TrailScope {
    TrailScope {
        org: None,
        account: ACCOUNT.into(),
        region: REGION.into(),
    }
}

/// The detector settings the trail is built for (a day of warm-up instead of 36 hours).
pub fn config() -> Config {
    let mut c = Config::default();
    c.detector.warmup_hours = 24;
    c
}

/// The trail, in delivery order: two history files, `SPIKE_FILES` overlapping spike files
/// delivered a minute apart (all within the lateness allowance of the burst), and a closing
/// file delivered late enough to close the burst minutes, which Ends both insights.
pub fn spike_trail(root: &Path, tag: &str) -> Vec<TrailFile> {
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let mut files = Vec::new();
    let mut add = |stamp: &str, n: usize, records: Vec<Value>| {
        let unique = format!("{tag}{n:04}").to_uppercase();
        let path = write_log(root, ACCOUNT, REGION, stamp, &unique, &records);
        files.push(TrailFile {
            key: path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string(),
            path,
            records,
        });
    };
    let at = |minute: usize, second: usize| format!("2026-01-09T10:{minute:02}:{second:02}Z");
    let run = |j: usize| {
        event(
            &at(j / 16, j % 60),
            "ec2.amazonaws.com",
            "RunInstances",
            false,
            None,
            arn,
            &format!("run-{j}"),
        )
    };
    let denied = |j: usize| {
        event(
            &at(j / 16, (j * 7) % 60),
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            true,
            Some("AccessDenied"),
            arn,
            &format!("denied-{j}"),
        )
    };
    add(
        "20260101T0005Z",
        0,
        vec![event(
            "2026-01-01T00:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "hist-1",
        )],
    );
    add(
        "20260105T1205Z",
        1,
        vec![
            event(
                "2026-01-05T12:00:00Z",
                "ec2.amazonaws.com",
                "RunInstances",
                false,
                None,
                arn,
                "hist-2",
            ),
            event(
                "2026-01-05T12:00:30Z",
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                true,
                Some("AccessDenied"),
                arn,
                "hist-3",
            ),
        ],
    );
    for i in 0..SPIKE_FILES {
        let window = i * 6..i * 6 + 12;
        let mut records: Vec<Value> = window.clone().map(run).chain(window.map(denied)).collect();
        if i == 0 {
            // A duplicate inside one file, too.
            records.push(records[0].clone());
        }
        add(&format!("20260109T10{:02}Z", 3 + i), 2 + i, records);
    }
    add(
        "20260109T1040Z",
        2 + SPIKE_FILES,
        vec![event(
            "2026-01-09T10:35:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "close-1",
        )],
    );
    files
}

/// Per (minute, series id) counts, computed from the records with plain JSON and the documented
/// rules (each eventID once; write calls count as calls, errors as errors).
pub fn independent_counts(files: &[TrailFile]) -> BTreeMap<(i64, String), u64> {
    let mut seen = BTreeSet::new();
    let mut out = BTreeMap::new();
    for r in files.iter().flat_map(|f| &f.records) {
        if !seen.insert(r["eventID"].as_str().unwrap().to_string()) {
            continue;
        }
        let t = chrono::DateTime::parse_from_rfc3339(r["eventTime"].as_str().unwrap()).unwrap();
        let minute = t.timestamp().div_euclid(60);
        let (src, name) = (
            r["eventSource"].as_str().unwrap(),
            r["eventName"].as_str().unwrap(),
        );
        if r["readOnly"] == Value::Bool(false) {
            *out.entry((minute, format!("call#{src}#{name}")))
                .or_default() += 1;
        }
        if let Some(code) = r["errorCode"].as_str() {
            *out.entry((minute, format!("error#{src}#{name}#{code}")))
                .or_default() += 1;
        }
    }
    out
}

/// Everything the state says about the trail, by meaning rather than by item layout: per-minute
/// counts (without the event-ID hashes, whose packing may differ), each series' state (from its
/// page or its own item, as `SER#<id>`) and the trail's progress item without the fields that
/// say where series states are stored.
pub fn state(store: &dyn StateStore) -> BTreeMap<String, Vec<u8>> {
    let pk = trail_pk(&scope());
    let mut out = BTreeMap::new();
    for (sk, item) in store.query(&pk, "MIN#", "MIN#~").unwrap() {
        let v: Value = serde_json::from_slice(&item.body).unwrap();
        out.insert(sk, serde_json::to_vec(&v["series"]).unwrap());
    }
    for (sid, state) in stored_series_states(store, &scope()).unwrap() {
        out.insert(format!("SER#{sid}"), serde_json::to_vec(&state).unwrap());
    }
    for (sk, item) in store.query(&pk, "STATE", "STATE").unwrap() {
        let mut v: Value = serde_json::from_slice(&item.body).unwrap();
        if let Some(fields) = v.as_object_mut() {
            for storage in ["pages", "loose", "paged"] {
                fields.remove(storage);
            }
        }
        out.insert(sk, serde_json::to_vec(&v).unwrap());
    }
    out
}

/// The per (minute, series) counts inside a [`state`] snapshot.
pub fn counts_of(state: &BTreeMap<String, Vec<u8>>) -> BTreeMap<(i64, String), u64> {
    let mut out = BTreeMap::new();
    for (sk, body) in state {
        let Some(minute) = sk.strip_prefix("MIN#") else {
            continue;
        };
        let series: BTreeMap<String, Value> = serde_json::from_slice(body).unwrap();
        for (sid, s) in series {
            out.insert((minute.parse().unwrap(), sid), s["count"].as_u64().unwrap());
        }
    }
    out
}

/// Describe the first difference between two snapshots (for assertion messages).
pub fn diff(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> String {
    for k in a.keys().chain(b.keys()) {
        if a.get(k) != b.get(k) {
            let show = |v: Option<&Vec<u8>>| {
                v.map(|b| String::from_utf8_lossy(b).to_string())
                    .unwrap_or_else(|| "(absent)".into())
            };
            return format!("{k}:\n  {}\n  {}", show(a.get(k)), show(b.get(k)));
        }
    }
    "no difference".into()
}

/// Start/End states per series (`source name [code]`), sorted.
pub fn states_by_series(records: &[InsightRecord]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        let d = &r.insight_details;
        let series = format!(
            "{} {} {}",
            d.event_source,
            d.event_name,
            d.error_code.as_deref().unwrap_or("")
        );
        out.entry(series).or_default().push(d.state.clone());
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Insights records keyed by (sharedEventID, state), as JSON text for exact comparison.
pub fn by_id(records: &[InsightRecord]) -> BTreeMap<(String, String), String> {
    records
        .iter()
        .map(|r| {
            (
                (r.shared_event_id.clone(), r.insight_details.state.clone()),
                serde_json::to_string(r).unwrap(),
            )
        })
        .collect()
}

/// The assertions every run of this trail must pass: counts equal the independent count, and
/// exactly one Start and one End for each of the two spikes.
pub fn check_exact(
    files: &[TrailFile],
    state: &BTreeMap<String, Vec<u8>>,
    insights: &[InsightRecord],
) {
    let expected = independent_counts(files);
    let got = counts_of(state);
    assert!(
        got == expected,
        "per-minute counts differ from the independent count:\n got {got:?}\nwant {expected:?}"
    );
    let states = states_by_series(insights);
    let want: BTreeMap<String, Vec<String>> = [
        "ec2.amazonaws.com RunInstances ",
        "secretsmanager.amazonaws.com GetSecretValue AccessDenied",
    ]
    .iter()
    .map(|s| (s.to_string(), vec!["End".to_string(), "Start".to_string()]))
    .collect();
    assert_eq!(states, want, "exactly one Start and one End per spike");
}

/// Process one file of the trail from disk, as object `trail/<key>`.
pub fn process_file(
    engine: &trail_insights::engine::Engine<'_>,
    f: &TrailFile,
) -> Result<trail_insights::engine::Outcome, trail_insights::engine::ProcessError> {
    let open = || -> std::io::Result<Box<dyn std::io::Read>> {
        Ok(Box::new(std::fs::File::open(&f.path)?))
    };
    engine.process(&format!("trail/{}", f.key), &f.key, &open)
}

/// A name no earlier run used (DynamoDB Local keeps tables; process IDs are reused).
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The one bucket these tests share. SeaweedFS gives every bucket volumes of its own and has
/// few (about 20 with a few GB free), so runs are kept apart by key prefix, not by bucket.
pub const BUCKET: &str = "ti-invariant-tests";

/// Create `table`, make sure [`BUCKET`] exists, and upload `files` under `prefix/`.
pub async fn prepare(sdk: &aws_config::SdkConfig, table: &str, prefix: &str, files: &[TrailFile]) {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    trail_insights::aws::dynamo::create_table(&aws_sdk_dynamodb::Client::new(sdk), table)
        .await
        .unwrap();
    let s3 = trail_insights::aws::s3::client(sdk);
    if let Err(e) = s3.create_bucket().bucket(BUCKET).send().await {
        assert!(
            matches!(
                e.code(),
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ),
            "cannot create {BUCKET}: {}",
            aws_sdk_s3::error::DisplayErrorContext(&e)
        );
    }
    for f in files {
        s3.put_object()
            .bucket(BUCKET)
            .key(format!("{prefix}/{}", f.key))
            .body(std::fs::read(&f.path).unwrap().into())
            .send()
            .await
            .unwrap();
    }
}
