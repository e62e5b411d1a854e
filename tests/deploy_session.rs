//! Deploy sessions on real log files through `replay`: one identity driving six APIs far above
//! their usual rate in the same minute through Terraform is withheld, Start and End, unless
//! `DEPLOY_SESSION_APIS` or `DEPLOY_SESSION_AGENTS` say otherwise; the same bursts from six
//! different callers or through the CLI, a runaway on one API by the deploy identity, and a
//! session of fewer APIs than the setting are reported. A Start made through a deploy tool is held
//! in the trail's state until its session window has been delivered, so a session whose APIs come
//! in several files is withheld whole. The rule reads other series' minutes and states from the
//! store and holds Starts there, so it runs on DynamoDB Local too.

mod common;

use common::{event, local_aws, log_key, runtime};
use serde_json::Value;
use std::path::Path;
use trail_insights::app::cli::replay::{ReplaySummary, replay};
use trail_insights::cloudtrail::files::find_log_files;
use trail_insights::config::Config;
use trail_insights::engine::Engine;
use trail_insights::insight::sink::DirectorySink;

const DEPLOY: &str = "arn:aws:sts::123456789012:assumed-role/TerraformDeploy/ci";

const TERRAFORM: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) \
                         terraform-provider-aws/5.42.0";

/// A call by the deploy role that only marks the trail as observed (and closes minutes).
fn quiet(t: &str, id: &str) -> Value {
    event(
        t,
        "sts.amazonaws.com",
        "AssumeRole",
        false,
        None,
        DEPLOY,
        id,
    )
}

/// A write call by `arn` through `agent`.
fn call(t: &str, (source, name): (&str, &str), arn: &str, agent: &str, id: &str) -> Value {
    let mut e = event(t, source, name, false, None, arn, id);
    e["userAgent"] = Value::from(agent);
    e
}

const APIS: &[(&str, &str)] = &[
    ("ec2.amazonaws.com", "CreateVpc"),
    ("ec2.amazonaws.com", "CreateSubnet"),
    ("ec2.amazonaws.com", "CreateRouteTable"),
    ("ec2.amazonaws.com", "CreateSecurityGroup"),
    ("iam.amazonaws.com", "CreateRole"),
    ("s3.amazonaws.com", "CreateBucket"),
];

/// A trail observed since 2026-01-01, then 20 calls in the minute 2026-01-09T10:00 to each of
/// `apis`, the i-th made by `caller(i)` through Terraform; a last file closes the minute.
fn trail(dir: &Path, apis: &[(&str, &str)], caller: impl Fn(usize) -> String) {
    trail_through(dir, apis, caller, TERRAFORM)
}

/// As [`trail`], the burst's calls made through `agent`.
fn trail_through(dir: &Path, apis: &[(&str, &str)], caller: impl Fn(usize) -> String, agent: &str) {
    log_key(
        dir,
        "20260101T0005Z",
        "SESSION0000000001",
        &[quiet("2026-01-01T00:00:00Z", "q-1")],
    );
    let burst: Vec<Value> = apis
        .iter()
        .enumerate()
        .flat_map(|(i, api)| {
            let arn = caller(i);
            (0..20).map(move |k| {
                let t = format!("2026-01-09T10:00:{:02}Z", k * 3);
                call(&t, *api, &arn, agent, &format!("b-{i}-{k}"))
            })
        })
        .collect();
    log_key(dir, "20260109T1005Z", "SESSION0000000002", &burst);
    log_key(
        dir,
        "20260109T1040Z",
        "SESSION0000000003",
        &[quiet("2026-01-09T10:35:00Z", "q-2")],
    );
}

/// Replay `dir` with `settings`: the summary and the series that got an insight (Start and End).
fn run(dir: &Path, settings: &[(&str, &str)]) -> (ReplaySummary, Vec<String>) {
    let config = common::config_from(settings);
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    let summary = replay(&[dir.to_path_buf()], &state, &out, config, true, false).unwrap();
    let mut names: Vec<String> = Vec::new();
    for pair in trail_insights::insight::pairs::lookup(&out).unwrap() {
        let (start, end) = (pair.start.unwrap(), pair.end.unwrap());
        let name = start.insight_details.event_name;
        assert_eq!(name, end.insight_details.event_name);
        names.push(name);
    }
    names.sort();
    (summary, names)
}

/// Replay `dir` with the defaults, with or without the end-of-input flush: the Starts withheld
/// and the records written (event name and state), in order.
fn written(dir: &Path, flush: bool) -> (usize, Vec<(String, String)>) {
    let work = tempfile::tempdir().unwrap();
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    let summary = replay(
        &[dir.to_path_buf()],
        &state,
        &out,
        Config::default(),
        flush,
        false,
    )
    .unwrap();
    let records = summary
        .insights
        .iter()
        .map(|r| {
            let d = &r.insight_details;
            (d.event_name.clone(), d.state.clone())
        })
        .collect();
    (summary.withheld, records)
}

fn all_names(apis: &[(&str, &str)]) -> Vec<String> {
    let mut names: Vec<String> = apis.iter().map(|(_, n)| n.to_string()).collect();
    names.sort();
    names
}

#[test]
fn one_caller_on_many_apis_at_once_is_withheld() {
    let dir = tempfile::tempdir().unwrap();
    trail(dir.path(), APIS, |_| DEPLOY.to_string());

    let (summary, names) = run(dir.path(), &[]);
    assert_eq!(
        names,
        Vec::<String>::new(),
        "default: the session is withheld"
    );
    assert_eq!(summary.withheld, APIS.len(), "each API's Start is withheld");
    assert!(summary.insights.is_empty(), "no Start and no End written");

    for setting in ["0", "7"] {
        let (summary, names) = run(dir.path(), &[("DEPLOY_SESSION_APIS", setting)]);
        assert_eq!(names, all_names(APIS), "DEPLOY_SESSION_APIS={setting}");
        assert_eq!(summary.withheld, 0);
    }
    let (summary, names) = run(dir.path(), &[("DEPLOY_SESSION_APIS", "6")]);
    assert_eq!(
        (summary.withheld, names),
        (APIS.len(), Vec::new()),
        "6 of 6 APIs"
    );
}

#[test]
fn the_same_bursts_from_different_callers_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    trail(dir.path(), APIS, |i| {
        format!("arn:aws:sts::123456789012:assumed-role/App{i}/x")
    });
    let (summary, names) = run(dir.path(), &[]);
    assert_eq!(names, all_names(APIS));
    assert_eq!(summary.withheld, 0);
}

#[test]
fn the_same_session_through_the_cli_is_reported_unless_any_agent_is_a_deploy_tool() {
    let dir = tempfile::tempdir().unwrap();
    trail_through(
        dir.path(),
        APIS,
        |_| DEPLOY.to_string(),
        "aws-cli/2.15.30 Python/3.11.8",
    );
    let (summary, names) = run(dir.path(), &[]);
    assert_eq!(
        (summary.withheld, names),
        (0, all_names(APIS)),
        "not a deploy tool"
    );
    let (summary, names) = run(dir.path(), &[("DEPLOY_SESSION_AGENTS", "*")]);
    assert_eq!(
        (summary.withheld, names),
        (APIS.len(), Vec::new()),
        "any agent"
    );
    let (summary, _) = run(dir.path(), &[("DEPLOY_SESSION_AGENTS", "*AWS-CLI/*")]);
    assert_eq!(summary.withheld, APIS.len(), "patterns match in any case");
}

#[test]
fn a_runaway_on_one_api_or_a_few_is_reported() {
    for apis in [&APIS[..1], &APIS[..3]] {
        let dir = tempfile::tempdir().unwrap();
        trail(dir.path(), apis, |_| DEPLOY.to_string());
        let (summary, names) = run(dir.path(), &[]);
        assert_eq!(
            names,
            all_names(apis),
            "{} APIs (the default needs 4)",
            apis.len()
        );
        assert_eq!(summary.withheld, 0);
    }
}

#[test]
fn the_setting_is_checked() {
    let env = vec![("DEPLOY_SESSION_APIS".to_string(), "1".to_string())];
    let err = Config::load_from(None, &env).unwrap_err().to_string();
    assert!(err.contains("DEPLOY_SESSION_APIS"), "{err}");
    assert_eq!(Config::default().deploy_session_apis, 4);
    let env = vec![("DEPLOY_SESSION_AGENTS".to_string(), " , ".to_string())];
    let err = Config::load_from(None, &env).unwrap_err().to_string();
    assert!(err.contains("DEPLOY_SESSION_AGENTS"), "{err}");
}

/// Process `dir`'s files through the engine on DynamoDB Local, then flush: the Starts held, the
/// Starts withheld and the Insights records written.
fn on_dynamodb(dir: &Path) -> (usize, usize, usize) {
    let rt = runtime();
    let store = common::dynamo_store(&rt, "deploy-session");
    let out = tempfile::tempdir().unwrap();
    let sink = DirectorySink {
        root: out.path().to_path_buf(),
    };
    let engine = Engine::new(Config::default(), &store, &sink);
    let (mut held, mut withheld, mut records) = (0, 0, 0);
    for o in process_all(&engine, dir) {
        held += o.held.len();
        withheld += o.withheld.len();
        records += o.insights.len();
    }
    records += engine.flush().unwrap().len();
    (held, withheld, records)
}

/// Process `dir`'s files in delivery order (no flush): each one's outcome.
fn process_all(engine: &Engine<'_>, dir: &Path) -> Vec<trail_insights::engine::Outcome> {
    find_log_files(&[dir.to_path_buf()])
        .unwrap()
        .into_iter()
        .map(|(key, path)| {
            let open = || -> std::io::Result<Box<dyn std::io::Read>> {
                Ok(Box::new(std::fs::File::open(&path)?))
            };
            engine.process(&key, &key, &open).unwrap()
        })
        .collect()
}

#[test]
fn on_dynamodb_local_the_session_is_withheld_and_other_callers_are_not() {
    local_aws();
    let session = tempfile::tempdir().unwrap();
    trail(session.path(), APIS, |_| DEPLOY.to_string());
    assert_eq!(
        on_dynamodb(session.path()),
        (APIS.len(), APIS.len(), 0),
        "each Start held, then withheld"
    );
    let callers = tempfile::tempdir().unwrap();
    trail(callers.path(), APIS, |i| {
        format!("arn:aws:sts::123456789012:assumed-role/App{i}/x")
    });
    assert_eq!(
        on_dynamodb(callers.path()),
        (APIS.len(), 0, 2 * APIS.len()),
        "held too (made through Terraform), then a Start and an End per API"
    );
    let staggered_session = tempfile::tempdir().unwrap();
    staggered(staggered_session.path(), &[], "01", "20260109T1005Z");
    assert_eq!(
        on_dynamodb(staggered_session.path()),
        (APIS.len(), APIS.len(), 0),
        "the first API held in the trail item, then withheld with the rest"
    );
}

/// `n` calls to `api` by the deploy role through Terraform in the minute `10:{minute}` of
/// 2026-01-09 (IDs tagged `i`).
fn calls(minute: &str, i: usize, api: (&str, &str)) -> Vec<Value> {
    (0..20)
        .map(|k| {
            let t = format!("2026-01-09T10:{minute}:{:02}Z", k * 3);
            call(&t, api, DEPLOY, TERRAFORM, &format!("b-{i}-{k}"))
        })
        .collect()
}

/// A trail observed since 2026-01-01 (file `<prefix>01`), then the session's first API: 20
/// calls at 2026-01-09T10:00 by the deploy role through Terraform, delivered at 10:03
/// (`<prefix>02`).
fn first_api(dir: &Path, prefix: &str) {
    log_key(
        dir,
        "20260101T0005Z",
        &format!("{prefix}01"),
        &[quiet("2026-01-01T00:00:00Z", "q-1")],
    );
    log_key(
        dir,
        "20260109T1003Z",
        &format!("{prefix}02"),
        &calls("00", 0, APIS[0]),
    );
}

/// A trail observed since 2026-01-01 whose session's first API (at 10:00, delivered 10:03)
/// arrives a file ahead of the other five (at `rest_minute`, delivered at `rest_delivered`), with
/// `between` files in between; a last file closes every minute.
fn staggered(dir: &Path, between: &[(&str, &str)], rest_minute: &str, rest_delivered: &str) {
    first_api(dir, "SESSIONORDER00");
    for (k, (delivered, t)) in between.iter().enumerate() {
        let name = format!("SESSIONORDERB{k:03}");
        log_key(dir, delivered, &name, &[quiet(t, &format!("q-b-{k}"))]);
    }
    let rest: Vec<Value> = APIS
        .iter()
        .enumerate()
        .skip(1)
        .flat_map(|(i, api)| calls(rest_minute, i, *api))
        .collect();
    log_key(dir, rest_delivered, "SESSIONORDER0003", &rest);
    log_key(
        dir,
        "20260109T1140Z",
        "SESSIONORDER0004",
        &[quiet("2026-01-09T11:35:00Z", "q-2")],
    );
}

/// A run reaches its APIs one after another: the first API's Start, decided from a file of its
/// own, is held until the files of its session window have come, and withheld with the rest.
#[test]
fn an_api_delivered_a_file_ahead_of_its_session_is_held_and_withheld_with_it() {
    let dir = tempfile::tempdir().unwrap();
    staggered(dir.path(), &[], "01", "20260109T1005Z");
    let (summary, names) = run(dir.path(), &[]);
    assert_eq!(names, Vec::<String>::new(), "the whole session is withheld");
    assert_eq!(summary.withheld, APIS.len());

    // Held, not lost: without the rule's other APIs the first API is written, Start and End.
    let alone = tempfile::tempdir().unwrap();
    first_api(alone.path(), "SESSIONALONE00");
    let start = (APIS[0].1.to_string(), "Start".to_string());
    let end = (APIS[0].1.to_string(), "End".to_string());
    assert_eq!(
        written(alone.path(), false),
        (0, Vec::new()),
        "held: no file has delivered its window yet"
    );
    assert_eq!(
        written(alone.path(), true),
        (0, vec![start.clone()]),
        "still open: its Start is written by the end-of-input flush"
    );
    log_key(
        alone.path(),
        "20260109T1040Z",
        "SESSIONALONE0003",
        &[quiet("2026-01-09T10:35:00Z", "q-2")],
    );
    assert_eq!(
        written(alone.path(), false),
        (0, vec![start, end]),
        "released by a later file, without a flush: its Start, then its End"
    );
}

/// The limit the README states: a held Start is judged once files up to ten minutes after its
/// window have been delivered, and a written Start stays. A session whose other APIs come only
/// after that has its first API reported and the rest withheld.
#[test]
fn an_api_judged_before_the_rest_of_its_session_came_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // The first API's window ends at 10:05; a file delivered at 10:15 completes it.
    staggered(
        dir.path(),
        &[("20260109T1015Z", "2026-01-09T10:14:00Z")],
        "04",
        "20260109T1016Z",
    );
    let (summary, names) = run(dir.path(), &[]);
    assert_eq!(
        names,
        vec![APIS[0].1.to_string()],
        "the first API, judged alone"
    );
    assert_eq!(summary.withheld, APIS.len() - 1);
}

/// In the Lambda an account that goes quiet after a run delivers no later file: the scheduled
/// sweep judges the hold once it has closed the window's minutes, and writes the Start.
#[test]
fn the_sweep_releases_a_hold_of_an_account_that_went_quiet() {
    let dir = tempfile::tempdir().unwrap();
    first_api(dir.path(), "SESSIONSWEEP00");
    let state = tempfile::tempdir().unwrap();
    let store = trail_insights::store::EmbeddedStore::open(state.path()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let sink = DirectorySink {
        root: out.path().to_path_buf(),
    };
    let engine = Engine::new(Config::default(), &store, &sink);
    let mut held = 0;
    for o in process_all(&engine, dir.path()) {
        assert!(o.insights.is_empty(), "{}: nothing written yet", o.key);
        held += o.held.len();
    }
    assert_eq!(held, 1);
    let at = |t: &str| trail_insights::base::time::Minute::parse_event_time(t).unwrap();
    // Lateness 15 and the sweep's grace 15: at 10:30 nothing after 10:00 is closed yet.
    assert!(engine.sweep(at("2026-01-09T10:30:00Z")).unwrap().is_empty());
    let records: Vec<(String, String)> = engine
        .sweep(at("2026-01-09T11:00:00Z"))
        .unwrap()
        .iter()
        .map(|r| {
            let d = &r.insight_details;
            (d.event_name.clone(), d.state.clone())
        })
        .collect();
    assert_eq!(
        records,
        vec![
            (APIS[0].1.to_string(), "Start".to_string()),
            (APIS[0].1.to_string(), "End".to_string())
        ],
        "the window closed: judged, not a session, written with its End"
    );
}
