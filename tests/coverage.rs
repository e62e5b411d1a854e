//! Opt-in populations on real log files: a burst of successful read management calls and a
//! burst of failing S3 data events raise nothing by default (AWS analyses neither), and raise
//! their own, marked insights with READ_CALL_INSIGHTS / DATA_EVENT_INSIGHTS. The binary's
//! `metrics --population` reads their counts back.

mod common;

use common::{reads_and_data_trail, replay_records};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

/// Replay with `settings`; every record written, as JSON, sorted by series label and state.
fn run(logs: &Path, state: &Path, settings: &[(&str, &str)]) -> Vec<Value> {
    let mut records: Vec<(String, Value)> = replay_records(logs, state, settings)
        .into_iter()
        .map(|r| {
            let label = format!("{} {}", r.series().label(), r.insight_details.state);
            (label, serde_json::to_value(&r).unwrap())
        })
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    records.into_iter().map(|(_, v)| v).collect()
}

#[test]
fn reads_and_data_events_raise_marked_insights_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    reads_and_data_trail(&logs);
    let state = |name: &str| dir.path().join(name);

    assert_eq!(run(&logs, &state("none"), &[]), Vec::<Value>::new());

    let reads = run(&logs, &state("reads"), &[("READ_CALL_INSIGHTS", "true")]);
    assert_eq!(reads.len(), 2, "one Start and one End: {reads:#?}");
    for r in &reads {
        let d = &r["insightDetails"];
        assert_eq!(d["eventName"], "DescribeInstances");
        assert_eq!(d["insightType"], "ApiCallRateInsight");
        assert_eq!(d["sourceEventCategory"], "Management");
        assert_eq!(r["trailInsights"], json!({ "calls": "Read" }));
    }
    assert_eq!(reads[0]["insightDetails"]["state"], "End");
    assert_eq!(
        reads[1]["insightDetails"]["insightContext"]["statistics"]["insight"]["average"],
        20.0
    );

    let data = run(&logs, &state("data"), &[("DATA_EVENT_INSIGHTS", "true")]);
    assert_eq!(data.len(), 4, "call rate and error rate: {data:#?}");
    let kinds: Vec<(Value, Value, Value)> = data
        .iter()
        .map(|r| {
            let d = &r["insightDetails"];
            assert_eq!(d["sourceEventCategory"], "Data");
            assert_eq!(d["eventName"], "GetObject");
            assert!(r.get("trailInsights").is_none(), "AWS's own format: {r}");
            (
                d["insightType"].clone(),
                d["errorCode"].clone(),
                d["state"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (
                json!("ApiErrorRateInsight"),
                json!("NoSuchKey"),
                json!("End")
            ),
            (
                json!("ApiErrorRateInsight"),
                json!("NoSuchKey"),
                json!("Start")
            ),
            (json!("ApiCallRateInsight"), Value::Null, json!("End")),
            (json!("ApiCallRateInsight"), Value::Null, json!("Start")),
        ]
    );

    let both = run(
        &logs,
        &state("both"),
        &[("READ_CALL_INSIGHTS", "1"), ("DATA_EVENT_INSIGHTS", "yes")],
    );
    assert_eq!(both.len(), 6);

    // The stored counts of the opt-in series, through the command line.
    let metrics_command = |population: &str, extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trail-insights"))
            .args(["metrics", "--state"])
            .arg(state("both"))
            .args(["--account", "123456789012", "--region", "us-east-1"])
            .args([
                "--start",
                "2026-01-09T10:00:00Z",
                "--end",
                "2026-01-09T10:01:00Z",
            ])
            .args(["--population", population])
            .args(extra)
            .output()
            .unwrap()
    };
    let metrics = |population: &str, extra: &[&str]| -> Value {
        let out = metrics_command(population, extra);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["Values"].clone()
    };
    let ec2 = [
        "--event-source",
        "ec2.amazonaws.com",
        "--event-name",
        "DescribeInstances",
    ];
    let s3 = [
        "--event-source",
        "s3.amazonaws.com",
        "--event-name",
        "GetObject",
    ];
    assert_eq!(metrics("read", &ec2), json!([20.0]));
    assert_eq!(
        metrics("management", &ec2),
        json!([]),
        "AWS's series untouched"
    );
    assert_eq!(metrics("data", &s3), json!([20.0]));
    let errors = [
        &s3[..],
        &[
            "--insight-type",
            "ApiErrorRateInsight",
            "--error-code",
            "NoSuchKey",
        ],
    ]
    .concat();
    assert_eq!(metrics("data", &errors), json!([20.0]));

    let bad = metrics_command("reads", &ec2);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("management, data or read"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
