//! CLOSE: the minutes a delivery completes are closed, once, for every series of the trail.
//!
//! Late events (for minutes closed already) are learned into the baselines but change no
//! decision made. A closed minute is judged for a Start when it closes; a quiet series learns it
//! only when its hour completes (the hourly fold), see [`Engine::close_through`].

use super::error::{Abort, abort};
use super::items::{id_chunk_sk, minute_sk};
use super::merge::Merged;
use super::read::FileRun;
use super::series_cache::SeriesCache;
use super::trail::{TrailState, context};
use super::{Engine, Transitions};
use crate::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, Minute};
use crate::detect::detector::SeriesState;
use std::collections::BTreeSet;

impl Engine<'_> {
    /// Late counts are learned; decisions already made stand.
    pub(super) fn learn_late(
        &self,
        run: &mut FileRun<'_>,
        merged: &Merged,
        series: &mut SeriesCache,
    ) -> Result<(), Abort> {
        let (pk, key) = (run.pk.as_str(), run.key);
        let trail = &run.trail;
        let ctx = context(trail);
        for (m, c) in &merged.added {
            for (sid, s) in &c.series {
                if let (Some(ctx), true) = (ctx, trail.closed_through.is_some_and(|ct| *m <= ct)) {
                    run.outcome.late += s.count;
                    let state = series.get(self, pk, sid, key)?;
                    if state.last_closed.is_none_or(|c| *m > c) {
                        // Not learned yet (a quiet series' deferred minute): the stored minute
                        // already holds these events and is folded with them.
                        continue;
                    }
                    state.add_late(
                        *m,
                        s.count,
                        &s.attribution,
                        ctx,
                        self.config.detector_for(sid),
                    );
                }
            }
        }
        Ok(())
    }
    /// Close every minute the file's delivery completes: up to its delivery minute less the
    /// lateness allowance.
    pub(super) fn close_delivered(
        &self,
        run: &mut FileRun<'_>,
        series: &mut SeriesCache,
        transitions: &mut Transitions,
    ) -> Result<(), Abort> {
        let target = run
            .log
            .delivered
            .plus(-i64::from(self.config.lateness_minutes));
        self.close_through(
            &run.pk,
            &mut run.trail,
            target,
            series,
            transitions,
            run.key,
        )
    }

    /// Close every minute up to `target` for one account/region.
    ///
    /// Writes are the cost that matters (one per changed series state), so a quiet series (no
    /// insight open, not followed by the drop detector) is not updated minute by minute: its
    /// closed minutes are judged for a Start when they close, as always, but learned into its
    /// baseline only once their hour is complete ("folded"), one state write per hour instead
    /// of one per file. The decisions are the same: a Start compares a minute with the hours
    /// before the previous one, which are always folded; a series that Starts is first caught
    /// up with its deferred minutes. `TrailState::folded_through` marks what every series has.
    /// One exception: events that arrive after their minute closed are learned as a minute of
    /// their own by a followed series but merged into their minute by a folded one, so the
    /// winsorised sums and the largest minute of the sustained rule can differ slightly.
    pub(super) fn close_through(
        &self,
        pk: &str,
        trail: &mut TrailState,
        target: Minute,
        series: &mut SeriesCache,
        transitions: &mut Transitions,
        key: &str,
    ) -> Result<(), Abort> {
        let Some(ctx) = context(trail) else {
            return Ok(());
        };
        let closed = trail.closed_through;
        if closed.is_some_and(|c| target <= c) {
            return Ok(());
        }
        let folded = trail.folded_through.or(closed);
        // The end of the last complete hour at or before `target`.
        let fold_to = Minute((target.0 + 1).div_euclid(MINUTES_PER_HOUR) * MINUTES_PER_HOUR - 1);
        let folding = folded.is_none_or(|f| fold_to > f);
        // The newly closed minutes, and once an hour completes, the deferred ones before them.
        let after = if folding { folded } else { closed };
        let from = after.map_or(Minute(i64::MIN / 2), |c| c.plus(1));
        let newly_closed = |m: Minute| closed.is_none_or(|c| m > c);
        let buckets = self.minutes_between(pk, from, target, key)?;
        if folding {
            // Every closed minute up to `fold_to` is learned in this pass.
            trail.unlearned.clear();
            series.folding = true;
        }
        let mut followed: BTreeSet<String> = trail.open_insights.clone();
        followed.extend(trail.drop_watch.iter().cloned());
        for (i, (minute, bucket)) in buckets.iter().enumerate() {
            let minute = *minute;
            for (sid, s) in &bucket.series {
                let cfg = self.config.detector_for(sid);
                let deferred = !followed.contains(sid) && minute > fold_to;
                if deferred && !newly_closed(minute) {
                    continue; // judged when it closed; learned when its hour is folded
                }
                let state = series.get(self, pk, sid, key)?;
                if deferred {
                    // Judged now, learned when its hour is folded, unless it Starts. (Its
                    // unlearned minutes all lie in this minute's hour.)
                    let unlearned = trail.unlearned.get(sid).copied().unwrap_or_default();
                    if !state.meets_start_rule(minute, s.count, unlearned, ctx, cfg) {
                        let capped = state.winsorise(minute, s.count, ctx, cfg);
                        trail.add_unlearned(sid, s.count, capped);
                        continue;
                    }
                    // It Starts: learn its deferred minutes first, stored and in this pass.
                    self.follow(pk, trail, sid, state, key)?;
                    for (m, earlier) in &buckets[..i] {
                        if let Some(e) = earlier.series.get(sid) {
                            state.fold_minute(*m, e.count, &e.attribution, ctx, cfg);
                        }
                    }
                    followed.insert(sid.clone());
                }
                let closes = if newly_closed(minute) {
                    state.close_minute(minute, s.count, &s.attribution, ctx, cfg)
                } else {
                    state.fold_minute(minute, s.count, &s.attribution, ctx, cfg)
                };
                transitions.extend(closes.into_iter().map(|t| (sid.clone(), t)));
                if state.insight.is_some() {
                    followed.insert(sid.clone());
                }
            }
        }
        for sid in &followed {
            let state = series.get(self, pk, sid, key)?;
            for t in state.close_silent_through(target, self.config.detector_for(sid)) {
                transitions.push((sid.clone(), t));
            }
        }
        // Written out even when unchanged: state from before this field meant `closed_through`.
        trail.folded_through = if folding { Some(fold_to) } else { folded };
        let previous = trail.closed_through;
        trail.closed_through = Some(target);
        // Drop per-minute counts past the retention, once per hour of progress.
        if previous.is_none_or(|p| p.hour() != target.hour()) {
            self.drop_expired_minutes(pk, target, key)?;
        }
        Ok(())
    }

    /// Delete the minute items and event-ID chunks older than the retention (and an hour) before
    /// `target`.
    fn drop_expired_minutes(&self, pk: &str, target: Minute, key: &str) -> Result<(), Abort> {
        let retention = i64::from(self.config.metrics_retention_days) * MINUTES_PER_DAY;
        let cutoff = target.plus(-retention - MINUTES_PER_HOUR);
        let old = self
            .store
            .query(pk, &minute_sk(Minute(0)), &minute_sk(cutoff))
            .map_err(|e| abort(key, e))?;
        let chunks = self
            .store
            .query(pk, &id_chunk_sk(Minute(0), ""), &id_chunk_sk(cutoff, ""))
            .map_err(|e| abort(key, e))?;
        for (sk, _) in old.into_iter().chain(chunks) {
            self.store.delete(pk, &sk).map_err(|e| abort(key, e))?;
        }
        Ok(())
    }

    /// A quiet series starts being followed minute by minute (it Starts, or the drop detector
    /// watches it): it learns its deferred minutes first.
    pub(super) fn follow(
        &self,
        pk: &str,
        trail: &mut TrailState,
        sid: &str,
        state: &mut SeriesState,
        key: &str,
    ) -> Result<(), Abort> {
        self.catch_up(pk, trail, sid, state, key)?;
        trail.unlearned.remove(sid);
        Ok(())
    }

    /// Learn the closed minutes a quiet series has not folded yet (see [`Self::close_through`]),
    /// before it Starts from an open minute.
    fn catch_up(
        &self,
        pk: &str,
        trail: &TrailState,
        sid: &str,
        state: &mut SeriesState,
        key: &str,
    ) -> Result<(), Abort> {
        let (Some(ctx), Some(closed)) = (context(trail), trail.closed_through) else {
            return Ok(());
        };
        // Every series has learned everything up to `folded_through`: a series without state had
        // no events before it, so the search never reaches further back than about an hour.
        let learned = match (state.last_closed, trail.folded_through) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let from = learned.map_or(Minute(i64::MIN / 2), |c| c.plus(1));
        if from > closed {
            return Ok(());
        }
        let cfg = self.config.detector_for(sid);
        for (m, bucket) in self.minutes_between(pk, from, closed, key)? {
            if let Some(s) = bucket.series.get(sid) {
                state.fold_minute(m, s.count, &s.attribution, ctx, cfg);
            }
        }
        Ok(())
    }
}
