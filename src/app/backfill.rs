//! Command-line work against AWS (or local stand-ins): `setup` creates the table and buckets,
//! `backfill` runs existing log files through the function's code path, `lookup` reads Insights
//! from S3.

use crate::app::lambda::{App, FunctionConfig};
use crate::aws::dynamo::create_table;
use crate::aws::s3::{S3Location, insight_records, list_keys, open_object};
use crate::base::time::Minute;
use crate::cloudtrail::key::classify_key;
use crate::engine::{Engine, Status};
use crate::insight::record::InsightRecord;
use anyhow::{Context, Result, bail};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::runtime::Runtime;

fn runtime() -> Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Create the state table (the template's schema) and any buckets, where the environment points.
pub fn setup(table: &str, buckets: &[String]) -> Result<()> {
    let rt = runtime()?;
    rt.block_on(async {
        let sdk = sdk_config().await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let fresh = create_table(&dynamo, table).await?;
        println!(
            "table {table}: {}",
            if fresh { "created" } else { "already exists" }
        );
        let s3 = crate::aws::s3::client(&sdk);
        for b in buckets {
            match s3.create_bucket().bucket(b).send().await {
                Ok(_) => println!("bucket {b}: created"),
                Err(e)
                    if matches!(
                        e.code(),
                        Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                    ) =>
                {
                    println!("bucket {b}: already exists")
                }
                Err(e) => bail!("cannot create bucket {b}: {}", DisplayErrorContext(&e)),
            }
        }
        Ok(())
    })
}

/// Parse `7d`, `36h`, `90m` (or a bare number of hours).
pub fn parse_duration_minutes(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&s[..i], c),
        _ => (s, 'h'),
    };
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 7d, 36h or 90m"))?;
    let per = match unit {
        'm' => 1,
        'h' => 60,
        'd' => 1440,
        _ => return Err(format!("`{s}`: unit must be m, h or d")),
    };
    if n <= 0 {
        return Err(format!("`{s}` must be positive"));
    }
    Ok(n * per)
}

/// The one-off invocation that backfills from the deployed function:
/// `{"trail-insights": "backfill", "bucket": "…", "prefix": "AWSLogs/…", "since": "8d"}`
/// (`prefix` and `since` optional; `budget_seconds`, default 240, bounds one invocation: files
/// left over are reported as `remaining`, and invoking again continues where it stopped;
/// 0 processes nothing and reports what would be processed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRequest {
    pub bucket: String,
    pub prefix: String,
    pub since_minutes: i64,
    pub budget_seconds: u64,
}

/// Default `budget_seconds`: leaves a minute of the template's 300 s timeout for the last file.
pub const BACKFILL_BUDGET_SECONDS: u64 = 240;

impl BackfillRequest {
    pub fn from_event(v: &serde_json::Value) -> Result<BackfillRequest, String> {
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let bucket = text("bucket")
            .filter(|b| !b.is_empty())
            .ok_or("backfill event without \"bucket\"")?;
        let since_minutes = parse_duration_minutes(text("since").unwrap_or("8d"))
            .map_err(|e| format!("backfill event \"since\": {e}"))?;
        let budget_seconds = match v.get("budget_seconds") {
            None => BACKFILL_BUDGET_SECONDS,
            Some(b) => b
                .as_u64()
                .ok_or("backfill event \"budget_seconds\" must be a whole number of seconds")?,
        };
        Ok(BackfillRequest {
            bucket: bucket.to_string(),
            prefix: text("prefix").unwrap_or("").to_string(),
            since_minutes,
            budget_seconds,
        })
    }
}

/// CloudTrail log files among `keys` delivered at or after `oldest`, in delivery order.
pub fn select_log_files(keys: &[(String, i64)], oldest: Minute) -> Vec<(Minute, String)> {
    let mut files: Vec<(Minute, String)> = keys
        .iter()
        .filter_map(|(k, _)| classify_key(k).ok().map(|c| (c.delivered, k.clone())))
        .filter(|(delivered, _)| *delivered >= oldest)
        .collect();
    files.sort();
    files
}

/// Totals of one backfill.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BackfillSummary {
    pub listed: usize,
    pub selected: usize,
    pub processed: usize,
    pub already_processed: usize,
    pub rejected: usize,
    pub failed: usize,
    /// Files not reached because a file failed transiently (that file included).
    pub remaining: usize,
    pub insights: Vec<InsightRecord>,
}

/// Process existing log files under `location`, delivered within `since_minutes` of now, in
/// delivery order, with the function's configuration (state in `TABLE_NAME`, Insights to
/// `DESTINATION_BUCKET`/`DESTINATION_PREFIX`). Resumable: processed files are skipped.
pub fn backfill(
    location: &S3Location,
    since_minutes: i64,
    config: FunctionConfig,
    progress: bool,
) -> Result<BackfillSummary> {
    let rt = runtime()?;
    let sdk = rt.block_on(sdk_config());
    let app = App::new(config, &sdk, rt.handle().clone());
    let (s3, handle) = (&app.s3, &app.handle);
    let keys = rt.block_on(list_keys(s3, location))?;
    let oldest = Minute::from_datetime(chrono::Utc::now()).plus(-since_minutes);
    let files = select_log_files(&keys, oldest);
    let mut summary = BackfillSummary {
        listed: keys.len(),
        selected: files.len(),
        ..Default::default()
    };
    let engine = Engine::new(app.config.engine.clone(), &app.store, &app.sink);
    let bar = crate::app::progress::file_progress("backfill", files.len(), progress);
    for (i, (_, key)) in files.iter().enumerate() {
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(open_object(s3, handle, &location.bucket, key)?))
        };
        match engine.process(&format!("{}/{key}", location.bucket), key, &open) {
            Ok(o) => {
                match o.status {
                    Status::Processed => summary.processed += 1,
                    Status::AlreadyProcessed | Status::Skipped(_) => summary.already_processed += 1,
                    Status::Rejected(reason) => {
                        bar.suspend(|| {
                            eprintln!("warning: rejected s3://{}/{key}: {reason}", location.bucket)
                        });
                        summary.rejected += 1;
                    }
                }
                summary.insights.extend(o.insights);
            }
            Err(e) if e.is_transient() => {
                // Stop here: later files would close this one's minutes first and its events
                // would then count late. Running backfill again resumes with this file.
                bar.suspend(|| {
                    eprintln!("warning: {e} (stopped there; run backfill again to continue)")
                });
                summary.failed += 1;
                summary.remaining = files.len() - i;
                break;
            }
            Err(e) => bail!("{e}"),
        }
        bar.set_message(format!("{} insights", summary.insights.len()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    drop(engine);
    drop(rt);
    Ok(summary)
}

/// Every Insights record under an S3 location, where the environment points.
pub fn insight_records_in_s3(location: &S3Location) -> Result<Vec<InsightRecord>> {
    let rt = runtime()?;
    rt.block_on(async {
        let sdk = sdk_config().await;
        insight_records(&crate::aws::s3::client(&sdk), location).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_minutes("7d"), Ok(7 * 1440));
        assert_eq!(parse_duration_minutes("36h"), Ok(36 * 60));
        assert_eq!(parse_duration_minutes("90m"), Ok(90));
        assert_eq!(parse_duration_minutes("2"), Ok(120));
        assert!(parse_duration_minutes("0d").is_err());
        assert!(parse_duration_minutes("7w").is_err());
        assert!(parse_duration_minutes("soon").is_err());
    }

    #[test]
    fn backfill_events() {
        let r = BackfillRequest::from_event(&serde_json::json!({
            "trail-insights": "backfill", "bucket": "b", "prefix": "AWSLogs/1/", "since": "2d"
        }))
        .unwrap();
        assert_eq!(
            r,
            BackfillRequest {
                bucket: "b".into(),
                prefix: "AWSLogs/1/".into(),
                since_minutes: 2 * 1440,
                budget_seconds: BACKFILL_BUDGET_SECONDS
            }
        );
        let e = BackfillRequest::from_event(&serde_json::json!({"since": "2d"})).unwrap_err();
        assert!(e.contains("bucket"), "{e}");
        let e = BackfillRequest::from_event(&serde_json::json!({"bucket": "b", "since": "2w"}))
            .unwrap_err();
        assert!(e.contains("since"), "{e}");
    }
}
