//! `trail-insights replay`: log files in delivery order through the engine, Insights files out.

use crate::app::progress::file_progress;
use crate::cloudtrail::files::find_log_files;
use crate::config::Config;
use crate::engine::{Engine, Outcome, Status};
use crate::insight::pairs::{insights_table, pair};
use crate::insight::record::InsightRecord;
use crate::insight::sink::DirectorySink;
use crate::store::EmbeddedStore;
use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::Table;
use std::path::{Path, PathBuf};

// The flags of `replay` (its description is on `Command::Replay`).
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Log files or directories. Only files named like CloudTrail log files are read.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// State directory: counters, baselines, open insights, processed files.
    #[arg(long, default_value = ".trail-insights")]
    pub state: PathBuf,
    /// Directory to write Insights files to (AWSLogs/<acct>/CloudTrail-Insight/...).
    #[arg(long, default_value = "insights")]
    pub out: PathBuf,
    /// TOML configuration file (same names as the environment variables).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Do not close the minutes up to the last event at the end (insights stay open).
    #[arg(long)]
    pub no_flush: bool,
}

/// Run `replay`: print the summary; an error when a file could not be read.
pub fn command(args: ReplayArgs) -> Result<()> {
    let ReplayArgs {
        paths,
        state,
        out,
        config,
        no_flush,
    } = args;
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

pub(super) fn print_summary(s: &ReplaySummary) {
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
