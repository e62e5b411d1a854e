//! Backfill as a one-off invocation of the deployed function (`{"trail-insights":"backfill",…}`)
//! through `lambda::handle` on DynamoDB Local and SeaweedFS: the trail's existing files are
//! processed in delivery order, a time budget splits the work over invocations, and a later
//! normal notification finds the baselines in place.

mod common;

use common::{local_aws, reads_and_data_trail, unique, upload_storm, upload_trail};
use serde_json::json;
use std::sync::Arc;
use trail_insights::app::backfill::insight_records_in_s3;
use trail_insights::app::lambda::{App, FunctionConfig, handle};
use trail_insights::aws::s3::S3Location;

#[test]
fn backfill_invocation_processes_the_trail_in_order_and_resumes() {
    local_aws();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Fixed buckets, a prefix per run (new buckets exhaust a shared SeaweedFS's volumes).
    let (table, run) = (unique("bf"), unique("run"));
    let (logs, out) = ("ti-backfill-logs", "ti-backfill-out");
    let sdk = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    upload_storm(&rt, &sdk, &table, logs, out, &run);
    rt.block_on(async {
        let s3 = trail_insights::aws::s3::client(&sdk);
        // Not a log file: listed, not selected.
        s3.put_object()
            .bucket(logs)
            .key(format!(
                "{run}/AWSLogs/123456789012/CloudTrail-Digest/x.json.gz"
            ))
            .body(b"{}".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let config = FunctionConfig::from_vars(&[
        ("TABLE_NAME".into(), table),
        ("DESTINATION_BUCKET".into(), out.into()),
        ("DESTINATION_PREFIX".into(), format!("{run}/insights/")),
    ])
    .unwrap();
    let app = Arc::new(App::new(config, &sdk, rt.handle().clone()));
    let invoke = |event: serde_json::Value| rt.block_on(handle(app.clone(), event)).unwrap();

    // The trail is from January 2026; `since` reaches back far enough.
    let event = json!({
        "trail-insights": "backfill",
        "bucket": logs,
        "prefix": format!("{run}/AWSLogs/"),
        "since": "36500d",
    });
    let first = invoke(event.clone());
    assert_eq!(first["listed"], 4, "{first}");
    assert_eq!(first["selected"], 3, "{first}");
    assert_eq!(first["processed"], 3, "{first}");
    assert_eq!(first["remaining"], 0, "{first}");
    assert_eq!(first["complete"], true, "{first}");
    assert_eq!(first["insights"], 2, "Start and End of the storm: {first}");
    let written = insight_records_in_s3(&S3Location {
        bucket: out.into(),
        prefix: format!("{run}/insights/"),
    })
    .unwrap();
    assert_eq!(written.len(), 2);

    // Invoking again is safe: every file is already processed.
    let again = invoke(event.clone());
    assert_eq!(
        (again["processed"].clone(), again["skipped"].clone()),
        (json!(0), json!(3)),
        "{again}"
    );

    // A spent budget (0: a dry run) stops before the first file and reports what is left.
    let mut dry = event;
    dry["budget_seconds"] = json!(0);
    dry["prefix"] = json!(format!(
        "{run}/AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/09/"
    ));
    let partial = invoke(dry);
    assert_eq!(
        (
            partial["selected"].clone(),
            partial["remaining"].clone(),
            partial["processed"].clone(),
            partial["skipped"].clone(),
            partial["complete"].clone()
        ),
        (json!(2), json!(2), json!(0), json!(0), json!(false)),
        "{partial}"
    );

    // A malformed backfill event is not mistaken for anything else.
    let bad = invoke(json!({"trail-insights": "backfill"}));
    assert_eq!(bad["processed"], 0, "{bad}");
}

/// The opt-in settings of issue 7 read from the function's environment, through the handler on
/// DynamoDB Local and SeaweedFS: read-call and data-event insights appear, marked as in
/// `replay`; a per-series `off` silences the data error-rate series.
#[test]
fn opt_in_settings_from_the_function_environment_take_effect() {
    local_aws();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (table, run) = (unique("bf-optin"), unique("run"));
    let (logs, out) = ("ti-backfill-logs", "ti-backfill-out");
    let sdk = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    upload_trail(&rt, &sdk, &table, logs, out, &run, reads_and_data_trail);
    let config = FunctionConfig::from_vars(&[
        ("TABLE_NAME".into(), table),
        ("DESTINATION_BUCKET".into(), out.into()),
        ("DESTINATION_PREFIX".into(), format!("{run}/insights/")),
        ("READ_CALL_INSIGHTS".into(), "true".into()),
        ("DATA_EVENT_INSIGHTS".into(), "true".into()),
        (
            "SERIES_SENSITIVITY".into(),
            "s3.amazonaws.com:GetObject:NoSuchKey=off".into(),
        ),
    ])
    .unwrap();
    let app = Arc::new(App::new(config, &sdk, rt.handle().clone()));
    let done = rt
        .block_on(handle(
            app,
            json!({
                "trail-insights": "backfill", "bucket": logs,
                "prefix": format!("{run}/AWSLogs/"), "since": "36500d",
            }),
        ))
        .unwrap();
    assert_eq!(
        (done["processed"].clone(), done["insights"].clone()),
        (json!(3), json!(4)),
        "{done}"
    );
    let mut written: Vec<(String, String, String, Option<String>)> =
        insight_records_in_s3(&S3Location {
            bucket: out.into(),
            prefix: format!("{run}/insights/"),
        })
        .unwrap()
        .into_iter()
        .map(|r| {
            let d = &r.insight_details;
            (
                format!("{} {}", d.event_name, d.insight_type),
                d.source_event_category.clone().unwrap_or_default(),
                d.state.clone(),
                r.extension
                    .as_ref()
                    .map(|x| serde_json::to_string(x).unwrap()),
            )
        })
        .collect();
    written.sort();
    let read = Some(r#"{"calls":"Read"}"#.to_string());
    assert_eq!(
        written,
        [
            (
                "DescribeInstances ApiCallRateInsight".into(),
                "Management".into(),
                "End".into(),
                read.clone()
            ),
            (
                "DescribeInstances ApiCallRateInsight".into(),
                "Management".into(),
                "Start".into(),
                read
            ),
            (
                "GetObject ApiCallRateInsight".into(),
                "Data".into(),
                "End".into(),
                None
            ),
            (
                "GetObject ApiCallRateInsight".into(),
                "Data".into(),
                "Start".into(),
                None
            ),
        ]
    );
}
