//! Explains the evaluation's errors gate by gate: every false insight of trail-insights' detector
//! (with the baseline it was judged against) and every missed target-class spike (with the
//! gates its busiest minute failed). For tuning; the knobs come from the environment as usual.
//!
//! `cargo run --release --example detection_diag [-- full|small [SEED]]`
//!
//! With `DIAG_E2E=<dir>`, the false insights of the end-to-end run instead (log files written to
//! `<dir>/logs` once, replayed through the engine), with the account's deploy sessions near each.
//!
//! With `DIAG_MEMORY=1`, each false insight's and target-class spike's largest minute beside the
//! series' largest minute in the 7, 14 and 28 days before: whether a longer memory of bursts
//! would tell benign bursts from spikes.

use anyhow::Result;
use trail_insights::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, Minute};
use trail_insights::config::Config;
use trail_insights::count::attribution::Attribution;
use trail_insights::detect::detector::{SeriesState, TrailContext, Unlearned};
use trail_insights::evaluation::methods::{Method, Prediction, detect};
use trail_insights::evaluation::score::{GRACE_MINUTES, TARGET_EVENTS, TARGET_RATIO, score};
use trail_insights::synth::traffic::{Injection, Scenario, Traffic, generate};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let scenario = match args.first().map(String::as_str) {
        Some("small") => Scenario::small(seed),
        _ => Scenario::full(seed),
    };
    let cfg = Config::load(None)?.detector;
    let traffic = generate(&scenario);
    let predictions = detect(&traffic, &Method::Ours(cfg.clone()), cfg.warmup_hours);
    let warm = scenario
        .start
        .plus(i64::from(cfg.warmup_hours) * MINUTES_PER_HOUR);

    if std::env::var("DIAG_MEMORY").is_ok() {
        memory(&traffic, &predictions, warm);
        return Ok(());
    }
    if let Ok(dir) = std::env::var("DIAG_E2E") {
        return end_to_end_false(&traffic, std::path::Path::new(&dir), warm);
    }
    if let Ok(which) = std::env::var("DIAG_SERIES") {
        let si: usize = which.parse()?;
        let s = &traffic.series[si];
        println!(
            "series {si} {} rate {:.3} {:?}",
            s.pattern.label(),
            s.mean_rate,
            s.key
        );
        for inj in traffic.injections.iter().filter(|i| i.series == si) {
            println!(
                "  injection {} {:?} {} min ratio {:.1} events {}",
                when(inj.start, scenario.start),
                inj.magnitude,
                inj.minutes,
                inj.ratio,
                inj.events
            );
        }
        for p in predictions.iter().filter(|p| p.series == si) {
            println!(
                "  insight {} .. {}",
                when(p.start, scenario.start),
                when(p.end, scenario.start)
            );
        }
        if let Ok(day) = std::env::var("DIAG_DAY") {
            let day: usize = day.parse()?;
            for h in 0..24 {
                let from = day * 1440 + h * 60;
                let row: Vec<String> = (from..from + 60).map(|i| s.total(i).to_string()).collect();
                println!("  {h:02}h {}", row.join(" "));
            }
        }
        return Ok(());
    }
    println!("## False insights");
    let mut false_count = 0;
    for p in &predictions {
        if !is_false(&traffic, p, &predictions, warm) {
            continue;
        }
        false_count += 1;
        let s = &traffic.series[p.series];
        let i = (p.start.0 - scenario.start.0) as usize;
        let counts: Vec<u64> = (i..(i + 8).min(s.normal.len()))
            .map(|j| s.total(j))
            .collect();
        let state = state_before(&traffic, p.series, i, &cfg);
        let gates = state
            .explain_start(
                p.start,
                s.total(i),
                Unlearned::default(),
                ctx(&traffic),
                &cfg,
            )
            .map(|(g, _)| g);
        println!(
            "series {:3} {:18} rate {:7.3} {} dur {:4} counts {:?} gates {:?}",
            p.series,
            s.pattern.label(),
            s.mean_rate,
            when(p.start, scenario.start),
            p.end.0 - p.start.0,
            counts,
            gates.map(|g| format!(
                "rate {:.3} novelty {:.1} tail {:.1}",
                g.rate, g.novelty, g.burst_tail
            ))
        );
    }

    println!("\n## Missed target-class spikes");
    let (mut missed, mut target) = (0, 0);
    for inj in &traffic.injections {
        if inj.ratio < TARGET_RATIO || inj.events < TARGET_EVENTS {
            continue;
        }
        target += 1;
        let (lo, hi) = (inj.start, inj.end().plus(GRACE_MINUTES));
        let hit = predictions
            .iter()
            .any(|p| p.series == inj.series && p.start < hi && p.end > lo);
        if hit {
            continue;
        }
        missed += 1;
        let s = &traffic.series[inj.series];
        let first = (inj.start.0 - scenario.start.0) as usize;
        let span = first..first + inj.minutes as usize;
        let peak = span
            .clone()
            .max_by_key(|&j| (s.total(j), std::cmp::Reverse(j)))
            .unwrap_or(first);
        let state = state_before(&traffic, inj.series, peak, &cfg);
        let t = scenario.start.plus(peak as i64);
        let count = s.total(peak);
        let explained = state.explain_start(t, count, Unlearned::default(), ctx(&traffic), &cfg);
        let gates = explained.map(|(g, _)| g);
        let sustained = explained.and_then(|(_, s)| s);
        println!(
            "series {:3} {:18} rate {:7.3} {} {:>8} {:5} {:3} min, {:4} events, ratio {:6.1}; peak {} at +{}: failed {:?} ({})",
            inj.series,
            s.pattern.label(),
            s.mean_rate,
            when(inj.start, scenario.start),
            trail_insights::evaluation::score::magnitude_label(inj.magnitude),
            inj.shape.label(),
            inj.minutes,
            inj.events,
            inj.ratio,
            count,
            peak - first,
            gates.map(|g| g.failed(count)).unwrap_or_default(),
            gates.map_or(String::new(), |g| format!(
                "rate {:.3} ratio≥{:.1} novelty≥{:.1} tail>{:.1}",
                g.rate, g.by_ratio, g.novelty, g.burst_tail
            )),
        );
        if let Some(s) = sustained {
            println!(
                "    sustained: sum {} needed {:.1} expected {:.2} minute unusual {} passed {}",
                s.sum,
                s.needed,
                s.expected,
                s.minute_unusual,
                s.passed()
            );
        }
    }
    let weeks = traffic.series.len() as f64 * (scenario.end().0 - warm.0) as f64
        / trail_insights::base::time::MINUTES_PER_WEEK as f64;
    println!(
        "\n{false_count} false insights ({:.4} per series-week), {missed} of {target} \
         target-class spikes missed",
        false_count as f64 / weeks
    );
    let scored = score(&traffic, &predictions, cfg.warmup_hours);
    let on_time = scored.start_delays.iter().filter(|&&d| d <= 0).count();
    let before: Vec<i64> = scored
        .start_delays
        .iter()
        .copied()
        .filter(|&d| d < 0)
        .collect();
    println!(
        "Start in the first injected minute (or before): {on_time} of {} detected; before it: \
         {} ({before:?} minutes)",
        scored.start_delays.len(),
        before.len()
    );
    // The same by shape and for the target class, from each injection's first matching insight.
    let mut by: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for inj in &traffic.injections {
        let first = predictions
            .iter()
            .filter(|p| overlaps(inj, p))
            .min_by_key(|p| p.start);
        if let Some(p) = first {
            let target = inj.ratio >= TARGET_RATIO && inj.events >= TARGET_EVENTS;
            for k in [format!("{:?}", inj.shape), format!("target {target}")] {
                let e = by.entry(k).or_default();
                e.1 += 1;
                if p.start <= inj.start {
                    e.0 += 1;
                }
            }
        }
    }
    for (k, (on, of)) in by {
        println!("  {k}: {on} of {of} on time");
    }
    Ok(())
}

/// The end-to-end run's false insights, each with the deploy-session minutes of its account
/// around it (series index: first and last session minute, relative to the insight's Start).
fn end_to_end_false(traffic: &Traffic, dir: &std::path::Path, warm: Minute) -> Result<()> {
    let config = Config::load(None)?;
    let logs = dir.join("logs");
    if !logs.exists() {
        trail_insights::synth::delivery::write(traffic, &logs, traffic.scenario.seed)?;
    }
    let (predictions, withheld) =
        trail_insights::evaluation::end_to_end(traffic, &logs, dir, &config)?;
    let start = traffic.scenario.start;
    let show = |label: &str, p: &Prediction| {
        let s = &traffic.series[p.series];
        let i = (p.start.0 - start.0) as usize;
        let counts: Vec<u64> = (i.saturating_sub(3)..(i + 8).min(s.normal.len()))
            .map(|j| s.total(j))
            .collect();
        println!(
            "{label} series {:3} {} {:18} rate {:7.3} {} dur {:4} delivered +{:?} counts(-3..) \
             {:?} callers {:?}",
            p.series,
            s.key.id(),
            s.pattern.label(),
            s.mean_rate,
            when(p.start, start),
            p.end.0 - p.start.0,
            p.emitted.map(|e| e.0 - p.start.0),
            counts,
            p.top_callers
        );
        for (k, other) in traffic.series.iter().enumerate() {
            if other.account != s.account {
                continue;
            }
            let near: Vec<i64> = other
                .session
                .range(i.saturating_sub(30)..i + 30)
                .map(|(&m, _)| m as i64 - i as i64)
                .collect();
            if let (Some(first), Some(last)) = (near.first(), near.last()) {
                println!(
                    "    session: series {k:3} {} {} min, from {first:+} to {last:+}",
                    other.key.id(),
                    near.len()
                );
            }
        }
    };
    let mut false_count = 0;
    for p in &predictions {
        if !is_false(traffic, p, &predictions, warm) {
            continue;
        }
        false_count += 1;
        show("false", p);
    }
    for p in &withheld {
        show("withheld", p);
    }
    println!(
        "\n{false_count} false insights end to end, {} withheld",
        withheld.len()
    );
    Ok(())
}

fn ctx(traffic: &Traffic) -> TrailContext {
    TrailContext {
        observed_since: traffic.scenario.start,
    }
}

/// `m` as day and time, days counted from the scenario's `start` (a midnight).
fn when(m: Minute, start: Minute) -> String {
    let day = (m.0 - start.0).div_euclid(MINUTES_PER_DAY);
    let in_day = m.0.rem_euclid(MINUTES_PER_DAY);
    format!("day {:2} {:02}:{:02}", day, in_day / 60, in_day % 60)
}

/// The series' detector state with every minute before index `until` closed.
fn state_before(
    traffic: &Traffic,
    series: usize,
    until: usize,
    cfg: &trail_insights::config::DetectorConfig,
) -> SeriesState {
    let s = &traffic.series[series];
    let none = Attribution::default();
    let mut state = SeriesState::default();
    for i in 0..until {
        let c = s.total(i);
        if c > 0 {
            state.close_minute(
                traffic.scenario.start.plus(i as i64),
                c,
                &none,
                ctx(traffic),
                cfg,
            );
        }
    }
    state
}

/// A false insight as the scorer counts it: after the warm-up, matching no injection, and not
/// the first insight after a level shift.
fn is_false(traffic: &Traffic, p: &Prediction, all: &[Prediction], warm: Minute) -> bool {
    p.start >= warm && !matches_injection(traffic, p) && !first_after_shift(traffic, p, all)
}

fn matches_injection(traffic: &Traffic, p: &Prediction) -> bool {
    traffic.injections.iter().any(|inj| overlaps(inj, p))
}

/// The scorer's match: same series, overlapping the injection extended by the grace minutes.
fn overlaps(inj: &Injection, p: &Prediction) -> bool {
    inj.series == p.series && p.start < inj.end().plus(GRACE_MINUTES) && p.end > inj.start
}

fn first_after_shift(traffic: &Traffic, p: &Prediction, all: &[Prediction]) -> bool {
    traffic.shifts.iter().any(|shift| {
        let from = shift.at.plus(-MINUTES_PER_HOUR);
        shift.series == p.series
            && all
                .iter()
                .filter(|q| q.series == p.series && q.end > from)
                .min_by_key(|q| q.start)
                .is_some_and(|q| q == p)
    })
}

/// `DIAG_MEMORY`: the largest minute of each false insight and target-class spike beside the
/// series' largest minute in the 7, 14 and 28 days before it (leaving out the hour before).
fn memory(traffic: &Traffic, predictions: &[Prediction], warm: Minute) {
    let origin = traffic.scenario.start;
    const DAY: usize = MINUTES_PER_DAY as usize;
    const HOUR: usize = MINUTES_PER_HOUR as usize;
    let line = |tag: &str, si: usize, from: Minute, minutes: i64, note: &str| {
        let s = &traffic.series[si];
        let i = (from.0 - origin.0) as usize;
        let largest = |range: std::ops::Range<usize>| {
            range
                .filter(|&j| j < s.normal.len())
                .map(|j| s.total(j))
                .max()
                .unwrap_or(0)
        };
        let before = |days: usize| largest(i.saturating_sub(days * DAY)..i.saturating_sub(HOUR));
        println!(
            "{tag} {:18} day {:2} rate {:.4} peak {:4} prior7 {:4} prior14 {:4} prior28 {:4} {note}",
            s.pattern.label(),
            i / DAY,
            s.mean_rate,
            largest(i..i + minutes.max(1) as usize),
            before(7),
            before(14),
            before(28),
        );
    };
    for p in predictions {
        if is_false(traffic, p, predictions, warm) {
            line("FP", p.series, p.start, p.end.0 - p.start.0, "");
        }
    }
    for inj in &traffic.injections {
        if inj.ratio >= TARGET_RATIO && inj.events >= TARGET_EVENTS {
            let hit = predictions.iter().any(|p| overlaps(inj, p));
            let note = format!("hit {hit}");
            line("TG", inj.series, inj.start, i64::from(inj.minutes), &note);
        }
    }
}
