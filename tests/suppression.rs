//! Suppression lists on real log files: the AccessDenied storm of `storm_trail` raises an insight
//! unless its events are suppressed by source/name, caller pattern, user agent, the allow list,
//! or (for the same storm made by an AWS service) the AWS-service switch.

mod common;

use common::{gz, storm_trail};
use serde_json::{Value, json};
use trail_insights::cli::{lookup, metrics, replay};
use trail_insights::config::Config;
use trail_insights::key::TrailScope;
use trail_insights::series::SeriesKey;
use trail_insights::time::Minute;

/// Replay `logs` with `settings`; the number of insights and the storm minute's stored count.
fn run(logs: &std::path::Path, settings: &[(&str, &str)]) -> (usize, Value) {
    let env: Vec<(String, String)> = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::load_from(None, &env).unwrap();
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    replay(&[logs.to_path_buf()], &state, &out, config, true, false).unwrap();
    let found = if out.exists() {
        lookup(&out).unwrap().len()
    } else {
        0
    };
    let at = Minute::parse_event_time("2026-01-09T10:00:00Z").unwrap();
    let scope = TrailScope {
        org: None,
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let series = SeriesKey::error_rate(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        "AccessDenied",
    );
    let m = metrics(&state, &scope, &series, at, at.plus(1), 60, false).unwrap();
    (found, m["Values"].clone())
}

#[test]
fn suppressed_events_are_not_counted_and_raise_nothing() {
    let dir = tempfile::tempdir().unwrap();
    storm_trail(dir.path());
    let logs = dir.path();
    assert_eq!(
        run(logs, &[]),
        (1, json!([20.0])),
        "unsuppressed: one insight"
    );
    for settings in [
        vec![("SUPPRESS_PRINCIPALS", "arn:aws:sts::*:assumed-role/App")],
        vec![("SUPPRESS_USER_AGENTS", "aws-cli/*")],
        vec![(
            "SUPPRESS_EVENT_NAMES",
            "secretsmanager.amazonaws.com:GetSecretValue",
        )],
        vec![("SUPPRESS_EVENT_SOURCES", "secretsmanager.amazonaws.com")],
        vec![("ONLY_EVENT_SOURCES", "iam.amazonaws.com")],
    ] {
        assert_eq!(run(logs, &settings), (0, json!([])), "{settings:?}");
    }
    for settings in [
        vec![("SUPPRESS_PRINCIPALS", "arn:aws:sts::*:assumed-role/Other")],
        vec![("SUPPRESS_EVENT_NAMES", "iam.amazonaws.com:GetSecretValue")],
        vec![("SUPPRESS_AWS_SERVICE_CALLERS", "true")],
        vec![(
            "ONLY_EVENT_SOURCES",
            "iam.amazonaws.com, secretsmanager.amazonaws.com",
        )],
    ] {
        assert_eq!(run(logs, &settings), (1, json!([20.0])), "{settings:?}");
    }
}

#[test]
fn calls_by_aws_services_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let files = storm_trail(dir.path());
    // The same trail, with the storm made by an AWS service (an AWSService identity).
    for f in &files {
        let path = dir.path().join(f);
        let bytes = std::fs::read(&path).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        for r in v["Records"].as_array_mut().unwrap() {
            if r["eventName"] == "GetSecretValue" {
                r["userIdentity"] =
                    json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"});
                r["userAgent"] = json!("lambda.amazonaws.com");
            }
        }
        std::fs::write(&path, gz(&serde_json::to_vec(&v).unwrap())).unwrap();
    }
    assert_eq!(run(dir.path(), &[]), (1, json!([20.0])));
    assert_eq!(
        run(dir.path(), &[("SUPPRESS_AWS_SERVICE_CALLERS", "true")]),
        (0, json!([]))
    );
    let e = Config::load_from(
        None,
        &[("SUPPRESS_AWS_SERVICE_CALLERS".into(), "maybe".into())],
    )
    .unwrap_err();
    assert!(e.to_string().contains("true or false"), "{e}");
}
