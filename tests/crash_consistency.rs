//! Exactly once across crashes: processing is aborted after the N-th state write (and, separately,
//! the N-th output write), then the files are delivered again to a fresh engine. For every N the
//! final per-minute counts, baselines and Insights files equal those of a clean run. Runs against
//! DynamoDB Local, where each write is durable on its own, and against the embedded store, which
//! commits a file's writes at once: there a crash loses the current file's writes (and, at the
//! N-th commit, the whole file), the store is closed as a dying process would leave it, and the
//! redelivery runs on the reopened file.

mod common;

use common::{event, local_aws, snapshot, write_log};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use trail_insights::aws::dynamo::{DynamoStore, create_table};
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::engine::{Engine, stored_series_states, trail_pk};
use trail_insights::insight::record::InsightFile;
use trail_insights::insight::sink::{DirectorySink, InsightSink, SinkError};
use trail_insights::store::{EmbeddedStore, StateStore, StoreError, StoreOp, WatchedStore};

/// Counts down; refuses once the count is used up (a process that died at that point).
fn tick(remaining: &AtomicI64) -> Result<(), StoreError> {
    if remaining.fetch_sub(1, Ordering::SeqCst) <= 0 {
        return Err(StoreError::Transient("injected crash".into()));
    }
    Ok(())
}

/// Fails every output write once `remaining` reaches zero.
struct CrashingSink<'a> {
    inner: &'a dyn InsightSink,
    remaining: AtomicI64,
}

impl InsightSink for CrashingSink<'_> {
    fn put(&self, file: &InsightFile) -> Result<(), SinkError> {
        tick(&self.remaining).map_err(|_| SinkError {
            key: file.key.clone(),
            reason: "injected crash".into(),
        })?;
        self.inner.put(file)
    }
    fn delete(&self, key: &str) -> Result<(), SinkError> {
        self.inner.delete(key)
    }
}

/// A small trail: history, an error burst split over two files (with a duplicate eventID), a
/// call-rate burst, and a later file that closes the minutes so both insights End.
fn trail(dir: &Path) -> Vec<(String, PathBuf)> {
    trail_through(dir, None)
}

/// As [`trail`], every call made through `agent` when given.
fn trail_through(dir: &Path, agent: Option<&str>) -> Vec<(String, PathBuf)> {
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let mut files = Vec::new();
    let mut add = |stamp: &str, unique: &str, mut records: Vec<Value>| {
        if let Some(agent) = agent {
            for r in &mut records {
                r["userAgent"] = Value::from(agent);
            }
        }
        let p = write_log(dir, "123456789012", "us-east-1", stamp, unique, &records);
        files.push((
            p.strip_prefix(dir).unwrap().to_string_lossy().to_string(),
            p,
        ));
    };
    let denied = |i: u32| {
        event(
            &format!("2026-01-09T10:00:{i:02}Z"),
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            true,
            Some("AccessDenied"),
            arn,
            &format!("d-{i}"),
        )
    };
    let run = |i: u32| {
        event(
            &format!("2026-01-09T10:01:{i:02}Z"),
            "ec2.amazonaws.com",
            "RunInstances",
            false,
            None,
            arn,
            &format!("r-{i}"),
        )
    };
    add(
        "20260101T0005Z",
        "CRASHCRASHCRASH1",
        vec![event(
            "2026-01-01T00:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-1",
        )],
    );
    add(
        "20260105T1205Z",
        "CRASHCRASHCRASH2",
        vec![event(
            "2026-01-05T12:00:00Z",
            "ec2.amazonaws.com",
            "RunInstances",
            false,
            None,
            arn,
            "r-old",
        )],
    );
    add(
        "20260109T1005Z",
        "CRASHCRASHCRASH3",
        (0..8).map(denied).chain((0..7).map(run)).collect(),
    );
    add(
        "20260109T1006Z",
        "CRASHCRASHCRASH4",
        (7..14).map(denied).chain((6..14).map(run)).collect(),
    );
    add(
        "20260109T1030Z",
        "CRASHCRASHCRASH5",
        vec![event(
            "2026-01-09T10:25:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-2",
        )],
    );
    files
}

/// Deliver every file (a redelivery after a crash starts from the first again); then flush.
fn deliver(engine: &Engine<'_>, files: &[(String, PathBuf)]) -> Result<(), String> {
    for (key, path) in files {
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(std::fs::File::open(path)?))
        };
        engine
            .process(&format!("trail/{key}"), key, &open)
            .map_err(|e| e.to_string())?;
    }
    engine.flush().map(|_| ()).map_err(|e| e.to_string())
}

/// Everything the state says: per-minute counts and the series items (baselines), by key.
fn state(store: &dyn StateStore) -> BTreeMap<String, Vec<u8>> {
    let scope = TrailScope {
        org: None,
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let pk = trail_pk(&scope);
    let mut out = BTreeMap::new();
    for (sk, item) in store.query(&pk, "MIN#", "MIN#~").unwrap() {
        let v: Value = serde_json::from_slice(&item.body).unwrap();
        out.insert(sk, serde_json::to_vec(&v["series"]).unwrap());
    }
    // Series states by meaning (page or own item), not by item layout.
    for (sid, state) in stored_series_states(store, &scope).unwrap() {
        out.insert(format!("SER#{sid}"), serde_json::to_vec(&state).unwrap());
    }
    out
}

struct Run {
    state: BTreeMap<String, Vec<u8>>,
    insights: Vec<(PathBuf, Vec<u8>)>,
    crashed: bool,
}

/// Where the crash strikes: after this many state writes, output writes and commits.
#[derive(Clone, Copy)]
struct Crash {
    store_writes: i64,
    output_writes: i64,
    commits: i64,
}

const NEVER: Crash = Crash {
    store_writes: i64::MAX,
    output_writes: i64::MAX,
    commits: i64::MAX,
};

/// Deliver everything through stores and sinks that crash at `crash`; tell whether it crashed.
fn crashing_delivery(
    store: &dyn StateStore,
    sink: &dyn InsightSink,
    files: &[(String, PathBuf)],
    crash: Crash,
) -> bool {
    let mut config = Config::default();
    config.detector.warmup_hours = 24;
    // State writes and commits fail once their count is used up.
    let (writes, commits) = (
        AtomicI64::new(crash.store_writes),
        AtomicI64::new(crash.commits),
    );
    let crashing = WatchedStore::new(store, |op| match op {
        StoreOp::Put { .. } | StoreOp::Delete => tick(&writes),
        StoreOp::Commit => tick(&commits),
        StoreOp::Get | StoreOp::Query => Ok(()),
    });
    let crashing_sink = CrashingSink {
        inner: sink,
        remaining: AtomicI64::new(crash.output_writes),
    };
    deliver(&Engine::new(config, &crashing, &crashing_sink), files).is_err()
}

fn config() -> Config {
    let mut config = Config::default();
    config.detector.warmup_hours = 24;
    config
}

/// One run on DynamoDB Local: crash at `crash`, then redeliver everything to a fresh engine
/// without faults.
fn run(rt: &tokio::runtime::Runtime, files: &[(String, PathBuf)], crash: Crash) -> Run {
    // DynamoDB Local keeps tables between runs and process IDs are reused: name tables per run.
    static RUN: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    static N: AtomicI64 = AtomicI64::new(0);
    let run = RUN.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    });
    let table = format!("crash-{run}-{}", N.fetch_add(1, Ordering::SeqCst));
    let sdk = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    rt.block_on(create_table(&client, &table)).unwrap();
    let dynamo = DynamoStore::new(client, &table, rt.handle().clone(), 15);
    let out = tempfile::tempdir().unwrap();
    let sink = DirectorySink {
        root: out.path().to_path_buf(),
    };
    let crashed = crashing_delivery(&dynamo, &sink, files, crash);
    deliver(&Engine::new(config(), &dynamo, &sink), files).unwrap();
    Run {
        state: state(&dynamo),
        insights: snapshot(out.path()),
        crashed,
    }
}

/// One run on the embedded store: crash at `crash`, close the store (the process is gone),
/// reopen it and redeliver everything.
fn run_embedded(files: &[(String, PathBuf)], crash: Crash) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let sink = DirectorySink {
        root: out.path().to_path_buf(),
    };
    let crashed = {
        let store = EmbeddedStore::open(dir.path()).unwrap();
        crashing_delivery(&store, &sink, files, crash)
    };
    let store = EmbeddedStore::open(dir.path()).unwrap();
    deliver(&Engine::new(config(), &store, &sink), files).unwrap();
    Run {
        state: state(&store),
        insights: snapshot(out.path()),
        crashed,
    }
}

/// The run after a crash must equal the clean run, state and Insights files alike.
fn check(clean: &Run, r: &Run, what: &str) {
    if r.state != clean.state {
        for (k, v) in &clean.state {
            if r.state.get(k) != Some(v) {
                eprintln!(
                    "DIFF {k}\n clean: {}\n crash: {}",
                    String::from_utf8_lossy(v),
                    r.state
                        .get(k)
                        .map(|b| String::from_utf8_lossy(b).to_string())
                        .unwrap_or_default()
                );
            }
        }
        for k in r.state.keys().filter(|k| !clean.state.contains_key(*k)) {
            eprintln!("EXTRA {k}");
        }
    }
    assert!(
        r.state == clean.state,
        "state differs after a crash at {what}"
    );
    if r.insights != clean.insights {
        let show = |v: &Vec<(PathBuf, Vec<u8>)>| {
            v.iter()
                .map(|(p, b)| {
                    format!(
                        "{}: {}",
                        p.display(),
                        trail_insights::insight::record::parse_insight_file(b)
                            .map(|r| serde_json::to_string(
                                &r[0].insight_details.insight_context.statistics
                            )
                            .unwrap())
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
        };
        eprintln!(
            "CLEAN {:#?}\nCRASH {:#?}",
            show(&clean.insights),
            show(&r.insights)
        );
    }
    assert!(
        r.insights == clean.insights,
        "Insights files differ after a crash at {what}"
    );
}

/// Crash at every state write, every commit and the first output writes; each must recover to
/// `clean`. Returns how many state writes and commits were crashed at.
fn every_crash(clean: &Run, run: impl Fn(Crash) -> Run) -> (i64, i64) {
    assert!(!clean.crashed);
    assert_eq!(
        clean.insights.len(),
        4,
        "two insights, Start and End each: {:?}",
        clean.insights.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // Crash at the n-th point for n = 0, 1, ... until a run gets through without crashing.
    let every = |at: &dyn Fn(i64) -> Crash, what: &str| -> i64 {
        for n in 0.. {
            let r = run(at(n));
            if !r.crashed {
                return n;
            }
            check(clean, &r, &format!("{what} {n}"));
        }
        unreachable!()
    };
    let writes = every(
        &|n| Crash {
            store_writes: n,
            ..NEVER
        },
        "state write",
    );
    let commits = every(
        &|n| Crash {
            commits: n,
            ..NEVER
        },
        "commit",
    );
    for n in 0..4 {
        let r = run(Crash {
            output_writes: n,
            ..NEVER
        });
        assert!(r.crashed, "output write {n} was reached");
        check(clean, &r, &format!("output write {n}"));
    }
    (writes, commits)
}

#[test]
fn a_crash_after_any_write_then_redelivery_equals_a_clean_run() {
    local_aws();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = trail(dir.path());
    let clean = run(&rt, &files, NEVER);
    let (writes, commits) = every_crash(&clean, |crash| run(&rt, &files, crash));
    eprintln!(
        "DynamoDB: crashed and recovered at each of {writes} state writes, {commits} commits"
    );
    assert!(
        writes > 20,
        "crashed at every one of the {writes} state writes"
    );
}

#[test]
fn embedded_store_a_crash_after_any_write_or_commit_then_restart_equals_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let files = trail(dir.path());
    let clean = run_embedded(&files, NEVER);
    let (writes, commits) = every_crash(&clean, |crash| run_embedded(&files, crash));
    eprintln!(
        "embedded: crashed and recovered at each of {writes} state writes, {commits} commits"
    );
    assert!(
        writes > 20,
        "crashed at every one of the {writes} state writes"
    );
    assert_eq!(
        commits,
        files.len() as i64 + 1,
        "one commit per file and one for the end-of-input flush, each crashed at"
    );
}

/// The same through Terraform: each Start is held for the deploy-session rule (two APIs are no
/// session) in the series' state from the file that proves it to the one that delivers its window,
/// then written. A crash at any write in between loses no hold and writes nothing twice.
const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io)";

#[test]
fn held_starts_survive_a_crash_after_any_write_on_dynamodb_and_the_embedded_store() {
    local_aws();
    let rt = common::runtime();
    let dir = tempfile::tempdir().unwrap();
    let files = trail_through(dir.path(), Some(TERRAFORM));
    // Both Starts are held first (not judged in the file that proves them).
    let state = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(state.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let sink = DirectorySink {
        root: out.path().to_path_buf(),
    };
    let engine = Engine::new(config(), &store, &sink);
    let mut held = Vec::new();
    for (key, path) in &files {
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(std::fs::File::open(path)?))
        };
        let o = engine.process(key, key, &open).unwrap();
        held.extend(o.held.iter().map(|(sid, _)| (key.clone(), sid.clone())));
    }
    assert_eq!(held.len(), 2, "each Start held once: {held:?}");
    let clean = run(&rt, &files, NEVER);
    let (writes, _) = every_crash(&clean, |crash| run(&rt, &files, crash));
    assert!(writes > 20, "DynamoDB: crashed at each of {writes} writes");
    let clean = run_embedded(&files, NEVER);
    let (writes, _) = every_crash(&clean, |crash| run_embedded(&files, crash));
    assert!(writes > 20, "embedded: crashed at each of {writes} writes");
}
