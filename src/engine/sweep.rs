//! Closing an account/region without a file: the end-of-input flush and the scheduled sweep
//! (both in `mod.rs`) close, decide, emit and save through here, as one unit of work with the
//! same retries as a file. And the registry of trails the sweep visits.

use super::Engine;
use super::error::{Abort, ProcessError, abort, fatal};
use super::items::{TRAIL_SK, TRAILS_PK, trail_pk};
use super::series_cache::SeriesCache;
use super::trail::TrailState;
use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::insight::record::InsightRecord;
use crate::store::StoreError;

impl Engine<'_> {
    /// Close one account/region through the minute `target` picks (and judge its held Starts
    /// whose window that completes, or all with `release_all`), retrying on conflicts.
    pub(super) fn close_scope(
        &self,
        scope: &TrailScope,
        target: impl Fn(&TrailState) -> Option<Minute>,
        release_all: bool,
    ) -> Result<Vec<InsightRecord>, ProcessError> {
        let label = format!("{}/{}", scope.account, scope.region);
        self.transaction(&label, || {
            self.try_close_scope(scope, &label, &target, release_all)
        })
    }

    fn try_close_scope(
        &self,
        scope: &TrailScope,
        label: &str,
        target: &dyn Fn(&TrailState) -> Option<Minute>,
        release_all: bool,
    ) -> Result<Vec<InsightRecord>, Abort> {
        let pk = trail_pk(scope);
        let (mut trail, version) = self.load::<TrailState>(&pk, TRAIL_SK, label)?;
        let Some(target) = target(&trail) else {
            return Ok(Vec::new());
        };
        let to_close = trail.closed_through.is_none_or(|c| c < target);
        let to_release = release_all && !trail.held.is_empty();
        if version.is_none() || !(to_close || to_release) {
            return Ok(Vec::new());
        }
        let mut series = SeriesCache::new(&trail);
        let mut transitions = Vec::new();
        if to_close {
            self.close_through(
                &pk,
                &mut trail,
                target,
                &mut series,
                &mut transitions,
                label,
            )?;
        }
        // Withheld Starts are logged, not returned: the sweep's and flush's callers count
        // records only.
        let verdicts = self.judge_sessions(
            &pk,
            &mut trail,
            &mut series,
            transitions,
            release_all,
            label,
        )?;
        let records = self.emit(scope, &verdicts.write, label)?;
        self.save_series(&pk, &mut trail, series, label)?;
        self.save(&pk, TRAIL_SK, &trail, version, label)?;
        Ok(records)
    }

    /// Remember an account/region so the sweep finds it.
    pub(super) fn register_trail(
        &self,
        scope: &TrailScope,
        pk: &str,
        key: &str,
    ) -> Result<(), Abort> {
        let body = serde_json::to_vec(scope).map_err(|e| fatal(key, e))?;
        match self.store.put(TRAILS_PK, pk, &body, None) {
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(abort(key, e)),
        }
    }
}
