//! A minute busier than one DynamoDB item can hold: the event IDs a minute keeps for
//! de-duplication (8 bytes each) pass the 400 KB item limit at about 30,000 counted events. A
//! runaway script is exactly what should raise an insight, so such a minute must be counted
//! exactly, on DynamoDB Local (which enforces the limit) as on the embedded store, with copies
//! across files counted once and a redelivered file changing nothing, also after a crash between
//! writing a file's ID chunks and its minute.

mod common;

use common::spike::{ACCOUNT, REGION, scope};
use common::{event, local_aws, runtime, write_log};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use trail_insights::base::time::Minute;
use trail_insights::config::Config;
use trail_insights::engine::{Engine, Status};
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::{EmbeddedStore, StateStore, StoreError, StoreOp, WatchedStore};

/// Events in the busy minute, over three files.
const BUSY: usize = 75_000;

fn record(i: usize) -> Value {
    event(
        &format!("2026-01-05T10:00:{:02}Z", i % 60),
        "ec2.amazonaws.com",
        "CreateTags",
        false,
        None,
        "arn:aws:sts::123456789012:assumed-role/Runaway/i-1",
        &format!("busy-{i:06}"),
    )
}

/// Three files of the busy minute: the second repeats 5,000 of the first's events (CloudTrail
/// may deliver an event twice), the third holds the rest.
fn busy_files(dir: &Path) -> Vec<PathBuf> {
    let parts = [(0, 30_000), (25_000, 55_000), (55_000, BUSY)];
    parts
        .iter()
        .enumerate()
        .map(|(n, &(from, to))| {
            let records: Vec<Value> = (from..to).map(record).collect();
            write_log(
                dir,
                ACCOUNT,
                REGION,
                "20260105T1005Z",
                &format!("BUSY{n}AAAAAAAAAAA"),
                &records,
            )
        })
        .collect()
}

/// Process every file twice (a redelivery), and return the minute's count.
fn run(store: &dyn StateStore, logs: &Path, files: &[PathBuf]) -> u64 {
    let sink = DirectorySink {
        root: logs.with_file_name("out"),
    };
    let engine = Engine::new(Config::default(), store, &sink);
    for path in files.iter().chain(files) {
        let o = common::process_path(&engine, logs, path).unwrap();
        assert!(
            matches!(o.status, Status::Processed | Status::AlreadyProcessed),
            "{}: {:?}",
            path.display(),
            o.status
        );
    }
    let scope = scope();
    let minute = Minute::parse_event_time("2026-01-05T10:00:00Z").unwrap();
    let counts = engine.minute_counts(&scope, minute, minute).unwrap();
    assert_eq!(counts.len(), 1, "one minute");
    counts[0].1.count_of("call#ec2.amazonaws.com#CreateTags")
}

#[test]
fn a_minute_too_busy_for_one_item_is_counted_exactly_on_both_stores() {
    local_aws();
    let work = tempfile::tempdir().unwrap();
    let logs = work.path().join("logs");
    let files = busy_files(&logs);

    let embedded = EmbeddedStore::open(&work.path().join("state")).unwrap();
    assert_eq!(run(&embedded, &logs, &files), BUSY as u64, "embedded store");

    let rt = runtime();
    let store = common::dynamo_store(&rt, "busy-minute");
    // The first file's chunks are written, then the process dies before its minute item.
    let chunks_written = AtomicBool::new(false);
    let crashed = AtomicBool::new(false);
    let crashing = WatchedStore::new(&store, |op| {
        if let StoreOp::Put { sk } = op {
            if sk.starts_with("IDS#") {
                chunks_written.store(true, Ordering::SeqCst);
            } else if sk.starts_with("MIN#")
                && chunks_written.load(Ordering::SeqCst)
                && !crashed.swap(true, Ordering::SeqCst)
            {
                return Err(StoreError::Transient("injected crash".into()));
            }
        }
        Ok(())
    });
    let sink = DirectorySink {
        root: work.path().join("crashed-out"),
    };
    let engine = Engine::new(Config::default(), &crashing, &sink);
    assert!(common::process_path(&engine, &logs, &files[0]).is_err());
    assert!(crashed.load(Ordering::SeqCst), "the crash happened");
    let count = run(&store, &logs, &files);
    assert_eq!(count, BUSY as u64, "DynamoDB Local");
    // The minute item lists its chunks; nothing holds more than DynamoDB allows.
    let minute = Minute::parse_event_time("2026-01-05T10:00:00Z").unwrap();
    let pk = trail_insights::engine::trail_pk(&scope());
    let item = store
        .get(&pk, &trail_insights::engine::minute_sk(minute))
        .unwrap()
        .unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&item.body).unwrap();
    let chunks = stored["id_chunks"].as_array().unwrap();
    assert!(chunks.len() >= 5, "{} chunks", chunks.len());
    for sk in chunks {
        let chunk = store.get(&pk, sk.as_str().unwrap()).unwrap().unwrap();
        assert!(
            chunk.body.len() < 400_000,
            "{sk}: {} bytes",
            chunk.body.len()
        );
    }
}
