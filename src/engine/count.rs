//! COUNT: stream the file into per-minute counts per series. A file that cannot be read (corrupt,
//! too large, not CloudTrail JSON) is refused here, and remembered so that re-deliveries of it
//! are not retried for ever.

use super::error::{Abort, ProcessError};
use super::read::FileRun;
use super::{Engine, LOG_TARGET, Opener, Outcome, Status, Step};
use crate::base::time::{MINUTES_PER_DAY, Minute};
use crate::cloudtrail::reader::{ReadError, read_records};
use crate::cloudtrail::record::{Ignored, classify_record, fnv1a};
use crate::count::minutes::FileCounts;
use std::collections::BTreeMap;

/// The event minutes a file may count; records outside are ignored (and reported as such).
pub(super) struct CountWindow {
    /// Before this: older than the retention (see [`Engine::count`]).
    pub(super) too_old: Option<Minute>,
    /// After this: in the future, beyond the tolerance for clock skew.
    pub(super) future: Minute,
}

/// A counted file: its events per minute and series, and the window they were counted in (a
/// recount uses the same).
pub(super) struct CountedFile {
    pub(super) counts: FileCounts,
    pub(super) window: CountWindow,
}

impl Engine<'_> {
    /// Count the file. Ends it as refused (with a rejection marker, unless the object is gone)
    /// when it cannot be read; a transient read error retries it later.
    pub(super) fn count(
        &self,
        run: &mut FileRun<'_>,
        open: Opener<'_>,
    ) -> Result<Step<CountedFile>, Abort> {
        let (key, delivered) = (run.key, run.log.delivered);
        // Older than the retention before the closed minutes (their items may be pruned), or
        // before the file's own delivery: such a record is a clock error or garbage, not a late
        // event, and counting it would move `observed_since` back by years and skip the warm-up.
        let retention = i64::from(self.config.metrics_retention_days) * MINUTES_PER_DAY;
        let too_old = Some(
            run.trail
                .closed_through
                .map_or(delivered, |c| c.max(delivered))
                .plus(-retention),
        );
        let future = delivered.plus(i64::from(self.config.future_tolerance_minutes));
        let window = CountWindow { too_old, future };
        let mut counts = FileCounts::default();
        let read = self.count_file(run.object_id, open, &window, &mut run.outcome, |e, _| {
            counts.add(e);
            true
        });
        match read {
            Ok(records) => run.outcome.records = records,
            Err(e) if e.is_transient() => {
                return Err(Abort::Error(ProcessError::Transient {
                    key: key.into(),
                    reason: e.to_string(),
                }));
            }
            Err(e) => {
                let reason = e.to_string();
                // A deleted object is not remembered: should it reappear, it is read then.
                if !matches!(e, ReadError::Missing(_)) {
                    self.put_marker(&run.marker, key, &format!("rejected: {reason}"))?;
                }
                let mut o = Outcome::new(key, Status::Rejected(reason));
                o.records = run.outcome.records;
                return Ok(Step::Finished(o));
            }
        }
        Ok(Step::Next(CountedFile { counts, window }))
    }

    /// Stream the file, classify records and hand the ones that count to `keep` (which says
    /// whether it counted the event). Returns the number of records read.
    pub(super) fn count_file(
        &self,
        object_id: &str,
        open: Opener<'_>,
        window: &CountWindow,
        outcome: &mut Outcome,
        mut keep: impl FnMut(&crate::cloudtrail::record::CountedEvent, u64) -> bool,
    ) -> Result<u64, ReadError> {
        let reader = open().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Missing(e.to_string()),
            _ => ReadError::Transient(e),
        })?;
        let (too_old, future) = (window.too_old, window.future);
        let mut ignored: BTreeMap<&'static str, u64> = BTreeMap::new();
        let mut counted = 0u64;
        let stats = read_records(reader, self.config.limits, |raw, index| {
            let fallback = || fnv1a(format!("{object_id}#{index}").as_bytes());
            match classify_record(raw, self.config.coverage, fallback) {
                Ok(e) if e.minute > future => {
                    *ignored.entry("time in the future").or_default() += 1
                }
                Ok(e) if too_old.is_some_and(|o| e.minute < o) => {
                    *ignored.entry("older than the retention").or_default() += 1
                }
                Ok(e) if self.config.suppression.suppresses(&e) => {
                    *ignored.entry("suppressed").or_default() += 1
                }
                Ok(e) => {
                    if keep(&e, index) {
                        counted += 1;
                    }
                }
                Err(reason) => *ignored.entry(reason.label()).or_default() += 1,
            }
        })?;
        if matches!(ignored.get(Ignored::Invalid.label()), Some(n) if *n > 0) {
            tracing::warn!(
                target: LOG_TARGET,
                key = object_id,
                invalid = ignored[Ignored::Invalid.label()],
                "records without a valid eventTime, eventSource or eventName were skipped"
            );
        }
        outcome.counted += counted;
        for (k, v) in ignored {
            *outcome.ignored.entry(k).or_default() += v;
        }
        Ok(stats.records)
    }
}
