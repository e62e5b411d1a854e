//! The Lambda function: configuration at cold start, then each invocation's objects through the
//! same engine as the command line, with DynamoDB state and S3 output.
//!
//! Failure policy: a transient failure (throttling, a timeout, a conflict storm) fails the
//! invocation, or for SQS batches only the message that carried the object, so Lambda retries;
//! a permanently bad object is logged with its bucket, key and reason, counted, and not retried.

use crate::app::notification::{Invocation, ObjectRef, parse_invocation};
use crate::aws::dynamo::DynamoStore;
use crate::aws::events::EventBridgePublisher;
use crate::aws::s3::{S3Sink, open_object};
use crate::base::time::Minute;
use crate::config::{Config, ConfigError};
use crate::engine::{Engine, Outcome, ProcessError, Status};
use crate::insight::publish::PublishingSink;
use crate::insight::sink::InsightSink;
use crate::store::StateStore;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;
use tokio::runtime::Handle;

/// What the function needs besides the detector knobs (all from the environment).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionConfig {
    pub table: String,
    pub destination_bucket: String,
    pub destination_prefix: String,
    pub engine: Config,
    /// `EVENT_BUS_NAME`: also put each Insights record on this bus (name or ARN).
    pub event_bus: Option<String>,
    /// `EVENT_SOURCE`: the `source` of those events.
    pub event_source: String,
    /// `PLOT_SVG=true`: write the insight graph (SVG) next to each End record's file.
    pub plot_svg: bool,
}

impl FunctionConfig {
    /// Read and validate everything once, so a misconfiguration is one clear error at cold start.
    pub fn from_env() -> Result<FunctionConfig, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        FunctionConfig::from_vars(&env)
    }

    pub fn from_vars(env: &[(String, String)]) -> Result<FunctionConfig, ConfigError> {
        let get = |name: &str| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim().to_string())
        };
        let required = |name: &str| {
            get(name)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| ConfigError(format!("environment variable {name} is required")))
        };
        let table = required("TABLE_NAME")?;
        let destination_bucket = required("DESTINATION_BUCKET")?;
        let mut destination_prefix = get("DESTINATION_PREFIX").unwrap_or_default();
        if !destination_prefix.is_empty() && !destination_prefix.ends_with('/') {
            destination_prefix.push('/');
        }
        if destination_prefix.starts_with('/') {
            return Err(ConfigError(
                "DESTINATION_PREFIX must not start with '/'".into(),
            ));
        }
        let event_bus = get("EVENT_BUS_NAME").filter(|v| !v.is_empty());
        let event_source = get("EVENT_SOURCE")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| crate::insight::publish::DEFAULT_SOURCE.to_string());
        crate::insight::publish::validate_source(&event_source).map_err(ConfigError)?;
        let plot_svg = match get("PLOT_SVG")
            .unwrap_or_default()
            .to_ascii_lowercase()
            .as_str()
        {
            "" | "false" | "0" | "no" => false,
            "true" | "1" | "yes" => true,
            other => {
                return Err(ConfigError(format!(
                    "PLOT_SVG must be true or false, not `{other}`"
                )));
            }
        };
        Ok(FunctionConfig {
            table,
            destination_bucket,
            destination_prefix,
            engine: Config::load_from(None, env)?,
            event_bus,
            event_source,
            plot_svg,
        })
    }
}

/// Long-lived clients, created once at cold start.
pub struct App {
    pub config: FunctionConfig,
    pub s3: aws_sdk_s3::Client,
    pub store: DynamoStore,
    pub sink: S3Sink,
    pub handle: Handle,
    /// Set when `EVENT_BUS_NAME` is.
    pub events: Option<EventBridgePublisher>,
}

impl App {
    pub async fn from_env() -> Result<App, ConfigError> {
        let config = FunctionConfig::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(App::new(config, &sdk, Handle::current()))
    }

    /// Clients, store and sink for `config`; shared by the function and `backfill`.
    pub fn new(config: FunctionConfig, sdk: &aws_config::SdkConfig, handle: Handle) -> App {
        let s3 = crate::aws::s3::client(sdk);
        let dynamo = crate::aws::dynamo::client(sdk);
        let store = DynamoStore::new(
            dynamo,
            &config.table,
            handle.clone(),
            config.engine.metrics_retention_days,
        );
        let sink = S3Sink::new(
            s3.clone(),
            handle.clone(),
            &config.destination_bucket,
            &config.destination_prefix,
        );
        let events = config
            .event_bus
            .as_deref()
            .map(|bus| EventBridgePublisher::new(sdk, handle.clone(), bus));
        App {
            config,
            s3,
            store,
            sink,
            handle,
            events,
        }
    }

    /// Process one invocation on the current (blocking) thread.
    pub fn run(&self, inv: &Invocation) -> Report {
        let publishing = self
            .events
            .as_ref()
            .map(|p| PublishingSink::new(&self.sink, p, &self.config.event_source));
        let sink: &dyn InsightSink = match &publishing {
            Some(p) => p,
            None => &self.sink,
        };
        let engine = Engine::new(self.config.engine.clone(), &self.store, sink);
        let mut report = Report::default();
        for ig in &inv.ignored {
            if ig.malformed {
                report.malformed += 1;
                tracing::warn!(message_id = ig.message_id.as_deref().unwrap_or(""), reason = %ig.reason, "malformed notification skipped");
            } else {
                tracing::info!(message_id = ig.message_id.as_deref().unwrap_or(""), reason = %ig.reason, "notification ignored");
            }
        }
        for obj in &inv.objects {
            match self.process_object(&engine, obj) {
                Ok(outcome) => report.add(&outcome),
                Err(e) => {
                    tracing::error!(bucket = %obj.bucket, key = %obj.key, error = %e, transient = e.is_transient(), "object failed; will be retried");
                    report.failed += 1;
                    if let Some(id) = &obj.message_id {
                        report.failed_messages.insert(id.clone());
                    } else {
                        report.failed_without_message = true;
                    }
                }
            }
        }
        if let Some(request) = &inv.backfill {
            self.backfill(&engine, request, &mut report);
        }
        if inv.sweep {
            let started = Instant::now();
            match engine.sweep(Minute::from_datetime(chrono::Utc::now())) {
                Ok(records) => {
                    let (rcu, wcu, requests) = self.store.take_consumed_capacity();
                    tracing::info!(
                        insights = records.len(),
                        duration_ms = started.elapsed().as_millis() as u64,
                        read_capacity_units = rcu,
                        write_capacity_units = wcu,
                        dynamodb_requests = requests,
                        "sweep"
                    );
                    report.insights += records.len();
                }
                Err(e) => {
                    tracing::error!(error = %e, "sweep failed; will be retried");
                    report.failed += 1;
                    report.failed_without_message = true;
                }
            }
        }
        report
    }

    fn process_object(
        &self,
        engine: &Engine<'_>,
        obj: &ObjectRef,
    ) -> Result<Outcome, ProcessError> {
        let started = Instant::now();
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(open_object(
                &self.s3,
                &self.handle,
                &obj.bucket,
                &obj.key,
            )?))
        };
        let object_id = format!("{}/{}", obj.bucket, obj.key);
        let outcome = engine.process(&object_id, &obj.key, &open)?;
        if self.config.plot_svg {
            self.write_graphs(engine, obj, &outcome);
        }
        let (rcu, wcu, requests) = self.store.take_consumed_capacity();
        let ms = started.elapsed().as_millis() as u64;
        let status = match &outcome.status {
            Status::Processed => "processed",
            Status::AlreadyProcessed => "already processed",
            Status::Skipped(_) => "skipped",
            Status::Rejected(_) => "rejected",
        };
        let reason = match &outcome.status {
            Status::Skipped(r) | Status::Rejected(r) => r.as_str(),
            _ => "",
        };
        // Why records were not counted ("invalid record: 2, time in the future: 1"), so a file
        // whose events vanished can be explained from its log line alone.
        let ignored = outcome
            .ignored
            .iter()
            .map(|(why, n)| format!("{why}: {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if matches!(outcome.status, Status::Rejected(_)) {
            tracing::warn!(bucket = %obj.bucket, key = %obj.key, reason, "object rejected (permanently bad; not retried)");
        }
        tracing::info!(
            bucket = %obj.bucket,
            key = %obj.key,
            status,
            reason,
            events = outcome.records,
            counted = outcome.counted,
            ignored,
            duplicates = outcome.duplicates,
            late = outcome.late,
            minutes_touched = outcome.minutes_touched,
            series_touched = outcome.series_touched,
            insights = outcome.insights.len(),
            withheld = outcome.withheld.len(),
            held = outcome.held.len(),
            duration_ms = ms,
            read_capacity_units = rcu,
            write_capacity_units = wcu,
            dynamodb_requests = requests,
            "object"
        );
        println!("{}", emf(&outcome, status, ms, rcu, wcu));
        Ok(outcome)
    }
}

impl App {
    /// A one-off backfill: the log files under the request's bucket/prefix, in delivery order,
    /// through the same per-object path as notifications, until the time budget is spent.
    fn backfill(
        &self,
        engine: &Engine<'_>,
        request: &crate::app::backfill::BackfillRequest,
        report: &mut Report,
    ) {
        let started = Instant::now();
        let location = crate::aws::s3::S3Location {
            bucket: request.bucket.clone(),
            prefix: request.prefix.clone(),
        };
        let keys = match self
            .handle
            .block_on(crate::aws::s3::list_keys(&self.s3, &location))
        {
            Ok(keys) => keys,
            Err(e) => {
                tracing::error!(error = %e, "backfill listing failed; will be retried");
                report.failed += 1;
                report.failed_without_message = true;
                return;
            }
        };
        let oldest = Minute::from_datetime(chrono::Utc::now()).plus(-request.since_minutes);
        let files = crate::app::backfill::select_log_files(&keys, oldest);
        let mut progress = BackfillProgress {
            listed: keys.len(),
            selected: files.len(),
            remaining: 0,
        };
        for (i, (_, key)) in files.iter().enumerate() {
            if started.elapsed().as_secs() >= request.budget_seconds {
                progress.remaining = files.len() - i;
                break;
            }
            let obj = ObjectRef {
                bucket: request.bucket.clone(),
                key: key.clone(),
                message_id: None,
            };
            match self.process_object(engine, &obj) {
                Ok(outcome) => report.add(&outcome),
                Err(e) => {
                    // Stop here: later files would close this one's minutes first and its events
                    // would then count late. The next invocation resumes with this file.
                    tracing::error!(bucket = %obj.bucket, key = %obj.key, error = %e, "backfill object failed; stopped there, invoke again to continue");
                    report.failed += 1;
                    report.failed_without_message = true;
                    progress.remaining = files.len() - i;
                    break;
                }
            }
        }
        tracing::info!(
            listed = progress.listed,
            selected = progress.selected,
            remaining = progress.remaining,
            "backfill"
        );
        report.backfill = Some(progress);
    }

    /// The insight graph of each End record, next to its file (`…json.gz` → `….svg`). A graph
    /// is an illustration: failing to draw or store one is logged, not retried.
    fn write_graphs(&self, engine: &Engine<'_>, obj: &ObjectRef, outcome: &Outcome) {
        let Ok(log) = crate::cloudtrail::key::classify_key(&obj.key) else {
            return;
        };
        for end in outcome
            .insights
            .iter()
            .filter(|r| r.insight_details.state == "End")
        {
            if let Err(e) = self.write_graph(engine, &log.scope, end) {
                tracing::warn!(insight = %end.shared_event_id, error = %e, "insight graph not written");
            }
        }
    }

    fn write_graph(
        &self,
        engine: &Engine<'_>,
        scope: &crate::cloudtrail::key::TrailScope,
        end: &crate::insight::record::InsightRecord,
    ) -> Result<(), String> {
        use crate::insight::plot::{InsightGraph, render_svg};
        let d = &end.insight_details;
        let series = end.series();
        let end_minute = Minute::parse_event_time(&end.event_time).ok_or("bad eventTime")?;
        let duration = d.insight_context.statistics.insight_duration.unwrap_or(1);
        let start = end_minute.plus(-duration);
        let window = InsightGraph::window(start, Some(end_minute), end_minute);
        let id = series.id();
        let counts: Vec<(Minute, u64)> = engine
            .minute_counts(scope, window.0, window.1)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|(m, c)| (m, c.count_of(&id)))
            .collect();
        let graph = InsightGraph::from_records(None, Some(end), window, &counts)
            .ok_or("record without a usable time")?;
        let svg = render_svg(&graph)?;
        let file =
            crate::insight::record::insight_file(scope, end.clone()).map_err(|e| e.to_string())?;
        let key = format!(
            "{}{}.svg",
            self.config.destination_prefix,
            file.key.trim_end_matches(".json.gz")
        );
        let req = self
            .s3
            .put_object()
            .bucket(&self.config.destination_bucket)
            .key(&key)
            .content_type("image/svg+xml")
            .body(svg.into_bytes().into())
            .send();
        self.handle.block_on(req).map(|_| ()).map_err(|e| {
            format!(
                "s3://{}/{key}: {}",
                self.config.destination_bucket,
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
    }
}

/// The result of one invocation.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub processed: usize,
    pub skipped: usize,
    pub rejected: usize,
    pub malformed: usize,
    pub failed: usize,
    pub insights: usize,
    pub failed_messages: BTreeSet<String>,
    pub failed_without_message: bool,
    /// Set for a backfill invocation.
    pub backfill: Option<BackfillProgress>,
}

/// How far a backfill invocation got.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BackfillProgress {
    /// Objects under the prefix.
    pub listed: usize,
    /// Log files delivered within `since`.
    pub selected: usize,
    /// Files not reached within the time budget: invoke again to continue.
    pub remaining: usize,
}

impl Report {
    fn add(&mut self, o: &Outcome) {
        match o.status {
            Status::Processed => self.processed += 1,
            Status::Rejected(_) => self.rejected += 1,
            Status::AlreadyProcessed | Status::Skipped(_) => self.skipped += 1,
        }
        self.insights += o.insights.len();
    }
}

/// One CloudWatch Embedded Metric Format line per object.
pub fn emf(o: &Outcome, status: &str, duration_ms: u64, rcu: f64, wcu: f64) -> String {
    let now_ms = chrono::Utc::now().timestamp_millis();
    let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": "TrailInsights",
                "Dimensions": [["Status"]],
                "Metrics": [
                    metric("Objects", "Count"), metric("Events", "Count"), metric("CountedEvents", "Count"),
                    metric("SeriesTouched", "Count"), metric("Insights", "Count"), metric("InsightsWithheld", "Count"),
                    metric("InsightsHeld", "Count"), metric("Duration", "Milliseconds"),
                    metric("ReadCapacityUnits", "Count"), metric("WriteCapacityUnits", "Count"),
                ]
            }]
        },
        "Status": status,
        "Objects": 1,
        "Events": o.records,
        "CountedEvents": o.counted,
        "SeriesTouched": o.series_touched,
        "Insights": o.insights.len(),
        "InsightsWithheld": o.withheld.len(),
        "InsightsHeld": o.held.len(),
        "Duration": duration_ms,
        "ReadCapacityUnits": rcu,
        "WriteCapacityUnits": wcu,
        "Key": o.key,
    })
    .to_string()
}

/// Handle one event: parse it, process on a blocking thread, shape the response.
pub async fn handle(app: Arc<App>, event: Value) -> Result<Value, lambda_runtime::Error> {
    let inv = parse_invocation(&event);
    let sqs = inv.sqs;
    let worker = app.clone();
    let report = tokio::task::spawn_blocking(move || worker.run(&inv)).await?;
    tracing::info!(
        processed = report.processed,
        skipped = report.skipped,
        rejected = report.rejected,
        malformed = report.malformed,
        failed = report.failed,
        insights = report.insights,
        "invocation"
    );
    if sqs && !report.failed_without_message {
        let failures: Vec<Value> = report
            .failed_messages
            .iter()
            .map(|id| json!({"itemIdentifier": id}))
            .collect();
        return Ok(json!({ "batchItemFailures": failures }));
    }
    if report.failed > 0 {
        return Err(format!(
            "{} object(s) failed transiently; the invocation will be retried",
            report.failed
        )
        .into());
    }
    let mut answer = json!({ "processed": report.processed, "skipped": report.skipped, "rejected": report.rejected, "insights": report.insights });
    if let Some(b) = &report.backfill {
        answer["listed"] = json!(b.listed);
        answer["selected"] = json!(b.selected);
        answer["remaining"] = json!(b.remaining);
        answer["complete"] = json!(b.remaining == 0);
    }
    Ok(answer)
}

/// JSON logs for CloudWatch; `RUST_LOG`-style filter in `TRAIL_INSIGHTS_LOG` (default info).
pub fn init_logging() {
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAIL_INSIGHTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = json_subscriber(filter, std::io::stderr).try_init();
}

/// The function's log format, one JSON object per line, to any writer: the tests capture
/// exactly what CloudWatch receives.
pub fn json_subscriber<W>(
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_embedded_metric_format_with_every_figure() {
        let o = Outcome {
            key: "AWSLogs/1/CloudTrail/r/f.json.gz".into(),
            status: crate::engine::Status::Processed,
            records: 120,
            counted: 100,
            ignored: Default::default(),
            duplicates: 3,
            late: 0,
            minutes_touched: 4,
            series_touched: 7,
            insights: Vec::new(),
            withheld: vec![("s".into(), Minute(1)), ("t".into(), Minute(2))],
            held: vec![("u".into(), Minute(3))],
        };
        let line: serde_json::Value =
            serde_json::from_str(&emf(&o, "processed", 42, 2.5, 9.0)).unwrap();
        let declared = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "TrailInsights");
        assert_eq!(declared["Dimensions"], serde_json::json!([["Status"]]));
        assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        let want = [
            ("Objects", 1.0),
            ("Events", 120.0),
            ("CountedEvents", 100.0),
            ("SeriesTouched", 7.0),
            ("Insights", 0.0),
            ("InsightsWithheld", 2.0),
            ("InsightsHeld", 1.0),
            ("Duration", 42.0),
            ("ReadCapacityUnits", 2.5),
            ("WriteCapacityUnits", 9.0),
        ];
        let names: Vec<&str> = declared["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want.map(|(n, _)| n));
        for (name, value) in want {
            // Every declared metric has its value at the top level, as EMF requires.
            assert_eq!(line[name].as_f64(), Some(value), "{name}");
        }
        assert_eq!(line["Status"], "processed");
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn configuration_is_validated_at_cold_start() {
        let e = FunctionConfig::from_vars(&vars(&[("DESTINATION_BUCKET", "b")])).unwrap_err();
        assert!(e.to_string().contains("TABLE_NAME is required"), "{e}");
        let c = FunctionConfig::from_vars(&vars(&[
            ("TABLE_NAME", "t"),
            ("DESTINATION_BUCKET", "b"),
            ("DESTINATION_PREFIX", "out"),
        ]))
        .unwrap();
        assert_eq!(c.destination_prefix, "out/");
        let e = FunctionConfig::from_vars(&vars(&[
            ("TABLE_NAME", "t"),
            ("DESTINATION_BUCKET", "b"),
            ("LATENESS_MINUTES", "x"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("LATENESS_MINUTES"), "{e}");
    }
}
