//! `trail-insights lookup`: the insights under a directory or S3 location, filtered.

use crate::base::time::{Minute, parse_cli_time};
use crate::insight::pairs::{PairedInsight, insights_table, lookup, pair};
use anyhow::Result;
use clap::Args;
use std::path::Path;

// The flags of `lookup` (its description is on `Command::Lookup`).
#[derive(Args, Debug)]
pub struct LookupArgs {
    /// Directory holding Insights files (the --out of `replay`), or s3://bucket/prefix.
    #[arg(long, default_value = "insights")]
    pub out: String,
    /// Only insights on this API (eventName, e.g. RunInstances).
    #[arg(long)]
    pub event_name: Option<String>,
    /// Only insights on this service (eventSource, e.g. ec2.amazonaws.com).
    #[arg(long)]
    pub event_source: Option<String>,
    /// Only insights starting at or after this time (RFC 3339).
    #[arg(long)]
    pub start: Option<String>,
    /// Only insights starting before this time (RFC 3339).
    #[arg(long)]
    pub end: Option<String>,
    /// Print the records as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Run `lookup`: print the matching insights as a table or JSON.
pub fn command(args: LookupArgs) -> Result<()> {
    let LookupArgs {
        out,
        event_name,
        event_source,
        start,
        end,
        json,
    } = args;
    let start = start
        .map(|s| parse_cli_time(&s).map(Minute::from_datetime))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let end = end
        .map(|s| parse_cli_time(&s).map(Minute::from_datetime))
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let mut found = insights_at(&out)?;
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

/// The insights under `out`: a directory of Insights files or `s3://bucket/prefix`.
pub(super) fn insights_at(out: &str) -> Result<Vec<PairedInsight>> {
    Ok(if out.starts_with("s3://") {
        let location = out.parse().map_err(anyhow::Error::msg)?;
        pair(crate::app::backfill::insight_records_in_s3(&location)?)
    } else {
        lookup(Path::new(out))?
    })
}
