//! The `trail-insights` command line. The binary only calls [`main`].

use crate::base::series::{InsightType, Population, SeriesKey};
use crate::base::time::{Minute, parse_cli_time};
use crate::cloudtrail::key::{TrailScope, classify_key};
use crate::config::Config;
use crate::engine::{Engine, Outcome, Status};
use crate::insight::record::{InsightRecord, parse_insight_file};
use crate::insight::sink::DirectorySink;
use crate::store::EmbeddedStore;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use comfy_table::Table;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Parser, Debug)]
#[command(
    name = "trail-insights",
    version,
    about = "CloudTrail Insights, open and tunable: CloudTrail log files in, Insights events out.",
    after_help = config_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

fn config_help() -> String {
    let mut s = String::from(
        "Configuration: every knob can be set in a TOML file (--config) or as an environment variable of\nthe same name; the environment wins.\n",
    );
    for (name, meaning) in crate::config::all_knobs() {
        s.push_str(&format!("  {name:<26} {meaning}\n"));
    }
    s
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read CloudTrail log files (.json.gz or .json; files or directories, recursively) in
    /// delivery order and write Insights files in the AWS layout.
    Replay {
        /// Log files or directories. Only files named like CloudTrail log files are read.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// State directory: counters, baselines, open insights, processed files.
        #[arg(long, default_value = ".trail-insights")]
        state: PathBuf,
        /// Directory to write Insights files to (AWSLogs/<acct>/CloudTrail-Insight/...).
        #[arg(long, default_value = "insights")]
        out: PathBuf,
        /// TOML configuration file (same names as the environment variables).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Do not close the minutes up to the last event at the end (insights stay open).
        #[arg(long)]
        no_flush: bool,
    },
    /// Per-minute counts of one series, in the shape of CloudTrail's ListInsightsMetricData.
    Metrics {
        /// State directory written by `replay`.
        #[arg(long, default_value = ".trail-insights")]
        state: PathBuf,
        /// Account ID (12 digits) the trail's log files belong to.
        #[arg(long)]
        account: String,
        /// Region of the calls (e.g. us-east-1).
        #[arg(long)]
        region: String,
        /// Organization ID, for organization trails (AWSLogs/o-…/<account>/…).
        #[arg(long)]
        org: Option<String>,
        /// The API's service, as in the records' eventSource (e.g. ec2.amazonaws.com).
        #[arg(long)]
        event_source: String,
        /// The API, as in the records' eventName (e.g. RunInstances).
        #[arg(long)]
        event_name: String,
        /// ApiCallRateInsight (write calls) or ApiErrorRateInsight (calls failing with --error-code).
        #[arg(long, default_value = "ApiCallRateInsight")]
        insight_type: String,
        /// Required for ApiErrorRateInsight.
        #[arg(long)]
        error_code: Option<String>,
        /// Which calls: `management` (AWS's series), `data` (data events, with
        /// DATA_EVENT_INSIGHTS) or `read` (read management calls, call rate only, with
        /// READ_CALL_INSIGHTS).
        #[arg(long, default_value = "management")]
        population: String,
        /// Start time, RFC 3339 (e.g. 2026-01-05T10:00:00Z), inclusive.
        #[arg(long)]
        start: String,
        /// End time, RFC 3339, exclusive.
        #[arg(long)]
        end: String,
        /// Seconds per data point: 60, 300 or 3600.
        #[arg(long, default_value_t = 60)]
        period: u32,
        /// Include periods without events as zeros (default: only non-zero periods).
        #[arg(long)]
        fill_with_zeros: bool,
    },
    /// List insights (Start and End paired by sharedEventID), like
    /// `aws cloudtrail lookup-events --event-category insight`.
    Lookup {
        /// Directory holding Insights files (the --out of `replay`), or s3://bucket/prefix.
        #[arg(long, default_value = "insights")]
        out: String,
        /// Only insights on this API (eventName, e.g. RunInstances).
        #[arg(long)]
        event_name: Option<String>,
        /// Only insights on this service (eventSource, e.g. ec2.amazonaws.com).
        #[arg(long)]
        event_source: Option<String>,
        /// Only insights starting at or after this time (RFC 3339).
        #[arg(long)]
        start: Option<String>,
        /// Only insights starting before this time (RFC 3339).
        #[arg(long)]
        end: Option<String>,
        /// Print the records as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create the DynamoDB state table (the template's schema) and any S3 buckets, against the
    /// endpoints the environment points to (AWS, or AWS_ENDPOINT_URL_* for local servers).
    Setup {
        /// Table name (the function's TABLE_NAME).
        #[arg(long)]
        table: String,
        /// Buckets to create (repeatable).
        #[arg(long = "bucket")]
        buckets: Vec<String>,
    },
    /// Process existing log files under s3://bucket/prefix in delivery order through the
    /// function's code path, with the function's environment configuration (state in
    /// TABLE_NAME, Insights to DESTINATION_BUCKET/DESTINATION_PREFIX). Resumable: files
    /// processed before are skipped.
    Backfill {
        /// Where the trail's log files are, e.g. s3://my-trail-bucket/AWSLogs/123456789012/
        location: String,
        /// Only files delivered within this long before now: 7d, 36h, 90m.
        #[arg(long, default_value = "8d")]
        since: String,
        /// TOML configuration file for the detector knobs (environment variables win).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Draw one insight like the CloudTrail console's Insights graph: the per-minute series
    /// around it, the baseline average, the insight band with its Start and End, the top callers.
    Plot {
        /// The insight's sharedEventID (see `lookup`).
        #[arg(long)]
        insight: String,
        /// Per-minute counts from this state directory (written by `replay`)…
        #[arg(long, default_value = ".trail-insights", conflicts_with = "table")]
        state: PathBuf,
        /// …or from the function's DynamoDB table (where the environment points).
        #[arg(long)]
        table: Option<String>,
        /// Where the Insights files are: a directory (the --out of `replay`) or s3://bucket/prefix.
        #[arg(long, default_value = "insights")]
        out: String,
        /// Organization ID, for organization trails (AWSLogs/o-…/<account>/…).
        #[arg(long)]
        org: Option<String>,
        /// The picture to write: FILE.svg or FILE.png.
        #[arg(long)]
        output: PathBuf,
    },
    /// Generate a realistic multi-day trail with injected incidents, replay it and show the
    /// insights found; exits 1 if an incident is missed or any other insight is raised.
    Demo {
        /// Keep the generated trail, state and Insights here instead of a temporary directory.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Days of traffic to generate.
        #[arg(long, default_value_t = 9)]
        days: u32,
        /// Random seed (the same seed gives the same trail).
        #[arg(long, default_value_t = 7)]
        seed: u64,
    },
    /// Measure detection quality: generate labelled traffic (several accounts, weeks of
    /// minutes, benign patterns and injected anomalies) and/or convert real labelled series
    /// (`--series`), replay them end to end with this configuration, score them beside reference
    /// detectors, and write a Markdown report and charts (or, with `--series` alone, print).
    Evaluate {
        /// `small` (seconds; what `make test` guards) or `full` (minutes; EVALUATION.md).
        /// Default `full`, unless `--series` is given alone.
        #[arg(long)]
        scenario: Option<String>,
        /// Also (or, without `--scenario`, only) the real-data benchmark: every labelled CSV
        /// series (`TimeStamp,Value,Label`) under this folder, converted to log files and
        /// replayed end to end (e.g. ../shared/datasets/cloud-monitoring).
        #[arg(long)]
        series: Option<PathBuf>,
        /// With `--series` alone: print the score as one JSON object on the last line.
        #[arg(long)]
        json: bool,
        /// Random seed of the traffic.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Working directory for the generated logs, state and Insights (default: temporary).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Write the report here (Markdown).
        #[arg(long, default_value = "EVALUATION.md")]
        report: PathBuf,
        /// Write the chart (SVG) here.
        #[arg(long, default_value = "docs/evaluation.svg")]
        chart: PathBuf,
        /// TOML configuration file for the detector knobs (environment variables win).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Score on the generated counts only, without writing and replaying log files (quick;
        /// for trying settings).
        #[arg(long)]
        counts_only: bool,
    },
}

/// Run the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            1
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRAIL_INSIGHTS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Replay {
            paths,
            state,
            out,
            config,
            no_flush,
        } => {
            let config = Config::load(config.as_deref())?;
            let summary = replay(&paths, &state, &out, config, !no_flush, true)?;
            print_summary(&summary);
            if summary.failed > 0 {
                bail!(
                    "{} file(s) could not be read (see above); run replay again to retry them",
                    summary.failed
                );
            }
            Ok(())
        }
        Command::Metrics {
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
        } => {
            let population = match population.as_str() {
                "management" => Population::Management,
                "data" => Population::Data,
                "read" => Population::ReadManagement,
                other => bail!("--population must be management, data or read, not `{other}`"),
            };
            let kind = InsightType::parse(&insight_type)
                .with_context(|| format!("--insight-type must be ApiCallRateInsight or ApiErrorRateInsight, not `{insight_type}`"))?;
            let series = match (kind, error_code) {
                (InsightType::ApiCallRateInsight, None) => {
                    SeriesKey::call_rate(&event_source, &event_name)
                }
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
        Command::Lookup {
            out,
            event_name,
            event_source,
            start,
            end,
            json,
        } => {
            let start = start
                .map(|s| parse_cli_time(&s).map(Minute::from_datetime))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let end = end
                .map(|s| parse_cli_time(&s).map(Minute::from_datetime))
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let mut found = if out.starts_with("s3://") {
                let location = out.parse().map_err(anyhow::Error::msg)?;
                pair(crate::app::backfill::insight_records_in_s3(&location)?)
            } else {
                lookup(Path::new(&out))?
            };
            found.retain(|i| {
                let Some(d) = i.start_or_end().map(|r| &r.insight_details) else {
                    return false;
                };
                event_name.as_deref().is_none_or(|n| d.event_name == n)
                    && event_source.as_deref().is_none_or(|s| d.event_source == s)
                    && start.is_none_or(|s| i.start_minute() >= s)
                    && end.is_none_or(|e| i.start_minute() < e)
            });
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &found.iter().map(PairedInsight::to_json).collect::<Vec<_>>()
                    )?
                );
            } else if found.is_empty() {
                println!("No insights.");
            } else {
                println!("{}", insights_table(&found));
            }
            Ok(())
        }
        Command::Demo { dir, days, seed } => demo(dir, days, seed),
        Command::Evaluate {
            scenario,
            series,
            json,
            seed,
            dir,
            report,
            chart,
            config,
            counts_only,
        } => match (scenario, series) {
            (None, Some(series)) => {
                evaluate_real(&series, dir, config.as_deref(), json, !counts_only)
            }
            (scenario, series) => evaluate(
                scenario.as_deref().unwrap_or("full"),
                series.as_deref(),
                seed,
                dir,
                (&report, &chart),
                config.as_deref(),
                !counts_only,
            ),
        },
        Command::Plot {
            insight,
            state,
            table,
            out,
            org,
            output,
        } => {
            let from = match &table {
                Some(t) => crate::insight::plot::CountsFrom::Table(t),
                None => crate::insight::plot::CountsFrom::State(&state),
            };
            let g = crate::insight::plot::plot_command(&insight, &out, from, org, &output)?;
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
        Command::Setup { table, buckets } => crate::app::backfill::setup(&table, &buckets),
        Command::Backfill {
            location,
            since,
            config,
        } => {
            let location = location.parse().map_err(anyhow::Error::msg)?;
            let minutes = crate::app::backfill::parse_duration_minutes(&since)
                .map_err(anyhow::Error::msg)
                .context("--since")?;
            let mut function = crate::app::lambda::FunctionConfig::from_env()?;
            function.engine = Config::load(config.as_deref())?;
            let s = crate::app::backfill::backfill(&location, minutes, function, true)?;
            println!(
                "{} objects listed, {} log files selected: {} processed, {} already processed, {} rejected, {} failed; {} Insights records written",
                s.listed,
                s.selected,
                s.processed,
                s.already_processed,
                s.rejected,
                s.failed,
                s.insights.len()
            );
            if !s.insights.is_empty() {
                println!("{}", insights_table(&pair(s.insights)));
            }
            if s.failed > 0 {
                bail!(
                    "a file failed transiently; backfill stopped there with {} file(s) left (that one included): run it again to continue",
                    s.remaining
                );
            }
            Ok(())
        }
    }
}

/// A progress bar over files, drawn only on a terminal (and only when `visible`).
pub fn file_progress(verb: &str, files: usize, visible: bool) -> ProgressBar {
    let bar = if visible {
        ProgressBar::new(files as u64)
    } else {
        ProgressBar::hidden()
    };
    let template = format!(
        "{{spinner}} {verb} [{{bar:30}}] {{pos}}/{{len}} files {{per_sec}} eta {{eta}} {{msg}}"
    );
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// Totals of one replay.
#[derive(Debug, Default, Clone)]
pub struct ReplaySummary {
    pub files: usize,
    pub processed: usize,
    pub already_processed: usize,
    pub skipped: usize,
    pub rejected: Vec<(String, String)>,
    pub failed: usize,
    pub records: u64,
    pub counted: u64,
    pub duplicates: u64,
    pub late: u64,
    pub insights: Vec<InsightRecord>,
    /// Starts withheld as deploy sessions (not written).
    pub withheld: usize,
}

/// Find log files under `paths`, sorted in delivery order (the file name's stamp, then the name).
pub fn find_log_files(paths: &[PathBuf]) -> Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
        for entry in walkdir::WalkDir::new(p).follow_links(true) {
            let entry = entry.with_context(|| format!("cannot list {}", p.display()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path().to_string_lossy().replace('\\', "/");
            if let Ok(k) = classify_key(&path) {
                files.push((k.delivered, k.file_name.clone(), path, entry.into_path()));
            }
        }
    }
    files.sort();
    files.dedup_by(|a, b| a.2 == b.2);
    Ok(files
        .into_iter()
        .map(|(_, _, key, path)| (key, path))
        .collect())
}

/// The stable identity of a local log file: its key from `AWSLogs/` on, so the same file under
/// another directory is still recognised as processed.
fn object_id(key: &str) -> String {
    match key.rfind("AWSLogs/") {
        Some(i) => key[i..].to_string(),
        None => key.to_string(),
    }
}

/// Replay log files into the embedded store, writing Insights under `out`.
pub fn replay(
    paths: &[PathBuf],
    state: &Path,
    out: &Path,
    config: Config,
    flush: bool,
    progress: bool,
) -> Result<ReplaySummary> {
    let files = find_log_files(paths)?;
    let store = EmbeddedStore::open(state)
        .with_context(|| format!("state directory {}", state.display()))?;
    // Made even when no insight is written, so `lookup --out` answers "none" rather than failing.
    std::fs::create_dir_all(out).with_context(|| format!("output directory {}", out.display()))?;
    let sink = DirectorySink {
        root: out.to_path_buf(),
    };
    let engine = Engine::new(config, &store, &sink);
    let mut summary = ReplaySummary {
        files: files.len(),
        ..Default::default()
    };
    let bar = file_progress("replay", files.len(), progress);
    for (key, path) in &files {
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(std::fs::File::open(path)?))
        };
        match engine.process(&object_id(key), key, &open) {
            Ok(outcome) => summary.add(outcome),
            Err(e) if e.is_transient() => {
                bar.suspend(|| eprintln!("warning: {e} (will be retried by the next replay)"));
                summary.failed += 1;
            }
            Err(e) => return Err(anyhow::anyhow!("{e}")),
        }
        bar.set_message(format!("{} insights", summary.insights.len()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    for (key, reason) in &summary.rejected {
        eprintln!("warning: rejected {key}: {reason}");
    }
    if flush {
        summary
            .insights
            .extend(engine.flush().map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    Ok(summary)
}

impl ReplaySummary {
    fn add(&mut self, o: Outcome) {
        match o.status {
            Status::Processed => self.processed += 1,
            Status::AlreadyProcessed => self.already_processed += 1,
            Status::Skipped(_) => self.skipped += 1,
            Status::Rejected(reason) => self.rejected.push((o.key.clone(), reason)),
        }
        self.records += o.records;
        self.counted += o.counted;
        self.duplicates += o.duplicates;
        self.late += o.late;
        self.withheld += o.withheld.len();
        self.insights.extend(o.insights);
    }
}

fn print_summary(s: &ReplaySummary) {
    let mut t = Table::new();
    t.set_header(vec![
        "files",
        "processed",
        "already processed",
        "rejected",
        "failed",
        "records",
        "counted",
        "duplicates",
        "late",
        "insight records",
    ]);
    t.add_row(vec![
        s.files.to_string(),
        s.processed.to_string(),
        s.already_processed.to_string(),
        s.rejected.len().to_string(),
        s.failed.to_string(),
        s.records.to_string(),
        s.counted.to_string(),
        s.duplicates.to_string(),
        s.late.to_string(),
        s.insights.len().to_string(),
    ]);
    println!("{t}");
    if s.withheld > 0 {
        println!(
            "{} insight(s) withheld as deploy sessions: one caller drove several APIs above their \
             usual rate at once through a deploy tool (TRAIL_INSIGHTS_LOG=info logs each; DEPLOY_SESSION_APIS=0 reports them).",
            s.withheld
        );
    }
    if !s.insights.is_empty() {
        println!("Insights records written in this run:");
        println!("{}", insights_table(&pair(s.insights.clone())));
    }
}

/// Start and End of one insight, as found in Insights files.
#[derive(Debug, Clone)]
pub struct PairedInsight {
    pub start: Option<InsightRecord>,
    pub end: Option<InsightRecord>,
}

impl PairedInsight {
    /// The Start record, or the End when only the End was found.
    fn start_or_end(&self) -> Option<&InsightRecord> {
        self.start.as_ref().or(self.end.as_ref())
    }

    pub fn start_minute(&self) -> Minute {
        let Some(r) = self.start_or_end() else {
            return Minute(0);
        };
        let t = Minute::parse_event_time(&r.event_time).unwrap_or(Minute(0));
        match (&self.start, &self.end) {
            (None, Some(e)) => t.plus(
                -e.insight_details
                    .insight_context
                    .statistics
                    .insight_duration
                    .unwrap_or(0),
            ),
            _ => t,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let d = self.start_or_end().map(|r| &r.insight_details);
        serde_json::json!({
            "sharedEventID": self.start_or_end().map(|r| &r.shared_event_id),
            "eventSource": d.map(|d| &d.event_source),
            "eventName": d.map(|d| &d.event_name),
            "insightType": d.map(|d| &d.insight_type),
            "errorCode": d.and_then(|d| d.error_code.as_ref()),
            "Start": self.start,
            "End": self.end,
        })
    }
}

/// Pair records by sharedEventID, newest Start first (as the console lists them).
pub fn pair(records: Vec<InsightRecord>) -> Vec<PairedInsight> {
    let mut by_id: BTreeMap<String, PairedInsight> = BTreeMap::new();
    for r in records {
        let e = by_id
            .entry(r.shared_event_id.clone())
            .or_insert(PairedInsight {
                start: None,
                end: None,
            });
        if r.insight_details.state == "Start" {
            e.start = Some(r);
        } else {
            e.end = Some(r);
        }
    }
    let mut v: Vec<PairedInsight> = by_id.into_values().collect();
    v.sort_by(|a, b| {
        b.start_minute().cmp(&a.start_minute()).then_with(|| {
            let id = |p: &PairedInsight| p.start_or_end().map(|r| r.shared_event_id.clone());
            id(a).cmp(&id(b))
        })
    });
    v
}

/// Read every Insights file under `dir`.
pub fn lookup(dir: &Path) -> Result<Vec<PairedInsight>> {
    if !dir.exists() {
        bail!("{} does not exist", dir.display());
    }
    let mut records = Vec::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let name = path.to_string_lossy();
        if !entry.file_type().is_file()
            || !name.contains("CloudTrail-Insight")
            || !name.ends_with(".json.gz")
        {
            continue;
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let recs =
            parse_insight_file(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        records.extend(recs);
    }
    Ok(pair(records))
}

pub fn insights_table(found: &[PairedInsight]) -> String {
    let mut t = Table::new();
    t.set_header(vec![
        "Start",
        "End",
        "Event source",
        "Event name",
        "Insight type",
        "Error code",
        "Baseline avg",
        "Insight avg",
        "Rate change",
        "Top caller",
        "sharedEventID",
    ]);
    for p in found {
        let Some(r) = p.start_or_end() else {
            continue;
        };
        let stats = |x: &Option<InsightRecord>| {
            x.as_ref()
                .map(|r| r.insight_details.insight_context.statistics.clone())
        };
        let end_stats = stats(&p.end);
        let start_stats = stats(&p.start);
        let baseline = end_stats
            .as_ref()
            .or(start_stats.as_ref())
            .map_or(0.0, |s| s.baseline.average);
        let insight = end_stats
            .as_ref()
            .or(start_stats.as_ref())
            .map_or(0.0, |s| s.insight.average);
        let change = if baseline > 0.0 {
            format!("{:+.0}%", (insight - baseline) / baseline * 100.0)
        } else {
            "new".to_string()
        };
        let top_caller = r
            .insight_details
            .insight_context
            .attributions
            .as_ref()
            .and_then(|a| a.iter().find(|b| b.attribute == "userIdentityArn"))
            .and_then(|b| b.insight.first())
            .map(|v| v.value.clone())
            .unwrap_or_default();
        t.add_row(vec![
            p.start
                .as_ref()
                .map_or("-".into(), |s| s.event_time.clone()),
            p.end
                .as_ref()
                .map_or("(open)".into(), |e| e.event_time.clone()),
            r.insight_details.event_source.clone(),
            r.insight_details.event_name.clone(),
            insight_kind(r),
            r.insight_details.error_code.clone().unwrap_or_default(),
            format!("{baseline:.4}"),
            format!("{insight:.2}"),
            change,
            top_caller,
            r.shared_event_id.clone(),
        ]);
    }
    t.to_string()
}

/// The insight type, with what sets an extension or a data-event insight apart.
fn insight_kind(r: &InsightRecord) -> String {
    let mut kind = r.insight_details.insight_type.clone();
    if r.insight_details.source_event_category.as_deref() == Some("Data") {
        kind.push_str(" (data events)");
    }
    if let Some(x) = &r.extension {
        if x.calls.as_deref() == Some("Read") {
            kind.push_str(" (read calls)");
        }
        if x.direction.as_deref() == Some("Drop") {
            kind.push_str(" (drop)");
        }
    }
    kind
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

/// The evaluation's working directory: `dir` (created), or a temporary one removed when the
/// returned guard is dropped.
fn evaluation_dir(dir: Option<PathBuf>) -> Result<(tempfile::TempDir, PathBuf)> {
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok((temp, dir))
}

/// How the real-data benchmark's figures are reproduced.
fn real_command(series: &Path) -> String {
    format!("trail-insights evaluate --series {}", series.display())
}

/// The real-data benchmark alone: a table on stdout, and with `json` one object on the last line.
fn evaluate_real(
    series: &Path,
    dir: Option<PathBuf>,
    config: Option<&Path>,
    json: bool,
    replay: bool,
) -> Result<()> {
    let config = Config::load(config)?;
    let (_temp, dir) = evaluation_dir(dir)?;
    let e = crate::evaluation::real::evaluate(series, &config, &dir, replay)?;
    let command = real_command(series);
    print!(
        "{}",
        crate::evaluation::report::real_markdown(&e, &command, None)
    );
    if json {
        println!("{}", crate::evaluation::real::summary_json(&e));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    scenario: &str,
    series: Option<&Path>,
    seed: u64,
    dir: Option<PathBuf>,
    (report, chart): (&Path, &Path),
    config: Option<&Path>,
    replay: bool,
) -> Result<()> {
    use crate::synth::traffic::Scenario;
    let scenario = match scenario {
        "small" => Scenario::small(seed),
        "full" => Scenario::full(seed),
        other => bail!("unknown scenario `{other}`: use small or full"),
    };
    let config = Config::load(config)?;
    let (_temp, dir) = evaluation_dir(dir)?;
    if let Some(parent) = chart.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let e = crate::evaluation::evaluate(&scenario, &config, &dir, replay)?;
    let command = format!(
        "trail-insights evaluate --scenario {} --seed {seed}",
        scenario.name
    );
    let real = series
        .map(|s| crate::evaluation::real::evaluate(s, &config, &dir.join("real"), replay))
        .transpose()?;
    let real_command = series.map(real_command).unwrap_or_default();
    crate::evaluation::report::write(
        &e,
        real.as_ref().map(|r| (r, real_command.as_str())),
        &command,
        report,
        chart,
    )?;
    let sc = e
        .end_to_end
        .as_ref()
        .or(e.headline.first().map(|r| &r.score))
        .context("nothing was scored")?;
    println!(
        "{} insights; precision {}; recall {} (target class {}); {:.4} false insights per          series-week; report {}",
        sc.predictions,
        sc.precision()
            .map_or("–".into(), |p| format!("{:.1}%", p * 100.0)),
        sc.recall_all
            .value()
            .map_or("–".into(), |p| format!("{:.1}%", p * 100.0)),
        sc.recall_target
            .value()
            .map_or("–".into(), |p| format!("{:.1}%", p * 100.0)),
        sc.false_overall.per_series_week(),
        report.display()
    );
    Ok(())
}

fn demo(dir: Option<PathBuf>, days: u32, seed: u64) -> Result<()> {
    let temp = match dir {
        Some(_) => None,
        None => Some(tempfile::tempdir()?),
    };
    let root = match (&dir, &temp) {
        (Some(d), _) => d.clone(),
        (None, Some(t)) => t.path().to_path_buf(),
        (None, None) => bail!("no directory for the demo"),
    };
    let spec = crate::synth::demo::DemoSpec {
        seed,
        days,
        ..Default::default()
    };
    eprintln!(
        "Generating {days} days of CloudTrail logs for account {} in {} ...",
        spec.account, spec.region
    );
    let trail = crate::synth::demo::generate(&root.join("trail"), &spec)?;
    eprintln!(
        "  {} log files, {} events, {} injected incidents",
        trail.files.len(),
        trail.events,
        trail.incidents.len()
    );
    let started = std::time::Instant::now();
    let summary = replay(
        &[root.join("trail")],
        &root.join("state"),
        &root.join("insights"),
        Config::load(None)?,
        true,
        true,
    )?;
    eprintln!("Replayed in {:.1} s.", started.elapsed().as_secs_f64());
    print_summary(&summary);
    let found = pair(summary.insights.clone());
    println!("\nInjected incidents and what was found:");
    let mut t = Table::new();
    t.set_header(vec![
        "Incident",
        "Series",
        "Injected",
        "Insight Start",
        "Insight End",
        "Found",
    ]);
    let mut matched = 0;
    for inc in &trail.incidents {
        let hit = found.iter().find(|p| demo_matches(p, inc));
        if hit.is_some() {
            matched += 1;
        }
        t.add_row(vec![
            inc.name.clone(),
            format!(
                "{} {} {}",
                inc.event_source,
                inc.event_name,
                inc.error_code.clone().unwrap_or_default()
            ),
            format!(
                "{} .. {}",
                inc.start.format("%Y-%m-%dT%H:%MZ"),
                inc.end.format("%H:%MZ")
            ),
            hit.and_then(|p| p.start.as_ref())
                .map_or("-".into(), |r| r.event_time.clone()),
            hit.and_then(|p| p.end.as_ref())
                .map_or("-".into(), |r| r.event_time.clone()),
            if hit.is_some() {
                "yes".into()
            } else {
                "MISSED".into()
            },
        ]);
    }
    println!("{t}");
    let others = found
        .iter()
        .filter(|p| !trail.incidents.iter().any(|i| demo_matches(p, i)))
        .count();
    println!(
        "{matched} of {} injected incidents found; {others} other insights.",
        trail.incidents.len()
    );
    match temp {
        Some(_) => println!("(The generated files were temporary; use --dir DIR to keep them.)"),
        None => println!(
            "Files kept in {}: trail/, state/, insights/",
            root.display()
        ),
    }
    if matched < trail.incidents.len() || others > 0 {
        bail!(
            "the demo's claim does not hold: {matched} of {} incidents found, {others} other \
             insights",
            trail.incidents.len()
        );
    }
    Ok(())
}

/// Whether an insight is the one raised for an injected incident (same series, overlapping).
pub fn demo_matches(p: &PairedInsight, inc: &crate::synth::demo::Incident) -> bool {
    let Some(r) = p.start_or_end() else {
        return false;
    };
    let d = &r.insight_details;
    let start = p.start_minute();
    let inc_start = Minute::from_datetime(inc.start);
    let inc_end = Minute::from_datetime(inc.end);
    d.event_source == inc.event_source
        && d.event_name == inc.event_name
        && d.insight_type == inc.insight_type
        && d.error_code == inc.error_code
        && start >= inc_start.plus(-5)
        && start < inc_end
}
