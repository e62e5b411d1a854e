//! DECIDE, part one: a Start on a minute still open. A Start does not wait for its minute to
//! close when the evidence already meets the rule; a run of minutes may span files, so an
//! unusual minute is judged again with the open minutes earlier files brought, and a file that
//! brings the first minutes of a run already Started dates that Start again.

use super::error::Abort;
use super::merge::Merged;
use super::minutes::ClosedMinute;
use super::read::FileRun;
use super::series_cache::SeriesCache;
use super::trail::context;
use super::{Engine, Transitions};
use crate::base::time::Minute;
use crate::count::minutes::SeriesMinute;
use crate::detect::detector::{SeriesState, TrailContext, Transition, Unlearned};
use std::collections::BTreeMap;

/// A trail's stored open minutes (after `closed_through`), read at most once per file and only
/// when a run needs minutes other files brought.
struct OpenMinutes {
    range: (Option<Minute>, Option<Minute>),
    read: Option<Vec<(Minute, ClosedMinute)>>,
}

impl OpenMinutes {
    fn get(
        &mut self,
        engine: &Engine<'_>,
        pk: &str,
        key: &str,
    ) -> Result<&[(Minute, ClosedMinute)], Abort> {
        if self.read.is_none() {
            let read = match self.range {
                (Some(from), Some(to)) if from <= to => {
                    engine.minutes_between(pk, from, to, key)?
                }
                (None, Some(to)) => engine.minutes_between(pk, Minute(i64::MIN / 2), to, key)?,
                _ => Vec::new(),
            };
            self.read = Some(read);
        }
        Ok(self.read.as_deref().unwrap_or_default())
    }

    /// `sid`'s counts in `minutes` before `t`, back to the start of the previous clock hour (the
    /// sustained rule's window), in order.
    fn series_before(
        minutes: &[(Minute, ClosedMinute)],
        sid: &str,
        t: Minute,
    ) -> Vec<(Minute, u64)> {
        minutes
            .iter()
            .filter(|(e, _)| *e < t && e.hour() >= t.hour() - 1)
            .filter_map(|(e, b)| b.series.get(sid).map(|x| (*e, x.count)))
            .collect()
    }
}

/// What an open minute is judged with beside its own count.
struct OpenEvidence<'m> {
    ctx: TrailContext,
    /// This file's earlier open minutes, per series, for the sustained rule (they are part of
    /// its run but not yet closed).
    this_file: BTreeMap<&'m str, Vec<(Minute, Unlearned)>>,
    /// Every stored open minute (earlier files' too), read only if a run might need them.
    stored: OpenMinutes,
}

impl Engine<'_> {
    /// Early Start: a still-open minute whose evidence already meets the rule.
    pub(super) fn start_early(
        &self,
        run: &mut FileRun<'_>,
        merged: &Merged,
        series: &mut SeriesCache,
        transitions: &mut Transitions,
    ) -> Result<(), Abort> {
        let Some(ctx) = context(&run.trail) else {
            return Ok(());
        };
        let mut evidence = OpenEvidence {
            ctx,
            this_file: BTreeMap::new(),
            stored: OpenMinutes {
                range: (
                    run.trail.closed_through.map(|c| c.plus(1)),
                    run.trail.newest_event,
                ),
                read: None,
            },
        };
        for (m, (bucket, _)) in &merged.stored {
            if run.trail.closed_through.is_some_and(|ct| *m <= ct) {
                continue;
            }
            // `bucket` already includes this file's counts (merged by `Engine::merge`).
            for (sid, s) in &bucket.series {
                if !merged.touched_series.contains(sid) {
                    continue;
                }
                if let Some(t) = self.judge_open_minute(run, series, &mut evidence, *m, sid, s)? {
                    transitions.push((sid.clone(), t));
                }
            }
        }
        Ok(())
    }

    /// Judge `sid`'s count `s` in the open minute `m` for a Start (or for dating its open
    /// insight's Start again).
    fn judge_open_minute<'m>(
        &self,
        run: &mut FileRun<'_>,
        series: &mut SeriesCache,
        evidence: &mut OpenEvidence<'m>,
        m: Minute,
        sid: &'m str,
        s: &SeriesMinute,
    ) -> Result<Option<Transition>, Abort> {
        let (pk, key, ctx) = (run.pk.as_str(), run.key, evidence.ctx);
        let cfg = self.config.detector_for(sid);
        let state = series.get(self, pk, sid, key)?;
        let this_file = evidence.this_file.entry(sid).or_default();
        let mut open_part = this_file
            .iter()
            .filter(|(e, _)| *e < m && e.hour() >= m.hour() - 1)
            .fold(Unlearned::default(), |u, (_, e)| u.and(*e));
        let winsorised = state.winsorise(m, s.count, ctx, cfg);
        this_file.push((m, Unlearned::minute(s.count, winsorised)));
        // No Start without the rule (the usual case): judged once, nothing more.
        let mut starts = state.meets_start_rule(
            m,
            s.count,
            run.trail.unlearned_near(sid, m).and(open_part),
            ctx,
            cfg,
        );
        // A run may have begun in minutes an earlier file brought, still open: an
        // unusual minute is judged again with them.
        if !starts && state.may_continue_a_run(m, s.count, ctx, cfg) {
            let minutes = evidence.stored.get(self, pk, key)?;
            open_part = OpenMinutes::series_before(minutes, sid, m)
                .into_iter()
                .fold(Unlearned::default(), |u, (e, count)| {
                    u.and(Unlearned::minute(
                        count,
                        state.winsorise(e, count, ctx, cfg),
                    ))
                });
            starts = state.meets_start_rule(
                m,
                s.count,
                run.trail.unlearned_near(sid, m).and(open_part),
                ctx,
                cfg,
            );
        }
        if !starts {
            // This file may hold the first minutes of a run whose Start an earlier
            // file proved (still open): the Start is dated again from them.
            if state.insight.as_ref().is_some_and(|i| m < i.start) {
                return self.redate_start(pk, sid, state, &mut evidence.stored, ctx, cfg, key);
            }
            return Ok(None);
        }
        // Where its run began: every stored open minute of the series in the window.
        let near = OpenMinutes::series_before(evidence.stored.get(self, pk, key)?, sid, m);
        // The Start record reports the baseline up to now. Following learns the
        // deferred minutes, so from here only the open ones are unlearned.
        self.follow(pk, &mut run.trail, sid, state, key)?;
        Ok(state.observe_open_minute(m, s.count, open_part, &near, &s.attribution, ctx, cfg))
    }
    /// A later file brought minutes before the Start of `sid`'s open insight: date the Start
    /// again if its run began there (see `SeriesState::redate_open_start`).
    #[allow(clippy::too_many_arguments)]
    fn redate_start(
        &self,
        pk: &str,
        sid: &str,
        state: &mut SeriesState,
        open: &mut OpenMinutes,
        ctx: TrailContext,
        cfg: &crate::config::DetectorConfig,
        key: &str,
    ) -> Result<Option<Transition>, Abort> {
        let Some(proving) = state.insight.as_ref().map(|i| i.last_hot) else {
            return Ok(None);
        };
        let minutes = open.get(self, pk, key)?;
        let Some(at) = minutes
            .iter()
            .find(|(e, _)| *e == proving)
            .and_then(|(_, b)| b.series.get(sid))
        else {
            return Ok(None);
        };
        let earlier = OpenMinutes::series_before(minutes, sid, proving);
        Ok(state.redate_open_start((proving, at.count), &earlier, &at.attribution, ctx, cfg))
    }
}
