//! Detection quality, measured: labelled synthetic traffic ([`traffic`]) written as real log files
//! ([`logs`]), replayed end to end through the engine, and scored ([`score`]) beside reference
//! detectors run on the same counts ([`methods`]). `trail-insights evaluate` drives it and
//! [`report`] writes EVALUATION.md.

pub mod methods;
pub mod real;
pub mod report;
pub mod score;

use crate::base::time::Minute;
use crate::cloudtrail::files::find_log_files;
use crate::cloudtrail::key::classify_key;
use crate::config::{Config, DetectorConfig};
use crate::engine::Engine;
use crate::insight::pairs::lookup;
use crate::insight::record::InsightRecord;
use crate::insight::sink::DirectorySink;
use crate::store::EmbeddedStore;
use crate::synth::traffic::{Scenario, Traffic};
use anyhow::{Context, Result};
use methods::{Method, Prediction};
use score::Score;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// One method's result on the scenario.
#[derive(Debug, Clone)]
pub struct MethodResult {
    pub method: Method,
    pub score: Score,
}

/// Everything one evaluation measured.
#[derive(Debug)]
pub struct Evaluation {
    pub scenario: Scenario,
    pub traffic: Traffic,
    pub events: u64,
    pub files: usize,
    pub config: DetectorConfig,
    /// Ours end to end (files → engine → Insights files), unless skipped.
    pub end_to_end: Option<Score>,
    /// The end-to-end run's predictions plus the Starts it withheld as deploy sessions: what
    /// writing them too would have scored.
    pub with_withheld: Option<Score>,
    /// Starts the end-to-end run withheld as deploy sessions.
    pub withheld: usize,
    pub end_to_end_seconds: f64,
    /// Ours and the references at their customary settings, on counts.
    pub headline: Vec<MethodResult>,
    /// Every method over a range of its main setting, for the chart.
    pub sweep: Vec<MethodResult>,
    /// The presets, on counts.
    pub presets: Vec<(&'static str, Score)>,
    /// This configuration on the same scenario generated with other seeds, on counts: how much
    /// the numbers owe to one draw of the traffic.
    pub other_seeds: Vec<OtherSeed>,
}

/// The configuration on the scenario drawn with another seed.
#[derive(Debug)]
pub struct OtherSeed {
    pub seed: u64,
    /// The detector fed minute by minute.
    pub counts: Score,
    /// End to end through log files, when the evaluation replays.
    pub end_to_end: Option<Score>,
}

/// Generate `scenario`, write its log files under `dir/logs`, replay them into `dir/state`
/// with `config` (Insights under `dir/insights`), and score everything. With `replay` false,
/// only the count-level runs (quick, for tuning).
pub fn evaluate(
    scenario: &Scenario,
    config: &Config,
    dir: &Path,
    replay: bool,
) -> Result<Evaluation> {
    let clock = Instant::now();
    let traffic = crate::synth::traffic::generate(scenario);
    let warmup = config.detector.warmup_hours;
    let mut with_withheld = None;
    let mut withheld = 0;
    let (e2e, end_to_end_seconds, events, files) = if replay {
        let run = replay_scenario(&traffic, config, dir)?;
        with_withheld = Some(run.with_withheld);
        withheld = run.withheld;
        (Some(run.score), run.seconds, run.events, run.files)
    } else {
        let events = traffic
            .series
            .iter()
            .map(|s| (0..s.normal.len()).map(|i| s.total(i)).sum::<u64>())
            .sum();
        (None, 0.0, events, 0)
    };
    let headline = run_all(
        &traffic,
        warmup,
        vec![
            Method::Ours(config.detector.clone()),
            Method::Static { threshold: 10 },
            Method::ZScore { sigmas: 3.0 },
            Method::PoissonOnly { alpha: 1e-6 },
        ],
    );
    let mut settings = Vec::new();
    for tail in [0.0, 10.0, 50.0, 200.0, 1000.0, 10_000.0] {
        settings.push(Method::Ours(DetectorConfig {
            tail_return_weeks: tail,
            ..config.detector.clone()
        }));
    }
    settings.extend([3, 5, 10, 20, 50, 100].map(|threshold| Method::Static { threshold }));
    settings.extend([3.0, 5.0, 8.0, 12.0, 20.0].map(|sigmas| Method::ZScore { sigmas }));
    settings.extend([1e-4, 1e-6, 1e-9, 1e-12, 1e-16].map(|alpha| Method::PoissonOnly { alpha }));
    let sweep = run_all(&traffic, warmup, settings);
    let names = ["low", "medium", "high"];
    let presets = names
        .into_iter()
        .zip(run_all(
            &traffic,
            warmup,
            names
                .iter()
                .filter_map(|n| crate::config::preset(n).map(Method::Ours))
                .collect(),
        ))
        .map(|(name, r)| (name, r.score))
        .collect();
    // Each other seed on counts and, with `replay`, end to end too (one thread per seed: the
    // replays are the slow part).
    let other_seeds = std::thread::scope(|scope| {
        let runs: Vec<_> = (1..=OTHER_SEEDS)
            .map(|k| {
                let seed = scenario.seed + k;
                scope.spawn(move || -> Result<OtherSeed> {
                    let other = crate::synth::traffic::generate(&Scenario {
                        seed,
                        ..scenario.clone()
                    });
                    let ours = Method::Ours(config.detector.clone());
                    let p = methods::detect(&other, &ours, warmup);
                    let end_to_end = if replay {
                        let seed_dir = dir.join(format!("seed-{seed}"));
                        Some(replay_scenario(&other, config, &seed_dir)?.score)
                    } else {
                        None
                    };
                    Ok(OtherSeed {
                        seed,
                        counts: score::score(&other, &p, warmup),
                        end_to_end,
                    })
                })
            })
            .collect();
        runs.into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("an other-seed run panicked"))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    eprintln!(
        "[evaluate] scored {} settings in {:.1} s in all",
        headline.len() + sweep.len() + 3,
        clock.elapsed().as_secs_f64()
    );
    Ok(Evaluation {
        scenario: scenario.clone(),
        events,
        files,
        config: config.detector.clone(),
        traffic,
        end_to_end: e2e,
        with_withheld,
        withheld,
        end_to_end_seconds,
        headline,
        sweep,
        presets,
        other_seeds,
    })
}

/// Further seeds scored on counts beside the report's.
const OTHER_SEEDS: u64 = 2;

/// Run and score every method, on all cores (each method is independent).
fn run_all(traffic: &Traffic, warmup: u32, methods: Vec<Method>) -> Vec<MethodResult> {
    on_all_cores(&methods, |m| {
        let p = methods::detect(traffic, m, warmup);
        MethodResult {
            score: score::score(traffic, &p, warmup),
            method: m.clone(),
        }
    })
}

/// `f` of every item, in order, with the items split over the available cores (each must be
/// independent of the others). A panic in `f` is passed on.
pub(crate) fn on_all_cores<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// Write the traffic as log files and replay them: (score, seconds, events, files).
/// What the end-to-end run measured.
struct Replayed {
    score: Score,
    with_withheld: Score,
    withheld: usize,
    seconds: f64,
    events: u64,
    files: usize,
}

fn replay_scenario(traffic: &Traffic, config: &Config, dir: &Path) -> Result<Replayed> {
    let clock = Instant::now();
    let logs_dir = dir.join("logs");
    if logs_dir.exists() {
        std::fs::remove_dir_all(&logs_dir)
            .with_context(|| format!("clearing {}", logs_dir.display()))?;
    }
    let written = crate::synth::delivery::write(traffic, &logs_dir, traffic.scenario.seed)?;
    eprintln!(
        "[evaluate] {} series, {} injections, {} level shifts: {} events in {} files ({:.1} s)",
        traffic.series.len(),
        traffic.injections.len(),
        traffic.shifts.len(),
        written.events,
        written.files.len(),
        clock.elapsed().as_secs_f64()
    );
    let replay_clock = Instant::now();
    let (predictions, withheld) = end_to_end(traffic, &logs_dir, dir, config)?;
    let seconds = replay_clock.elapsed().as_secs_f64();
    eprintln!(
        "[evaluate] replayed end to end in {seconds:.1} s: {} insights, {} withheld as deploy \
         sessions",
        predictions.len(),
        withheld.len()
    );
    let warmup = config.detector.warmup_hours;
    let score = score::score(traffic, &predictions, warmup);
    let all: Vec<Prediction> = predictions.into_iter().chain(withheld.clone()).collect();
    Ok(Replayed {
        score,
        with_withheld: score::score(traffic, &all, warmup),
        withheld: withheld.len(),
        seconds,
        events: written.events,
        files: written.files.len(),
    })
}

/// Replay the files through the engine exactly as `replay` does, noting which file's delivery
/// wrote each Start, then read the Insights files back as predictions. Also returns the Starts
/// withheld as deploy sessions, as one-minute predictions.
pub fn end_to_end(
    traffic: &Traffic,
    logs_dir: &Path,
    dir: &Path,
    config: &Config,
) -> Result<(Vec<Prediction>, Vec<Prediction>)> {
    let state = dir.join("state");
    let out = dir.join("insights");
    for d in [&state, &out] {
        if d.exists() {
            std::fs::remove_dir_all(d).with_context(|| format!("clearing {}", d.display()))?;
        }
    }
    let files = find_log_files(&[logs_dir.to_path_buf()])?;
    let store = EmbeddedStore::open(&state).with_context(|| format!("{}", state.display()))?;
    let sink = DirectorySink { root: out.clone() };
    let engine = Engine::new(config.clone(), &store, &sink);
    let mut emitted: HashMap<String, Minute> = HashMap::new();
    let mut withheld_starts: Vec<(String, String, Minute, Minute)> = Vec::new();
    for (key, path) in &files {
        let open = || -> std::io::Result<Box<dyn std::io::Read>> {
            Ok(Box::new(std::fs::File::open(path)?))
        };
        let outcome = engine
            .process(key, key, &open)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let log = classify_key(key).ok();
        let delivered = log.as_ref().map_or(Minute(0), |k| k.delivered);
        let account = log.map(|k| k.scope.account).unwrap_or_default();
        for (sid, start) in &outcome.withheld {
            withheld_starts.push((account.clone(), sid.clone(), *start, delivered));
        }
        for r in outcome.insights.iter().filter(|r| is_start(r)) {
            emitted
                .entry(r.shared_event_id.clone())
                .or_insert(delivered);
        }
    }
    engine.flush().map_err(|e| anyhow::anyhow!("{e}"))?;

    let index: HashMap<(String, String), usize> = traffic
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.account.clone(), s.key.id()), i))
        .collect();
    let withheld = withheld_starts
        .into_iter()
        .filter_map(|(account, sid, start, delivered)| {
            let series = *index.get(&(account, sid))?;
            Some(Prediction {
                series,
                start,
                end: start.plus(1),
                emitted: Some(delivered),
                top_callers: Vec::new(),
            })
        })
        .collect();
    let mut predictions = Vec::new();
    if !out.exists() {
        return Ok((predictions, withheld));
    }
    for p in lookup(&out)? {
        let Some(r) = p.start.as_ref().or(p.end.as_ref()) else {
            continue;
        };
        let key = r.series();
        let account = r.recipient_account_id.clone().unwrap_or_default();
        let Some(&series) = index.get(&(account, key.id())) else {
            continue;
        };
        let end = p
            .end
            .as_ref()
            .and_then(|e| Minute::parse_event_time(&e.event_time))
            .unwrap_or(traffic.scenario.end());
        let top_callers = p
            .start
            .as_ref()
            .and_then(|s| s.insight_details.insight_context.attributions.as_ref())
            .and_then(|a| a.iter().find(|b| b.attribute == "userIdentityArn"))
            .map(|b| b.insight.iter().map(|v| v.value.clone()).collect())
            .unwrap_or_default();
        predictions.push(Prediction {
            series,
            start: p.start_minute(),
            end,
            emitted: emitted.get(&r.shared_event_id).copied(),
            top_callers,
        });
    }
    Ok((predictions, withheld))
}

fn is_start(r: &InsightRecord) -> bool {
    r.insight_details.state == "Start"
}
