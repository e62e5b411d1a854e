//! Closing minutes: keeping an insight open while minutes stay unusual, Ending it after quiet
//! minutes (or accepting its level after `MAX_INSIGHT_HOURS`), and late counts.

use super::start::Candidate;
use super::*;

impl SeriesState {
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

    pub(super) fn close(
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

    pub(super) fn close_silent_spike(
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

    pub(super) fn advance_insight(
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
    pub(super) fn end(&mut self, accept: bool) -> Option<Transition> {
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
}
