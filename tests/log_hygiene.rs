//! The function's logs never contain credentials or whole records: the handler is started as
//! the Lambda starts it (`App::from_env`), runs over records carrying fake secrets, bad files and
//! malformed notifications, then, restarted with a session token and a wrong secret key in the
//! environment, over a request that S3 refuses; every log line is captured (our crate at trace
//! level, dependencies at the production default) and searched. (SeaweedFS refuses any session
//! token it did not issue, so the token is set only for the refused request.)
//!
//! One test in this binary: it changes the process environment, as the Lambda runtime sets it.

mod common;

use common::{event, gz, local_aws, logs, runtime, unique};
use serde_json::{Value, json};
use std::sync::Arc;
use trail_insights::app::lambda::{App, handle};
use trail_insights::aws::dynamo::create_table;

const ACCOUNT: &str = "123456789012";
/// Secrets in the environment.
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLEFAKESESSIONTOKENFORTESTS0123456789";
const WRONG_SECRET_KEY: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEFAKEKEY";
/// Secrets inside records.
const RECORD_ACCESS_KEY: &str = "AKIAFAKERECORDKEY777";
const RECORD_SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLEFAKERECORDSESSIONTOKEN";
const PASSWORD: &str = "hunter2-FAKE-PASSWORD-do-not-log";
const SOURCE_IP: &str = "203.0.113.199";
const EVENT_ID_MARK: &str = "eventid-never-logged";

fn key(stamp: &str, id: &str) -> String {
    format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/{}/{}/{}/{ACCOUNT}_CloudTrail_us-east-1_{stamp}_{id}.json.gz",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    )
}

/// A record as CloudTrail writes it for a temporary-credential caller, with every sensitive
/// field filled.
fn secret_record(time: &str, name: &str, error: Option<&str>, i: u32) -> Value {
    let mut r = event(
        time,
        "secretsmanager.amazonaws.com",
        name,
        false,
        error,
        "arn:aws:sts::123456789012:assumed-role/App/i-1",
        &format!("{EVENT_ID_MARK}-{i}"),
    );
    r["userIdentity"]["accessKeyId"] = json!(RECORD_ACCESS_KEY);
    r["userIdentity"]["sessionContext"] =
        json!({"sessionIssuer": {"accessKeyId": RECORD_ACCESS_KEY}});
    r["sourceIPAddress"] = json!(SOURCE_IP);
    r["requestParameters"] = json!({"secretId": "prod/db", "password": PASSWORD});
    r["responseElements"] = json!({"credentials": {
        "accessKeyId": RECORD_ACCESS_KEY, "sessionToken": RECORD_SESSION_TOKEN}});
    r
}

fn notification(bucket: &str, key: &str) -> Value {
    json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]})
}

#[test]
fn logs_never_contain_credentials_or_records() {
    local_aws();
    logs::capture("info,trail_insights=trace");
    let rt = runtime();
    // Insights go to the trail bucket (as the template allows): one bucket, one SeaweedFS volume.
    let (table, trail) = (unique("hyg"), unique("hygtrail"));
    // SAFETY: the only test of this binary; no other thread reads the environment while it is
    // set (the runtime's workers are idle until the first block_on below).
    unsafe {
        std::env::set_var("TABLE_NAME", &table);
        std::env::set_var("DESTINATION_BUCKET", &trail);
        std::env::set_var("DESTINATION_PREFIX", "insights/");
        std::env::set_var("WARMUP_HOURS", "24");
    }
    let _tidy = Tidy {
        buckets: vec![trail.clone()],
    };
    let app = Arc::new(rt.block_on(App::from_env()).unwrap());
    let s3 = app.s3.clone();
    rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
            .await
            .unwrap();
        s3.create_bucket().bucket(&trail).send().await.unwrap();
    });
    let put = |key: &str, body: Vec<u8>| {
        rt.block_on(
            s3.put_object()
                .bucket(&trail)
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from(body))
                .send(),
        )
        .unwrap();
    };
    let body = |records: &[Value]| gz(&serde_json::to_vec(&json!({ "Records": records })).unwrap());

    // History, a spike of AccessDenied (an insight, whose Start and End are logged), the end.
    let history = key("20260101T0005Z", "HYGIENEHYGIENE01");
    put(
        &history,
        body(&[secret_record(
            "2026-01-01T00:00:00Z",
            "CreateSecret",
            None,
            0,
        )]),
    );
    let spike = key("20260109T1005Z", "HYGIENEHYGIENE02");
    let denied: Vec<Value> = (1..=14)
        .map(|i| {
            secret_record(
                &format!("2026-01-09T10:00:{i:02}Z"),
                "GetSecretValue",
                Some("AccessDenied"),
                i,
            )
        })
        .collect();
    put(&spike, body(&denied));
    let end = key("20260109T1030Z", "HYGIENEHYGIENE03");
    let mut invalid = secret_record("not a time", "PutSecretValue", None, 20);
    invalid["eventTime"] = json!(PASSWORD);
    put(
        &end,
        body(&[
            secret_record("2026-01-09T10:25:00Z", "PutSecretValue", None, 21),
            invalid,
        ]),
    );
    // Files that are rejected: content in odd places must not reach the reason.
    let records_string = key("20260109T1031Z", "HYGIENEHYGIENE04");
    put(
        &records_string,
        gz(
            json!({"Records": format!("{RECORD_ACCESS_KEY} {PASSWORD}")})
                .to_string()
                .as_bytes(),
        ),
    );
    let oversized = key("20260109T1032Z", "HYGIENEHYGIENE05");
    let mut big = secret_record("2026-01-09T10:31:00Z", "GetSecretValue", None, 30);
    big["requestParameters"]["blob"] = json!(format!("{PASSWORD}{}", "x".repeat(600_000)));
    put(&oversized, body(&[big]));
    let top_string = key("20260109T1033Z", "HYGIENEHYGIENE06");
    put(
        &top_string,
        gz(json!(format!("{SESSION_TOKEN}{PASSWORD}"))
            .to_string()
            .as_bytes()),
    );

    let invoke = |app: &Arc<App>, event: Value| rt.block_on(handle(app.clone(), event));
    let mut insights = 0;
    let files = [
        &history,
        &spike,
        &end,
        &records_string,
        &oversized,
        &top_string,
    ];
    for k in files {
        let r = invoke(&app, notification(&trail, k)).unwrap();
        insights += r["insights"].as_u64().unwrap();
    }
    assert_eq!(
        insights, 4,
        "call-rate and error-rate Start and End records were written (and logged)"
    );
    // Malformed notifications carrying secrets.
    let sqs = json!({"Records": [
        {"messageId": "m1", "eventSource": "aws:sqs", "body": format!("{{\"password\": \"{PASSWORD}\"")},
        {"messageId": "m2", "eventSource": "aws:sqs", "body": json!({"AccessKeyId": RECORD_ACCESS_KEY}).to_string()},
        {"messageId": "m3", "eventSource": "aws:sqs", "body": json!({"Records": [{"eventSource": "aws:s3",
            "eventName": format!("ObjectRemoved:{SESSION_TOKEN}")}]}).to_string()},
    ]});
    assert_eq!(invoke(&app, sqs).unwrap(), json!({"batchItemFailures": []}));

    // A wrong secret key in the environment: S3 refuses the request, the failure is logged.
    // SAFETY: as above; no request is in flight.
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    let _restore = RestoreCredentials(secret);
    unsafe {
        std::env::set_var("AWS_SECRET_ACCESS_KEY", WRONG_SECRET_KEY);
        std::env::set_var("AWS_SESSION_TOKEN", SESSION_TOKEN);
    }
    let wrong = Arc::new(rt.block_on(App::from_env()).unwrap());
    let failing = key("20260109T1040Z", "HYGIENEHYGIENE07");
    let err =
        invoke(&wrong, notification(&trail, &failing)).expect_err("S3 refuses a bad signature");
    assert!(err.to_string().contains("failed transiently"), "{err}");

    let text = logs::text();
    let lines = logs::lines();
    // The capture saw what it must judge: every object, the insights, the failure.
    for k in files {
        assert_eq!(
            logs::matching(&[("message", "object"), ("key", k)]).len(),
            1,
            "{k}"
        );
    }
    assert!(text.contains("insight"), "insight lines were logged");
    let failed = logs::matching(&[
        ("message", "object failed; will be retried"),
        ("key", &failing),
    ]);
    assert_eq!(failed.len(), 1, "{text}");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(error.contains("HTTP 403 InvalidAccessKeyId"), "{error}");
    assert!(
        !error.contains("headers") && !error.contains("<Error>"),
        "no raw response: {error}"
    );
    assert!(lines.len() >= 12, "{} lines", lines.len());

    for secret in [
        SESSION_TOKEN,
        WRONG_SECRET_KEY,
        RECORD_ACCESS_KEY,
        RECORD_SESSION_TOKEN,
        PASSWORD,
        SOURCE_IP,
        EVENT_ID_MARK,
    ] {
        assert!(
            !text.contains(secret),
            "the logs contain {secret}: {}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    for field in [
        "requestParameters",
        "responseElements",
        "sessionContext",
        "sourceIPAddress",
    ] {
        assert!(!text.contains(field), "a record field in the logs: {field}");
    }
    for line in &lines {
        let len = line.to_string().len();
        assert!(len < 2048, "a log line of {len} bytes: {line}");
    }
}

/// Puts the right credentials back (before `Tidy` runs: locals drop in reverse order).
struct RestoreCredentials(String);

impl Drop for RestoreCredentials {
    fn drop(&mut self) {
        // SAFETY: the test is over or failing; nothing else reads the environment.
        unsafe {
            std::env::set_var("AWS_SECRET_ACCESS_KEY", &self.0);
            std::env::remove_var("AWS_SESSION_TOKEN");
        }
    }
}

/// Deletes this test's buckets, pass or fail, and those a crashed earlier run of it left (their
/// process is gone): SeaweedFS gives each bucket volumes, and a shared server on a small disk
/// runs out of them.
struct Tidy {
    buckets: Vec<String>,
}

impl Drop for Tidy {
    fn drop(&mut self) {
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        rt.block_on(async {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let s3 = trail_insights::aws::s3::client(&sdk);
            let mut doomed = self.buckets.clone();
            if let Ok(list) = s3.list_buckets().send().await {
                for b in list.buckets().iter().filter_map(|b| b.name()) {
                    let mut parts = b.split('-');
                    let ours = parts.next() == Some("hygtrail");
                    let gone = parts
                        .next()
                        .is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
                    if ours && gone {
                        doomed.push(b.to_string());
                    }
                }
            }
            for b in &doomed {
                let location = trail_insights::aws::s3::S3Location {
                    bucket: b.clone(),
                    prefix: String::new(),
                };
                for (k, _) in trail_insights::aws::s3::list_keys(&s3, &location)
                    .await
                    .unwrap_or_default()
                {
                    let _ = s3.delete_object().bucket(b).key(k).send().await;
                }
                let _ = s3.delete_bucket().bucket(b).send().await;
            }
        });
    }
}
