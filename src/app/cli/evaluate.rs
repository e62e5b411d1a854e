//! `trail-insights evaluate`: the detection-quality benchmarks, synthetic and real.

use crate::config::Config;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::{Path, PathBuf};

// The flags of `evaluate` (its description is on `Command::Evaluate`).
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// `small` (seconds; what `make test` guards) or `full` (minutes; EVALUATION.md).
    /// Default `full`, unless `--series` is given alone.
    #[arg(long)]
    pub scenario: Option<String>,
    /// Also (or, without `--scenario`, only) the real-data benchmark: every labelled CSV
    /// series (`TimeStamp,Value,Label`) under this folder, converted to log files and
    /// replayed end to end (e.g. ../shared/datasets/cloud-monitoring).
    #[arg(long)]
    pub series: Option<PathBuf>,
    /// With `--series` alone: print the score as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// Random seed of the traffic.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Working directory for the generated logs, state and Insights (default: temporary).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Write the report here (Markdown).
    #[arg(long, default_value = "EVALUATION.md")]
    pub report: PathBuf,
    /// Write the chart (SVG) here.
    #[arg(long, default_value = "docs/evaluation.svg")]
    pub chart: PathBuf,
    /// TOML configuration file for the detector knobs (environment variables win).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Score on the generated counts only, without writing and replaying log files (quick;
    /// for trying settings).
    #[arg(long)]
    pub counts_only: bool,
}

/// Run `evaluate`: the real-data benchmark alone when only `--series` is given, else the
/// synthetic one (with the real one beside it when `--series` is given too).
pub fn command(args: EvaluateArgs) -> Result<()> {
    let EvaluateArgs {
        scenario,
        series,
        json,
        seed,
        dir,
        report,
        chart,
        config,
        counts_only,
    } = args;
    match (scenario, series) {
        (None, Some(series)) => evaluate_real(&series, dir, config.as_deref(), json, !counts_only),
        (scenario, series) => evaluate(
            scenario.as_deref().unwrap_or("full"),
            series.as_deref(),
            seed,
            dir,
            (&report, &chart),
            config.as_deref(),
            !counts_only,
        ),
    }
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
