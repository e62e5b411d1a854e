//! Transient faults between the function and AWS. An HTTP proxy in front of the real local
//! servers (DynamoDB Local, SeaweedFS) answers chosen requests with HTTP 500, S3's 503 SlowDown,
//! DynamoDB throttling (HTTP 400 `ThrottlingException` / `ProvisionedThroughputExceededException`),
//! resets the connection before the server sees the request or after it has acted on it (the
//! response is lost), or cuts a download short. The function's own clients (`lambda::App::new`,
//! so the SDK's real retry policy) and handler talk through it.
//!
//! Shown: a few faults are retried by the SDK and change nothing; faults that persist fail the
//! invocation (or, in an SQS batch, only the message that carried the object), whatever landed
//! before the fault is kept or redone exactly, and redelivery after the faults stop gives exactly
//! the clean result.

mod common;

use bytes::Bytes;
use common::local_aws;
use common::spike::{self, BUCKET, TrailFile, by_id, check_exact, diff, prepare, unique};
use common::watch::event_file;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use tokio::net::{TcpListener, TcpStream};
use trail_insights::app::backfill::insight_records_in_s3;
use trail_insights::app::lambda::{App, FunctionConfig, handle};
use trail_insights::aws::dynamo::DynamoStore;
use trail_insights::aws::s3::S3Location;
use trail_insights::insight::record::InsightRecord;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// HTTP 500 with the service's internal-error code.
    ServerError,
    /// S3's HTTP 503 SlowDown.
    SlowDown,
    /// DynamoDB's HTTP 400 ThrottlingException.
    Throttling,
    /// DynamoDB's HTTP 400 ProvisionedThroughputExceededException.
    ProvisionedThroughput,
    /// The connection is reset before the request reaches the server.
    Reset,
    /// The server acts on the request, then the connection is reset: the response is lost.
    LostResponse,
    /// The response headers and half the body arrive, then the connection is reset.
    TruncatedBody,
    /// No answer for [`STALL`] (a hung connection), then the server's.
    Stall,
    /// The response headers and half the body, then nothing for [`STALL`], then the rest
    /// (the SDK's stalled-stream protection fails the download after a few seconds).
    StallBody,
}

/// How long a stalled request waits: longer than any test here may take.
const STALL: std::time::Duration = std::time::Duration::from_secs(120);

/// Requests whose description (`METHOD path x-amz-target`) contains `matching` get `fault`,
/// after `skip` of them went through, `count` times.
#[derive(Clone, Debug)]
struct Plan {
    matching: String,
    skip: u64,
    count: u64,
    fault: Fault,
}

#[derive(Default)]
struct Shared {
    plan: Option<Plan>,
    /// Matching requests seen under the current plan.
    seen: u64,
    requests: u64,
    injected: u64,
}

/// The fault-injecting proxy: DynamoDB requests (`x-amz-target: DynamoDB_...`) go to DynamoDB
/// Local, the rest to the S3 server; the Host header is passed on, so S3 signatures still match.
struct Proxy {
    url: String,
    shared: Arc<Mutex<Shared>>,
}

impl Proxy {
    fn start(rt: &tokio::runtime::Runtime) -> Proxy {
        let upstream = |var: &str| {
            let url = std::env::var(var).unwrap();
            url.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_string()
        };
        let (ddb, s3) = (
            upstream("AWS_ENDPOINT_URL_DYNAMODB"),
            upstream("AWS_ENDPOINT_URL_S3"),
        );
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = shared.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                // Closing with a zero linger sends a reset, as a dying server or network does.
                let _ = stream.set_zero_linger();
                let (state, ddb, s3) = (state.clone(), ddb.clone(), s3.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        serve(req, state.clone(), ddb.clone(), s3.clone())
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Proxy { url, shared }
    }

    fn inject(&self, matching: &str, skip: u64, count: u64, fault: Fault) {
        let mut s = self.shared.lock().unwrap();
        s.plan = Some(Plan {
            matching: matching.into(),
            skip,
            count,
            fault,
        });
        s.seen = 0;
    }

    fn clear(&self) {
        self.shared.lock().unwrap().plan = None;
    }

    /// (requests seen, faults injected)
    fn stats(&self) -> (u64, u64) {
        let s = self.shared.lock().unwrap();
        (s.requests, s.injected)
    }
}

fn decide(state: &Mutex<Shared>, op: &str) -> Option<Fault> {
    let mut s = state.lock().unwrap();
    s.requests += 1;
    let plan = s.plan.clone()?;
    if !op.contains(&plan.matching) {
        return None;
    }
    s.seen += 1;
    if s.seen > plan.skip && s.seen - plan.skip <= plan.count {
        s.injected += 1;
        return Some(plan.fault);
    }
    None
}

type ProxyBody = BoxBody<Bytes, io::Error>;

fn full(b: Bytes) -> ProxyBody {
    BoxBody::new(Full::new(b).map_err(|never| match never {}))
}

/// An error response as the service sends it.
fn error_response(fault: Fault, dynamo: bool) -> Response<ProxyBody> {
    let (status, code) = match (fault, dynamo) {
        (Fault::ServerError, true) => (500, "com.amazonaws.dynamodb.v20120810#InternalServerError"),
        (Fault::ServerError, false) => (500, "InternalError"),
        (Fault::SlowDown, _) => (503, "SlowDown"),
        (Fault::Throttling, _) => (400, "com.amazon.coral.availability#ThrottlingException"),
        (Fault::ProvisionedThroughput, _) => (
            400,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        ),
        (other, _) => panic!("{other:?} is not an error response"),
    };
    let (content_type, body) = if dynamo {
        (
            "application/x-amz-json-1.0",
            format!(r#"{{"__type":"{code}","message":"injected fault"}}"#),
        )
    } else {
        (
            "application/xml",
            format!(
                r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected fault</Message><RequestId>injected</RequestId></Error>"#
            ),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "injected")
        .header("x-amz-request-id", "injected")
        .body(full(body.into()))
        .unwrap()
}

/// Half of a body, then an error: hyper resets the connection mid-body.
struct Truncated {
    first: Option<Bytes>,
    len: u64,
}

impl Body for Truncated {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        Poll::Ready(Some(match self.first.take() {
            Some(b) => Ok(Frame::data(b)),
            None => Err(io::Error::other("injected: connection cut mid-body")),
        }))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// Half of a body, a pause of [`STALL`], then the other half.
struct Stalled {
    first: Option<Bytes>,
    rest: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
    len: u64,
}

impl Body for Stalled {
    type Data = Bytes;
    type Error = io::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        if let Some(b) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        if self.pause.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        Poll::Ready(self.rest.take().map(|b| Ok(Frame::data(b))))
    }
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

async fn serve(
    req: Request<Incoming>,
    state: Arc<Mutex<Shared>>,
    ddb: String,
    s3: String,
) -> Result<Response<ProxyBody>, io::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let dynamo = target.starts_with("DynamoDB_");
    let op = format!("{} {} {target}", parts.method, parts.uri.path());
    let fault = decide(&state, &op);
    match fault {
        Some(Fault::Reset) => return Err(io::Error::other("injected: connection reset")),
        Some(
            f @ (Fault::ServerError
            | Fault::SlowDown
            | Fault::Throttling
            | Fault::ProvisionedThroughput),
        ) => return Ok(error_response(f, dynamo)),
        Some(Fault::Stall) => tokio::time::sleep(STALL).await,
        _ => {}
    }
    let stream = TcpStream::connect(if dynamo { &ddb } else { &s3 }).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    tokio::spawn(conn);
    let resp = sender
        .send_request(Request::from_parts(parts, Full::new(body)))
        .await
        .map_err(io::Error::other)?;
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.map_err(io::Error::other)?.to_bytes();
    match fault {
        Some(Fault::LostResponse) => Err(io::Error::other("injected: response lost")),
        Some(Fault::TruncatedBody) => Ok(Response::from_parts(
            parts,
            BoxBody::new(Truncated {
                len: body.len() as u64,
                first: Some(body.slice(..body.len() / 2)),
            }),
        )),
        Some(Fault::StallBody) => Ok(Response::from_parts(
            parts,
            BoxBody::new(Stalled {
                len: body.len() as u64,
                first: Some(body.slice(..body.len() / 2)),
                rest: Some(body.slice(body.len() / 2..)),
                pause: Box::pin(tokio::time::sleep(STALL)),
            }),
        )),
        _ => Ok(Response::from_parts(parts, full(body))),
    }
}

/// Points every service's endpoint at the proxy (the environment names the real servers).
#[derive(Debug)]
struct ProxyEndpoint(String);

impl aws_types::service_config::LoadServiceConfig for ProxyEndpoint {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL").then(|| self.0.clone())
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The trail, uploaded once to a bucket of this test binary.
fn trail() -> &'static (PathBuf, Vec<TrailFile>, String) {
    static TRAIL: OnceLock<(PathBuf, Vec<TrailFile>, String)> = OnceLock::new();
    TRAIL.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("ti-faults-")
            .tempdir()
            .unwrap()
            .keep();
        let files = spike::spike_trail(&dir, "FAULTFAULT");
        let logs = unique("faults-logs");
        let rt = runtime();
        let sdk = rt.block_on(aws_config::load_defaults(
            aws_config::BehaviorVersion::latest(),
        ));
        rt.block_on(prepare(&sdk, &unique("faults-unused"), &logs, &files));
        (dir, files, logs)
    })
}

/// One function instance behind its own proxy, with its own table and destination bucket.
struct Function {
    rt: tokio::runtime::Runtime,
    proxy: Proxy,
    app: Arc<App>,
    table: String,
    out: String,
}

impl Function {
    fn new(name: &str) -> Function {
        let rt = runtime();
        let proxy = Proxy::start(&rt);
        let (table, out) = (unique(name), unique(&format!("{name}-out")));
        let sdk = rt.block_on(aws_config::load_defaults(
            aws_config::BehaviorVersion::latest(),
        ));
        rt.block_on(prepare(&sdk, &table, &out, &[]));
        let through_proxy = sdk
            .to_builder()
            .endpoint_url(&proxy.url)
            .service_config(ProxyEndpoint(proxy.url.clone()))
            .build();
        let config = FunctionConfig {
            table: table.clone(),
            destination_bucket: BUCKET.into(),
            destination_prefix: format!("{out}/"),
            engine: spike::config(),
            event_bus: None,
            event_source: trail_insights::insight::publish::DEFAULT_SOURCE.into(),
            plot_svg: false,
        };
        let app = Arc::new(App::new(config, &through_proxy, rt.handle().clone()));
        Function {
            rt,
            proxy,
            app,
            table,
            out,
        }
    }

    fn invoke(&self, event: &Value) -> Result<Value, String> {
        self.rt
            .block_on(handle(self.app.clone(), event.clone()))
            .map_err(|e| e.to_string())
    }

    /// The S3 notification of one trail file.
    fn notify(&self, f: &TrailFile) -> Result<Value, String> {
        let (_, _, logs) = trail();
        self.invoke(&event_file(
            "s3-put.json",
            BUCKET,
            &[&format!("{logs}/{}", f.key)],
        ))
    }

    /// State and Insights records, read directly from the servers.
    fn result(&self) -> Outcome {
        let sdk = self.rt.block_on(aws_config::load_defaults(
            aws_config::BehaviorVersion::latest(),
        ));
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &self.table,
            self.rt.handle().clone(),
            15,
        );
        let state = spike::state(&store);
        let insights = insight_records_in_s3(&S3Location {
            bucket: BUCKET.into(),
            prefix: format!("{}/", self.out),
        })
        .unwrap();
        (state, insights)
    }
}

/// State items by sort key, and the Insights records.
type Outcome = (BTreeMap<String, Vec<u8>>, Vec<InsightRecord>);

/// The result of delivering the trail in order without faults (through a proxy too).
fn clean() -> &'static Outcome {
    static CLEAN: OnceLock<Outcome> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let (_, files, _) = trail();
        let f = Function::new("faults-clean");
        for file in files {
            f.notify(file).unwrap();
        }
        assert_eq!(f.proxy.stats().1, 0);
        let r = f.result();
        check_exact(files, &r.0, &r.1);
        r
    })
}

fn assert_clean(f: &Function, what: &str) {
    let (_, files, _) = trail();
    let (state, insights) = f.result();
    check_exact(files, &state, &insights);
    let (clean_state, clean_insights) = clean();
    assert!(
        &state == clean_state,
        "{what}: state differs from the clean run: {}",
        diff(clean_state, &state)
    );
    assert_eq!(
        by_id(&insights),
        by_id(clean_insights),
        "{what}: Insights records differ from the clean run"
    );
}

/// DynamoDB operations are told apart by `x-amz-target`; S3 GetObject is `GET /<bucket>/...`
/// and the Insights output `PUT /<bucket>/...`.
const GET_ITEM: &str = "DynamoDB_20120810.GetItem";
const PUT_ITEM: &str = "DynamoDB_20120810.PutItem";
const ANY_DYNAMODB: &str = "DynamoDB_20120810.";
const GET_OBJECT: &str = "GET /";
const PUT_OBJECT: &str = "PUT /";

/// Run `case` for every entry of `cases` at once, each on a function of its own (proxy, table,
/// output prefix).
fn in_parallel<C: Sync, T: Send>(
    name: &str,
    cases: &[C],
    case: impl Fn(&Function, &C) -> T + Sync,
) -> Vec<T> {
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let case = &case;
                s.spawn(move || case(&Function::new(&format!("{name}-{i}")), c))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Deliver every trail file in order, each invocation succeeding.
fn deliver_all(f: &Function, what: &str) {
    for file in &trail().1 {
        if let Err(e) = f.notify(file) {
            panic!("{what}: {} failed: {e}", file.key);
        }
    }
}

#[test]
fn a_few_faults_are_retried_by_the_sdk_and_change_nothing() {
    local_aws();
    trail();
    clean();
    let started = std::time::Instant::now();
    let cases = [
        (PUT_ITEM, 5, Fault::ServerError),
        (GET_ITEM, 5, Fault::Throttling),
        (PUT_ITEM, 9, Fault::ProvisionedThroughput),
        (GET_ITEM, 12, Fault::Reset),
        (PUT_ITEM, 20, Fault::LostResponse),
        (GET_OBJECT, 3, Fault::ServerError),
        (GET_OBJECT, 6, Fault::Reset),
        (PUT_OBJECT, 0, Fault::SlowDown),
        (PUT_OBJECT, 1, Fault::LostResponse),
    ];
    // Two faults in a row on one request.
    let stats = in_parallel("faults-retried", &cases, |f, (matching, skip, fault)| {
        let what = format!("{fault:?} on {matching}");
        f.proxy.inject(matching, *skip, 2, *fault);
        deliver_all(f, &what);
        let stats = f.proxy.stats();
        assert_eq!(stats.1, 2, "{what}: both faults were hit");
        assert_clean(f, &what);
        stats
    });
    for ((matching, _, fault), (requests, injected)) in cases.iter().zip(&stats) {
        eprintln!("{fault:?} on {matching}: {injected} faults retried among {requests} requests");
    }
    eprintln!(
        "{} cases, {} files each: {:.1} s",
        cases.len(),
        trail().1.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn faults_that_persist_fail_the_invocation_and_redelivery_after_them_is_exact() {
    local_aws();
    trail();
    clean();
    let started = std::time::Instant::now();
    // Persistent faults from the skip-th matching request on: some of the file's writes landed,
    // the rest did not.
    let cases = [
        (PUT_ITEM, 7, Fault::Throttling),
        (PUT_ITEM, 23, Fault::ProvisionedThroughput),
        (PUT_ITEM, 41, Fault::LostResponse),
        (GET_ITEM, 30, Fault::ServerError),
        (ANY_DYNAMODB, 60, Fault::Reset),
        (GET_OBJECT, 4, Fault::TruncatedBody),
        (GET_OBJECT, 3, Fault::StallBody),
        (GET_OBJECT, 5, Fault::SlowDown),
        (PUT_OBJECT, 0, Fault::ServerError),
        (PUT_OBJECT, 2, Fault::Reset),
    ];
    let stats = in_parallel("faults-persist", &cases, |f, (matching, skip, fault)| {
        let what = format!("{fault:?} on {matching} after {skip}");
        f.proxy.inject(matching, *skip, u64::MAX, *fault);
        let mut failed = 0;
        for file in &trail().1 {
            if let Err(e) = f.notify(file) {
                assert!(
                    e.contains("failed transiently") && failed == 0,
                    "{what}: {e}"
                );
                failed += 1;
                // The faults stop; Lambda retries the same event.
                f.proxy.clear();
                if let Err(e) = f.notify(file) {
                    panic!("{what}: the retry of {} failed: {e}", file.key);
                }
            }
        }
        assert_eq!(failed, 1, "{what}: one invocation failed");
        assert_clean(f, &what);
        let (requests, injected) = f.proxy.stats();
        (failed, requests, injected)
    });
    for ((matching, skip, fault), (failed, requests, injected)) in cases.iter().zip(&stats) {
        eprintln!(
            "{fault:?} on {matching} after {skip}: {failed} invocation failed, {injected} faults among {requests} requests"
        );
    }
    eprintln!(
        "{} cases: {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn in_an_sqs_batch_only_the_faulted_message_fails_and_its_redelivery_is_exact() {
    local_aws();
    trail();
    clean();
    let (_, files, logs) = trail();
    let f = Function::new("faults-sqs");
    // Files 0..4 one by one, then files 4 and 5 in one SQS batch (one message each) while
    // downloads of file 5 fail, then the rest.
    for file in &files[..4] {
        f.notify(file).unwrap();
    }
    let key = |i: usize| format!("{logs}/{}", files[i].key);
    let batch = event_file("sqs-s3.json", BUCKET, &[&key(4), &key(5)]);
    let second = batch["Records"][1]["messageId"].clone();
    let object = files[5].key.rsplit('/').next().unwrap();
    f.proxy.inject(object, 0, u64::MAX, Fault::SlowDown);
    let r = f.invoke(&batch).unwrap();
    assert_eq!(
        r["batchItemFailures"],
        serde_json::json!([{ "itemIdentifier": second }]),
        "only the message of the faulted object fails: {r}"
    );
    f.proxy.clear();
    // SQS redelivers the failed message only.
    let mut retry = batch.clone();
    retry["Records"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["messageId"] == second);
    let r = f.invoke(&retry).unwrap();
    assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
    // Then DynamoDB throttles everything: the whole next batch fails and is redelivered.
    let batch = event_file("sqs-s3.json", BUCKET, &[&key(6), &key(7)]);
    f.proxy.inject(ANY_DYNAMODB, 0, u64::MAX, Fault::Throttling);
    let r = f.invoke(&batch).unwrap();
    assert_eq!(
        r["batchItemFailures"].as_array().map(Vec::len),
        Some(2),
        "{r}"
    );
    f.proxy.clear();
    let r = f.invoke(&batch).unwrap();
    assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
    for file in &files[8..] {
        f.notify(file).unwrap();
    }
    assert_clean(&f, "SQS batches with faults");
    let (requests, injected) = f.proxy.stats();
    eprintln!("SQS: {injected} faults among {requests} requests");
}

#[test]
fn sustained_throttling_and_a_hung_request_are_ridden_out_within_one_invocation() {
    local_aws();
    trail();
    clean();
    let started = std::time::Instant::now();
    // Three throttles in a row on one request (as many as the SDK's default attempts), and
    // requests that get no answer at all.
    let cases = [
        (PUT_ITEM, 10, 3, Fault::Throttling),
        (GET_ITEM, 10, 3, Fault::ProvisionedThroughput),
        (PUT_OBJECT, 0, 3, Fault::SlowDown),
        (GET_ITEM, 5, 1, Fault::Stall),
        (GET_OBJECT, 2, 1, Fault::Stall),
        (PUT_OBJECT, 0, 1, Fault::Stall),
    ];
    let stats = in_parallel(
        "faults-sustained",
        &cases,
        |f, (matching, skip, count, fault)| {
            let what = format!("{count} x {fault:?} on {matching}");
            f.proxy.inject(matching, *skip, *count, *fault);
            let started = std::time::Instant::now();
            deliver_all(f, &what);
            let seconds = started.elapsed().as_secs_f64();
            assert!(
                seconds < STALL.as_secs_f64() / 2.0,
                "{what}: {seconds:.1} s; a hung request must be abandoned and retried"
            );
            let (requests, injected) = f.proxy.stats();
            assert_eq!(injected, *count, "{what}: every fault was hit");
            assert_clean(f, &what);
            (requests, injected, seconds)
        },
    );
    for ((matching, _, _, fault), (requests, injected, seconds)) in cases.iter().zip(&stats) {
        eprintln!(
            "{fault:?} on {matching}: {injected} faults among {requests} requests, ridden out in {seconds:.1} s"
        );
    }
    eprintln!(
        "{} cases: {:.1} s",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn a_backfill_stops_at_a_file_that_keeps_failing_and_resumes_there_exactly() {
    local_aws();
    trail();
    clean();
    let (_, files, logs) = trail();
    let f = Function::new("faults-backfill");
    let backfill = serde_json::json!({
        "trail-insights": "backfill", "bucket": BUCKET, "prefix": format!("{logs}/"), "since": "3650d"
    });
    // The listing and two GetObjects pass; the third file can never be read.
    f.proxy.inject(GET_OBJECT, 3, u64::MAX, Fault::ServerError);
    let e = f.invoke(&backfill).unwrap_err();
    assert!(e.contains("failed transiently"), "{e}");
    let (_, injected) = f.proxy.stats();
    assert!(
        (1..=u64::from(trail_insights::aws::MAX_ATTEMPTS)).contains(&injected),
        "only the failing file was tried ({injected} faults): later files must wait for it"
    );
    // The fault clears; the retried invocation resumes with that file.
    f.proxy.clear();
    let done = f.invoke(&backfill).unwrap();
    assert_eq!(done["complete"], true, "{done}");
    assert_eq!(done["selected"], files.len(), "{done}");
    assert_clean(&f, "backfill after a persistent GetObject fault");
}
