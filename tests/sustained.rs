//! The sustained Start rule end to end: a sparse API (one call an hour for eight days) gets five
//! calls a minute for half an hour. No minute alone is enough to Start; the run is. The engine
//! defers a quiet series' minutes to the end of their hour, so it must carry their counts
//! (`TrailState::unlearned`) to Start where the detector fed minute by minute does, whether the
//! run arrives in 5- or 2-minute files (Start from still-open minutes, some of them brought by
//! an earlier file) or in one late file (Start when
//! the minutes close). Either way the Start reports the run's first minute, where the unusual
//! activity began, with the minutes up to the one that proved it as its duration.

mod common;

use common::{event, log_key, replay_records};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use trail_insights::base::time::Minute;
use trail_insights::config::Config;
use trail_insights::count::attribution::Attribution;
use trail_insights::detect::detector::{Phase, SeriesState, TrailContext};
use trail_insights::insight::record::InsightRecord;

const ARN: &str = "arn:aws:sts::123456789012:assumed-role/Backup/i-1";
const RUN_PER_MINUTE: usize = 5;
const RUN_MINUTES: usize = 30;

fn snapshot(time: &str, id: &str) -> Value {
    event(
        time,
        "ec2.amazonaws.com",
        "CreateSnapshot",
        false,
        None,
        ARN,
        id,
    )
}

fn minute(time: &str) -> Minute {
    Minute::parse_event_time(time).unwrap()
}

/// The run's events of minute `i` (0-based from 10:00 on 9 January).
fn run_minute(i: usize) -> Vec<Value> {
    (0..RUN_PER_MINUTE)
        .map(|k| {
            snapshot(
                &format!("2026-01-09T10:{i:02}:{:02}Z", k * 10),
                &format!("run-{i}-{k}"),
            )
        })
        .collect()
}

/// Eight days of one call an hour (one file an hour), then the run, then two later files that
/// close it. `per_file`: the run comes in files of that many minutes, each delivered as its last
/// minute ends; `None`: in one file delivered at 10:34 (its first 20 minutes close as it is
/// processed). Returns the per-minute counts written.
fn write_trail(dir: &Path, per_file: Option<usize>) -> BTreeMap<Minute, u64> {
    let parts: Vec<(usize, usize, String)> = match per_file {
        None => vec![(0, RUN_MINUTES, "20260109T1034Z".to_string())],
        Some(n) => (0..RUN_MINUTES.div_ceil(n))
            .map(|file| {
                let last = (file * n + n).min(RUN_MINUTES);
                (file * n, last, format!("20260109T10{last:02}Z"))
            })
            .collect(),
    };
    write_trail_in(dir, &parts)
}

/// As [`write_trail`], the run's minutes `from..to` in a file delivered at `stamp`, per part.
fn write_trail_in(dir: &Path, parts: &[(usize, usize, String)]) -> BTreeMap<Minute, u64> {
    let mut counts = BTreeMap::new();
    let background = |counts: &mut BTreeMap<Minute, u64>, day: u32, hour: u32| {
        let time = format!("2026-01-{day:02}T{hour:02}:30:00Z");
        *counts.entry(minute(&time)).or_insert(0) += 1;
        let stamp = format!("202601{day:02}T{hour:02}35Z");
        let unique = format!("BG{day:02}{hour:02}AAAAAAAAAA");
        let record = snapshot(&time, &format!("bg-{day}-{hour}"));
        log_key(dir, &stamp, &unique, &[record]);
    };
    for day in 1..=9 {
        for hour in 0..24 {
            if day == 9 && hour >= 10 {
                break;
            }
            background(&mut counts, day, hour);
        }
    }
    for i in 0..RUN_MINUTES {
        *counts
            .entry(minute("2026-01-09T10:00:00Z").plus(i as i64))
            .or_insert(0) += RUN_PER_MINUTE as u64;
    }
    for (file, (from, to, stamp)) in parts.iter().enumerate() {
        let records: Vec<Value> = (*from..*to).flat_map(run_minute).collect();
        log_key(dir, stamp, &format!("RUN{file:02}AAAAAAAAAAA"), &records);
    }
    background(&mut counts, 9, 10);
    background(&mut counts, 9, 11);
    counts
}

/// The detector fed the same counts minute by minute: its Starts' minutes and durations.
fn starts_minute_by_minute(counts: &BTreeMap<Minute, u64>, config: &Config) -> Vec<(Minute, i64)> {
    let ctx = TrailContext {
        observed_since: *counts.keys().next().unwrap(),
    };
    let mut state = SeriesState::default();
    let mut starts = Vec::new();
    for (m, c) in counts {
        for t in state.close_minute(*m, *c, &Attribution::default(), ctx, &config.detector) {
            if t.phase == Phase::Start {
                starts.push((t.start, t.insight_duration));
            }
        }
    }
    starts
}

/// The CreateSnapshot records: state, event time and insight duration.
fn snapshots(records: &[InsightRecord]) -> Vec<(String, Minute, i64)> {
    records
        .iter()
        .filter(|r| r.series().event_name == "CreateSnapshot")
        .map(|r| {
            let v = serde_json::to_value(r).unwrap();
            let state = v["insightDetails"]["state"].as_str().unwrap().to_string();
            let stats = &v["insightDetails"]["insightContext"]["statistics"];
            let duration = stats["insightDuration"].as_i64().unwrap();
            (state, minute(v["eventTime"].as_str().unwrap()), duration)
        })
        .collect()
}

#[test]
fn a_sustained_run_starts_where_the_minute_by_minute_detector_does() {
    // The run begins at 10:00 and is proven at 10:03: a Start at 10:00 lasting 4 minutes.
    let expected_start = minute("2026-01-09T10:00:00Z");
    // Five-minute files: proven at 10:03 inside the first. Two-minute files: proven at 10:03 in
    // the second, whose Start must reach back into the first file's still-open minutes.
    for per_file in [Some(5), Some(2), None] {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        let counts = write_trail(&logs, per_file);
        let config = Config::default();
        assert_eq!(
            starts_minute_by_minute(&counts, &config),
            vec![(expected_start, 4)],
            "the detector on counts: each minute counts at most 4 (winsorised), so 1 + 4 × 4 = 17 \
             events reach the rule at 10:03"
        );

        let records = replay_records(&logs, &dir.path().join("state"), &[]);
        let got = snapshots(&records);
        assert_eq!(
            got,
            vec![
                ("Start".to_string(), expected_start, 4),
                ("End".to_string(), minute("2026-01-09T10:30:00Z"), 30),
            ],
            "per_file = {per_file:?}: {records:?}"
        );

        // No minute of the run is enough on its own.
        let without = replay_records(
            &logs,
            &dir.path().join("state-off"),
            &[("SUSTAINED_EVENTS", "0")],
        );
        assert!(
            snapshots(&without).is_empty(),
            "per_file = {per_file:?}: {without:?}"
        );
    }
}

/// The run's first two minutes arrive after the file that proves it (delivered 10:07, after
/// minutes 10:02–10:05 delivered 10:06): the Start first written for 10:02 is dated again from
/// 10:00 and withdrawn, so the insight is the one an ordered delivery gives.
#[test]
fn a_run_whose_first_minutes_arrive_last_is_dated_from_them() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut parts = vec![
        (2, 6, "20260109T1006Z".to_string()),
        (0, 2, "20260109T1007Z".to_string()),
    ];
    for from in (6..RUN_MINUTES).step_by(5) {
        let to = (from + 5).min(RUN_MINUTES);
        parts.push((from, to, format!("20260109T10{:02}Z", to + 2)));
    }
    write_trail_in(&logs, &parts);
    let ordered = tempfile::tempdir().unwrap();
    let ordered_logs = ordered.path().join("logs");
    write_trail(&ordered_logs, Some(5));

    let records = replay_records(&logs, &dir.path().join("state"), &[]);
    let got = snapshots(&records);
    let expected_ordered = snapshots(&replay_records(
        &ordered_logs,
        &ordered.path().join("state"),
        &[],
    ));
    let start = minute("2026-01-09T10:00:00Z");
    assert_eq!(
        got.len(),
        2,
        "one Start (the first withdrawn) and one End: {got:?}"
    );
    assert_eq!((got[0].0.as_str(), got[0].1), ("Start", start));
    assert_eq!(
        got[1],
        ("End".to_string(), minute("2026-01-09T10:30:00Z"), 30)
    );
    assert_eq!(
        (expected_ordered[0].1, &expected_ordered[1]),
        (got[0].1, &got[1]),
        "the same Start minute and End as the ordered delivery"
    );
    // The same insight: one sharedEventID across both deliveries.
    let ids = |r: &[trail_insights::insight::record::InsightRecord]| -> Vec<String> {
        r.iter()
            .filter(|r| r.series().event_name == "CreateSnapshot")
            .map(|r| r.shared_event_id.clone())
            .collect()
    };
    let ordered_records = replay_records(&ordered_logs, &ordered.path().join("state2"), &[]);
    assert_eq!(ids(&records), ids(&ordered_records));
}
