//! READ: what the key says (a CloudTrail log file? whose?), whether the file was processed
//! before, and its trail's progress. The object's bytes are opened by the next stage.

use super::error::{Abort, abort};
use super::items::{TRAIL_SK, marker_pk, trail_pk};
use super::trail::TrailState;
use super::{Engine, Outcome, Status, Step};
use crate::cloudtrail::key::{LogFileKey, classify_key};

/// One log file on its way through the stages: who it belongs to, its trail's progress as it
/// is being moved, and the outcome being filled in.
pub(super) struct FileRun<'k> {
    /// Names the object uniquely (e.g. `bucket/key`): its marker, its event-ID fallback, its
    /// chunk names.
    pub(super) object_id: &'k str,
    /// Its key or path, in logs and errors.
    pub(super) key: &'k str,
    /// Account, region and delivery minute, from the key.
    pub(super) log: LogFileKey,
    /// The partition of the object's processed marker.
    pub(super) marker: String,
    /// The partition of its account/region.
    pub(super) pk: String,
    pub(super) trail: TrailState,
    /// The trail item's version as read (`None`: a trail seen for the first time), which the
    /// save stage writes over.
    pub(super) trail_version: Option<u64>,
    pub(super) outcome: Outcome,
}

impl Engine<'_> {
    /// Classify the key, look for the processed marker and load the trail item. Ends the file
    /// for a key that is not a log file and for one processed before.
    pub(super) fn read<'k>(
        &self,
        object_id: &'k str,
        key: &'k str,
    ) -> Result<Step<FileRun<'k>>, Abort> {
        let log = match classify_key(key) {
            Ok(log) => log,
            Err(reason) => {
                let skipped = Outcome::new(key, Status::Skipped(reason.to_string()));
                return Ok(Step::Finished(skipped));
            }
        };
        // A redelivered file still names its account/region for the end-of-input flush.
        self.touched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(log.scope.clone());
        let marker = marker_pk(object_id);
        if self
            .store
            .get(&marker, "DONE")
            .map_err(|e| abort(key, e))?
            .is_some()
        {
            let done = Outcome::new(key, Status::AlreadyProcessed);
            return Ok(Step::Finished(done));
        }
        let pk = trail_pk(&log.scope);
        let (mut trail, trail_version) = self.load::<TrailState>(&pk, TRAIL_SK, key)?;
        if trail_version.is_none() {
            // A new trail keeps its series states in pages from the start: it has no own items
            // from before pages to look for.
            trail.paged = true;
        }
        let outcome = Outcome::new(key, Status::Processed);
        Ok(Step::Next(FileRun {
            object_id,
            key,
            log,
            marker,
            pk,
            trail,
            trail_version,
            outcome,
        }))
    }
}
