//! The `trail-insights` binary as a user runs it: help, errors, and a replay → metrics → lookup
//! session.

mod common;

use common::{event, write_log};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};

fn cli(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_trail-insights"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A small trail with one error-rate insight (14 AccessDenied in one minute on a new caller).
fn small_trail(root: &Path) {
    let logs = root.join("logs");
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20260101T0005Z",
        "CCCCCCCCCCCCCCC1",
        &[event(
            "2026-01-01T00:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-1",
        )],
    );
    let errs: Vec<Value> = (0..14)
        .map(|i| {
            event(
                "2026-01-09T10:00:30Z",
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                true,
                Some("AccessDenied"),
                arn,
                &format!("d-{i}"),
            )
        })
        .collect();
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20260109T1005Z",
        "CCCCCCCCCCCCCCC2",
        &errs,
    );
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20260109T1030Z",
        "CCCCCCCCCCCCCCC3",
        &[event(
            "2026-01-09T10:25:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-2",
        )],
    );
}

#[test]
fn help_documents_every_command_and_knob() {
    let o = cli(&["--help"], &[]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for word in [
        "replay",
        "metrics",
        "lookup",
        "demo",
        "MIN_RATIO",
        "LATENESS_MINUTES",
        "SENSITIVITY",
    ] {
        assert!(text.contains(word), "--help lacks {word}");
    }
    let o = cli(&["replay", "--help"], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    for flag in ["--state", "--out", "--config", "--no-flush"] {
        assert!(text.contains(flag), "replay --help lacks {flag}");
    }
    // Every flag of every command says what it is for.
    for command in [
        "replay", "metrics", "lookup", "demo", "plot", "setup", "backfill", "evaluate",
    ] {
        let o = cli(&[command, "--help"], &[]);
        assert!(o.status.success(), "{command} --help");
        let text = String::from_utf8_lossy(&o.stdout);
        let flags: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with('-'))
            .collect();
        assert!(!flags.is_empty(), "{command} --help lists no flags");
        for line in flags {
            // `  --flag <VALUE>  Description`: a description follows two or more spaces.
            let described = line
                .trim()
                .split_once("  ")
                .is_some_and(|(_, rest)| !rest.trim().is_empty());
            assert!(described, "{command} --help: undocumented flag: {line:?}");
        }
    }
}

/// `replay <root>/logs --state <root>/state --out <root>/out`.
fn replay_in(root: &Path) -> Output {
    let p = |s: &str| root.join(s).to_string_lossy().to_string();
    cli(
        &[
            "replay",
            &p("logs"),
            "--state",
            &p("state"),
            "--out",
            &p("out"),
        ],
        &[],
    )
}

#[test]
fn lookup_after_a_replay_without_insights_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = |s: &str| dir.path().join(s).to_string_lossy().to_string();
    std::fs::create_dir_all(p("logs")).unwrap();
    let o = replay_in(dir.path());
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cli(&["lookup", "--out", &p("out")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "No insights.");
    let o = cli(&["lookup", "--out", &p("out"), "--json"], &[]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "[]");
}

#[test]
fn errors_are_one_line_and_non_zero() {
    let o = cli(&["replay", "/no/such/dir"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim().lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("/no/such/dir does not exist"));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = cli(&["replay", d], &[("MIN_RATIO", "lots")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("MIN_RATIO (environment) is not a valid number"),
        "{}",
        stderr(&o)
    );

    let o = cli(
        &[
            "metrics",
            "--state",
            d,
            "--account",
            "1",
            "--region",
            "r",
            "--event-source",
            "s",
            "--event-name",
            "n",
            "--insight-type",
            "ApiErrorRateInsight",
            "--start",
            "2026-01-01T00:00:00Z",
            "--end",
            "2026-01-02T00:00:00Z",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("needs --error-code"), "{}", stderr(&o));

    let o = cli(
        &[
            "metrics",
            "--state",
            d,
            "--account",
            "1",
            "--region",
            "r",
            "--event-source",
            "s",
            "--event-name",
            "n",
            "--start",
            "yesterday",
            "--end",
            "2026-01-02T00:00:00Z",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not an RFC 3339 time"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn replay_metrics_lookup_session() {
    let dir = tempfile::tempdir().unwrap();
    small_trail(dir.path());
    let p = |s: &str| dir.path().join(s).to_string_lossy().to_string();
    let config = dir.path().join("ti.toml");
    std::fs::write(&config, "WARMUP_HOURS = 24\n").unwrap();
    let o = cli(
        &[
            "replay",
            &p("logs"),
            "--state",
            &p("state"),
            "--out",
            &p("out"),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("GetSecretValue") && out.contains("AccessDenied"),
        "{out}"
    );

    let o = cli(
        &[
            "metrics",
            "--state",
            &p("state"),
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
            "--event-source",
            "secretsmanager.amazonaws.com",
            "--event-name",
            "GetSecretValue",
            "--insight-type",
            "ApiErrorRateInsight",
            "--error-code",
            "AccessDenied",
            "--start",
            "2026-01-09T09:00:00Z",
            "--end",
            "2026-01-09T11:00:00Z",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        m,
        json!({"Timestamps": ["2026-01-09T10:00:00Z"], "Values": [14.0]})
    );

    let o = cli(
        &[
            "metrics",
            "--state",
            &p("state"),
            "--account",
            "123456789012",
            "--region",
            "us-east-1",
            "--event-source",
            "secretsmanager.amazonaws.com",
            "--event-name",
            "GetSecretValue",
            "--insight-type",
            "ApiErrorRateInsight",
            "--error-code",
            "AccessDenied",
            "--start",
            "2026-01-09T09:00:00Z",
            "--end",
            "2026-01-09T11:00:00Z",
            "--period",
            "3600",
            "--fill-with-zeros",
        ],
        &[],
    );
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        m,
        json!({"Timestamps": ["2026-01-09T09:00:00Z", "2026-01-09T10:00:00Z"], "Values": [0.0, 14.0]})
    );

    let o = cli(&["lookup", "--out", &p("out"), "--json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let l: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l.as_array().unwrap().len(), 1);
    assert_eq!(l[0]["errorCode"], "AccessDenied");
    assert_eq!(l[0]["Start"]["eventTime"], "2026-01-09T10:00:00Z");
    assert_eq!(l[0]["End"]["eventTime"], "2026-01-09T10:01:00Z");
    assert_eq!(l[0]["Start"]["sharedEventID"], l[0]["End"]["sharedEventID"]);

    let o = cli(
        &[
            "lookup",
            "--out",
            &p("out"),
            "--json",
            "--event-name",
            "RunInstances",
        ],
        &[],
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap(),
        json!([])
    );
    let o = cli(
        &[
            "lookup",
            "--out",
            &p("out"),
            "--start",
            "2026-01-10T00:00:00Z",
            "--json",
        ],
        &[],
    );
    assert_eq!(
        serde_json::from_slice::<Value>(&o.stdout).unwrap(),
        json!([])
    );

    // A second replay is a no-op.
    let o = replay_in(dir.path());
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Insights records written"));
}
