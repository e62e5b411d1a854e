//! MERGE: the file's counts into the stored minutes, and the trail's progress.
//!
//! A file's events for one minute go in whole when none of their event IDs is stored yet, are
//! dropped whole when all of them are (the same file again, after a crash before its marker),
//! and are counted again exactly, event by event against the stored IDs, when they overlap in
//! part or repeat within the file.

use super::count::{CountWindow, CountedFile};
use super::error::{Abort, ProcessError};
use super::read::FileRun;
use super::trail::TrailState;
use super::{Engine, Opener, Outcome, Status};
use crate::base::time::Minute;
use crate::count::minutes::{FileCounts, MinuteCounts};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The stored minutes after the merge, and what this file added to them.
pub(super) struct Merged {
    /// Every minute the file has events in, as now stored (this file's counts included, the
    /// event IDs dropped once written), with the version it was read at.
    pub(super) stored: BTreeMap<Minute, (MinuteCounts, Option<u64>)>,
    /// The counts this file added, per minute. A minute still open was moved into its stored
    /// minute (what is left here is empty); a late minute's counts stay, to be learned.
    pub(super) added: BTreeMap<Minute, MinuteCounts>,
    /// Every series the file speaks of, counted now or by an earlier attempt: a redelivery
    /// after a crash must still reach the Start decision for them.
    pub(super) touched_series: BTreeSet<String>,
}

impl Engine<'_> {
    /// Merge into the stored minutes; exact recount where IDs overlap or repeat. Then move the
    /// trail's progress (first and newest event, newest delivery).
    pub(super) fn merge(
        &self,
        run: &mut FileRun<'_>,
        counted: CountedFile,
        open: Opener<'_>,
    ) -> Result<Merged, Abort> {
        let CountedFile { counts, window } = counted;
        let mut merged = Merged {
            stored: BTreeMap::new(),
            added: BTreeMap::new(),
            touched_series: BTreeSet::new(),
        };
        let recount = self.sort_by_overlap(run, counts, &mut merged)?;
        if !recount.is_empty() {
            self.recount(run, &window, open, &recount, &mut merged)?;
        }
        self.write_minutes(run, &mut merged)?;
        run.outcome.minutes_touched = merged.stored.len();
        record_progress(&mut run.trail, &merged.stored, run.log.delivered);
        Ok(merged)
    }

    /// Read each minute the file has events in and compare their event IDs: fully stored
    /// already (counted as duplicates), none stored (added as counted), or the minutes returned,
    /// to count again exactly.
    fn sort_by_overlap(
        &self,
        run: &mut FileRun<'_>,
        mut counts: FileCounts,
        merged: &mut Merged,
    ) -> Result<BTreeSet<Minute>, Abort> {
        let mut recount: BTreeSet<Minute> = BTreeSet::new();
        for (minute, mut file_minute) in std::mem::take(&mut counts.minutes) {
            merged
                .touched_series
                .extend(file_minute.series.keys().cloned());
            let had_duplicates = file_minute.seal();
            let (bucket, version) = self.load_minute(&run.pk, minute, run.key)?;
            let overlap = bucket.overlap(&file_minute.ids);
            if overlap == file_minute.ids.len() && !had_duplicates {
                run.outcome.duplicates += overlap as u64;
                run.outcome.counted -= overlap as u64;
            } else if overlap == 0 && !had_duplicates {
                merged.added.insert(minute, file_minute);
            } else {
                recount.insert(minute);
            }
            merged.stored.insert(minute, (bucket, version));
        }
        Ok(recount)
    }

    /// Read the file again and count the events of the `recount` minutes one by one, each only
    /// if its ID is neither stored nor seen before in the file.
    fn recount(
        &self,
        run: &mut FileRun<'_>,
        window: &CountWindow,
        open: Opener<'_>,
        recount: &BTreeSet<Minute>,
        merged: &mut Merged,
    ) -> Result<(), Abort> {
        let key = run.key;
        let mut seen: HashSet<u64> = HashSet::new();
        for m in recount {
            seen.extend(merged.stored[m].0.all_ids());
        }
        let mut exact = FileCounts::default();
        let mut dupes = 0u64;
        let mut scratch = Outcome::new(key, Status::Processed);
        self.count_file(run.object_id, open, window, &mut scratch, |e, _| {
            if !recount.contains(&e.minute) {
                return false;
            }
            if seen.insert(e.id_hash) {
                exact.add(e);
                true
            } else {
                dupes += 1;
                false
            }
        })
        .map_err(|e| {
            Abort::Error(ProcessError::Transient {
                key: key.into(),
                reason: e.to_string(),
            })
        })?;
        run.outcome.duplicates += dupes;
        run.outcome.counted -= dupes;
        for (m, mut c) in exact.minutes {
            c.seal();
            merged.added.insert(m, c);
        }
        Ok(())
    }

    /// Add each minute's new counts to its stored minute and write it.
    fn write_minutes(&self, run: &FileRun<'_>, merged: &mut Merged) -> Result<(), Abort> {
        for (m, c) in merged.added.iter_mut() {
            if let Some((bucket, version)) = merged.stored.get_mut(m) {
                // Only late minutes need the file's own counts again (`learn_late`); the others are
                // moved into the stored minute rather than copied, so a big file's attribution
                // is not held twice.
                let late = run.trail.closed_through.is_some_and(|ct| *m <= ct);
                if late {
                    bucket.merge(c);
                } else {
                    bucket.absorb(std::mem::take(c));
                }
                self.save_minute(&run.pk, *m, bucket, *version, run.object_id, run.key)?;
                // The event IDs are stored now and not needed again in this run.
                bucket.ids = Vec::new();
                bucket.chunked_ids = Vec::new();
            }
        }
        Ok(())
    }
}

/// Trail progress: the first and newest event minute seen, the newest delivery.
fn record_progress(
    trail: &mut TrailState,
    stored: &BTreeMap<Minute, (MinuteCounts, Option<u64>)>,
    delivered: Minute,
) {
    if let Some(first) = stored.keys().next() {
        trail.observed_since = Some(trail.observed_since.map_or(*first, |o| o.min(*first)));
    }
    if let Some(last) = stored.keys().next_back() {
        trail.newest_event = Some(trail.newest_event.map_or(*last, |n| n.max(*last)));
    }
    trail.newest_delivery = Some(
        trail
            .newest_delivery
            .map_or(delivered, |d| d.max(delivered)),
    );
}
