//! EventBridge publishing through the function's code path (`lambda::App` on DynamoDB Local and
//! SeaweedFS), with PutEvents going over HTTP to a recording EventBridge endpoint started here:
//! it checks each request is a signed `AWSEvents.PutEvents` call and answers like EventBridge,
//! failing entries on demand so the retry paths run for real.

mod common;

use common::{local_aws, unique, upload_storm};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use trail_insights::app::backfill::insight_records_in_s3;
use trail_insights::app::lambda::{App, FunctionConfig};
use trail_insights::app::notification::{Invocation, ObjectRef};
use trail_insights::aws::s3::S3Location;
use trail_insights::config::Config;
use trail_insights::insight::record::InsightRecord;

/// One HTTP request as received.
#[derive(Debug, Clone)]
struct Request {
    headers: BTreeMap<String, String>,
    body: Value,
}

/// The recording endpoint: every request, and how many more entries to fail per bus.
struct Recorder {
    requests: Mutex<Vec<Request>>,
    /// bus → (error code, entries still to fail).
    failures: Mutex<BTreeMap<String, (String, usize)>>,
}

fn recorder() -> &'static Recorder {
    static R: OnceLock<&'static Recorder> = OnceLock::new();
    R.get_or_init(|| {
        local_aws();
        let rec: &'static Recorder = Box::leak(Box::new(Recorder {
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new(BTreeMap::new()),
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let conn = conn.unwrap();
                std::thread::spawn(move || serve(rec, conn));
            }
        });
        // SAFETY: set inside this OnceLock, before any test of this binary builds an SDK
        // client (every test calls `recorder()` first).
        unsafe {
            std::env::set_var(
                "AWS_ENDPOINT_URL_EVENTBRIDGE",
                format!("http://127.0.0.1:{port}"),
            )
        };
        rec
    })
}

/// Serve HTTP/1.1 requests on one (keep-alive) connection.
fn serve(rec: &Recorder, conn: TcpStream) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut out = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = BTreeMap::new();
        headers.insert(":request-line".to_string(), line.trim().to_string());
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let entries = body["Entries"].as_array().cloned().unwrap_or_default();
        let mut failed = 0;
        let results: Vec<Value> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let bus = e["EventBusName"].as_str().unwrap_or("").to_string();
                let mut f = rec.failures.lock().unwrap();
                match f.get_mut(&bus) {
                    Some((code, left)) if *left > 0 => {
                        *left -= 1;
                        failed += 1;
                        json!({"ErrorCode": code.clone(), "ErrorMessage": "recorded failure"})
                    }
                    _ => {
                        json!({"EventId": format!("ev-{}-{i}", rec.requests.lock().unwrap().len())})
                    }
                }
            })
            .collect();
        rec.requests.lock().unwrap().push(Request { headers, body });
        let answer = json!({"FailedEntryCount": failed, "Entries": results}).to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: r\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

struct Setup {
    rt: tokio::runtime::Runtime,
    app: App,
    logs: String,
    out: String,
    /// This run's key prefix in both buckets.
    run: String,
    keys: Vec<String>,
}

fn setup(bus: &str, extra: &[(&str, &str)]) -> Setup {
    recorder();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (table, run) = (unique("ev"), unique("run"));
    let (logs, out) = (
        "ti-eventbridge-logs".to_string(),
        "ti-eventbridge-out".to_string(),
    );
    let sdk = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    let keys = upload_storm(&rt, &sdk, &table, &logs, &out, &run);
    let mut vars: Vec<(String, String)> = vec![
        ("TABLE_NAME".into(), table),
        ("DESTINATION_BUCKET".into(), out.clone()),
        ("DESTINATION_PREFIX".into(), format!("{run}/insights/")),
        ("EVENT_BUS_NAME".into(), bus.into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = FunctionConfig::from_vars(&vars).unwrap();
    assert_eq!(config.engine, Config::default());
    let app = App::new(config, &sdk, rt.handle().clone());
    Setup {
        rt,
        app,
        logs,
        out,
        run,
        keys,
    }
}

impl Setup {
    fn invoke(&self, keys: &[String]) -> trail_insights::app::lambda::Report {
        let inv = Invocation {
            objects: keys
                .iter()
                .map(|k| ObjectRef {
                    bucket: self.logs.clone(),
                    key: k.clone(),
                    message_id: None,
                })
                .collect(),
            ..Default::default()
        };
        self.app.run(&inv)
    }

    fn written(&self) -> Vec<InsightRecord> {
        insight_records_in_s3(&S3Location {
            bucket: self.out.clone(),
            prefix: format!("{}/insights/", self.run),
        })
        .unwrap()
    }
}

/// Requests for `bus`, and their entries.
fn sent_to(bus: &str) -> (Vec<Request>, Vec<Value>) {
    let all = recorder().requests.lock().unwrap().clone();
    let reqs: Vec<Request> = all
        .into_iter()
        .filter(|r| {
            r.body["Entries"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["EventBusName"] == bus))
        })
        .collect();
    let entries = reqs
        .iter()
        .flat_map(|r| r.body["Entries"].as_array().cloned().unwrap_or_default())
        .collect();
    (reqs, entries)
}

#[test]
fn each_insights_record_is_put_on_the_bus_as_a_signed_put_events_call() {
    let bus = unique("bus");
    let s = setup(&bus, &[("PLOT_SVG", "true")]);
    for k in &s.keys {
        let r = s.invoke(std::slice::from_ref(k));
        assert_eq!((r.processed, r.failed), (1, 0), "{k}: {r:?}");
    }
    let written = s.written();
    assert_eq!(written.len(), 2, "one Start and one End: {written:?}");
    let (reqs, entries) = sent_to(&bus);
    assert_eq!(entries.len(), 2, "{entries:?}");
    for r in &reqs {
        assert_eq!(r.headers["x-amz-target"], "AWSEvents.PutEvents");
        assert_eq!(r.headers["content-type"], "application/x-amz-json-1.1");
        let auth = &r.headers["authorization"];
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=test/")
                && auth.contains("/us-east-1/events/aws4_request")
                && auth.contains("Signature="),
            "{auth}"
        );
        assert!(r.headers[":request-line"].starts_with("POST / "));
    }
    let mut published: Vec<InsightRecord> = Vec::new();
    for e in &entries {
        assert_eq!(e["Source"], "trail-insights");
        assert_eq!(e["DetailType"], "AWS Insight via CloudTrail");
        let detail: InsightRecord = serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap();
        // Time is the record's eventTime (sent as epoch seconds by the JSON protocol).
        let t = chrono::DateTime::parse_from_rfc3339(&detail.event_time).unwrap();
        assert_eq!(e["Time"].as_f64().unwrap() as i64, t.timestamp());
        published.push(detail);
    }
    let ids = |v: &[InsightRecord]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(&published),
        ids(&written),
        "the detail is the Insights record exactly as written to S3"
    );
    let states: Vec<&str> = published
        .iter()
        .map(|r| r.insight_details.state.as_str())
        .collect();
    assert!(states.contains(&"Start") && states.contains(&"End"));

    // The template's example rule (Starts to SNS) matches the Start entry sent, not the End.
    let template: yaml_serde::Value = yaml_serde::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml")).unwrap(),
    )
    .unwrap();
    let pattern = &template["Resources"]["InsightStartsToTopic"]["Properties"]["EventPattern"];
    assert!(pattern.is_mapping(), "the rule's pattern: {pattern:?}");
    for e in &entries {
        let event = json!({
            "source": e["Source"],
            "detail-type": e["DetailType"],
            "detail": serde_json::from_str::<Value>(e["Detail"].as_str().unwrap()).unwrap(),
        });
        let state = event["detail"]["insightDetails"]["state"].as_str().unwrap();
        assert_eq!(
            matches_pattern(pattern, &event),
            state == "Start",
            "{state}"
        );
    }

    // PLOT_SVG: the insight graph lies next to the End record's file.
    let svgs = s.rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let s3 = trail_insights::aws::s3::client(&sdk);
        let list = s3
            .list_objects_v2()
            .bucket(&s.out)
            .prefix(format!("{}/insights/", s.run))
            .send()
            .await
            .unwrap();
        let keys: Vec<String> = list
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect();
        let mut svgs = Vec::new();
        for k in keys.iter().filter(|k| k.ends_with(".svg")) {
            assert!(
                keys.contains(&format!("{}.json.gz", k.trim_end_matches(".svg"))),
                "{k} is next to an Insights file: {keys:?}"
            );
            let body = s3.get_object().bucket(&s.out).key(k).send().await.unwrap();
            let bytes = body.body.collect().await.unwrap().into_bytes();
            svgs.push(String::from_utf8(bytes.to_vec()).unwrap());
        }
        svgs
    });
    assert_eq!(svgs.len(), 1, "one graph, for the End");
    let end = published
        .iter()
        .find(|r| r.insight_details.state == "End")
        .unwrap();
    assert!(svgs[0].starts_with("<svg"));
    assert!(svgs[0].contains(&format!(" End {}", &end.event_time[11..16])));
    assert!(svgs[0].contains("GetSecretValue"));
}

#[test]
fn failed_entries_are_retried_and_a_refused_bus_fails_the_invocation_until_it_accepts() {
    let bus = unique("flaky");
    recorder()
        .failures
        .lock()
        .unwrap()
        .insert(bus.clone(), ("ThrottlingException".into(), 1));
    let s = setup(&bus, &[]);
    // Baseline file, then the storm: the Start's entry is throttled once and retried alone.
    assert_eq!(s.invoke(&s.keys[..1]).failed, 0);
    let r = s.invoke(&s.keys[1..2]);
    assert_eq!((r.processed, r.failed, r.insights), (1, 0, 1), "{r:?}");
    let (reqs, entries) = sent_to(&bus);
    assert_eq!(
        reqs.len(),
        2,
        "one request, then the retry of the failed entry"
    );
    assert_eq!(entries[0]["Detail"], entries[1]["Detail"]);

    // Now the bus refuses (AccessDenied is not retryable): the invocation fails, so Lambda
    // retries it; the file is not marked processed and nothing is lost.
    recorder()
        .failures
        .lock()
        .unwrap()
        .insert(bus.clone(), ("AccessDeniedException".into(), 1));
    let r = s.invoke(&s.keys[2..3]);
    assert_eq!((r.processed, r.failed), (0, 1), "{r:?}");
    let r = s.invoke(&s.keys[2..3]);
    assert_eq!((r.processed, r.failed, r.insights), (1, 0, 1), "{r:?}");
    let (_, entries) = sent_to(&bus);
    let details: Vec<InsightRecord> = entries
        .iter()
        .map(|e| serde_json::from_str(e["Detail"].as_str().unwrap()).unwrap())
        .collect();
    let ends: Vec<&InsightRecord> = details
        .iter()
        .filter(|d| d.insight_details.state == "End")
        .collect();
    assert_eq!(ends.len(), 2, "refused once, then sent again");
    assert_eq!(ends[0], ends[1], "the same deterministic record both times");
    assert_eq!(s.written().len(), 2);
}

#[test]
fn reserved_source_is_refused_at_cold_start() {
    let e = FunctionConfig::from_vars(&[
        ("TABLE_NAME".into(), "t".into()),
        ("DESTINATION_BUCKET".into(), "b".into()),
        ("EVENT_BUS_NAME".into(), "bus".into()),
        ("EVENT_SOURCE".into(), "aws.cloudtrail".into()),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("reserved"), "{e}");
}

/// EventBridge's exact-value matching: every key of the pattern is in the event; a list names
/// the values allowed, a mapping matches the nested object.
fn matches_pattern(pattern: &yaml_serde::Value, event: &Value) -> bool {
    match pattern {
        yaml_serde::Value::Mapping(m) => m.iter().all(|(k, p)| {
            k.as_str()
                .and_then(|k| event.get(k))
                .is_some_and(|v| matches_pattern(p, v))
        }),
        yaml_serde::Value::Sequence(allowed) => allowed
            .iter()
            .any(|a| a.as_str().is_some_and(|a| event.as_str() == Some(a))),
        _ => false,
    }
}
