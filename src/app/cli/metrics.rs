//! `trail-insights metrics`: one series' per-minute counts, like ListInsightsMetricData.

use crate::base::series::{InsightType, Population, SeriesKey};
use crate::base::time::{Minute, parse_cli_time};
use crate::cloudtrail::key::TrailScope;
use crate::config::Config;
use crate::engine::Engine;
use crate::insight::sink::DirectorySink;
use crate::store::EmbeddedStore;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

// The flags of `metrics` (its description is on `Command::Metrics`).
#[derive(Args, Debug)]
pub struct MetricsArgs {
    /// State directory written by `replay`.
    #[arg(long, default_value = ".trail-insights")]
    pub state: PathBuf,
    /// Account ID (12 digits) the trail's log files belong to.
    #[arg(long)]
    pub account: String,
    /// Region of the calls (e.g. us-east-1).
    #[arg(long)]
    pub region: String,
    /// Organization ID, for organization trails (AWSLogs/o-…/<account>/…).
    #[arg(long)]
    pub org: Option<String>,
    /// The API's service, as in the records' eventSource (e.g. ec2.amazonaws.com).
    #[arg(long)]
    pub event_source: String,
    /// The API, as in the records' eventName (e.g. RunInstances).
    #[arg(long)]
    pub event_name: String,
    /// ApiCallRateInsight (write calls) or ApiErrorRateInsight (calls failing with --error-code).
    #[arg(long, default_value = "ApiCallRateInsight")]
    pub insight_type: String,
    /// Required for ApiErrorRateInsight.
    #[arg(long)]
    pub error_code: Option<String>,
    /// Which calls: `management` (AWS's series), `data` (data events, with
    /// DATA_EVENT_INSIGHTS) or `read` (read management calls, call rate only, with
    /// READ_CALL_INSIGHTS).
    #[arg(long, default_value = "management")]
    pub population: String,
    /// Start time, RFC 3339 (e.g. 2026-01-05T10:00:00Z), inclusive.
    #[arg(long)]
    pub start: String,
    /// End time, RFC 3339, exclusive.
    #[arg(long)]
    pub end: String,
    /// Seconds per data point: 60, 300 or 3600.
    #[arg(long, default_value_t = 60)]
    pub period: u32,
    /// Include periods without events as zeros (default: only non-zero periods).
    #[arg(long)]
    pub fill_with_zeros: bool,
}

/// Run `metrics`: check the flags, print the data points as JSON.
pub fn command(args: MetricsArgs) -> Result<()> {
    let MetricsArgs {
        state,
        account,
        region,
        org,
        event_source,
        event_name,
        insight_type,
        error_code,
        population,
        start,
        end,
        period,
        fill_with_zeros,
    } = args;
    let population = match population.as_str() {
        "management" => Population::Management,
        "data" => Population::Data,
        "read" => Population::ReadManagement,
        other => bail!("--population must be management, data or read, not `{other}`"),
    };
    let kind = InsightType::parse(&insight_type).with_context(|| {
        format!(
            "--insight-type must be ApiCallRateInsight or ApiErrorRateInsight, not `{insight_type}`"
        )
    })?;
    let series = match (kind, error_code) {
        (InsightType::ApiCallRateInsight, None) => SeriesKey::call_rate(&event_source, &event_name),
        (InsightType::ApiCallRateInsight, Some(_)) => {
            bail!("--error-code only applies to ApiErrorRateInsight")
        }
        (InsightType::ApiErrorRateInsight, Some(code)) => {
            SeriesKey::error_rate(&event_source, &event_name, &code)
        }
        (InsightType::ApiErrorRateInsight, None) => {
            bail!("ApiErrorRateInsight needs --error-code")
        }
    };
    if population == Population::ReadManagement && series.error_code.is_some() {
        bail!(
            "--population read has call-rate series only (errors of reads are in the management error-rate series)"
        );
    }
    let series = series.in_population(population);
    if ![60, 300, 3600].contains(&period) {
        bail!("--period must be 60, 300 or 3600, not {period}");
    }
    let start = parse_cli_time(&start)
        .map_err(anyhow::Error::msg)
        .context("--start")?;
    let end = parse_cli_time(&end)
        .map_err(anyhow::Error::msg)
        .context("--end")?;
    if end <= start {
        bail!("--end must be after --start");
    }
    if !state.join("state.redb").exists() {
        bail!(
            "no state in {} (run `trail-insights replay --state {}` first)",
            state.display(),
            state.display()
        );
    }
    let scope = TrailScope {
        org,
        account,
        region,
    };
    let m = metrics(
        &state,
        &scope,
        &series,
        Minute::from_datetime(start),
        Minute::from_datetime(end),
        period,
        fill_with_zeros,
    )?;
    println!("{}", serde_json::to_string_pretty(&m)?);
    Ok(())
}

/// `{"Timestamps":[...],"Values":[...]}` for one series.
pub fn metrics(
    state: &Path,
    scope: &TrailScope,
    series: &SeriesKey,
    start: Minute,
    end: Minute,
    period_seconds: u32,
    fill_with_zeros: bool,
) -> Result<serde_json::Value> {
    let store = EmbeddedStore::open(state)?;
    let sink = DirectorySink {
        root: PathBuf::new(),
    };
    let engine = Engine::new(Config::default(), &store, &sink);
    let period = i64::from(period_seconds / 60);
    let id = series.id();
    let mut buckets: BTreeMap<i64, u64> = BTreeMap::new();
    if fill_with_zeros {
        let mut p = start.0.div_euclid(period) * period;
        while p < end.0 {
            buckets.insert(p, 0);
            p += period;
        }
    }
    for (m, counts) in engine
        .minute_counts(scope, start, end.plus(-1))
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        let c = counts.count_of(&id);
        if c > 0 {
            *buckets.entry(m.0.div_euclid(period) * period).or_default() += c;
        }
    }
    let (timestamps, values): (Vec<String>, Vec<f64>) = buckets
        .into_iter()
        .map(|(p, v)| (Minute(p).to_rfc3339(), v as f64))
        .unzip();
    Ok(serde_json::json!({ "Timestamps": timestamps, "Values": values }))
}
