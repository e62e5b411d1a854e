//! SAVE: what a file changed, written last and in this order: the series states, the trail item
//! (over the version read, so a concurrent file makes one of the two retry), and the processed
//! marker. On the embedded store they land together at the commit. On DynamoDB each write lands
//! on its own, which is why every step is idempotent: after a crash part way, the redelivered
//! file (no marker yet) is applied again and ends in the state a clean run leaves
//! (`tests/crash_consistency.rs`).

use super::error::{Abort, abort, fatal};
use super::items::{TRAIL_SK, series_sk};
use super::read::FileRun;
use super::series_cache::{Home, SeriesCache, page_of};
use super::trail::{MAX_DROP_WATCH, TrailState};
use super::{Engine, Outcome};
use crate::detect::detector::SeriesState;
use crate::detect::drop::worth_watching;

impl Engine<'_> {
    /// Write the file's series states, its trail (registered for the sweep when new) and its
    /// marker; the file's outcome is then final.
    pub(super) fn save_file(
        &self,
        run: FileRun<'_>,
        series: SeriesCache,
    ) -> Result<Outcome, Abort> {
        let FileRun {
            key,
            log,
            marker,
            pk,
            mut trail,
            trail_version,
            outcome,
            ..
        } = run;
        self.save_series(&pk, &mut trail, series, key)?;
        if trail_version.is_none() {
            self.register_trail(&log.scope, &pk, key)?;
        }
        self.save(&pk, TRAIL_SK, &trail, trail_version, key)?;
        self.put_marker(&marker, key, "processed")?;
        Ok(outcome)
    }

    /// Write the changed series states: into their pages when this unit of work folds an hour
    /// (and they are not followed), else into their own items (see [`SeriesCache`]).
    ///
    /// An own item a series leaves for its page is not deleted: a concurrent invocation that
    /// read the trail item before this one's may still look for it there (and then lose the race
    /// on the trail item and retry). It is overwritten when the series next leaves its page.
    pub(super) fn save_series(
        &self,
        pk: &str,
        trail: &mut TrailState,
        mut series: SeriesCache,
        key: &str,
    ) -> Result<(), Abort> {
        if series.folding {
            // The fold takes every loose series back, so that the list stays short.
            for sid in trail.loose.clone() {
                series.get(self, pk, &sid, key)?;
            }
        }
        for (sid, mut entry) in std::mem::take(&mut series.entries) {
            if entry.state.insight.is_some() {
                trail.open_insights.insert(sid.clone());
            } else {
                trail.open_insights.remove(&sid);
            }
            match entry.state.held.iter().map(|h| h.until).min() {
                Some(until) => trail.held.insert(sid.clone(), until),
                None => trail.held.remove(&sid),
            };
            let cfg = self.config.detector_for(&sid);
            let watch = !entry.state.drop.is_idle() || worth_watching(&entry.state.hours, cfg);
            if !watch {
                trail.drop_watch.remove(&sid);
            } else if !trail.drop_watch.contains(&sid) && trail.drop_watch.len() < MAX_DROP_WATCH {
                // Followed from now on: its deferred minutes are learned first.
                self.follow(pk, trail, &sid, &mut entry.state, key)?;
                trail.drop_watch.insert(sid.clone());
            }
            if matches!(entry.home, Home::Own(None) | Home::Unread)
                && entry.state == SeriesState::default()
            {
                continue; // a series only looked at: nothing to store
            }
            let changed = entry.state != entry.original;
            let followed = trail.open_insights.contains(&sid) || trail.drop_watch.contains(&sid);
            if series.folding && !followed {
                if changed || entry.home != Home::Page {
                    let n = page_of(&sid, series.page_count);
                    let page = series.page(self, pk, n, key)?;
                    let json =
                        serde_json::value::to_raw_value(&entry.state).map_err(|e| fatal(key, e))?;
                    page.states.insert(sid.clone(), json);
                    page.dirty = true;
                    trail.loose.remove(&sid);
                }
            } else if changed {
                let version = match entry.home {
                    Home::Own(version) => version,
                    // It may have had an own item before (see above), or an attempt that
                    // crashed before its trail item may have written one.
                    Home::Page | Home::Unread => self
                        .store
                        .get(pk, &series_sk(&sid))
                        .map_err(|e| abort(key, e))?
                        .map(|item| item.version),
                };
                let body = serde_json::to_vec(&entry.state).map_err(|e| fatal(key, e))?;
                self.store
                    .put(pk, &series_sk(&sid), &body, version)
                    .map_err(|e| abort(key, e))?;
                trail.loose.insert(sid);
            }
        }
        series.write_pages(self, pk, trail, key)
    }
}
