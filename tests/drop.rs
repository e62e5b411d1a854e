//! The drop detector on real log files: an API called 10 times a minute around the clock for 8
//! days stops for 30 minutes while the rest of the account keeps logging. With DROP_INSIGHTS one
//! drop insight covers exactly the silent half hour; without it (the default) nothing is raised.

mod common;

use common::{event, replay_records, stamp, write_log};
use serde_json::{Value, json};
use std::path::Path;
use trail_insights::base::time::Minute;

const ARN: &str = "arn:aws:sts::123456789012:assumed-role/Shipper/i-1";
const PER_MINUTE: u64 = 10;

fn silent(m: Minute) -> bool {
    let from = Minute::parse_event_time("2026-01-09T10:00:00Z").unwrap();
    m >= from && m < from.plus(30)
}

/// One file per 5 minutes from 2026-01-01 00:00 to 2026-01-09 11:00, delivered 5 minutes after
/// its last minute: the busy `PutLogEvents`-like writer (except while silent) and one call of
/// a sparse API per file, which keeps deliveries coming while the busy API is silent.
fn trail(dir: &Path) {
    let first = Minute::parse_event_time("2026-01-01T00:00:00Z").unwrap();
    let last = Minute::parse_event_time("2026-01-09T11:00:00Z").unwrap();
    let mut m = first;
    while m < last {
        let mut records: Vec<Value> = Vec::new();
        for minute in (0..5).map(|i| m.plus(i)) {
            if silent(minute) {
                continue;
            }
            let time = minute.to_rfc3339();
            for i in 0..PER_MINUTE {
                records.push(event(
                    &time.replace(":00Z", &format!(":{:02}Z", i * 5)),
                    "ssm.amazonaws.com",
                    "PutInventory",
                    false,
                    None,
                    ARN,
                    &format!("inv-{}-{i}", minute.0),
                ));
            }
        }
        records.push(event(
            &m.to_rfc3339(),
            "sts.amazonaws.com",
            "AssumeRole",
            true,
            Some("AccessDenied"),
            ARN,
            &format!("sts-{}", m.0),
        ));
        let delivered = stamp(m.plus(10));
        write_log(
            dir,
            "123456789012",
            "us-east-1",
            &delivered,
            &format!("DROPDROPDROP{:04}", (m.0 / 5) % 10_000),
            &records,
        );
        m = m.plus(5);
    }
}

fn run(logs: &Path, state: &Path, settings: &[(&str, &str)]) -> Vec<Value> {
    replay_records(logs, state, settings)
        .iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}

#[test]
fn a_busy_api_falling_silent_raises_one_drop_insight_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    trail(&logs);

    assert_eq!(
        run(&logs, &dir.path().join("default"), &[]),
        Vec::<Value>::new(),
        "off by default, and the steady traffic raises no spike"
    );

    let records = run(
        &logs,
        &dir.path().join("drop"),
        &[("DROP_INSIGHTS", "true")],
    );
    assert_eq!(records.len(), 2, "{records:#?}");
    let (start, end) = (&records[0], &records[1]);
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    for (r, state) in [(start, "Start"), (end, "End")] {
        let d = &r["insightDetails"];
        assert_eq!(d["state"], state);
        assert_eq!(d["eventSource"], "ssm.amazonaws.com");
        assert_eq!(d["eventName"], "PutInventory");
        assert_eq!(d["insightType"], "ApiCallRateInsight");
        assert_eq!(r["trailInsights"], json!({ "direction": "Drop" }));
        let stats = &d["insightContext"]["statistics"];
        assert_eq!(stats["baseline"]["average"], 10.0);
        assert_eq!(stats["insight"]["average"], 0.0);
    }
    assert_eq!(start["eventTime"], "2026-01-09T10:00:00Z");
    assert_eq!(end["eventTime"], "2026-01-09T10:30:00Z");
    assert_eq!(
        end["insightDetails"]["insightContext"]["statistics"]["insightDuration"],
        30
    );

    // The command line's table says what kind of insight it is.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trail-insights"))
        .args(["lookup", "--out"])
        .arg(dir.path().join("drop.out"))
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        table.contains("ApiCallRateInsight (drop)") && table.contains("-100%"),
        "{table}"
    );

    // A busier threshold than the API ever reaches: nothing.
    assert_eq!(
        run(
            &logs,
            &dir.path().join("strict"),
            &[("DROP_INSIGHTS", "true"), ("DROP_MIN_RATE", "11")]
        ),
        Vec::<Value>::new()
    );
}
