//! Generate large, realistic CloudTrail log files for benchmarks (see `src/synth/corpus/`).
//!
//! Usage: cargo run --release --example bench_corpus -- DIR EVENTS_PER_FILE [FILES] [SEED]
//!
//! Files are written under DIR in CloudTrail's layout
//! (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/…json.gz`), one delivery every five minutes
//! from 2026-01-05T00:05Z, so `trail-insights replay DIR` reads them in order.

use anyhow::{Context, Result, bail};
use std::io::BufWriter;
use std::path::PathBuf;
use trail_insights::base::time::Minute;
use trail_insights::synth::corpus::{FileSpec, write_gz};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(events)) = (args.first(), args.get(1)) else {
        bail!("usage: bench_corpus DIR EVENTS_PER_FILE [FILES] [SEED]");
    };
    let events: u64 = events.parse().context("EVENTS_PER_FILE must be a number")?;
    let files: u64 = match args.get(2) {
        Some(f) => f.parse().context("FILES must be a number")?,
        None => 1,
    };
    let seed: u64 = match args.get(3) {
        Some(s) => s.parse().context("SEED must be a number")?,
        None => 1,
    };
    let start = Minute::parse_event_time("2026-01-05T00:05:00Z").context("start time")?;
    let mut total = 0u64;
    for i in 0..files {
        let spec = FileSpec {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            delivered: start.plus(5 * i as i64),
            events,
            seed: seed.wrapping_mul(1_000_003).wrapping_add(i),
        };
        let path = PathBuf::from(dir).join(spec.key());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let file =
            std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
        total += write_gz(&spec, BufWriter::with_capacity(1 << 20, file))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let summary = serde_json::json!({
        "events": events * files,
        "files": files,
        "events_per_file": events,
        "json_bytes": total,
        "seed": seed,
    });
    let summary_path = PathBuf::from(dir).join("corpus.json");
    std::fs::write(&summary_path, summary.to_string())
        .with_context(|| format!("writing {}", summary_path.display()))?;
    println!(
        "{files} file(s) of {events} events under {dir}: {:.1} MB of JSON, {:.0} bytes per event",
        total as f64 / 1e6,
        total as f64 / (events * files).max(1) as f64
    );
    Ok(())
}
