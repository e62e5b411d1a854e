//! The `trail-insights` command line. The binary only calls [`main`]; each command is in its own
//! module ([`replay`], [`metrics`], [`lookup`], [`plot`], [`demo`], [`evaluate`], and
//! [`backfill`] for `setup` and `backfill`).

pub mod backfill;
pub mod demo;
pub mod evaluate;
pub mod lookup;
pub mod metrics;
pub mod plot;
pub mod replay;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    Replay(replay::ReplayArgs),
    /// Per-minute counts of one series, in the shape of CloudTrail's ListInsightsMetricData.
    Metrics(metrics::MetricsArgs),
    /// List insights (Start and End paired by sharedEventID), like
    /// `aws cloudtrail lookup-events --event-category insight`.
    Lookup(lookup::LookupArgs),
    /// Create the DynamoDB state table (the template's schema) and any S3 buckets, against the
    /// endpoints the environment points to (AWS, or AWS_ENDPOINT_URL_* for local servers).
    Setup(backfill::SetupArgs),
    /// Process existing log files under s3://bucket/prefix in delivery order through the
    /// function's code path, with the function's environment configuration (state in
    /// TABLE_NAME, Insights to DESTINATION_BUCKET/DESTINATION_PREFIX). Resumable: files
    /// processed before are skipped.
    Backfill(backfill::BackfillArgs),
    /// Draw one insight like the CloudTrail console's Insights graph: the per-minute series
    /// around it, the baseline average, the insight band with its Start and End, the top callers.
    Plot(plot::PlotArgs),
    /// Generate a realistic multi-day trail with injected incidents, replay it and show the
    /// insights found; exits 1 if an incident is missed or any other insight is raised.
    Demo(demo::DemoArgs),
    /// Measure detection quality: generate labelled traffic (several accounts, weeks of
    /// minutes, benign patterns and injected anomalies) and/or convert real labelled series
    /// (`--series`), replay them end to end with this configuration, score them beside reference
    /// detectors, and write a Markdown report and charts (or, with `--series` alone, print).
    Evaluate(evaluate::EvaluateArgs),
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

/// Run one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Replay(args) => replay::command(args),
        Command::Metrics(args) => metrics::command(args),
        Command::Lookup(args) => lookup::command(args),
        Command::Demo(args) => demo::command(args),
        Command::Evaluate(args) => evaluate::command(args),
        Command::Plot(args) => plot::command(args),
        Command::Setup(args) => backfill::setup_command(args),
        Command::Backfill(args) => backfill::backfill_command(args),
    }
}
