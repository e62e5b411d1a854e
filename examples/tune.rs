//! Quick tuning probe: the configuration from the environment (as `replay` reads it) on counts,
//! on the synthetic scenario (seed from TUNE_SEED, default 1) and on the real series under
//! TUNE_SERIES (default ../shared/datasets/cloud-monitoring), one line each.
use trail_insights::base::time::{MINUTES_PER_HOUR, MINUTES_PER_WEEK};
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
    if std::env::var("TUNE_MISSES").is_ok() {
        misses(&series, &traffics, &ours, warmup);
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

/// Each missed rise window: its mean and largest minute against the week before it.
fn misses(
    series: &[real::LabelledSeries],
    traffics: &[traffic::Traffic],
    ours: &Method,
    warmup: u32,
) {
    for (s, t) in series.iter().zip(traffics) {
        let p = methods::detect(t, ours, warmup);
        let warm = s.start.0 + i64::from(warmup) * MINUTES_PER_HOUR;
        for w in s.windows.iter().filter(|w| w.rise && w.start.0 >= warm) {
            let found = w.found(&p);
            let at = |m: i64| s.counts.get((m - s.start.0) as usize).copied().unwrap_or(0) as f64;
            let win: Vec<f64> = (w.start.0..w.end.0).map(at).collect();
            let prior: Vec<f64> = ((w.start.0 - MINUTES_PER_WEEK).max(s.start.0)..w.start.0)
                .map(at)
                .collect();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            let mut hmax: Vec<f64> = prior
                .chunks(60)
                .map(|c| c.iter().cloned().fold(0.0, f64::max))
                .collect();
            hmax.sort_by(|a, b| b.partial_cmp(a).unwrap());
            let k5 = hmax.get(4).copied().unwrap_or(0.0);
            let mut hsum: Vec<f64> = prior.chunks(60).map(|c| c.iter().sum()).collect();
            let wmax_hour = win
                .chunks(60)
                .map(|c| c.iter().sum::<f64>())
                .fold(0.0, f64::max);
            hsum.sort_by(|a, b| b.partial_cmp(a).unwrap());
            println!(
                "{} {:14} h{:5} len {:3}h  mean {:6.2}/min prior {:6.2} x{:4.1}  max min {:4} k5 {:4}  best hour {:6} prior top hours {:6} {:6}",
                if found { "HIT " } else { "MISS" },
                s.name,
                (w.start.0 - s.start.0) / 60,
                (w.end.0 - w.start.0) / 60,
                mean(&win),
                mean(&prior),
                mean(&win) / mean(&prior).max(1e-9),
                win.iter().cloned().fold(0.0, f64::max),
                k5,
                wmax_hour,
                hsum.first().copied().unwrap_or(0.0),
                hsum.get(14).copied().unwrap_or(0.0),
            );
        }
    }
}
