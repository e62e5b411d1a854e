//! The baseline side of the rule: what a series has learned (hourly ring, winsorised counts,
//! daily attribution), the detection rate and novelty maxima read from it, and the burst-tail fit.

use super::*;

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
pub(super) const TAIL_ORDER_STATISTICS: usize = 10;
/// The tail shape assumed before the fit, and its weight in order statistics.
pub(super) const PRIOR_SHAPE: f64 = 0.3;
pub(super) const PRIOR_WEIGHT: f64 = 4.0;
/// The burst-tail threshold never asks for more than this multiple of the window's largest minute.
/// (3 let through 10 of 31 false insights on heavy-tailed series in `make eval`; 4 costs a few
/// spikes on bursty series: see EVALUATION.md.)
pub(super) const TAIL_CAP_TIMES_LARGEST: f64 = 4.0;

/// The burst-tail gate. Benign traffic with heavy-tailed burst sizes (autoscaling, batch jobs)
/// sets a new weekly record every week or two, so "larger than anything in the last week" is not
/// rare enough. For a series whose largest minutes are well beyond what a Poisson process at its
/// rate would produce, fit a Pareto tail (Hill estimator, shrunk towards a prior shape when few
/// hours had events) to the largest hourly maxima of the window and return the level that an
/// hour's maximum exceeds once in `tail_return_weeks`. For Poisson-like series, 0: the gate does
/// not apply.
pub(super) fn burst_tail_threshold(
    maxima: &mut [u64],
    hours: f64,
    rate: f64,
    cfg: &DetectorConfig,
) -> f64 {
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
pub(super) const HOURS_PER_RANK: usize = 42;
pub(super) const HOURS_PER_NEAR_RANK: usize = 84;
pub(super) const HOURS_PER_PAIR_RANK: usize = 12;

/// The `k` largest values pushed (k ≤ 16), to read the `k`-th largest (0 when fewer were pushed).
#[derive(Debug, Clone, Copy)]
pub(super) struct TopK {
    top: [u64; 16],
    k: usize,
}

impl TopK {
    pub(super) fn new(k: usize) -> Self {
        TopK {
            top: [0; 16],
            k: k.clamp(1, 16),
        }
    }
    pub(super) fn push(&mut self, v: u64) {
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
    pub(super) fn kth(&self) -> u64 {
        self.top[self.k - 1]
    }
}

/// Minutes of this many events or fewer are learned whole (see [`SeriesState::winsorise`]).
pub(super) const LOWEST_CAP: u64 = 4;

/// `count` winsorised against baseline `b`: see [`SeriesState::winsorise`].
pub(super) fn winsorised(count: u64, b: &DetectionBaseline) -> u64 {
    let typical = b.rate + 3.1 * b.rate.sqrt() + 3.0;
    count.min(typical.max(b.largest_minute).ceil() as u64)
}

/// The trail has been observed for the warm-up time at minute `t`.
pub(super) fn warm(t: Minute, ctx: TrailContext, cfg: &DetectorConfig) -> bool {
    t.0 - ctx.observed_since.0 >= i64::from(cfg.warmup_hours) * MINUTES_PER_HOUR
}

/// The hours of the detection window for minute `t`: 7 days, leaving out the current and the
/// previous hour (which may still be open).
pub(super) fn window(t: Minute) -> (i64, i64) {
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
            novelty_max: top_near.kth().max(top_all.kth()) as f64,
            largest_minute: max_all as f64,
            window_hours: (observed / MINUTES_PER_HOUR as f64).max(1.0),
        }
    }

    /// The burst-tail threshold at minute `t` for baseline `b` (0 when the gate does not apply).
    /// Kept out of [`Self::detection_baseline`], which also runs for every learned minute: only a
    /// minute that already passes the other Start gates pays for collecting and sorting maxima.
    pub(super) fn tail_threshold(
        &self,
        t: Minute,
        b: &DetectionBaseline,
        cfg: &DetectorConfig,
    ) -> f64 {
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

    /// Add a closed minute to the baseline, or to the open insight it belongs to.
    pub(super) fn learn(
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

    pub(super) fn add_day_attribution(&mut self, t: Minute, attribution: &Attribution) {
        let day = t.0.div_euclid(MINUTES_PER_DAY);
        self.days
            .entry(day)
            .or_default()
            .merge(attribution, DAY_ATTRIBUTION_CAPACITY);
    }

    /// An insight's minute: counted in the reported baseline, held back from detection.
    pub(super) fn hold(&mut self, t: Minute, count: u64) {
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
    pub(super) fn learn_usual(
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

    pub(super) fn prune(&mut self, t: Minute) {
        let oldest_hour = t.hour() - RING_HOURS;
        self.hours = self.hours.split_off(&oldest_hour);
        let oldest_day = t.0.div_euclid(MINUTES_PER_DAY) - 9;
        self.days = self.days.split_off(&oldest_day);
    }
}
