//! The Start/End decision for one series, on its own state: pure data in, data out.
//!
//! Baseline: an hourly ring over the last 9 days holding, per hour, the raw count (for the
//! reported `baseline.average`), a winsorised count and the largest minute (for detection), and
//! what was held back while an insight was open. Silent minutes cost nothing.
//!
//! Start (on the minute's count `c`, as soon as it meets every gate; counts only grow):
//! - the trail has been observed for the warm-up time (the same gates from then on);
//! - `c >= SINGLE_MINUTE_COUNT` (and `MIN_COUNT`) and `c >= MIN_RATIO × rate`;
//! - novelty: `c >= M + max(NOVELTY_MIN_EXTRA, NOVELTY_MARGIN × M)`, where `M` is a high-ranked
//!   hourly maximum in the window at the same hour of day ±1, or `NOVELTY_GLOBAL_WEIGHT ×` one at
//!   any hour, whichever is larger (see `HOURS_PER_RANK`): cron jobs and daily peaks are not news;
//! - Poisson: `P(X >= c | rate) < START_ALPHA`;
//! - burst tail, for series burstier than Poisson (see `burst_tail_threshold`).
//!
//! The rate is the winsorised 7-day mean (or the hour-of-day mean for busy series, if higher),
//! with a floor of half an event per window. The window leaves out the current and the previous
//! hour, which may still be open, so a decision does not depend on the order files arrive in.
//!
//! Or Start when the latest minute of a sustained run completes evidence that no single minute
//! gives (below `SINGLE_MINUTE_COUNT`), judged minute by minute: see [`SustainedGates`]. For
//! `REPEAT_MINUTES` after an End, either rule must also beat the ended insight's level.
//!
//! A Start is reported at the first minute of the run of unusual minutes (by the End rule) that
//! the proving minute ends, as AWS dates a Start when the unusual activity began: see [`Run`].
//!
//! End: on closed minutes only, after `END_QUIET_MINUTES` consecutive usual minutes, judged
//! against the rate frozen at Start. The insight's own minutes never teach the baseline, unless it
//! lasts `MAX_INSIGHT_HOURS`: then it is ended and its level accepted as the new normal.

use crate::base::time::{
    MINUTES_PER_DAY, MINUTES_PER_HOUR, MINUTES_PER_WEEK, Minute, minute_of_day,
};
use crate::count::attribution::{Attribution, TopCounts};
use crate::detect::drop::DropState;
use crate::detect::settings::DetectorConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// For this long after an insight Ends, a Start must beat that insight's largest minute (and a
/// sustained run its last two hours' events, or the sum that Started it) by the novelty margin:
/// a level that flaps around the End thresholds (a level shift, a long incident) is not
/// reported again and again, while a larger spike still is.
const REPEAT_MINUTES: i64 = 6 * MINUTES_PER_HOUR;
/// Hours of history kept: the reported baseline window reaches back to midnight 7 days before.
const RING_HOURS: i64 = 9 * 24;
/// Distinct values kept per attribution dimension, per day of baseline.
const DAY_ATTRIBUTION_CAPACITY: usize = 8;
/// Distinct values kept per attribution dimension during an insight.
const INSIGHT_ATTRIBUTION_CAPACITY: usize = 32;
/// Values reported per attribution list (AWS: top 5).
pub const TOP_N: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HourSlot {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub raw: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clipped: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub held_max: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Per-series detector state. Bounded: at most `RING_HOURS` slots and 9 days of attribution.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesState {
    #[serde(default)]
    pub hours: BTreeMap<i64, HourSlot>,
    #[serde(default)]
    pub days: BTreeMap<i64, Attribution>,
    #[serde(default)]
    pub last_closed: Option<Minute>,
    #[serde(default)]
    pub insight: Option<OpenInsight>,
    /// The drop detector's state (opt-in).
    #[serde(default, skip_serializing_if = "DropState::is_idle")]
    pub drop: DropState,
    /// When the last insight Ended (its End record's event time), its largest minute, and its
    /// events in its last two clock hours or the sustained sum that Started it, whichever is
    /// larger: for `REPEAT_MINUTES` after an End, the same level coming back is not news.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_end: Option<Minute>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_peak: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub last_pair: u64,
    /// The run of unusual closed minutes this series is in, if any: a Start reports its first
    /// minute, when the unusual activity began, not the minute that proved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// Starts made through a deploy tool that the engine holds for the deploy-session rule
    /// (see `Engine::judge_sessions`); not the detector's business, but stored with its state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<crate::detect::session::HeldStart>,
}

/// A run of unusual minutes (by the End rule: an insight started at its first minute would still
/// be open at its last), on closed minutes learned in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    pub first: Minute,
    pub last: Minute,
    /// Events in `first..=last`.
    pub events: u64,
    /// Events in the usual minutes after `last`, part of the run if it goes on.
    pub pending: u64,
}

impl Run {
    /// Extend the run (or start a new one) with minute `t` of `count` events, `unusual` or not.
    /// Minutes between are silent; `END_QUIET_MINUTES` usual minutes in a row end the run.
    fn step(
        run: Option<Run>,
        t: Minute,
        count: u64,
        unusual: bool,
        cfg: &DetectorConfig,
    ) -> Option<Run> {
        let alive = run.filter(|r| t.0 - r.last.0 <= i64::from(cfg.end_quiet_minutes));
        match (alive, unusual) {
            (Some(r), true) => Some(Run {
                last: t,
                events: r.events + r.pending + count,
                pending: 0,
                ..r
            }),
            (None, true) => Some(Run {
                first: t,
                last: t,
                events: count,
                pending: 0,
            }),
            (Some(r), false) if t.0 - r.last.0 < i64::from(cfg.end_quiet_minutes) => Some(Run {
                pending: r.pending + count,
                ..r
            }),
            _ => None,
        }
    }
}

/// A minute of `count` events is unusual at `rate` by the rule that keeps an insight open.
fn unusual(count: u64, rate: f64, cfg: &DetectorConfig) -> bool {
    count >= cfg.end_min_count
        && count as f64 >= cfg.end_ratio * rate
        && poisson_tail(count, rate) < cfg.end_alpha
}

/// A ranked attribution list: (value, per-minute average).
pub type Ranked = Vec<(String, f64)>;

/// The attribution lists of one side (insight or baseline) of a record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RankedAttribution {
    pub callers: Ranked,
    pub agents: Ranked,
    pub errors: Ranked,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenInsight {
    pub start: Minute,
    pub last_hot: Minute,
    pub quiet_run: u32,
    /// Events in [start, last_hot].
    pub sum: u64,
    /// Events in usual minutes after `last_hot`, folded in if the activity resumes.
    pub pending_sum: u64,
    pub rate: f64,
    pub start_average: f64,
    pub baseline_average: f64,
    pub baseline_duration: i64,
    pub baseline_attribution: RankedAttribution,
    pub attribution: Attribution,
    pub pending_attribution: Attribution,
    /// The sustained rule's sum at Start (0 when it has none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub evidence: u64,
    /// Part of a deploy session (see [`crate::detect::session`]): followed as any insight, so its minutes
    /// stay out of the baseline, but neither its Start nor its End is written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub withheld: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Start,
    End,
}

/// A Start or End, with the statistics of the record to write. Serialisable so a Start held for
/// the deploy-session rule can wait in its series' state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub phase: Phase,
    /// First unusual minute; identifies the insight.
    pub start: Minute,
    /// Start: the start minute. End: the minute after the last unusual minute.
    pub event_time: Minute,
    pub insight_average: f64,
    pub insight_duration: i64,
    pub baseline_average: f64,
    pub baseline_duration: i64,
    pub insight_attribution: RankedAttribution,
    pub baseline_attribution: RankedAttribution,
    /// The insight reached `MAX_INSIGHT_HOURS` and its level became the new baseline.
    pub accepted_as_normal: bool,
    /// A Start that moves an earlier-announced Start (at this minute) back in time.
    pub replaces: Option<Minute>,
    /// A drop insight (the rate fell far below its baseline), not a spike.
    pub drop: bool,
    /// Of a withheld insight (a deploy session): decided, not written.
    pub withheld: bool,
}

/// What the detector needs to know about the trail as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrailContext {
    /// The first minute this account and region were observed.
    pub observed_since: Minute,
}

/// The baseline as seen by the Start rule at some minute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectionBaseline {
    pub rate: f64,
    pub novelty_max: f64,
    /// The largest minute at any hour in the window.
    pub largest_minute: f64,
    /// Hours of history in the window (for the burst-tail fit).
    pub window_hours: f64,
}

/// The Start gates at one minute: what a count must reach to Start, gate by gate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StartGates {
    pub min_count: u64,
    /// `MIN_RATIO ×` the baseline rate.
    pub by_ratio: f64,
    /// The novelty level: beyond the largest comparable recent minute.
    pub novelty: f64,
    /// The baseline rate the Poisson gate tests against…
    pub rate: f64,
    /// …and the tail probability a count must fall below.
    pub alpha: f64,
    /// The burst-tail level (0 when the gate does not apply or was not computed).
    pub burst_tail: f64,
}

impl StartGates {
    /// The gates `count` fails, by name (empty: it Starts).
    pub fn failed(&self, count: u64) -> Vec<&'static str> {
        let c = count as f64;
        let mut out = Vec::new();
        if count < self.min_count {
            out.push("min count");
        }
        if c < self.by_ratio {
            out.push("ratio");
        }
        if c < self.novelty {
            out.push("novelty");
        }
        if poisson_tail(count, self.rate) >= self.alpha {
            out.push("poisson");
        }
        if c <= self.burst_tail {
            out.push("burst tail");
        }
        out
    }
}

/// The sustained rule: a run of busy minutes that no single minute proves. The evidence is the
/// series' events in the previous and current clock hour up to this minute, each minute
/// winsorised as the baseline learns it (so one burst cannot carry it); it must be novel against
/// the largest pair of adjacent hours in the window, surprising for a Poisson process at the
/// baseline rate, at least `SUSTAINED_EVENTS`, beyond the burst-tail level; the minute itself
/// must be unusual (by the rule that keeps an insight open) and the run's largest minute at
/// least `MIN_COUNT`. A long low plateau (a few calls a minute) is how deploy sessions look; a
/// spike that fades is judged on each minute of its tail, not only on its loud first minutes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SustainedGates {
    pub sum: u64,
    /// The run's largest minute (raw count)…
    pub peak: u64,
    /// …and what it must reach.
    pub min_peak: u64,
    /// The novelty, ratio and minimum-events levels, whichever is highest.
    pub needed: f64,
    /// Events a Poisson process at the baseline rate gives over the same minutes…
    pub expected: f64,
    /// …and the tail probability the sum must fall below.
    pub alpha: f64,
    pub minute_unusual: bool,
}

impl SustainedGates {
    /// Whether the sum meets the rule (the burst-tail level aside).
    pub fn passed(&self) -> bool {
        self.minute_unusual
            && self.peak >= self.min_peak
            && self.sum as f64 >= self.needed
            && poisson_tail(self.sum, self.expected) < self.alpha
    }
}

/// The part of a sustained run the state has not learned: the engine defers quiet series'
/// closed minutes to the end of their hour, and a file's earlier open minutes are not closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredUnlearned", into = "(u64, u64)")]
pub struct Unlearned {
    /// Winsorised events (see [`SeriesState::winsorise`]).
    pub events: u64,
    /// The largest minute's raw count.
    pub peak: u64,
}

impl Unlearned {
    /// One minute of `count` events, `winsorised` as the baseline would learn it.
    pub fn minute(count: u64, winsorised: u64) -> Unlearned {
        Unlearned {
            events: winsorised,
            peak: count,
        }
    }

    /// Add a minute of `count` events, `winsorised` as the baseline would learn it.
    pub fn add(&mut self, count: u64, winsorised: u64) {
        *self = self.and(Unlearned::minute(count, winsorised));
    }

    /// Both parts summed (events) and maxed (peak).
    pub fn and(self, other: Unlearned) -> Unlearned {
        Unlearned {
            events: self.events + other.events,
            peak: self.peak.max(other.peak),
        }
    }
}

/// Stored as `[events, peak]`. State from before the peak was kept holds the events alone: its
/// peak reads as 0, which can make one Start later, never a false one.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredUnlearned {
    Events(u64),
    Both(u64, u64),
}

impl From<StoredUnlearned> for Unlearned {
    fn from(s: StoredUnlearned) -> Self {
        match s {
            StoredUnlearned::Events(events) => Unlearned { events, peak: 0 },
            StoredUnlearned::Both(events, peak) => Unlearned { events, peak },
        }
    }
}

impl From<Unlearned> for (u64, u64) {
    fn from(u: Unlearned) -> Self {
        (u.events, u.peak)
    }
}

/// `P(X >= c)` for `X ~ Poisson(rate)`.
pub fn poisson_tail(c: u64, rate: f64) -> f64 {
    if c == 0 {
        return 1.0;
    }
    if rate <= 0.0 {
        return 0.0;
    }
    statrs::function::gamma::checked_gamma_lr(c as f64, rate).unwrap_or(0.0)
}

/// Hourly maxima used to estimate the tail of a series' bursts.
const TAIL_ORDER_STATISTICS: usize = 10;
/// The tail shape assumed before the fit, and its weight in order statistics.
const PRIOR_SHAPE: f64 = 0.3;
const PRIOR_WEIGHT: f64 = 4.0;
/// The burst-tail threshold never asks for more than this multiple of the window's largest minute.
/// (3 let through 10 of 31 false insights on heavy-tailed series in `make eval`; 4 costs a few
/// spikes on bursty series: see EVALUATION.md.)
const TAIL_CAP_TIMES_LARGEST: f64 = 4.0;

/// The burst-tail gate. Benign traffic with heavy-tailed burst sizes (autoscaling, batch jobs)
/// sets a new weekly record every week or two, so "larger than anything in the last week" is not
/// rare enough. For a series whose largest minutes are well beyond what a Poisson process at its
/// rate would produce, fit a Pareto tail (Hill estimator, shrunk towards a prior shape when few
/// hours had events) to the largest hourly maxima of the window and return the level that an
/// hour's maximum exceeds once in `tail_return_weeks`. For Poisson-like series, 0: the gate does
/// not apply.
fn burst_tail_threshold(maxima: &mut [u64], hours: f64, rate: f64, cfg: &DetectorConfig) -> f64 {
    if cfg.tail_return_weeks <= 0.0 || maxima.len() < 2 {
        return 0.0;
    }
    let k = TAIL_ORDER_STATISTICS.min(maxima.len() - 1);
    maxima.sort_unstable_by(|a, b| b.cmp(a));
    // Bursty: a Poisson process at this rate would hardly ever reach the window's largest minute.
    let window_minutes = hours * MINUTES_PER_HOUR as f64;
    if poisson_tail(maxima[0], rate) * window_minutes > 0.01 {
        return 0.0;
    }
    let reference = maxima[k] as f64;
    // Few busy hours give a noisy fit: shrink towards a moderately heavy tail.
    let fitted: f64 = maxima[..k]
        .iter()
        .map(|&m| (m as f64 / reference).ln())
        .sum();
    let shape = (fitted + PRIOR_WEIGHT * PRIOR_SHAPE) / (k as f64 + PRIOR_WEIGHT);
    let return_hours = cfg.tail_return_weeks * (MINUTES_PER_WEEK / MINUTES_PER_HOUR) as f64;
    let extrapolated = reference * (k as f64 * return_hours / hours).powf(shape);
    // A spike several times the largest minute of the window is news whatever the fit says.
    extrapolated.min(TAIL_CAP_TIMES_LARGEST * maxima[0] as f64)
}

/// The novelty gates compare with a high-ranked minute or pair of hours of the window, not the
/// largest: one rank per `HOURS_PER_RANK` hours observed at any hour of day (5 in a full week),
/// per `HOURS_PER_NEAR_RANK` at the same hour of day (3), and per `HOURS_PER_PAIR_RANK` for the
/// sustained rule's pairs of adjacent hours (15; each busy hour is in two pairs). A few unusual
/// hours the detector missed in the past week do not silence the next ones, and a young series
/// (ranks near 1) is still compared with its largest.
const HOURS_PER_RANK: usize = 42;
const HOURS_PER_NEAR_RANK: usize = 84;
const HOURS_PER_PAIR_RANK: usize = 12;
/// The sustained rule's run needs a minute of at least this many events (or `MIN_COUNT`, if
/// lower): an hour-long rise of a sparse series has no loud minute.
const SUSTAINED_MIN_PEAK: u64 = 3;

/// The least a run's largest minute may have for either Start rule to look further.
fn sustained_min_peak(cfg: &DetectorConfig) -> u64 {
    SUSTAINED_MIN_PEAK.min(cfg.min_count)
}

/// The `k` largest values pushed (k ≤ 16), to read the `k`-th largest (0 when fewer were pushed).
#[derive(Debug, Clone, Copy)]
struct TopK {
    top: [u64; 16],
    k: usize,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            top: [0; 16],
            k: k.clamp(1, 16),
        }
    }
    fn push(&mut self, v: u64) {
        let k = self.k;
        let top = &mut self.top;
        if v <= top[k - 1] {
            return;
        }
        let mut i = k - 1;
        while i > 0 && top[i - 1] < v {
            top[i] = top[i - 1];
            i -= 1;
        }
        top[i] = v;
    }
    fn kth(&self) -> u64 {
        self.top[self.k - 1]
    }
}

/// Minutes of this many events or fewer are learned whole (see [`SeriesState::winsorise`]).
const LOWEST_CAP: u64 = 4;

/// `count` winsorised against baseline `b`: see [`SeriesState::winsorise`].
fn winsorised(count: u64, b: &DetectionBaseline) -> u64 {
    let typical = b.rate + 3.1 * b.rate.sqrt() + 3.0;
    count.min(typical.max(b.largest_minute).ceil() as u64)
}

/// The trail has been observed for the warm-up time at minute `t`.
fn warm(t: Minute, ctx: TrailContext, cfg: &DetectorConfig) -> bool {
    t.0 - ctx.observed_since.0 >= i64::from(cfg.warmup_hours) * MINUTES_PER_HOUR
}

/// A minute that may Start an insight, with what the rule needs to judge it.
#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    t: Minute,
    count: u64,
    unlearned: Unlearned,
    earlier_open: &'a [(Minute, u64)],
}

/// The hours of the detection window for minute `t`: 7 days, leaving out the current and the
/// previous hour (which may still be open).
fn window(t: Minute) -> (i64, i64) {
    let h = t.hour();
    (h - 169, h - 2)
}

impl SeriesState {
    /// The detection rate and novelty maximum for minute `t`.
    pub fn detection_baseline(
        &self,
        t: Minute,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> DetectionBaseline {
        let h = t.hour();
        let (first_hour, last_hour) = window(t);
        let window_start = Minute(first_hour * MINUTES_PER_HOUR).max(ctx.observed_since);
        let window_end = Minute((last_hour + 1) * MINUTES_PER_HOUR);
        let observed = (window_end.0 - window_start.0).max(1) as f64;
        let hour_of_day = h.rem_euclid(24);
        let near = |hour: i64| {
            let d = (hour.rem_euclid(24) - hour_of_day).rem_euclid(24);
            d <= 1 || d == 23
        };
        let (mut sum, mut raw, mut max_all) = (0u64, 0u64, 0u64);
        let (mut near_sum, mut near_hours) = (0u64, 0i64);
        let observed_hours = ((window_end.0 - window_start.0).max(0) / MINUTES_PER_HOUR) as usize;
        let mut top_all = TopK::new(1 + observed_hours / HOURS_PER_RANK);
        let mut top_near = TopK::new(1 + observed_hours / HOURS_PER_NEAR_RANK);
        for (&hour, slot) in self.hours.range(first_hour..=last_hour) {
            sum += slot.clipped;
            raw += slot.raw;
            max_all = max_all.max(slot.max);
            top_all.push(slot.max);
            if near(hour) {
                near_sum += slot.clipped;
                top_near.push(slot.max);
            }
        }
        for hour in first_hour..=last_hour {
            if near(hour) && (hour + 1) * MINUTES_PER_HOUR > ctx.observed_since.0 {
                near_hours += 1;
            }
        }
        let flat = sum as f64 / observed;
        let floor = 0.5 / observed;
        let seasonal = if raw >= cfg.seasonal_min_events && near_hours > 0 {
            near_sum as f64 / (near_hours * MINUTES_PER_HOUR) as f64
        } else {
            0.0
        };
        DetectionBaseline {
            rate: flat.max(seasonal).max(floor),
            novelty_max: (top_near.kth() as f64)
                .max(cfg.novelty_global_weight * top_all.kth() as f64),
            largest_minute: max_all as f64,
            window_hours: (observed / MINUTES_PER_HOUR as f64).max(1.0),
        }
    }

    /// The burst-tail threshold at minute `t` for baseline `b` (0 when the gate does not apply).
    /// Kept out of [`Self::detection_baseline`], which also runs for every learned minute: only a
    /// minute that already passes the other Start gates pays for collecting and sorting maxima.
    fn tail_threshold(&self, t: Minute, b: &DetectionBaseline, cfg: &DetectorConfig) -> f64 {
        if cfg.tail_return_weeks <= 0.0 {
            return 0.0;
        }
        let (first_hour, last_hour) = window(t);
        let mut maxima: Vec<u64> = self
            .hours
            .range(first_hour..=last_hour)
            .map(|(_, slot)| slot.max)
            .filter(|&m| m > 0)
            .collect();
        burst_tail_threshold(&mut maxima, b.window_hours, b.rate, cfg)
    }

    /// The Start gates at minute `t` except the burst-tail one (costly; see
    /// [`Self::tail_threshold`]), or `None` during the warm-up.
    fn cheap_gates(
        &self,
        t: Minute,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<(StartGates, DetectionBaseline)> {
        if !warm(t, ctx, cfg) {
            return None;
        }
        let b = self.detection_baseline(t, ctx, cfg);
        let m = b.novelty_max.max(self.recent(t).0 as f64);
        let novelty = m + (cfg.novelty_min_extra as f64).max(cfg.novelty_margin * m);
        let gates = StartGates {
            min_count: cfg.min_count,
            by_ratio: cfg.min_ratio * b.rate,
            novelty,
            rate: b.rate,
            alpha: cfg.start_alpha,
            burst_tail: 0.0,
        };
        Some((gates, b))
    }

    /// Whether `count` events in minute `t` Start an insight: the minute on its own (every
    /// gate of [`StartGates`], and at least `SINGLE_MINUTE_COUNT` events), or as the latest of a
    /// sustained run (see [`SustainedGates`]). `unlearned`: this series' minutes of the previous
    /// and current clock hour before `t` that the state has not learned (the engine defers quiet
    /// series' minutes to the hour's end); nothing when it has learned them.
    pub fn meets_start_rule(
        &self,
        t: Minute,
        count: u64,
        unlearned: Unlearned,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> bool {
        // The usual case, before any state is looked at: too few events for either rule's
        // minute (one alone needs MIN_COUNT, one of a run END_MIN_COUNT).
        if count < cfg.min_count && count < cfg.end_min_count {
            return false;
        }
        if self.run_peak(t, count, unlearned) < sustained_min_peak(cfg) {
            return false;
        }
        let Some((gates, b)) = self.cheap_gates(t, ctx, cfg) else {
            return false;
        };
        // The burst-tail level is computed at most once, and only when a rule needs it.
        let mut tail = None;
        let mut tail_level = || *tail.get_or_insert_with(|| self.tail_threshold(t, &b, cfg));
        let single = count >= cfg.single_minute_count && gates.failed(count).is_empty();
        if single && count as f64 > tail_level() {
            return true;
        }
        self.sustained_gates(t, count, unlearned, &b, ctx, cfg)
            .is_some_and(|g| g.passed() && g.sum as f64 > tail_level())
    }

    /// Whether minute `t` of `count` events is unusual (by the End rule), so that earlier minutes
    /// the caller has not passed may complete a sustained run with it.
    pub fn may_continue_a_run(
        &self,
        t: Minute,
        count: u64,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> bool {
        count >= cfg.end_min_count
            && cfg.sustained_events > 0
            && warm(t, ctx, cfg)
            && unusual(count, self.detection_baseline(t, ctx, cfg).rate, cfg)
    }

    /// Whether `count` events in `minutes` minutes around `t` are far above the series' usual
    /// rate there: as unlikely as a Start (`START_ALPHA`), after the warm-up.
    pub fn is_unusual_over(
        &self,
        t: Minute,
        count: u64,
        minutes: i64,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> bool {
        let expected = self.detection_baseline(t, ctx, cfg).rate * minutes.max(1) as f64;
        warm(t, ctx, cfg) && poisson_tail(count, expected) < cfg.start_alpha
    }

    /// The largest minute of the sustained rule's run up to minute `t` (of `count` events).
    fn run_peak(&self, t: Minute, count: u64, unlearned: Unlearned) -> u64 {
        let h = t.hour();
        let peak = |k: i64| self.hours.get(&k).map_or(0, |s| s.max);
        count.max(unlearned.peak).max(peak(h)).max(peak(h - 1))
    }

    /// The sustained rule's sums at minute `t` (see [`SustainedGates`]); `None` in the first
    /// week, when the window cannot tell a weekly rhythm from a spike.
    fn sustained_gates(
        &self,
        t: Minute,
        count: u64,
        unlearned: Unlearned,
        b: &DetectionBaseline,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<SustainedGates> {
        if cfg.sustained_events == 0 {
            return None;
        }
        let h = t.hour();
        let usual = |k: i64| self.hours.get(&k).map_or(0, |s| s.clipped);
        let sum = usual(h - 1) + usual(h) + unlearned.events + self.winsorise(t, count, ctx, cfg);
        let (first_hour, last_hour) = window(t);
        // Any stretch of up to two hours lies within two adjacent clock hours.
        let observed_hours = ((t.0 - ctx.observed_since.0).max(0) / MINUTES_PER_HOUR)
            .min(last_hour - first_hour + 1) as usize;
        let mut pairs = TopK::new(1 + observed_hours / HOURS_PER_PAIR_RANK);
        for k in first_hour + 1..=last_hour {
            pairs.push(usual(k - 1) + usual(k));
        }
        let largest_pair = pairs.kth().max(self.recent(t).1) as f64;
        let minutes = MINUTES_PER_HOUR + t.0.rem_euclid(MINUTES_PER_HOUR) + 1;
        let expected = b.rate * minutes as f64;
        let novelty =
            largest_pair + (cfg.novelty_min_extra as f64).max(cfg.novelty_margin * largest_pair);
        Some(SustainedGates {
            sum,
            peak: self.run_peak(t, count, unlearned),
            min_peak: sustained_min_peak(cfg),
            needed: novelty
                .max(cfg.min_ratio * expected)
                .max(cfg.sustained_events as f64),
            expected,
            alpha: cfg.start_alpha,
            minute_unusual: unusual(count, b.rate, cfg),
        })
    }

    /// The last insight's largest minute and two-hour events, if it Ended `REPEAT_MINUTES` or
    /// less before `t` (else zeros).
    fn recent(&self, t: Minute) -> (u64, u64) {
        match self.last_end {
            Some(e) if t.0 - e.0 <= REPEAT_MINUTES => (self.last_peak, self.last_pair),
            _ => (0, 0),
        }
    }

    /// Every gate of both Start rules at minute `t` for `count` events, to explain a decision
    /// (`None` during the warm-up).
    pub fn explain_start(
        &self,
        t: Minute,
        count: u64,
        unlearned: Unlearned,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<(StartGates, Option<SustainedGates>)> {
        let (mut gates, b) = self.cheap_gates(t, ctx, cfg)?;
        gates.burst_tail = self.tail_threshold(t, &b, cfg);
        let sustained = self.sustained_gates(t, count, unlearned, &b, ctx, cfg);
        Some((gates, sustained))
    }

    /// A still-open minute has `count` events so far: Start now if the evidence is already enough.
    /// `earlier_open`: the series' earlier open minutes (minute, events so far), in order, whose
    /// events `unlearned` sums; a Start reports the first unusual one of its run.
    #[allow(clippy::too_many_arguments)]
    pub fn observe_open_minute(
        &mut self,
        t: Minute,
        count: u64,
        unlearned: Unlearned,
        earlier_open: &[(Minute, u64)],
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        let open = self.last_closed.is_none_or(|c| t > c);
        if !open {
            return None;
        }
        let candidate = Candidate {
            t,
            count,
            unlearned,
            earlier_open,
        };
        self.maybe_start(candidate, attribution, ctx, cfg)
    }

    /// An open insight whose first minute is still open learns, from minutes a later file
    /// brought, that its run began earlier: Start it again from there (proven, as before, at
    /// `proving`, its events so far), replacing the earlier Start, so the date does not depend
    /// on the order the files arrived in. `earlier_open`: the series' open minutes before
    /// `proving`, in order; `attribution`: the proving minute's.
    pub fn redate_open_start(
        &mut self,
        proving: (Minute, u64),
        earlier_open: &[(Minute, u64)],
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        let ins = self.insight.as_ref()?;
        let start_open = self.last_closed.is_none_or(|c| ins.start > c);
        if !start_open || proving.0 != ins.last_hot {
            return None;
        }
        let (old, evidence) = (ins.start, ins.evidence);
        let candidate = Candidate {
            t: proving.0,
            count: proving.1,
            unlearned: Unlearned::default(),
            earlier_open,
        };
        if self.run_through(&candidate, ctx, cfg).0 >= old {
            return None;
        }
        let withheld = ins.withheld;
        self.insight = None;
        let mut start = self.begin(candidate, attribution, ctx, cfg);
        if let Some(ins) = self.insight.as_mut() {
            ins.evidence = ins.evidence.max(evidence);
        }
        self.mark_moved(&mut start, Some(old), withheld);
        Some(start)
    }

    /// `start` (just begun) moves the insight that began at `old`, if any: its file is to be
    /// withdrawn, and the insight keeps its verdict (a withheld one stays withheld, a reported
    /// one reported).
    fn mark_moved(&mut self, start: &mut Transition, old: Option<Minute>, withheld: bool) {
        start.replaces = old;
        start.withheld = withheld;
        if let Some(ins) = self.insight.as_mut() {
            ins.withheld = withheld;
        }
    }

    /// Start at `t` if the rule is met and no insight is open, or move an open insight's Start
    /// back to `t` when a late file shows the activity began earlier. That is only possible while
    /// none of the insight's minutes is closed (`t` is open, so every later minute is too), and
    /// the replaced Start is reported so its file can be withdrawn: the outcome is then the same
    /// whatever order the files arrived in.
    fn maybe_start(
        &mut self,
        c: Candidate<'_>,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        let (replaces, withheld) = match &self.insight {
            Some(ins) if c.t < ins.start => (Some(ins.start), ins.withheld),
            Some(_) => return None,
            None => (None, false),
        };
        if !self.meets_start_rule(c.t, c.count, c.unlearned, ctx, cfg) {
            return None;
        }
        let mut start = self.begin(c, attribution, ctx, cfg);
        self.mark_moved(&mut start, replaces, withheld);
        Some(start)
    }

    /// Where the run that minute `c.t` ends began, and its events: (first minute, events from
    /// there through `c.t`, events of those minutes already closed). A run that began before the
    /// previous clock hour (further back than the sustained rule's evidence) is reported from
    /// `c.t` itself.
    fn run_through(
        &self,
        c: &Candidate<'_>,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> (Minute, u64, u64) {
        let mut run = self.run;
        for &(m, n) in c.earlier_open {
            // As on closed minutes: nothing is unusual before the warm-up.
            let is_unusual = warm(m, ctx, cfg) && {
                let rate = self.detection_baseline(m, ctx, cfg).rate;
                unusual(n, rate, cfg)
            };
            run = Run::step(run, m, n, is_unusual, cfg);
        }
        let run = Run::step(run, c.t, c.count, true, cfg);
        let earliest = Minute((c.t.hour() - 1) * MINUTES_PER_HOUR);
        match run {
            Some(r) if r.first >= earliest => {
                let closed = self
                    .run
                    .filter(|closed| closed.first == r.first)
                    .map_or(0, |closed| closed.events + closed.pending);
                (r.first, r.events, closed)
            }
            _ => (c.t, c.count, 0),
        }
    }

    fn begin(
        &mut self,
        c: Candidate<'_>,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Transition {
        let Candidate {
            t,
            count,
            unlearned,
            ..
        } = c;
        let b = self.detection_baseline(t, ctx, cfg);
        let rate = b.rate;
        let evidence = self
            .sustained_gates(t, count, unlearned, &b, ctx, cfg)
            .map_or(0, |g| g.sum);
        let (first, run_events, closed_events) = self.run_through(&c, ctx, cfg);
        self.run = None;
        let window_start = Minute(first.day_start().0 - 7 * MINUTES_PER_DAY);
        let baseline_duration = if ctx.observed_since <= window_start {
            MINUTES_PER_WEEK + minute_of_day(first)
        } else {
            (first.0 - ctx.observed_since.0).max(1)
        };
        let baseline_count: u64 = self
            .hours
            .range(window_start.hour()..=first.hour())
            .map(|(_, s)| s.raw)
            .sum();
        let baseline_average = baseline_count as f64 / baseline_duration as f64;
        let mut baseline_attr = Attribution::default();
        for (_, a) in self
            .days
            .range(window_start.0 / MINUTES_PER_DAY..=t.0.div_euclid(MINUTES_PER_DAY))
        {
            baseline_attr.merge(a, INSIGHT_ATTRIBUTION_CAPACITY);
        }
        let baseline_attribution = rank(&baseline_attr, baseline_duration);
        let insight_attribution = rank(attribution, 1);
        let duration = t.0 - first.0 + 1;
        let start_average = run_events as f64 / duration as f64;
        self.insight = Some(OpenInsight {
            start: first,
            last_hot: t,
            quiet_run: 0,
            sum: closed_events,
            pending_sum: 0,
            rate,
            start_average,
            baseline_average,
            baseline_duration,
            baseline_attribution: baseline_attribution.clone(),
            attribution: Attribution::default(),
            pending_attribution: Attribution::default(),
            evidence,
            withheld: false,
        });
        Transition {
            phase: Phase::Start,
            start: first,
            event_time: first,
            insight_average: start_average,
            insight_duration: duration,
            baseline_average,
            baseline_duration,
            insight_attribution,
            baseline_attribution,
            accepted_as_normal: false,
            replaces: None,
            drop: false,
            withheld: false,
        }
    }

    /// Close minute `t` (in order, once) with its final count. Silent minutes before `t` are
    /// closed implicitly. Returns the End and/or Start this causes.
    pub fn close_minute(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Vec<Transition> {
        self.close(t, count, attribution, ctx, cfg, true)
    }

    /// Close minute `t` whose Start decision was already taken when it closed (a minute the
    /// engine deferred for a quiet series): learned like [`Self::close_minute`], never a Start.
    pub fn fold_minute(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Vec<Transition> {
        self.close(t, count, attribution, ctx, cfg, false)
    }

    fn close(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
        judge_start: bool,
    ) -> Vec<Transition> {
        if self.last_closed.is_some_and(|c| t <= c) {
            return Vec::new();
        }
        let mut out = self.close_silent_through(t.plus(-1), cfg);
        let candidate = Candidate {
            t,
            count,
            unlearned: Unlearned::default(),
            earlier_open: &[],
        };
        if judge_start && let Some(start) = self.maybe_start(candidate, attribution, ctx, cfg) {
            out.push(start);
        }
        if let Some(end) = self.learn(t, count, attribution, ctx, cfg) {
            out.push(end);
        }
        out.extend(self.drop.observe_range(&self.hours, t, t, count, cfg));
        self.last_closed = Some(t);
        self.prune(t);
        out
    }

    /// Close silent minutes up to and including `t`: they count as usual minutes for an insight,
    /// and as low minutes for the drop detector.
    pub fn close_silent_through(&mut self, t: Minute, cfg: &DetectorConfig) -> Vec<Transition> {
        let from = self.last_closed;
        if from.is_some_and(|c| t <= c) {
            return Vec::new();
        }
        let mut out: Vec<Transition> = self.close_silent_spike(from, t, cfg).into_iter().collect();
        if let Some(first) = from.map(|c| c.plus(1)) {
            out.extend(self.drop.observe_range(&self.hours, first, t, 0, cfg));
        }
        out
    }

    fn close_silent_spike(
        &mut self,
        from: Option<Minute>,
        t: Minute,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        self.last_closed = Some(t);
        let ins = self.insight.as_mut()?;
        let first_silent = from.map_or(ins.start, |c| c.plus(1)).max(ins.start);
        if t < first_silent {
            return None;
        }
        let silent = (t.0 - first_silent.0 + 1) as u32;
        ins.quiet_run = ins.quiet_run.saturating_add(silent);
        if ins.quiet_run >= cfg.end_quiet_minutes {
            return self.end(false);
        }
        None
    }

    fn advance_insight(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        let ins = self.insight.as_mut()?;
        let rate = ins.rate;
        // Minutes up to the one that proved the Start belong to the insight's run.
        if t <= ins.last_hot || unusual(count, rate, cfg) {
            ins.sum += ins.pending_sum + count;
            ins.pending_sum = 0;
            let pending = std::mem::take(&mut ins.pending_attribution);
            ins.attribution
                .merge(&pending, INSIGHT_ATTRIBUTION_CAPACITY);
            ins.attribution
                .merge(attribution, INSIGHT_ATTRIBUTION_CAPACITY);
            ins.last_hot = ins.last_hot.max(t);
            ins.quiet_run = 0;
        } else {
            ins.pending_sum += count;
            ins.pending_attribution
                .merge(attribution, INSIGHT_ATTRIBUTION_CAPACITY);
            ins.quiet_run += 1;
        }
        if ins.quiet_run >= cfg.end_quiet_minutes {
            return self.end(false);
        }
        if t.0 - ins.start.0 + 1 >= i64::from(cfg.max_insight_hours) * MINUTES_PER_HOUR {
            return self.end(true);
        }
        None
    }

    /// Close the open insight (if any) and describe its End.
    fn end(&mut self, accept: bool) -> Option<Transition> {
        let ins = self.insight.take()?;
        self.last_end = Some(ins.last_hot.plus(1));
        let last = ins.last_hot.hour();
        let held = |k: i64| self.hours.get(&k).map_or((0, 0), |s| (s.held, s.held_max));
        self.last_peak = held(last).1.max(held(last - 1).1);
        self.last_pair = (held(last).0 + held(last - 1).0).max(ins.evidence);
        let duration = ins.last_hot.0 - ins.start.0 + 1;
        for (_, slot) in self.hours.range_mut(ins.start.hour()..) {
            if accept {
                slot.clipped += slot.held;
                slot.max = slot.max.max(slot.held_max);
            }
            slot.held = 0;
            slot.held_max = 0;
        }
        Some(Transition {
            phase: Phase::End,
            start: ins.start,
            event_time: ins.last_hot.plus(1),
            insight_average: ins.sum as f64 / duration as f64,
            insight_duration: duration,
            baseline_average: ins.baseline_average,
            baseline_duration: ins.baseline_duration,
            insight_attribution: rank(&ins.attribution, duration),
            baseline_attribution: ins.baseline_attribution,
            accepted_as_normal: accept,
            replaces: None,
            drop: false,
            withheld: ins.withheld,
        })
    }

    /// Events that arrived after their minute closed: learned like any other minute's, but the
    /// decisions already made stand.
    pub fn add_late(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) {
        if self
            .last_closed
            .is_some_and(|c| t.hour() > c.hour() - RING_HOURS)
        {
            let in_insight = self.insight.as_ref().is_some_and(|i| t >= i.start);
            if in_insight {
                self.hold(t, count);
            } else {
                self.learn_usual(t, count, ctx, cfg);
            }
            self.add_day_attribution(t, attribution);
        }
    }

    /// Add a closed minute to the baseline, or to the open insight it belongs to.
    fn learn(
        &mut self,
        t: Minute,
        count: u64,
        attribution: &Attribution,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        self.add_day_attribution(t, attribution);
        let in_insight = self.insight.as_ref().is_some_and(|i| t >= i.start);
        if in_insight {
            self.hold(t, count);
            self.advance_insight(t, count, attribution, cfg)
        } else {
            let rate = self.learn_usual(t, count, ctx, cfg);
            let is_unusual = rate.is_some_and(|rate| unusual(count, rate, cfg));
            self.run = Run::step(self.run, t, count, is_unusual, cfg);
            None
        }
    }

    fn add_day_attribution(&mut self, t: Minute, attribution: &Attribution) {
        let day = t.0.div_euclid(MINUTES_PER_DAY);
        self.days
            .entry(day)
            .or_default()
            .merge(attribution, DAY_ATTRIBUTION_CAPACITY);
    }

    /// An insight's minute: counted in the reported baseline, held back from detection.
    fn hold(&mut self, t: Minute, count: u64) {
        let slot = self.hours.entry(t.hour()).or_default();
        slot.raw += count;
        slot.held += count;
        slot.held_max = slot.held_max.max(count);
    }

    /// `count` as one minute at `t` adds to the winsorised (`clipped`) sums: at most what the
    /// series has already done, or a Poisson 99.9% quantile, whichever is larger. The cap is the
    /// same for every minute of an hour (it depends only on the detection window) and never
    /// below 4 (3 plus a positive rate, rounded up), so smaller counts skip the window scan.
    pub fn winsorise(&self, t: Minute, count: u64, ctx: TrailContext, cfg: &DetectorConfig) -> u64 {
        if count <= LOWEST_CAP || !warm(t, ctx, cfg) {
            return count;
        }
        winsorised(count, &self.detection_baseline(t, ctx, cfg))
    }

    /// Learn a usual minute; returns the detection rate at `t` when the minute could be unusual
    /// (so it is judged on the baseline computed once here), `None` when it cannot.
    fn learn_usual(
        &mut self,
        t: Minute,
        count: u64,
        ctx: TrailContext,
        cfg: &DetectorConfig,
    ) -> Option<f64> {
        // Winsorise what is learned at what the series has already done (or a Poisson 99.9%
        // quantile), so a near-miss spike cannot drag the baseline up quickly. Until the trail is
        // warm there is nothing to compare with, so everything is learned.
        let needs_baseline = count > LOWEST_CAP.min(cfg.end_min_count.saturating_sub(1));
        let b = (needs_baseline && warm(t, ctx, cfg)).then(|| self.detection_baseline(t, ctx, cfg));
        let clipped = match &b {
            Some(b) if count > LOWEST_CAP => winsorised(count, b),
            _ => count,
        };
        let slot = self.hours.entry(t.hour()).or_default();
        slot.raw += count;
        slot.clipped += clipped;
        slot.max = slot.max.max(count);
        b.map(|b| b.rate)
    }

    fn prune(&mut self, t: Minute) {
        let oldest_hour = t.hour() - RING_HOURS;
        self.hours = self.hours.split_off(&oldest_hour);
        let oldest_day = t.0.div_euclid(MINUTES_PER_DAY) - 9;
        self.days = self.days.split_off(&oldest_day);
    }
}

/// Top values per dimension, as per-minute averages over `minutes`.
pub fn rank(a: &Attribution, minutes: i64) -> RankedAttribution {
    let per_minute = |t: &TopCounts| -> Ranked {
        t.top(TOP_N)
            .into_iter()
            .map(|(v, c)| (v, c as f64 / minutes.max(1) as f64))
            .collect()
    };
    RankedAttribution {
        callers: per_minute(&a.callers),
        agents: per_minute(&a.agents),
        errors: per_minute(&a.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg() -> DetectorConfig {
        Config::default().detector
    }

    fn ctx() -> TrailContext {
        TrailContext {
            observed_since: Minute(0),
        }
    }

    fn attr(n: u64) -> Attribution {
        let mut a = Attribution::default();
        for _ in 0..n {
            a.add("arn:aws:iam::1:user/a", "cli", Some("null"), 16);
        }
        a
    }

    /// Feed `minutes` of history with `per_minute(t)` events, closing each minute.
    fn history(
        s: &mut SeriesState,
        from: i64,
        to: i64,
        per_minute: impl Fn(i64) -> u64,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        for t in from..to {
            let c = per_minute(t);
            if c > 0 {
                out.extend(s.close_minute(Minute(t), c, &attr(c), ctx(), &cfg()));
            }
        }
        out
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        assert!((poisson_tail(1, 0.002) - 0.001998).abs() < 1e-5);
        assert!(poisson_tail(6, 0.002) < 1e-17);
        assert_eq!(poisson_tail(0, 5.0), 1.0);
        assert!((poisson_tail(10, 1.0) - 1.114e-7).abs() < 1e-9);
    }

    #[test]
    fn sparse_series_starts_on_a_burst_not_on_single_calls() {
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        let t = history(&mut s, 0, start, |t| u64::from(t % 500 == 0));
        assert!(t.is_empty(), "single calls never fire: {t:?}");
        let burst = Minute(start + 10);
        assert!(
            s.close_minute(Minute(start + 5), 6, &attr(6), ctx(), &cfg())
                .is_empty(),
            "6 events in one minute, then silence: below SINGLE_MINUTE_COUNT"
        );
        let got = s.close_minute(burst, 12, &attr(12), ctx(), &cfg());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].phase, Phase::Start);
        // The unusual activity began with the 6 (an insight started there would still be open
        // at the burst): the Start reports that minute, and the run's events.
        let began = Minute(start + 5);
        assert_eq!(got[0].event_time, began);
        assert_eq!((got[0].insight_duration, got[0].insight_average), (6, 3.0));
        let b = &got[0];
        assert_eq!(b.baseline_duration, MINUTES_PER_WEEK + minute_of_day(began));
        let expected: u64 = (0..start + 10)
            .filter(|t| *t >= began.day_start().0 - 7 * MINUTES_PER_DAY && t % 500 == 0)
            .count() as u64
            + 6;
        assert!((b.baseline_average - expected as f64 / b.baseline_duration as f64).abs() < 1e-12);
    }

    #[test]
    fn end_after_quiet_minutes_with_duration_and_average() {
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        history(&mut s, 0, start, |t| u64::from(t % 300 == 0));
        let mut out = Vec::new();
        for (i, c) in [14u64, 12, 7].iter().enumerate() {
            out.extend(s.close_minute(Minute(start + i as i64), *c, &attr(*c), ctx(), &cfg()));
        }
        assert_eq!(out.len(), 1);
        assert!(s.close_silent_through(Minute(start + 6), &cfg()).is_empty());
        let end = s
            .close_silent_through(Minute(start + 7), &cfg())
            .pop()
            .expect("End after 5 quiet");
        assert_eq!(end.phase, Phase::End);
        assert_eq!(end.start, Minute(start));
        assert_eq!(end.event_time, Minute(start + 3));
        assert_eq!(end.insight_duration, 3);
        assert!((end.insight_average - 11.0).abs() < 1e-12);
        assert_eq!(end.baseline_average, out[0].baseline_average);
        assert!((end.insight_attribution.callers[0].1 - 11.0).abs() < 1e-12);
        assert!(s.insight.is_none());
    }

    #[test]
    fn hourly_cron_does_not_fire() {
        let mut s = SeriesState::default();
        let t = history(&mut s, 0, 14 * MINUTES_PER_DAY, |t| {
            if t % 60 == 17 { 10 } else { 0 }
        });
        assert!(t.is_empty(), "{t:?}");
    }

    #[test]
    fn nothing_during_warm_up() {
        let mut s = SeriesState::default();
        let t = s.close_minute(Minute(60), 500, &attr(1), ctx(), &cfg());
        assert!(t.is_empty());
    }

    #[test]
    fn open_minute_starts_early_and_close_does_not_repeat() {
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        history(&mut s, 0, start, |t| u64::from(t % 1000 == 0));
        assert!(
            s.observe_open_minute(
                Minute(start),
                2,
                Unlearned::default(),
                &[],
                &attr(2),
                ctx(),
                &cfg()
            )
            .is_none()
        );
        let st = s
            .observe_open_minute(
                Minute(start),
                13,
                Unlearned::default(),
                &[],
                &attr(13),
                ctx(),
                &cfg(),
            )
            .unwrap();
        assert_eq!(st.insight_average, 13.0);
        assert!(
            s.observe_open_minute(
                Minute(start),
                14,
                Unlearned::default(),
                &[],
                &attr(14),
                ctx(),
                &cfg()
            )
            .is_none()
        );
        let closed = s.close_minute(Minute(start), 14, &attr(14), ctx(), &cfg());
        assert!(closed.is_empty());
        let end = s.close_silent_through(Minute(start + 5), &cfg()).remove(0);
        assert_eq!(
            end.insight_average, 14.0,
            "End uses the final count of the closed minute"
        );
    }

    #[test]
    fn a_late_earlier_minute_moves_the_start_back() {
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        history(&mut s, 0, start, |t| u64::from(t % 1000 == 0));
        let first = s
            .observe_open_minute(
                Minute(start + 1),
                20,
                Unlearned::default(),
                &[],
                &attr(20),
                ctx(),
                &cfg(),
            )
            .unwrap();
        assert_eq!(first.replaces, None);
        let moved = s
            .observe_open_minute(
                Minute(start),
                20,
                Unlearned::default(),
                &[],
                &attr(20),
                ctx(),
                &cfg(),
            )
            .unwrap();
        assert_eq!(moved.start, Minute(start));
        assert_eq!(moved.replaces, Some(Minute(start + 1)));
        assert!(
            s.observe_open_minute(
                Minute(start),
                25,
                Unlearned::default(),
                &[],
                &attr(25),
                ctx(),
                &cfg()
            )
            .is_none()
        );
        s.close_minute(Minute(start), 20, &attr(20), ctx(), &cfg());
        s.close_minute(Minute(start + 1), 20, &attr(20), ctx(), &cfg());
        let end = s.close_silent_through(Minute(start + 6), &cfg()).remove(0);
        assert_eq!(
            (end.start, end.insight_duration, end.insight_average),
            (Minute(start), 2, 20.0)
        );
    }

    #[test]
    fn level_shift_gives_one_insight_then_is_accepted() {
        let mut s = SeriesState::default();
        let shift = 8 * MINUTES_PER_DAY;
        let t = history(&mut s, 0, shift + 3 * MINUTES_PER_DAY, |t| {
            if t < shift {
                u64::from(t % 100 == 0)
            } else {
                20
            }
        });
        let starts = t.iter().filter(|x| x.phase == Phase::Start).count();
        assert_eq!(starts, 1, "{t:?}");
        let ends: Vec<_> = t.iter().filter(|x| x.phase == Phase::End).collect();
        assert_eq!(ends.len(), 1);
        assert!(ends[0].accepted_as_normal);
    }

    /// Daily two-minute bursts of 8 + 8 and a call every 500 minutes, for 8 days.
    fn bursty_history(s: &mut SeriesState) -> i64 {
        let start = 8 * MINUTES_PER_DAY;
        history(s, 0, start, |t| {
            let in_day = t % MINUTES_PER_DAY;
            if in_day == 600 || in_day == 601 {
                8
            } else {
                u64::from(t % 500 == 0)
            }
        });
        start
    }

    #[test]
    fn a_sustained_run_starts_and_a_usual_burst_does_not() {
        let mut s = SeriesState::default();
        let start = bursty_history(&mut s);
        let mut out = Vec::new();
        for (i, c) in [8u64, 8].iter().enumerate() {
            out.extend(s.close_minute(
                Minute(start + 100 + i as i64),
                *c,
                &attr(*c),
                ctx(),
                &cfg(),
            ));
        }
        assert!(out.is_empty(), "a burst like every day's: {out:?}");
        // Six a minute (below SINGLE_MINUTE_COUNT) for 20 minutes, three hours later.
        let run = start + 300;
        for i in 0..20 {
            out.extend(s.close_minute(Minute(run + i), 6, &attr(6), ctx(), &cfg()));
        }
        out.extend(s.close_silent_through(Minute(run + 30), &cfg()));
        let phases: Vec<_> = out.iter().map(|t| (t.phase, t.start)).collect();
        assert_eq!(phases.len(), 2, "{phases:?}");
        assert_eq!(phases[0].0, Phase::Start);
        // Started once the run is evidence enough, reported from the run's first minute.
        assert_eq!(phases[0].1, Minute(run), "{phases:?}");
        assert!(out[0].insight_duration > 1 && out[0].insight_duration < 10);
        assert_eq!(out[0].insight_average, 6.0);
        assert_eq!(out[1].phase, Phase::End);
        assert_eq!(out[1].event_time, Minute(run + 20));
        assert_eq!((out[1].insight_duration, out[1].insight_average), (20, 6.0));

        // The same run with the rule off: nothing.
        let off = DetectorConfig {
            sustained_events: 0,
            ..cfg()
        };
        let mut s = SeriesState::default();
        let start = bursty_history(&mut s);
        let got: Vec<_> = (0..20)
            .flat_map(|i| s.close_minute(Minute(start + 300 + i), 6, &attr(6), ctx(), &off))
            .collect();
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn a_fading_spike_starts_on_its_tail_and_a_two_a_minute_plateau_does_not() {
        // One call every 500 minutes, then 6, 4, 1, 3, 2, …: no minute proves it and the loud
        // ones come before the run has the events; the Start comes on the tail.
        let fading = [6u64, 4, 1, 3, 2, 1, 1, 2];
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        history(&mut s, 0, start, |t| u64::from(t % 500 == 0));
        let run = start + 100;
        let out: Vec<_> = fading
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| s.close_minute(Minute(run + i as i64), c, &attr(c), ctx(), &cfg()))
            .collect();
        let starts: Vec<_> = out.iter().filter(|t| t.phase == Phase::Start).collect();
        assert_eq!(starts.len(), 1, "{out:?}");
        // Winsorised (6 counts as 4), the run has 14 events at +4 and 18 at +7, the next
        // minute with more than one call: proven there, reported from the run's first minute.
        assert_eq!(starts[0].start, Minute(run));
        assert_eq!(
            (starts[0].insight_duration, starts[0].insight_average),
            (8, 20.0 / 8.0)
        );

        // Two a minute for 20 minutes: more events, but no minute reaches SUSTAINED_MIN_PEAK.
        let mut s = SeriesState::default();
        history(&mut s, 0, start, |t| u64::from(t % 500 == 0));
        let got: Vec<_> = (0..20)
            .flat_map(|i| s.close_minute(Minute(run + i), 2, &attr(2), ctx(), &cfg()))
            .collect();
        assert!(got.is_empty(), "{got:?}");
        // Three a minute: an hour-long rise of a sparse series (as hourly counts spread over
        // their minutes look) Starts.
        let mut s = SeriesState::default();
        history(&mut s, 0, start, |t| u64::from(t % 500 == 0));
        let got: Vec<_> = (0..20)
            .flat_map(|i| s.close_minute(Minute(run + i), 3, &attr(3), ctx(), &cfg()))
            .filter(|t| t.phase == Phase::Start)
            .collect();
        assert_eq!(got.len(), 1, "{got:?}");
    }

    #[test]
    fn unlearned_minutes_weigh_as_learned_ones() {
        // The engine judges a quiet series without learning its closed minutes until the hour
        // ends, passing their winsorised sum instead: every decision must be the same.
        let mut learned = SeriesState::default();
        let start = bursty_history(&mut learned);
        let deferred = learned.clone();
        let run = start + 300;
        let mut unlearned = Unlearned::default();
        let mut decisions = Vec::new();
        for i in 0..20 {
            let t = Minute(run + i);
            let c = 3 + (i as u64 % 4);
            let a = learned.meets_start_rule(t, c, Unlearned::default(), ctx(), &cfg());
            let b = deferred.meets_start_rule(t, c, unlearned, ctx(), &cfg());
            assert_eq!(a, b, "minute {i}: {unlearned:?} unlearned");
            decisions.push(a);
            if a {
                break;
            }
            learned.close_minute(t, c, &attr(c), ctx(), &cfg());
            unlearned.add(c, deferred.winsorise(t, c, ctx(), &cfg()));
        }
        assert_eq!(
            decisions.last(),
            Some(&true),
            "the run Starts: {decisions:?}"
        );
        assert!(decisions.len() > 1, "not on its first minute");
    }

    #[test]
    fn the_same_level_soon_after_an_end_is_not_a_new_insight() {
        let mut s = SeriesState::default();
        let start = 8 * MINUTES_PER_DAY;
        history(&mut s, 0, start, |t| u64::from(t % 500 == 0));
        let at = |s: &mut SeriesState, minute: i64, count: u64| {
            let mut out = s.close_minute(Minute(minute), count, &attr(count), ctx(), &cfg());
            out.extend(s.close_silent_through(Minute(minute + 10), &cfg()));
            out.iter().map(|t| t.phase).collect::<Vec<_>>()
        };
        assert_eq!(at(&mut s, start, 20), [Phase::Start, Phase::End]);
        assert_eq!(
            at(&mut s, start + 60, 20),
            [],
            "the same level an hour later"
        );
        assert_eq!(
            at(&mut s, start + 120, 40),
            [Phase::Start, Phase::End],
            "a larger spike is news"
        );
        assert_eq!(
            at(&mut s, start + 130 + REPEAT_MINUTES, 20),
            [Phase::Start, Phase::End],
            "the first level again, long after"
        );
    }

    #[test]
    fn state_is_bounded() {
        let mut s = SeriesState::default();
        history(&mut s, 0, 30 * MINUTES_PER_DAY, |t| t.rem_euclid(7) as u64);
        assert!(s.hours.len() as i64 <= RING_HOURS + 1);
        assert!(s.days.len() <= 10);
        let bytes = serde_json::to_vec(&s).unwrap().len();
        assert!(bytes < 32 * 1024, "{bytes}");
    }
}
