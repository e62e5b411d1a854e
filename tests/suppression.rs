//! Suppression lists on real log files: the AccessDenied storm of `storm_trail` raises an insight
//! unless its events are suppressed by source/name, caller pattern, user agent, the allow lists,
//! or (for the same storm made by an AWS service) the AWS-service switch. Per-series sensitivity
//! (`SERIES_SENSITIVITY`) silences or sharpens one series without changing what is counted.

mod common;

use common::{gz, storm_trail};
use serde_json::{Value, json};
use trail_insights::app::cli::metrics::metrics;
use trail_insights::app::cli::replay::replay;
use trail_insights::base::series::SeriesKey;
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::insight::pairs::lookup;

/// Replay `logs` with `settings`; the number of insights and the storm minute's stored count.
fn run(logs: &std::path::Path, settings: &[(&str, &str)]) -> (usize, Value) {
    let config = common::config_from(settings);
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
        vec![("ONLY_EVENT_NAMES", "CreateUser")],
        vec![("ONLY_PRINCIPALS", "arn:aws:iam::*:user/*")],
        vec![("ONLY_USER_AGENTS", "Terraform/*")],
        vec![
            ("ONLY_EVENT_SOURCES", "secretsmanager.amazonaws.com"),
            ("ONLY_PRINCIPALS", "arn:aws:sts::*:assumed-role/Other"),
        ],
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
        vec![(
            "ONLY_EVENT_NAMES",
            "CreateUser, secretsmanager.amazonaws.com:GetSecretValue",
        )],
        vec![
            ("ONLY_PRINCIPALS", "arn:aws:sts::*:assumed-role/App"),
            ("ONLY_USER_AGENTS", "aws-cli/*"),
        ],
    ] {
        assert_eq!(run(logs, &settings), (1, json!([20.0])), "{settings:?}");
    }
}

#[test]
fn calls_by_aws_services_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let files = storm_trail(dir.path());
    // The same trail, with the storm made by an AWS service (an AWSService identity).
    rewrite(dir.path(), &files, |records| {
        for r in records.iter_mut() {
            if r["eventName"] == "GetSecretValue" {
                r["userIdentity"] =
                    json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"});
                r["userAgent"] = json!("lambda.amazonaws.com");
            }
        }
    });
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

/// Rewrite the records of each of `files` (keys under `dir`) in place.
fn rewrite(dir: &std::path::Path, files: &[String], edit: impl Fn(&mut Vec<Value>)) {
    for f in files {
        let path = dir.join(f);
        let bytes = std::fs::read(&path).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
            .unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let mut records: Vec<Value> = serde_json::from_value(v["Records"].take()).unwrap();
        edit(&mut records);
        v["Records"] = json!(records);
        std::fs::write(&path, gz(&serde_json::to_vec(&v).unwrap())).unwrap();
    }
}

#[test]
fn per_series_sensitivity_silences_or_sharpens_one_series() {
    let dir = tempfile::tempdir().unwrap();
    let files = storm_trail(dir.path());
    let storm = "secretsmanager.amazonaws.com:GetSecretValue:AccessDenied";
    // `off` raises nothing but, unlike suppression, still counts.
    assert_eq!(
        run(
            dir.path(),
            &[("SERIES_SENSITIVITY", &format!("{storm}=off"))]
        ),
        (0, json!([20.0]))
    );
    for rule in [
        "secretsmanager.amazonaws.com:*=low".to_string(),
        "iam.amazonaws.com:*=off".to_string(),
        "secretsmanager.amazonaws.com:GetSecretValue:Throttling=off".to_string(),
    ] {
        assert_eq!(
            run(dir.path(), &[("SERIES_SENSITIVITY", &rule)]),
            (1, json!([20.0])),
            "{rule}"
        );
    }
    // A storm of 4 is below medium's SINGLE_MINUTE_COUNT (12); `high` (3) reports it.
    rewrite(dir.path(), &files, |records| {
        records.retain(|r| {
            r["eventName"] != "GetSecretValue"
                || ["d-0", "d-1", "d-2", "d-3"].contains(&r["eventID"].as_str().unwrap())
        })
    });
    assert_eq!(run(dir.path(), &[]), (0, json!([4.0])));
    assert_eq!(
        run(
            dir.path(),
            &[("SERIES_SENSITIVITY", "secretsmanager.amazonaws.com:*=high")]
        ),
        (1, json!([4.0]))
    );
    assert_eq!(
        run(
            dir.path(),
            &[(
                "SERIES_SENSITIVITY",
                "secretsmanager.amazonaws.com:List*=high"
            )]
        ),
        (0, json!([4.0])),
        "a rule for other APIs changes nothing"
    );
}
