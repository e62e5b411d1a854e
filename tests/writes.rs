//! State writes per log file (issue 6's target: minutes touched + insight transitions + a small
//! constant). Ten steady APIs, a file every 5 minutes for 3 hours: per file, the minute items,
//! the trail item and the file's marker; on the files that complete an hour, also the one page
//! that holds the series' baselines (not one item per series).

mod common;

use common::{event, stamp, write_log};
use std::collections::BTreeMap;
use std::sync::Mutex;
use trail_insights::base::time::Minute;
use trail_insights::config::Config;
use trail_insights::engine::Engine;
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::{EmbeddedStore, StoreOp, WatchedStore};

#[test]
fn a_file_writes_its_minutes_the_trail_its_marker_and_once_an_hour_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let first = Minute::parse_event_time("2026-01-05T00:00:00Z").unwrap();
    let (apis, files) = (10u64, 36);
    let mut paths = Vec::new();
    for f in 0..files {
        let start = first.plus(5 * f);
        let mut records = Vec::new();
        for m in 0..5 {
            let time = start.plus(m).to_rfc3339();
            for api in 0..apis {
                let id = format!("e-{}-{api}", start.0 + m);
                records.push(event(
                    &time,
                    "ssm.amazonaws.com",
                    &format!("PutParameter{api}"),
                    false,
                    None,
                    arn,
                    &id,
                ));
            }
        }
        let delivered = stamp(start.plus(5));
        paths.push(write_log(
            &logs,
            "123456789012",
            "us-east-1",
            &delivered,
            &format!("WRITESWRITES{f:04}"),
            &records,
        ));
    }

    let embedded = EmbeddedStore::open(&dir.path().join("state")).unwrap();
    // Writes by the kind of item (the sort key's prefix).
    let puts: Mutex<BTreeMap<String, u64>> = Mutex::default();
    // Writes of the file being processed (puts and deletes).
    let file_writes = Mutex::new(0u64);
    let store = WatchedStore::new(&embedded, |op| {
        if let StoreOp::Put { sk } = op {
            let kind = sk.split('#').next().unwrap_or(sk).to_string();
            *puts.lock().unwrap().entry(kind).or_default() += 1;
        }
        if matches!(op, StoreOp::Put { .. } | StoreOp::Delete) {
            *file_writes.lock().unwrap() += 1;
        }
        Ok(())
    });
    let sink = DirectorySink {
        root: dir.path().join("out"),
    };
    let engine = Engine::new(Config::default(), &store, &sink);
    for path in &paths {
        *file_writes.lock().unwrap() = 0;
        let outcome = common::process_path(&engine, &logs, path).unwrap();
        let writes = *file_writes.lock().unwrap();
        // Minute items, trail item, marker, and on an hour's last file one page.
        assert!(
            writes <= outcome.minutes_touched as u64 + outcome.insights.len() as u64 + 3,
            "{}: {writes} writes for {} minutes",
            path.display(),
            outcome.minutes_touched
        );
    }
    let puts = puts.lock().unwrap().clone();
    eprintln!("writes by item kind over {files} files: {puts:?}");
    // Minutes close 15 minutes after delivery: the last file (delivered 03:00) closes through
    // 02:45, so hours 00 and 01 are complete and folded, one page write each; hour 02 is not
    // yet. One item per series would be 2 × 10 writes; minute by minute, 350.
    assert_eq!(puts.get("PAGE").copied(), Some(2), "{puts:?}");
    assert_eq!(puts.get("SER"), None, "{puts:?}");
    // Every file writes its 5 minute items (plus the earlier minutes it re-merges: none here).
    assert_eq!(puts.get("MIN").copied(), Some(5 * files as u64), "{puts:?}");
}
