//! The Start/End decision for one series, on its own state: pure data in, data out.
//!
//! Baseline: an hourly ring over the last 9 days holding, per hour, the raw count (for the
//! reported `baseline.average`), a winsorised count and the largest minute (for detection), and
//! what was held back while an insight was open. Silent minutes cost nothing.
//!
//! Start (on the minute's count `c`, as soon as it meets every gate; counts only grow):
//! - the trail has been observed for the warm-up time (the same gates from then on);
//! - `c >= SINGLE_MINUTE_COUNT` and `c >= MIN_RATIO × rate`;
//! - novelty: `c >= M + max(2, NOVELTY_MARGIN × M)`, where `M` is a high-ranked hourly maximum in
//!   the window at the same hour of day ±1 or at any hour, whichever is larger (see
//!   `HOURS_PER_RANK`): cron jobs and daily peaks are not news;
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

/// A minute keeps an insight open only at this multiple of the baseline rate or more. (As a
/// knob, 1 and 4 gave the same numbers on both benchmarks within one false insight.)
const END_RATIO: f64 = 2.0;

/// A minute of `count` events is unusual at `rate` by the rule that keeps an insight open.
fn unusual(count: u64, rate: f64, cfg: &DetectorConfig) -> bool {
    count >= cfg.end_min_count
        && count as f64 >= END_RATIO * rate
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
    /// `SINGLE_MINUTE_COUNT`: a minute Starts on its own with at least this many events.
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
/// least 3 events. A long low plateau (a few calls a minute) is how deploy sessions look; a
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

mod baseline;
mod end;
mod start;

pub use baseline::poisson_tail;

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
