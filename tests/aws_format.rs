//! Start/End records produced by `replay` for situations mirroring AWS's published examples
//! (reference §1.5, examples A and D) have the same structure, field types and arithmetic.

mod common;

use common::{event, shape, write_log};
use serde_json::{Value, json};
use std::path::Path;
use trail_insights::app::cli::replay::replay;
use trail_insights::config::Config;
use trail_insights::insight::pairs::lookup;

/// AWS example A (ApiCallRateInsight Start, current format), verbatim.
fn example_a() -> Value {
    json!({
      "eventVersion": "1.08", "eventTime": "2023-07-10T01:42:00Z", "awsRegion": "us-east-1",
      "eventID": "55ed45c5-0b0c-4228-9fe5-EXAMPLEc3f4d", "eventType": "AwsCloudTrailInsight",
      "recipientAccountId": "123456789012", "sharedEventID": "979c82fe-14d4-4e4c-aa01-EXAMPLE3acee",
      "insightDetails": {
        "state": "Start", "eventSource": "autoscaling.amazonaws.com", "eventName": "CompleteLifecycleAction",
        "insightType": "ApiCallRateInsight",
        "insightContext": {
          "statistics": { "baseline": { "average": 9.82222E-5 }, "insight": { "average": 5.0 }, "insightDuration": 1, "baselineDuration": 10181 },
          "attributions": [
            { "attribute": "userIdentityArn",
              "insight": [ { "value": "arn:aws:sts::123456789012:assumed-role/CodeDeployRole1", "average": 5.0 } ],
              "baseline": [ { "value": "arn:aws:sts::123456789012:assumed-role/CodeDeployRole1", "average": 9.82222E-5 } ] },
            { "attribute": "userAgent",
              "insight": [ { "value": "codedeploy.amazonaws.com", "average": 5.0 } ],
              "baseline": [ { "value": "codedeploy.amazonaws.com", "average": 9.82222E-5 } ] },
            { "attribute": "errorCode",
              "insight": [ { "value": "null", "average": 5.0 } ],
              "baseline": [ { "value": "null", "average": 9.82222E-5 } ] } ] } },
      "eventCategory": "Insight"
    })
}

/// AWS example D (ApiErrorRateInsight Start and End), verbatim apart from the long user agent.
fn example_d(state: &str, time: &str, avg: f64, duration: i64) -> Value {
    json!({
      "eventVersion": "1.09", "eventTime": time, "awsRegion": "us-east-1",
      "eventID": "18378b1e-3653-433d-ba1e-aa11a5958f0c", "eventType": "AwsCloudTrailInsight",
      "recipientAccountId": "888888888888", "sharedEventID": "fccb064f-dd07-4822-97c0-11115d8b91d4",
      "insightDetails": {
        "state": state, "eventSource": "cloudtrail.amazonaws.com", "eventName": "DescribeQuery",
        "insightType": "ApiErrorRateInsight", "errorCode": "QueryIdNotFoundException", "sourceEventCategory": "Management",
        "insightContext": {
          "statistics": { "baseline": { "average": 0 }, "insight": { "average": avg }, "insightDuration": duration, "baselineDuration": 11092 },
          "attributions": [
            { "attribute": "userIdentityArn", "insight": [ { "value": "arn:aws:sts::888888888888:assumed-role/Admin", "average": avg } ], "baseline": [] },
            { "attribute": "userAgent", "insight": [ { "value": "Mozilla/5.0", "average": avg } ], "baseline": [] } ] } },
      "eventCategory": "Insight"
    })
}

/// Replay `files` (already written under `dir/logs`) and return the Insights records on disk.
///
/// AWS's examples Start on 5 events in one minute; by default a minute alone needs 12 (fewer
/// false alarms on bursty sparse APIs, see EVALUATION.md), so these runs ask for AWS's
/// single-minute sensitivity. The records' format is what is under test.
fn records(dir: &Path) -> Vec<Value> {
    let aws_like = [("SINGLE_MINUTE_COUNT".to_string(), "5".to_string())];
    replay(
        &[dir.join("logs")],
        &dir.join("state"),
        &dir.join("out"),
        Config::load_from(None, &aws_like).unwrap(),
        true,
        false,
    )
    .unwrap();
    let mut out = Vec::new();
    for p in lookup(&dir.join("out")).unwrap() {
        for r in p.start.into_iter().chain(p.end) {
            out.push(serde_json::to_value(r).unwrap());
        }
    }
    out
}

/// Numbers are compared as numbers: AWS writes `5.0`, `664` and `9.82222E-5` alike.
fn normalise_numbers(mut shape: Vec<String>) -> Vec<String> {
    shape.sort();
    shape
}

#[test]
fn call_rate_start_and_end_match_example_a() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let role = "arn:aws:sts::123456789012:assumed-role/CodeDeployRole1/session";
    // Observed since July 1st; one call of the API in the baseline week; 5 calls at 01:42.
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20230701T0005Z",
        "AAAAAAAAAAAAAAA1",
        &[event(
            "2023-07-01T00:00:10Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            role,
            "e-1",
        )],
    );
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20230705T1205Z",
        "AAAAAAAAAAAAAAA2",
        &[event(
            "2023-07-05T12:00:00Z",
            "autoscaling.amazonaws.com",
            "CompleteLifecycleAction",
            false,
            None,
            role,
            "e-2",
        )],
    );
    let burst: Vec<Value> = (0..5)
        .map(|i| {
            event(
                &format!("2023-07-10T01:42:{:02}Z", i * 7),
                "autoscaling.amazonaws.com",
                "CompleteLifecycleAction",
                false,
                None,
                role,
                &format!("b-{i}"),
            )
        })
        .collect();
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20230710T0145Z",
        "AAAAAAAAAAAAAAA3",
        &burst,
    );
    write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20230710T0205Z",
        "AAAAAAAAAAAAAAA4",
        &[event(
            "2023-07-10T02:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            role,
            "e-3",
        )],
    );
    let recs = records(dir.path());
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let (start, end) = if recs[0]["insightDetails"]["state"] == "Start" {
        (&recs[0], &recs[1])
    } else {
        (&recs[1], &recs[0])
    };

    // Structure: example A's fields and types, plus `sourceEventCategory` (current format).
    let ours = normalise_numbers(shape(start));
    let mut theirs = normalise_numbers(shape(&example_a()));
    theirs.push(".insightDetails.sourceEventCategory: string".into());
    theirs.sort();
    assert_eq!(ours, theirs);
    let mut end_shape = shape(end);
    end_shape.sort();
    assert_eq!(end_shape, theirs, "End has the same structure as Start");

    // Arithmetic of §1.4.
    let s = &start["insightDetails"]["insightContext"]["statistics"];
    assert_eq!(start["eventTime"], "2023-07-10T01:42:00Z");
    assert_eq!(s["baselineDuration"], 10080 + 102);
    assert!((s["baseline"]["average"].as_f64().unwrap() - 1.0 / 10182.0).abs() < 1e-15);
    assert_eq!(s["insight"]["average"].as_f64(), Some(5.0));
    assert_eq!(s["insightDuration"], 1);
    let e = &end["insightDetails"]["insightContext"]["statistics"];
    assert_eq!(
        end["eventTime"], "2023-07-10T01:43:00Z",
        "End = Start + insightDuration"
    );
    assert_eq!(e["insightDuration"], 1);
    assert_eq!(e["insight"]["average"].as_f64(), Some(5.0));
    assert_eq!(e["baseline"], s["baseline"]);
    assert_eq!(e["baselineDuration"], s["baselineDuration"]);
    assert_eq!(start["sharedEventID"], end["sharedEventID"]);
    assert_ne!(start["eventID"], end["eventID"]);
    let attrs = &start["insightDetails"]["insightContext"]["attributions"];
    assert_eq!(
        attrs[0]["insight"][0]["value"], "arn:aws:sts::123456789012:assumed-role/CodeDeployRole1",
        "session removed"
    );
    assert_eq!(attrs[2]["insight"][0]["value"], "null");
    assert!((attrs[0]["baseline"][0]["average"].as_f64().unwrap() - 1.0 / 10182.0).abs() < 1e-15);
}

#[test]
fn error_rate_start_and_end_match_example_d() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let admin = "arn:aws:sts::888888888888:assumed-role/Admin/alice";
    let mut first = event(
        "2024-12-01T00:00:00Z",
        "iam.amazonaws.com",
        "CreateUser",
        false,
        None,
        admin,
        "x-1",
    );
    first["recipientAccountId"] = json!("888888888888");
    write_log(
        &logs,
        "888888888888",
        "us-east-1",
        "20241201T0005Z",
        "BBBBBBBBBBBBBBB1",
        &[first],
    );
    let errors: Vec<Value> = (0..6)
        .map(|i| {
            let mut e = event(
                &format!("2024-12-11T16:52:{:02}Z", i * 9),
                "cloudtrail.amazonaws.com",
                "DescribeQuery",
                true,
                Some("QueryIdNotFoundException"),
                admin,
                &format!("q-{i}"),
            );
            e["userAgent"] = json!("Mozilla/5.0");
            e
        })
        .collect();
    write_log(
        &logs,
        "888888888888",
        "us-east-1",
        "20241211T1655Z",
        "BBBBBBBBBBBBBBB2",
        &errors,
    );
    write_log(
        &logs,
        "888888888888",
        "us-east-1",
        "20241211T1715Z",
        "BBBBBBBBBBBBBBB3",
        &[event(
            "2024-12-11T17:10:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            admin,
            "x-2",
        )],
    );
    let recs = records(dir.path());
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let (start, end) = if recs[0]["insightDetails"]["state"] == "Start" {
        (&recs[0], &recs[1])
    } else {
        (&recs[1], &recs[0])
    };
    assert_eq!(
        shape(start),
        shape(&example_d("Start", "2024-12-11T16:52:00Z", 1.2, 5))
    );
    assert_eq!(
        shape(end),
        shape(&example_d("End", "2024-12-11T16:53:00Z", 6.0, 1))
    );
    let s = &start["insightDetails"]["insightContext"]["statistics"];
    assert_eq!(s["baselineDuration"], 11092, "the value in AWS's example");
    assert_eq!(s["baseline"]["average"].as_f64(), Some(0.0));
    assert_eq!(
        start["insightDetails"]["errorCode"],
        "QueryIdNotFoundException"
    );
    let e = &end["insightDetails"]["insightContext"]["statistics"];
    assert_eq!(end["eventTime"], "2024-12-11T16:53:00Z");
    assert_eq!(
        (
            e["insightDuration"].as_i64(),
            e["insight"]["average"].as_f64()
        ),
        (Some(1), Some(6.0))
    );
    let attrs = end["insightDetails"]["insightContext"]["attributions"]
        .as_array()
        .unwrap();
    assert_eq!(
        attrs.len(),
        2,
        "no errorCode attribution on error-rate records"
    );
    assert_eq!(
        attrs[0]["baseline"],
        json!([]),
        "a new caller has an empty baseline list"
    );
    assert_eq!(
        attrs[0]["insight"][0]["value"],
        "arn:aws:sts::888888888888:assumed-role/Admin"
    );
}
