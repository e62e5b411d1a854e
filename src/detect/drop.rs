//! The drop detector (opt-in, `DROP_INSIGHTS`): a busy API falls silent. A health check, a log
//! shipper or a replication job that stops calling is as much news as a spike, and AWS's Insights
//! only report rises.
//!
//! Rule, on closed minutes only (so the decision does not depend on the order files arrive in):
//! - the API is **busy** at minute `t` if it made at least `DROP_MIN_RATE` calls per minute in
//!   the same hour of the day on **each** of the last 7 days (the smallest of those 7 hours is
//!   the expected rate; a weekday-only or night-silent API is never busy when it is usually quiet,
//!   and nothing is busy in a trail's first week);
//! - a busy minute is **low** when it has at most [`LOW_FRACTION`] of the expected rate;
//! - `DROP_MINUTES` consecutive low minutes Start a drop insight, dated at the first of them;
//! - `END_QUIET_MINUTES` consecutive busy minutes above the low line End it, dated after the last
//!   low minute; minutes of hours that are not busy count neither way. A drop open for
//!   `MAX_INSIGHT_HOURS` is ended.
//!
//! Records are marked with the extension `"trailInsights": {"direction": "Drop"}`; the insight
//! average is below the baseline average.

use crate::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, MINUTES_PER_WEEK, Minute};
use crate::detect::detector::{HourSlot, Phase, RankedAttribution, Transition};
use crate::detect::settings::DetectorConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A busy minute is low at or below this fraction of its expected rate.
pub const LOW_FRACTION: f64 = 0.1;

/// The drop detector's state for one series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DropState {
    /// Consecutive low minutes not (yet) long enough to be a drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_run: Option<LowRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenDrop>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowRun {
    pub start: Minute,
    pub minutes: u32,
    /// Events in the run's minutes.
    pub sum: u64,
    /// Sum of the expected rates of the run's minutes.
    pub expected: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenDrop {
    pub start: Minute,
    pub last_low: Minute,
    /// Events and expected events in `[start, last_low]`.
    pub sum: u64,
    pub expected: f64,
    /// Busy minutes above the low line since `last_low`, and their events and expectation.
    pub usual_run: u32,
    pub pending_sum: u64,
    pub pending_expected: f64,
}

/// The expected per-minute rate at `t` if the series is busy then: the smallest hourly count at
/// this hour of the day over the last 7 days, per minute; 0 if any of those hours was quiet.
pub fn expected_rate(hours: &BTreeMap<i64, HourSlot>, t: Minute) -> f64 {
    let hour = t.hour();
    let mut least = u64::MAX;
    for day in 1..=7 {
        let raw = hours.get(&(hour - 24 * day)).map_or(0, |s| s.raw);
        least = least.min(raw);
        if least == 0 {
            return 0.0;
        }
    }
    least as f64 / MINUTES_PER_HOUR as f64
}

/// Whether any hour kept in `hours` was busy enough that a drop could be detected later: the
/// engine then checks the series on minutes without events.
pub fn worth_watching(hours: &BTreeMap<i64, HourSlot>, cfg: &DetectorConfig) -> bool {
    let busy_hour = cfg.drop_min_rate * MINUTES_PER_HOUR as f64;
    cfg.drop_insights && hours.values().any(|s| s.raw as f64 >= busy_hour)
}

impl DropState {
    pub fn is_idle(&self) -> bool {
        self.low_run.is_none() && self.open.is_none()
    }

    /// Judge closed minutes `from..=to`, all with `count` events (0 for a silent stretch).
    /// Hours that are not busy are skipped whole, so a long silent gap costs one lookup per hour.
    pub fn observe_range(
        &mut self,
        hours: &BTreeMap<i64, HourSlot>,
        from: Minute,
        to: Minute,
        count: u64,
        cfg: &DetectorConfig,
    ) -> Vec<Transition> {
        let mut out = Vec::new();
        if !cfg.drop_insights || to < from {
            return out;
        }
        // Nothing older than the baseline ring can be busy.
        let mut t = from.max(to.plus(-9 * MINUTES_PER_DAY));
        while t <= to {
            let rate = expected_rate(hours, t);
            let hour_end = Minute((t.hour() + 1) * MINUTES_PER_HOUR).plus(-1).min(to);
            if rate < cfg.drop_min_rate {
                // Neither low nor usual: a run of low minutes is broken, an open drop waits
                // (up to MAX_INSIGHT_HOURS: a day of silence makes the API not busy any more).
                self.low_run = None;
                if self
                    .open
                    .as_ref()
                    .is_some_and(|o| too_long(o, hour_end, cfg))
                {
                    out.extend(self.end(true));
                }
                t = hour_end.plus(1);
                continue;
            }
            while t <= hour_end {
                out.extend(self.observe(t, count, rate, cfg));
                if self.is_idle() && count as f64 > LOW_FRACTION * rate {
                    // Usual minutes with nothing open: the rest of the hour changes nothing.
                    t = hour_end;
                }
                t = t.plus(1);
            }
        }
        out
    }

    /// One busy closed minute `t` with `count` events against `rate` expected.
    fn observe(
        &mut self,
        t: Minute,
        count: u64,
        rate: f64,
        cfg: &DetectorConfig,
    ) -> Option<Transition> {
        let low = count as f64 <= LOW_FRACTION * rate;
        if let Some(open) = self.open.as_mut() {
            if low {
                open.sum += open.pending_sum + count;
                open.expected += open.pending_expected + rate;
                open.pending_sum = 0;
                open.pending_expected = 0.0;
                open.last_low = t;
                open.usual_run = 0;
            } else {
                open.pending_sum += count;
                open.pending_expected += rate;
                open.usual_run += 1;
            }
            let too_long = too_long(open, t, cfg);
            if open.usual_run >= cfg.end_quiet_minutes || too_long {
                return self.end(too_long);
            }
            return None;
        }
        if !low {
            self.low_run = None;
            return None;
        }
        let run = self.low_run.get_or_insert(LowRun {
            start: t,
            minutes: 0,
            sum: 0,
            expected: 0.0,
        });
        run.minutes += 1;
        run.sum += count;
        run.expected += rate;
        if run.minutes < cfg.drop_minutes {
            return None;
        }
        let run = self.low_run.take()?;
        self.open = Some(OpenDrop {
            start: run.start,
            last_low: t,
            sum: run.sum,
            expected: run.expected,
            usual_run: 0,
            pending_sum: 0,
            pending_expected: 0.0,
        });
        let minutes = f64::from(run.minutes);
        Some(transition(
            Phase::Start,
            run.start,
            run.start,
            run.sum as f64 / minutes,
            i64::from(run.minutes),
            run.expected / minutes,
            false,
        ))
    }

    fn end(&mut self, accepted: bool) -> Option<Transition> {
        let open = self.open.take()?;
        let duration = open.last_low.0 - open.start.0 + 1;
        Some(transition(
            Phase::End,
            open.start,
            open.last_low.plus(1),
            open.sum as f64 / duration as f64,
            duration,
            open.expected / duration as f64,
            accepted,
        ))
    }
}

fn too_long(open: &OpenDrop, t: Minute, cfg: &DetectorConfig) -> bool {
    t.0 - open.start.0 + 1 >= i64::from(cfg.max_insight_hours) * MINUTES_PER_HOUR
}

fn transition(
    phase: Phase,
    start: Minute,
    event_time: Minute,
    insight_average: f64,
    insight_duration: i64,
    baseline_average: f64,
    accepted_as_normal: bool,
) -> Transition {
    Transition {
        phase,
        start,
        event_time,
        insight_average,
        insight_duration,
        baseline_average,
        // The expected rate is the least of the same hour over 7 days.
        baseline_duration: MINUTES_PER_WEEK,
        insight_attribution: RankedAttribution::default(),
        baseline_attribution: RankedAttribution::default(),
        accepted_as_normal,
        replaces: None,
        drop: true,
        withheld: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn cfg() -> DetectorConfig {
        let mut c = Config::default().detector;
        c.drop_insights = true;
        c
    }

    /// 8 days of `per_hour` events every hour, except hours where `quiet(hour)`.
    fn ring(per_hour: u64, quiet: impl Fn(i64) -> bool) -> BTreeMap<i64, HourSlot> {
        (0..8 * 24)
            .filter(|h| !quiet(*h))
            .map(|h| {
                (
                    h,
                    HourSlot {
                        raw: per_hour,
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    const DAY8: i64 = 8 * MINUTES_PER_DAY;

    #[test]
    fn a_busy_api_falling_silent_starts_and_ends_a_drop() {
        let hours = ring(600, |_| false); // 10 a minute
        let mut d = DropState::default();
        let silent_from = Minute(DAY8 + 10 * MINUTES_PER_HOUR + 5);
        // Usual minutes, then 14 silent ones: not yet.
        assert!(
            d.observe_range(&hours, Minute(DAY8 + 600), silent_from.plus(-1), 10, &cfg())
                .is_empty()
        );
        assert!(
            d.observe_range(&hours, silent_from, silent_from.plus(13), 0, &cfg())
                .is_empty()
        );
        let start = d.observe_range(
            &hours,
            silent_from.plus(14),
            silent_from.plus(14),
            0,
            &cfg(),
        );
        assert_eq!(start.len(), 1, "{start:?}");
        let s = &start[0];
        assert_eq!(
            (s.phase, s.start, s.event_time),
            (Phase::Start, silent_from, silent_from)
        );
        assert_eq!(
            (s.insight_average, s.insight_duration, s.baseline_average),
            (0.0, 15, 10.0)
        );
        assert!(s.drop);
        // Silent for another hour, then back: End after END_QUIET_MINUTES usual minutes.
        let back = silent_from.plus(75);
        assert!(
            d.observe_range(&hours, silent_from.plus(15), back.plus(-1), 0, &cfg())
                .is_empty()
        );
        let mut out = Vec::new();
        for m in 0..5 {
            out.extend(d.observe_range(&hours, back.plus(m), back.plus(m), 9, &cfg()));
        }
        assert_eq!(out.len(), 1);
        let e = &out[0];
        assert_eq!(
            (e.phase, e.start, e.event_time, e.insight_duration),
            (Phase::End, silent_from, back, 75)
        );
        assert!(!e.accepted_as_normal);
        assert!(d.is_idle());
    }

    #[test]
    fn quiet_hours_weekly_gaps_sparse_series_and_the_switch_raise_nothing() {
        let t = Minute(DAY8 + 3 * MINUTES_PER_HOUR);
        // Silent every night at 03:00: never busy then.
        let nightly = ring(600, |h| h % 24 == 3);
        let mut d = DropState::default();
        assert!(
            d.observe_range(&nightly, t, t.plus(59), 0, &cfg())
                .is_empty()
        );
        // Silent one day last week at this hour (a weekend): not busy either.
        let weekly = ring(600, |h| h / 24 == 2 && h % 24 == 3);
        assert!(
            d.observe_range(&weekly, t, t.plus(59), 0, &cfg())
                .is_empty()
        );
        // Below DROP_MIN_RATE (1 a minute vs 5).
        let sparse = ring(60, |_| false);
        assert!(
            d.observe_range(&sparse, t, t.plus(59), 0, &cfg())
                .is_empty()
        );
        // Busy, but the detector is off.
        let busy = ring(600, |_| false);
        assert!(
            d.observe_range(&busy, t, t.plus(59), 0, &Config::default().detector)
                .is_empty()
        );
        assert!(d.is_idle());
        // A dip to 2 of 10 a minute is not low (10%: at most 1).
        assert!(d.observe_range(&busy, t, t.plus(59), 2, &cfg()).is_empty());
        assert_eq!(d.observe_range(&busy, t, t.plus(59), 1, &cfg()).len(), 1);
        assert!(worth_watching(&busy, &cfg()) && !worth_watching(&sparse, &cfg()));
    }

    #[test]
    fn a_drop_lasting_max_insight_hours_is_ended_and_accepted() {
        let hours = ring(600, |_| false);
        let mut d = DropState::default();
        let t = Minute(DAY8);
        let out = d.observe_range(&hours, t, t.plus(24 * 60), 0, &cfg());
        let phases: Vec<_> = out
            .iter()
            .map(|x| (x.phase, x.accepted_as_normal))
            .collect();
        assert_eq!(phases, [(Phase::Start, false), (Phase::End, true)]);
    }
}
