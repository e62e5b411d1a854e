//! The Start rule: the single-minute gates, the sustained rule, and dating a Start at the first
//! unusual minute of its run.

use super::baseline::{HOURS_PER_PAIR_RANK, TopK, warm, window};
use super::*;

/// A minute that may Start an insight, with what the rule needs to judge it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Candidate<'a> {
    pub(super) t: Minute,
    pub(super) count: u64,
    pub(super) unlearned: Unlearned,
    pub(super) earlier_open: &'a [(Minute, u64)],
}

/// The sustained rule's run needs a minute of at least this many events: an hour-long rise of a
/// sparse series has no loud minute. Also the least a minute needs for either Start rule to look
/// further.
const SUSTAINED_MIN_PEAK: u64 = 3;

/// Both novelty gates ask for at least this many events beyond the comparable recent level, as
/// well as `NOVELTY_MARGIN` times it: on a young or sparse series that level is near 0.
const NOVELTY_MIN_EXTRA: u64 = 2;

impl SeriesState {
    /// The Start gates at minute `t` except the burst-tail one (costly; see
    /// [`Self::tail_threshold`]), or `None` during the warm-up.
    pub(super) fn cheap_gates(
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
        let novelty = m + (NOVELTY_MIN_EXTRA as f64).max(cfg.novelty_margin * m);
        let gates = StartGates {
            min_count: cfg.single_minute_count,
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
        // minute (one alone needs SINGLE_MINUTE_COUNT, one of a run END_MIN_COUNT).
        if count < cfg.single_minute_count && count < cfg.end_min_count {
            return false;
        }
        if self.run_peak(t, count, unlearned) < SUSTAINED_MIN_PEAK {
            return false;
        }
        let Some((gates, b)) = self.cheap_gates(t, ctx, cfg) else {
            return false;
        };
        // The burst-tail level is computed at most once, and only when a rule needs it.
        let mut tail = None;
        let mut tail_level = || *tail.get_or_insert_with(|| self.tail_threshold(t, &b, cfg));
        let single = gates.failed(count).is_empty();
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
    pub(super) fn run_peak(&self, t: Minute, count: u64, unlearned: Unlearned) -> u64 {
        let h = t.hour();
        let peak = |k: i64| self.hours.get(&k).map_or(0, |s| s.max);
        count.max(unlearned.peak).max(peak(h)).max(peak(h - 1))
    }

    /// The sustained rule's sums at minute `t` (see [`SustainedGates`]); `None` in the first
    /// week, when the window cannot tell a weekly rhythm from a spike.
    pub(super) fn sustained_gates(
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
            largest_pair + (NOVELTY_MIN_EXTRA as f64).max(cfg.novelty_margin * largest_pair);
        Some(SustainedGates {
            sum,
            peak: self.run_peak(t, count, unlearned),
            min_peak: SUSTAINED_MIN_PEAK,
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
    pub(super) fn recent(&self, t: Minute) -> (u64, u64) {
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
    pub(super) fn mark_moved(
        &mut self,
        start: &mut Transition,
        old: Option<Minute>,
        withheld: bool,
    ) {
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
    pub(super) fn maybe_start(
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
    pub(super) fn run_through(
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

    pub(super) fn begin(
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
}
