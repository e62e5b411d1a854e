//! Scoring predictions against the ground truth: event-level precision and recall, false
//! insights per series-week on normal traffic, delays, duration error, attribution, and level
//! shifts, stratified by baseline rate and by pattern.

use super::methods::Prediction;
use crate::base::time::{MINUTES_PER_HOUR, MINUTES_PER_WEEK};
use crate::synth::traffic::{Magnitude, Pattern, Traffic};
use std::collections::BTreeMap;

/// A prediction matches an injection if it overlaps it, extended by this grace after its end
/// (the End needs its quiet minutes, and a spike's tail may linger).
pub const GRACE_MINUTES: i64 = 10;

/// Baseline-rate strata (events per minute), as in the evaluation design.
pub const RATE_STRATA: [(&str, f64, f64); 5] = [
    ("< 0.01/min", 0.0, 0.01),
    ("0.01–0.1/min", 0.01, 0.1),
    ("0.1–1/min", 0.1, 1.0),
    ("1–10/min", 1.0, 10.0),
    ("≥ 10/min", 10.0, f64::INFINITY),
];

pub fn rate_stratum(rate: f64) -> &'static str {
    RATE_STRATA
        .iter()
        .find(|(_, lo, hi)| rate >= *lo && rate < *hi)
        .map_or("≥ 10/min", |s| s.0)
}

/// Detected / total.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Ratio {
    pub hit: u64,
    pub of: u64,
}

impl Ratio {
    pub fn value(&self) -> Option<f64> {
        (self.of > 0).then(|| self.hit as f64 / self.of as f64)
    }
    fn add(&mut self, hit: bool) {
        self.of += 1;
        self.hit += u64::from(hit);
    }
}

/// The target class of spikes (issue 4's recall target): at least this multiple of the usual
/// rate…
pub const TARGET_RATIO: f64 = 10.0;
/// …and at least this many events.
pub const TARGET_EVENTS: u64 = 20;

/// False insights and the series-weeks they fell in.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FalseRate {
    pub false_insights: u64,
    pub series_weeks: f64,
}

impl FalseRate {
    pub fn per_series_week(&self) -> f64 {
        if self.series_weeks > 0.0 {
            self.false_insights as f64 / self.series_weeks
        } else {
            0.0
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Score {
    pub predictions: usize,
    pub true_positives: u64,
    pub false_positives: u64,
    /// Extra predictions on an already-detected injection (flapping).
    pub duplicates: u64,
    pub recall_all: Ratio,
    /// The target class: at least `TARGET_RATIO` × the usual rate and `TARGET_EVENTS` extra events.
    pub recall_target: Ratio,
    pub recall_by_magnitude: BTreeMap<String, Ratio>,
    pub recall_by_duration: BTreeMap<u32, Ratio>,
    pub recall_by_kind: BTreeMap<&'static str, Ratio>,
    pub false_overall: FalseRate,
    pub false_by_rate: BTreeMap<&'static str, FalseRate>,
    pub false_by_pattern: BTreeMap<&'static str, FalseRate>,
    /// False insights over normal activity that is itself spike-like by the target class's
    /// measure (at least `TARGET_RATIO` × the series' mean rate and `TARGET_EVENTS` events
    /// during the insight): no per-series rule on counts can tell it from an injected spike.
    pub false_spike_like: BTreeMap<&'static str, u64>,
    /// Predicted start − true start, minutes, for detected injections…
    pub start_delays: Vec<i64>,
    /// …and by the injection's shape: a ramp's first minutes carry a small part of its peak.
    pub start_delays_by_shape: BTreeMap<&'static str, Vec<i64>>,
    /// Delivery time of the file that wrote the Start − true start (end-to-end runs).
    pub delivery_delays: Vec<i64>,
    /// |predicted end − true end|, minutes.
    pub end_errors: Vec<i64>,
    /// Injections with a new caller: that caller first / within the top 5 of the Start record.
    pub attribution_first: Ratio,
    pub attribution_top5: Ratio,
    /// Level shifts: insights raised per shift, and minutes from the shift until the last ended.
    pub shift_insights: Vec<u64>,
    pub shift_adaptation: Vec<i64>,
}

impl Score {
    pub fn precision(&self) -> Option<f64> {
        let all = self.true_positives + self.false_positives;
        (all > 0).then(|| self.true_positives as f64 / all as f64)
    }
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall_all.value()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

pub fn magnitude_label(m: Magnitude) -> String {
    match m {
        Magnitude::Times(f) => format!("×{f}"),
        Magnitude::Extra(e) => format!("+{e}/min"),
    }
}

/// Score `predictions` (any order) against the truth of `traffic`.
pub fn score(traffic: &Traffic, predictions: &[Prediction], warmup_hours: u32) -> Score {
    let mut s = Score {
        predictions: predictions.len(),
        ..Default::default()
    };
    let warm = traffic
        .scenario
        .start
        .plus(i64::from(warmup_hours) * MINUTES_PER_HOUR);
    // Indices of each series' predictions, in start order.
    let mut by_series: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, p) in predictions.iter().enumerate() {
        by_series.entry(p.series).or_default().push(i);
    }
    for v in by_series.values_mut() {
        v.sort_by_key(|&i| predictions[i].start);
    }
    let mut used = vec![false; predictions.len()];

    for inj in &traffic.injections {
        let (lo, hi) = (inj.start, inj.end().plus(GRACE_MINUTES));
        let matching: Vec<usize> = by_series
            .get(&inj.series)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| predictions[i].start < hi && predictions[i].end > lo)
                    .collect()
            })
            .unwrap_or_default();
        let detected = !matching.is_empty();
        s.recall_all.add(detected);
        if inj.ratio >= TARGET_RATIO && inj.events >= TARGET_EVENTS {
            s.recall_target.add(detected);
        }
        s.recall_by_magnitude
            .entry(magnitude_label(inj.magnitude))
            .or_default()
            .add(detected);
        s.recall_by_duration
            .entry(inj.minutes)
            .or_default()
            .add(detected);
        let kind = if traffic.series[inj.series].key.error_code.is_some() {
            "error rate"
        } else {
            "call rate"
        };
        s.recall_by_kind.entry(kind).or_default().add(detected);
        for &i in &matching {
            used[i] = true;
        }
        s.duplicates += matching.len().saturating_sub(1) as u64;
        if let Some(first) = matching.first().map(|&i| &predictions[i]) {
            s.true_positives += 1;
            s.start_delays.push(first.start.0 - inj.start.0);
            s.start_delays_by_shape
                .entry(inj.shape.label())
                .or_default()
                .push(first.start.0 - inj.start.0);
            if let Some(e) = first.emitted {
                s.delivery_delays.push(e.0 - inj.start.0);
            }
            let last = matching.last().map_or(first.end, |&i| predictions[i].end);
            s.end_errors.push((last.0 - inj.end().0).abs());
            if let Some(c) = &inj.new_caller
                && first.emitted.is_some()
            {
                s.attribution_first
                    .add(first.top_callers.first() == Some(c));
                s.attribution_top5.add(first.top_callers.contains(c));
            }
        }
    }

    // Level shifts: the first insight on the shifted series after the shift is acceptable.
    for shift in &traffic.shifts {
        let from = shift.at.plus(-MINUTES_PER_HOUR);
        let after: Vec<usize> = by_series
            .get(&shift.series)
            .map(|v| {
                v.iter()
                    .copied()
                    .filter(|&i| predictions[i].end > from)
                    .collect()
            })
            .unwrap_or_default();
        s.shift_insights.push(after.len() as u64);
        s.shift_adaptation.push(
            after
                .last()
                .map_or(0, |&i| (predictions[i].end.0 - shift.at.0).max(0)),
        );
        if let Some(&first) = after.first() {
            used[first] = true;
        }
    }

    // Everything else is a false insight, counted against the series' rate and pattern.
    let weeks = (traffic.scenario.end().0 - warm.0).max(0) as f64 / MINUTES_PER_WEEK as f64;
    for series in &traffic.series {
        s.false_overall.series_weeks += weeks;
        s.false_by_rate
            .entry(rate_stratum(series.mean_rate))
            .or_default()
            .series_weeks += weeks;
        s.false_by_pattern
            .entry(series.pattern.label())
            .or_default()
            .series_weeks += weeks;
    }
    for (i, p) in predictions.iter().enumerate() {
        if used[i] || p.start < warm {
            continue;
        }
        let series = &traffic.series[p.series];
        let span = (p.start.0 - traffic.scenario.start.0).max(0) as usize
            ..((p.end.0 - traffic.scenario.start.0).max(0) as usize).min(series.normal.len());
        let minutes = span.len().max(1) as f64;
        let events: u64 = series.normal[span].iter().map(|&c| u64::from(c)).sum();
        if events >= TARGET_EVENTS && events as f64 / minutes >= TARGET_RATIO * series.mean_rate {
            *s.false_spike_like
                .entry(series.pattern.label())
                .or_default() += 1;
        }
        s.false_positives += 1;
        s.false_overall.false_insights += 1;
        s.false_by_rate
            .entry(rate_stratum(series.mean_rate))
            .or_default()
            .false_insights += 1;
        s.false_by_pattern
            .entry(series.pattern.label())
            .or_default()
            .false_insights += 1;
    }
    s
}

/// The `q`-quantile of `v` (nearest rank), if any.
pub fn quantile(v: &[i64], q: f64) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_unstable();
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

pub fn all_patterns() -> [Pattern; 8] {
    [
        Pattern::Steady,
        Pattern::BusinessHours,
        Pattern::Cron,
        Pattern::Autoscaling,
        Pattern::Terraform,
        Pattern::Bursty,
        Pattern::LevelShift,
        Pattern::ThrottlingStorms,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::traffic::{Scenario, generate};

    #[test]
    fn false_insights_on_spike_like_normal_activity_are_told_apart() {
        let mut traffic = generate(&Scenario::small(3));
        let start = traffic.scenario.start;
        // A series without injections or shifts, late in the run (after the warm-up).
        let series = (0..traffic.series.len())
            .find(|&i| {
                !traffic.injections.iter().any(|inj| inj.series == i)
                    && !traffic.shifts.iter().any(|s| s.series == i)
            })
            .unwrap();
        let at = traffic.series[series].normal.len() - 600;
        let s = &mut traffic.series[series];
        s.normal[at..at + 600].fill(0);
        // Minutes at..+5: 10 events each, far above the series' mean (a spike by its counts).
        s.normal[at..at + 5].fill(10);
        let prediction = |from: usize, to: usize| Prediction {
            series,
            start: start.plus(from as i64),
            end: start.plus(to as i64),
            emitted: None,
            top_callers: Vec::new(),
        };
        let predictions = [prediction(at, at + 5), prediction(at + 300, at + 305)];
        let sc = score(&traffic, &predictions, 36);
        assert_eq!(sc.false_positives, 2);
        let label = traffic.series[series].pattern.label();
        assert_eq!(sc.false_spike_like, BTreeMap::from([(label, 1)]));
    }
}
