//! `trail-insights plot`: one insight drawn like the CloudTrail console's graph, from its
//! Insights records and the stored per-minute counts of its series.

use super::lookup::insights_at;
use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::config::Config;
use crate::count::minutes::MinuteCounts;
use crate::engine::Engine;
use crate::insight::pairs::PairedInsight;
use crate::insight::plot::{CONTEXT_MINUTES, Format, InsightGraph, render_file};
use crate::insight::sink::DirectorySink;
use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use std::path::{Path, PathBuf};

// The flags of `plot` (its description is on `Command::Plot`).
#[derive(Args, Debug)]
pub struct PlotArgs {
    /// The insight's sharedEventID (see `lookup`).
    #[arg(long)]
    pub insight: String,
    /// Per-minute counts from this state directory (written by `replay`)…
    #[arg(long, default_value = ".trail-insights", conflicts_with = "table")]
    pub state: PathBuf,
    /// …or from the function's DynamoDB table (where the environment points).
    #[arg(long)]
    pub table: Option<String>,
    /// Where the Insights files are: a directory (the --out of `replay`) or s3://bucket/prefix.
    #[arg(long, default_value = "insights")]
    pub out: String,
    /// Organization ID, for organization trails (AWSLogs/o-…/<account>/…).
    #[arg(long)]
    pub org: Option<String>,
    /// The picture to write: FILE.svg or FILE.png.
    #[arg(long)]
    pub output: PathBuf,
}

/// Run `plot`: draw the picture and say which minutes it shows.
pub fn command(args: PlotArgs) -> Result<()> {
    let PlotArgs {
        insight,
        state,
        table,
        out,
        org,
        output,
    } = args;
    let from = match &table {
        Some(t) => CountsFrom::Table(t),
        None => CountsFrom::State(&state),
    };
    let g = plot_command(&insight, &out, from, org, &output)?;
    println!(
        "{}: {} minutes from {} to {}",
        output.display(),
        g.minutes.len(),
        g.minutes
            .first()
            .map_or(String::new(), |m| m.0.to_rfc3339()),
        g.minutes.last().map_or(String::new(), |m| m.0.to_rfc3339())
    );
    Ok(())
}

/// Where `plot` reads per-minute counts from.
pub enum CountsFrom<'a> {
    /// The embedded store of `replay` (`--state DIR`).
    State(&'a Path),
    /// The function's DynamoDB table (`--table NAME`), where the environment points.
    Table(&'a str),
}

/// `trail-insights plot`: find the insight's records under `records` (a directory or
/// `s3://bucket/prefix`), read its series' counts around it, and draw it to `output`.
pub fn plot_command(
    shared_event_id: &str,
    records: &str,
    counts_from: CountsFrom<'_>,
    org: Option<String>,
    output: &Path,
) -> Result<InsightGraph> {
    Format::from_path(output).map_err(anyhow::Error::msg)?;
    let insight = find_insight(shared_event_id, records)?;
    let Some(any) = insight.start.as_ref().or(insight.end.as_ref()) else {
        bail!("insight {shared_event_id} has no records");
    };
    let series = any.series();
    let scope = TrailScope {
        org,
        account: any.recipient_account_id.clone().ok_or_else(|| {
            anyhow!("insight {shared_event_id}: the record has no recipientAccountId")
        })?,
        region: any.aws_region.clone(),
    };
    let start = insight.start_minute();
    let end = insight
        .end
        .as_ref()
        .and_then(|e| Minute::parse_event_time(&e.event_time));
    let window = InsightGraph::window(start, end, start.plus(CONTEXT_MINUTES));
    let counts = series_counts(counts_from, &scope, &series.id(), window)?;
    let graph = InsightGraph::from_records(
        insight.start.as_ref(),
        insight.end.as_ref(),
        window,
        &counts,
    )
    .ok_or_else(|| anyhow!("insight {shared_event_id}: records without a usable eventTime"))?;
    render_file(&graph, output).map_err(anyhow::Error::msg)?;
    Ok(graph)
}

/// The insight with this sharedEventID among the Insights records under `records`.
fn find_insight(shared_event_id: &str, records: &str) -> Result<PairedInsight> {
    let found = insights_at(records)?;
    let Some(insight) = found.into_iter().find(|p| {
        p.start
            .as_ref()
            .or(p.end.as_ref())
            .is_some_and(|r| r.shared_event_id == shared_event_id)
    }) else {
        bail!("no Insights record with sharedEventID {shared_event_id} under {records}");
    };
    Ok(insight)
}

/// The stored per-minute counts of series `id` in `window`.
fn series_counts(
    counts_from: CountsFrom<'_>,
    scope: &TrailScope,
    id: &str,
    window: (Minute, Minute),
) -> Result<Vec<(Minute, u64)>> {
    let sink = DirectorySink {
        root: PathBuf::new(),
    };
    let pick = |rows: Vec<(Minute, MinuteCounts)>| -> Vec<(Minute, u64)> {
        rows.into_iter().map(|(m, c)| (m, c.count_of(id))).collect()
    };
    let counts = match counts_from {
        CountsFrom::State(dir) => {
            if !dir.join("state.redb").exists() {
                bail!(
                    "no state in {} (run `trail-insights replay --state {}` first)",
                    dir.display(),
                    dir.display()
                );
            }
            let store = crate::store::EmbeddedStore::open(dir)
                .with_context(|| format!("state directory {}", dir.display()))?;
            let engine = Engine::new(Config::default(), &store, &sink);
            pick(
                engine
                    .minute_counts(scope, window.0, window.1)
                    .map_err(|e| anyhow!("{e}"))?,
            )
        }
        CountsFrom::Table(table) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            let sdk = rt.block_on(aws_config::load_defaults(
                aws_config::BehaviorVersion::latest(),
            ));
            let store = crate::aws::dynamo::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                table,
                rt.handle().clone(),
                Config::default().metrics_retention_days,
            );
            let engine = Engine::new(Config::default(), &store, &sink);
            pick(
                engine
                    .minute_counts(scope, window.0, window.1)
                    .map_err(|e| anyhow!("{e}"))?,
            )
        }
    };
    Ok(counts)
}
