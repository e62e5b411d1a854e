//! Quick tuning probe: the configuration from the environment (as `replay` reads it) on counts,
//! on the synthetic scenario (seed from TUNE_SEED, default 1) and on the real series under
//! TUNE_SERIES (default ../shared/datasets/cloud-monitoring), one line each.
use trail_insights::config::Config;
use trail_insights::evaluation::methods::{self, Method};
use trail_insights::evaluation::{real, score};
use trail_insights::synth::traffic;

fn main() -> anyhow::Result<()> {
    let config = Config::load(None)?;
    let warmup = config.detector.warmup_hours;
    let ours = Method::Ours(config.detector.clone());
    let root = std::env::var("TUNE_SERIES").unwrap_or("../shared/datasets/cloud-monitoring".into());
    let series = real::load(std::path::Path::new(&root))?;
    let traffics = real::traffics(&series);
    let r = real::score_method(&series, &traffics, &ours, String::new(), warmup);
    for (g, s) in &r.by_group {
        println!(
            "  {g:30} {}/{} false {}",
            s.detected, s.windows, s.false_insights
        );
    }
    for (name, s) in [
        ("design", r.part(true)),
        ("held-out", r.part(false)),
        ("all", r.all()),
    ] {
        println!(
            "real {name:8}: recall {:.3} ({}/{}), false/series-week {:.3} ({}), null {}",
            s.recall(),
            s.detected,
            s.windows,
            s.false_per_series_week(),
            s.false_insights,
            s.null_false
        );
    }
    if std::env::var("TUNE_SYNTH").is_ok_and(|v| v == "0") {
        return Ok(());
    }
    let seed = std::env::var("TUNE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let t = traffic::generate(&traffic::Scenario::full(seed));
    let p = methods::detect(&t, &ours, warmup);
    let sc = score::score(&t, &p, warmup);
    let spike: u64 = sc.false_spike_like.values().sum();
    let others = sc.false_overall.false_insights - spike;
    println!(
        "synthetic seed {seed}: target recall {:.3} ({}/{}), all recall {:.3}, false {} ({:.4}/sw), spike-like {spike}, others {others} ({:.4}/sw)",
        sc.recall_target.value().unwrap_or(0.0),
        sc.recall_target.hit,
        sc.recall_target.of,
        sc.recall_all.value().unwrap_or(0.0),
        sc.false_overall.false_insights,
        sc.false_overall.per_series_week(),
        others as f64 / sc.false_overall.series_weeks
    );
    for (pat, f) in &sc.false_by_pattern {
        if f.false_insights > 0 {
            println!(
                "  {pat:22} false {} spike-like {}",
                f.false_insights,
                sc.false_spike_like.get(pat).copied().unwrap_or(0)
            );
        }
    }
    Ok(())
}
