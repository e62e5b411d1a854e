//! `trail-insights setup` and `backfill`: the AWS side from the command line.

use crate::config::Config;
use crate::insight::pairs::{insights_table, pair};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;

// The flags of `setup` (its description is on `Command::Setup`).
#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Table name (the function's TABLE_NAME).
    #[arg(long)]
    pub table: String,
    /// Buckets to create (repeatable).
    #[arg(long = "bucket")]
    pub buckets: Vec<String>,
}

/// Run `setup`: create the state table and the buckets.
pub fn setup_command(args: SetupArgs) -> Result<()> {
    crate::app::backfill::setup(&args.table, &args.buckets)
}

// The flags of `backfill` (its description is on `Command::Backfill`).
#[derive(Args, Debug)]
pub struct BackfillArgs {
    /// Where the trail's log files are, e.g. s3://my-trail-bucket/AWSLogs/123456789012/
    pub location: String,
    /// Only files delivered within this long before now: 7d, 36h, 90m.
    #[arg(long, default_value = "8d")]
    pub since: String,
    /// TOML configuration file for the detector knobs (environment variables win).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// Run `backfill`: print the totals and the insights written; an error when a file failed.
pub fn backfill_command(args: BackfillArgs) -> Result<()> {
    let BackfillArgs {
        location,
        since,
        config,
    } = args;
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
