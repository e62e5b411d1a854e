//! The detectors compared in the evaluation, run on the generated per-minute counts: ours (the
//! very `SeriesState` the engine uses, minute by minute) and three textbook references. Running
//! on counts makes parameter sweeps cheap; the end-to-end run through files (see
//! [`super::end_to_end`]) checks that ours gives the same answers when fed real log files.

use crate::base::time::{MINUTES_PER_HOUR, MINUTES_PER_WEEK, Minute};
use crate::config::DetectorConfig;
use crate::count::attribution::Attribution;
use crate::detect::detector::{Phase, SeriesState, TrailContext, poisson_tail};
use crate::synth::traffic::Traffic;

/// One reported insight on one series: `[start, end)`, end being the minute after the last
/// unusual one (as in End records).
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub series: usize,
    pub start: Minute,
    pub end: Minute,
    /// Delivery time of the log file whose processing wrote the Start (end-to-end runs only).
    pub emitted: Option<Minute>,
    /// Top callers of the Start record (end-to-end runs only).
    pub top_callers: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// trail-insights' detector with these knobs.
    Ours(DetectorConfig),
    /// `count >= threshold`.
    Static { threshold: u64 },
    /// `count > mean + sigmas × std` of the previous 7 days of minutes.
    ZScore { sigmas: f64 },
    /// `P(X >= count | Poisson(7-day mean)) < alpha`, nothing else.
    PoissonOnly { alpha: f64 },
}

impl Method {
    pub fn family(&self) -> &'static str {
        match self {
            Method::Ours(_) => "trail-insights",
            Method::Static { .. } => "static threshold",
            Method::ZScore { .. } => "z-score (7-day)",
            Method::PoissonOnly { .. } => "Poisson only",
        }
    }

    pub fn label(&self) -> String {
        match self {
            Method::Ours(c) => {
                format!("trail-insights (TAIL_RETURN_WEEKS {})", c.tail_return_weeks)
            }
            Method::Static { threshold } => format!("static threshold ≥ {threshold}/min"),
            Method::ZScore { sigmas } => format!("z-score > {sigmas}σ (7-day)"),
            Method::PoissonOnly { alpha } => format!("Poisson only, α {alpha:e}"),
        }
    }
}

/// Consecutive usual minutes that end an insight, for every method (ours reads its knob).
const END_QUIET: u32 = 5;

/// Run `method` over every series of `traffic`. `warmup_hours` applies to the references too.
pub fn detect(traffic: &Traffic, method: &Method, warmup_hours: u32) -> Vec<Prediction> {
    let mut out = Vec::new();
    for (si, _) in traffic.series.iter().enumerate() {
        match method {
            Method::Ours(cfg) => ours(traffic, si, cfg, &mut out),
            _ => reference(traffic, si, method, warmup_hours, &mut out),
        }
    }
    out
}

fn ours(traffic: &Traffic, si: usize, cfg: &DetectorConfig, out: &mut Vec<Prediction>) {
    let s = &traffic.series[si];
    let start = traffic.scenario.start;
    let ctx = TrailContext {
        observed_since: start,
    };
    let none = Attribution::default();
    let mut state = SeriesState::default();
    let mut record = |transitions: Vec<crate::detect::detector::Transition>| {
        for t in transitions {
            if t.phase == Phase::End {
                out.push(Prediction {
                    series: si,
                    start: t.start,
                    end: t.event_time,
                    emitted: None,
                    top_callers: Vec::new(),
                });
            }
        }
    };
    for i in 0..s.normal.len() {
        let c = s.total(i);
        if c > 0 {
            let t = state.close_minute(start.plus(i as i64), c, &none, ctx, cfg);
            record(t);
        }
    }
    let end = traffic.scenario.end();
    record(state.close_silent_through(end, cfg).into_iter().collect());
    if let Some(open) = &state.insight {
        out.push(Prediction {
            series: si,
            start: open.start,
            end,
            emitted: None,
            top_callers: Vec::new(),
        });
    }
}

/// The references: a rolling 7-day window of minute counts (sum and sum of squares), a Start
/// when the minute is "hot", an End after `END_QUIET` minutes that are not.
fn reference(
    traffic: &Traffic,
    si: usize,
    method: &Method,
    warmup_hours: u32,
    out: &mut Vec<Prediction>,
) {
    let s = &traffic.series[si];
    let start = traffic.scenario.start;
    let warmup = i64::from(warmup_hours) * MINUTES_PER_HOUR;
    let window = MINUTES_PER_WEEK as usize;
    let (mut sum, mut squares) = (0f64, 0f64);
    let mut open: Option<(usize, usize, u32)> = None; // (start, last hot, quiet run)
    for i in 0..s.normal.len() {
        let c = s.total(i) as f64;
        let w = i.min(window).max(1) as f64;
        let mean = sum / w;
        let hot = match method {
            Method::Static { threshold } => c >= *threshold as f64,
            Method::ZScore { sigmas } => {
                let var = (squares / w - mean * mean).max(0.0);
                c >= 1.0 && c > mean + sigmas * var.sqrt()
            }
            Method::PoissonOnly { alpha } => {
                let rate = mean.max(0.5 / w);
                let threshold = if open.is_some() { 1e-3 } else { *alpha };
                poisson_tail(c as u64, rate) < threshold
            }
            Method::Ours(_) => false,
        };
        match &mut open {
            Some((_, last, quiet)) => {
                if hot {
                    *last = i;
                    *quiet = 0;
                } else {
                    *quiet += 1;
                }
                if *quiet >= END_QUIET
                    && let Some((from, last, _)) = open.take()
                {
                    out.push(Prediction {
                        series: si,
                        start: start.plus(from as i64),
                        end: start.plus(last as i64 + 1),
                        emitted: None,
                        top_callers: Vec::new(),
                    });
                }
            }
            None if hot && i as i64 >= warmup => open = Some((i, i, 0)),
            None => {}
        }
        sum += c;
        squares += c * c;
        if i >= window {
            let old = s.total(i - window) as f64;
            sum -= old;
            squares -= old * old;
        }
    }
    if let Some((from, _, _)) = open {
        out.push(Prediction {
            series: si,
            start: start.plus(from as i64),
            end: traffic.scenario.end(),
            emitted: None,
            top_callers: Vec::new(),
        });
    }
}
