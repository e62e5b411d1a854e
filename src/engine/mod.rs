//! Processing one log file against the state store: the same code for the command line and the
//! Lambda.
//!
//! A file goes through these stages, in this order ([`Engine::process`] runs them as one unit of
//! work, see `try_process`):
//!
//! 1. read (`read.rs`): classify the key, look for the processed-object marker, load the
//!    trail's progress (`TrailState`);
//! 2. count (`count.rs`): stream the file into per-minute counts, or refuse it and remember that;
//! 3. merge (`merge.rs`): merge the counts into the stored minutes (an exact recount where event
//!    IDs overlap) and move the trail's progress;
//! 4. close (`close.rs`): learn late events, close the minutes the delivery completes, fold quiet
//!    series once an hour;
//! 5. decide (`early_start.rs`, `sessions.rs`): Start on still-open minutes, then the
//!    deploy-session rule on every Start;
//! 6. emit (`emit.rs`): write the Insights files;
//! 7. save (`save.rs`): write the series states, the trail item and the processed marker.
//!
//! Beside them: `trail.rs` (the per account/region progress item), `series_cache.rs` (series
//! states in pages and loose items), `minutes.rs` (minute items and their event-ID chunks),
//! `items.rs` (item keys, typed reads and writes), `outcome.rs` and `error.rs` (what a caller
//! gets), `sweep.rs` (closing an account/region without a file: the flush and the sweep).
//! `DESIGN.md` beside this file explains the protocol that makes it exactly once.
//!
//! Exactly once, by construction rather than by luck:
//! 1. a processed-object marker short-cuts re-deliveries of a file;
//! 2. per-minute counts remember the event IDs they hold, so applying a file twice (after a crash
//!    before the marker was written) adds nothing, and a duplicate `eventID` in another file is
//!    not counted again;
//! 3. closing minutes is tracked per account/region and per series, so it happens once;
//! 4. Insights files are written before the state that says they were, with IDs and keys derived
//!    from the insight, so a retry rewrites the same file;
//! 5. every item write names the version it read; a concurrent writer makes the file retry.

mod close;
mod count;
mod early_start;
mod emit;
mod error;
mod items;
mod merge;
mod minutes;
mod outcome;
mod read;
mod save;
mod series_cache;
mod sessions;
mod sweep;
mod trail;

pub use error::ProcessError;
pub use items::{id_chunk_sk, minute_sk, trail_pk};
pub use minutes::INLINE_IDS;
pub use outcome::{Outcome, Status};
pub use series_cache::stored_series_states;
pub use trail::{MAX_DROP_WATCH, MAX_HELD_PER_SERIES, MAX_HELD_SERIES, MAX_UNLEARNED, TrailState};

use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::config::Config;
use crate::detect::detector::Transition;
use crate::insight::record::InsightRecord;
use crate::insight::sink::InsightSink;
use crate::store::StateStore;
use error::{Abort, store_error};
use items::TRAILS_PK;
use series_cache::SeriesCache;
use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Mutex;

/// Starts and Ends decided in a unit of work, each with its series ID, in order.
type Transitions = Vec<(String, Transition)>;

/// How many times a file is retried after losing a race with a concurrent writer.
const CONFLICT_RETRIES: u32 = 8;

/// Extra minutes the sweep waits beyond the lateness allowance before closing by wall clock.
const SWEEP_GRACE_MINUTES: i64 = 15;

/// The target of the engine's log lines, whichever file of it logs: the one they had when the
/// engine was one file, so log filters and searches written for them still match.
const LOG_TARGET: &str = module_path!();

/// Opens (or re-opens) the object's bytes; called again when an exact recount is needed.
pub type Opener<'a> = &'a dyn Fn() -> std::io::Result<Box<dyn Read + 'a>>;

pub struct Engine<'a> {
    pub config: Config,
    store: &'a dyn StateStore,
    sink: &'a dyn InsightSink,
    touched: Mutex<BTreeSet<TrailScope>>,
}

/// What a stage hands on: the next stage's input, or the file's outcome when it ends there (a
/// skipped key, a file processed before, a refused file).
enum Step<T> {
    Next(T),
    Finished(Outcome),
}

impl<'a> Engine<'a> {
    pub fn new(config: Config, store: &'a dyn StateStore, sink: &'a dyn InsightSink) -> Engine<'a> {
        Engine {
            config,
            store,
            sink,
            touched: Mutex::new(BTreeSet::new()),
        }
    }

    /// Process one object: `object_id` names it uniquely (e.g. `bucket/key`), `key` is its key
    /// or path (classified to find the account and region).
    pub fn process(
        &self,
        object_id: &str,
        key: &str,
        open: Opener<'_>,
    ) -> Result<Outcome, ProcessError> {
        self.transaction(key, || self.try_process(object_id, key, open))
    }

    /// Run `attempt` as one unit of work of the store: commit what it wrote, or roll it back;
    /// on a conflict (another writer changed an item it read) roll back and run it again, up to
    /// [`CONFLICT_RETRIES`] times. `label` names the file or account/region in errors.
    fn transaction<T>(
        &self,
        label: &str,
        mut attempt: impl FnMut() -> Result<T, Abort>,
    ) -> Result<T, ProcessError> {
        let mut retries = 0;
        loop {
            match attempt() {
                Ok(done) => {
                    self.store.commit().map_err(|e| store_error(label, e))?;
                    return Ok(done);
                }
                Err(Abort::Conflict) if retries < CONFLICT_RETRIES => {
                    self.store.rollback();
                    retries += 1;
                }
                Err(Abort::Conflict) => {
                    self.store.rollback();
                    return Err(ProcessError::Transient {
                        key: label.into(),
                        reason: "too many concurrent updates; retry later".into(),
                    });
                }
                Err(Abort::Error(e)) => {
                    self.store.rollback();
                    return Err(e);
                }
            }
        }
    }

    /// One attempt at a file: the stages in order (see the module doc). Every write goes to the
    /// store's unit of work, which `process` commits, or rolls back to retry on a conflict.
    fn try_process(&self, object_id: &str, key: &str, open: Opener<'_>) -> Result<Outcome, Abort> {
        let mut run = match self.read(object_id, key)? {
            Step::Next(run) => run,
            Step::Finished(outcome) => return Ok(outcome),
        };
        let counted = match self.count(&mut run, open)? {
            Step::Next(counted) => counted,
            Step::Finished(outcome) => return Ok(outcome),
        };
        let merged = self.merge(&mut run, counted, open)?;

        // The series states this file reads and changes, and the Starts and Ends it decides.
        let mut series = SeriesCache::new(&run.trail);
        let mut transitions = Transitions::new();
        self.learn_late(&mut run, &merged, &mut series)?;
        self.close_delivered(&mut run, &mut series, &mut transitions)?;

        self.start_early(&mut run, &merged, &mut series, &mut transitions)?;
        run.outcome.series_touched = merged.touched_series.len();
        let verdicts = self.judge_sessions(
            &run.pk,
            &mut run.trail,
            &mut series,
            transitions,
            false,
            key,
        )?;
        run.outcome.withheld = verdicts.withheld;
        run.outcome.held = verdicts.held;

        run.outcome.insights = self.emit(&run.log.scope, &verdicts.write, key)?;
        self.save_file(run, series)
    }

    /// Close every minute up to the newest event of each account/region touched in this run, so
    /// that finished insights get their End, and judge every held Start (end of a replay).
    pub fn flush(&self) -> Result<Vec<InsightRecord>, ProcessError> {
        let scopes: Vec<TrailScope> = self
            .touched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let mut all = Vec::new();
        for scope in scopes {
            all.extend(self.close_scope(&scope, |t| t.newest_event, true)?);
        }
        Ok(all)
    }

    /// The scheduled sweep: close minutes up to `now` less the lateness allowance (and a grace
    /// period for slow deliveries) for every account/region, so accounts that went quiet get
    /// their pending End records.
    pub fn sweep(&self, now: Minute) -> Result<Vec<InsightRecord>, ProcessError> {
        let rows = self
            .store
            .query(TRAILS_PK, "TRAIL#", "TRAIL#\u{10ffff}")
            .map_err(|e| store_error("sweep", e))?;
        let target = now.plus(-i64::from(self.config.lateness_minutes) - SWEEP_GRACE_MINUTES);
        let mut all = Vec::new();
        for (_, item) in rows {
            let scope: TrailScope =
                serde_json::from_slice(&item.body).map_err(|e| ProcessError::Fatal {
                    key: "sweep".into(),
                    reason: format!("corrupt trail registry item: {e}"),
                })?;
            all.extend(self.close_scope(&scope, |_| Some(target), false)?);
        }
        Ok(all)
    }
}
