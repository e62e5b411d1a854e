//! Processing one log file against the state store: the same code for the command line and the
//! Lambda.
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

use crate::base::series::SeriesKey;
use crate::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, Minute};
use crate::cloudtrail::key::{TrailScope, classify_key};
use crate::cloudtrail::reader::{ReadError, read_records};
use crate::cloudtrail::record::{Ignored, classify_record, fnv1a};
use crate::config::Config;
use crate::count::attribution::{Strings, TopCounts};
use crate::count::minutes::{FileCounts, IdChunk, MINUTE_ATTRIBUTION_CAPACITY, MinuteCounts};
use crate::detect::detector::{Phase, SeriesState, TrailContext, Transition, Unlearned};
use crate::detect::drop::worth_watching;
use crate::detect::session::{self, HeldStart, SESSION_HOLD_MINUTES};
use crate::insight::record::{
    InsightRecord, insight_file, render, shared_event_id, start_file_key,
};
use crate::insight::sink::InsightSink;
use crate::store::{Item, StateStore, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Read;
use std::sync::Mutex;

/// Starts and Ends decided in a unit of work, each with its series ID, in order.
type Transitions = Vec<(String, Transition)>;

/// What the deploy-session rule made of a unit of work's Starts and Ends.
struct Verdicts {
    /// To write, in order.
    write: Transitions,
    /// Starts withheld: series ID and Start minute.
    withheld: Vec<(String, Minute)>,
    /// New Starts held until their session window has been delivered.
    held: Vec<(String, Minute)>,
}

/// How many times a file is retried after losing a race with a concurrent writer.
const CONFLICT_RETRIES: u32 = 8;

/// Per account/region progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailState {
    pub observed_since: Option<Minute>,
    /// Every minute up to and including this one is closed.
    pub closed_through: Option<Minute>,
    pub newest_delivery: Option<Minute>,
    pub newest_event: Option<Minute>,
    /// Series with an insight open (they need End checks even when silent).
    #[serde(default)]
    pub open_insights: BTreeSet<String>,
    /// Busy series the drop detector checks on minutes without events (`DROP_INSIGHTS`), at
    /// most [`MAX_DROP_WATCH`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub drop_watch: BTreeSet<String>,
    /// Every series has learned every closed minute up to here; later closed minutes of quiet
    /// series are learned when their hour completes (see `Engine::close_through`). Absent in
    /// state written before this existed: then it is `closed_through`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded_through: Option<Minute>,
    /// Each quiet series' closed minutes it has not learned yet (all after `folded_through`, in
    /// one clock hour), as the sustained Start rule needs them before the hour is folded. Late
    /// events are left out, so a crash and retry gives the same sums.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unlearned: BTreeMap<String, Unlearned>,
    /// How many pages hold the series states (see `SeriesCache`); 0 until the first is written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pages: u32,
    /// Series whose current state is in their own item rather than their page, until the next
    /// fold takes them back.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub loose: BTreeSet<String>,
    /// Series states of this trail have only ever been stored in pages and loose items. False
    /// for state from before pages (one item per series), whose own items are then looked for.
    #[serde(default)]
    pub paged: bool,
    /// Series holding a Start made through a deploy tool (see [`Engine::judge_sessions`]), with
    /// the earliest minute one of their holds waits for. Derived from the series states when
    /// they are saved, so a retry after a lost race finds it again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub held: BTreeMap<String, Minute>,
}

/// Series a trail's index of holds lists at most (~70 bytes each in its item). Beyond it, a new
/// Start made through a deploy tool is judged at once, on the minutes stored so far.
pub const MAX_HELD_SERIES: usize = 500;

/// Holds one series carries at most (each ~2–9 KB in its item), with the same fallback.
pub const MAX_HELD_PER_SERIES: usize = 4;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Quiet series whose unlearned minutes the trail item carries, at most: ~75 bytes each (about
/// 150 KB in all), so the item stays below DynamoDB's 400 KB. Beyond it, a series judges the
/// sustained rule on its learned minutes only: a later Start at worst, never a false one.
pub const MAX_UNLEARNED: usize = 2_000;

impl TrailState {
    /// Add a minute of `count` events (`winsorised`) to `sid`'s unlearned ones (a new series
    /// only while fewer than [`MAX_UNLEARNED`] are carried).
    fn add_unlearned(&mut self, sid: &str, count: u64, winsorised: u64) {
        if let Some(u) = self.unlearned.get_mut(sid) {
            u.add(count, winsorised);
        } else if self.unlearned.len() < MAX_UNLEARNED {
            let u = Unlearned::minute(count, winsorised);
            self.unlearned.insert(sid.to_string(), u);
        }
    }

    /// `sid`'s unlearned events that count towards the sustained rule at minute `t` (those in
    /// the previous or current clock hour of `t`).
    fn unlearned_near(&self, sid: &str, t: Minute) -> Unlearned {
        let hour = self.folded_through.map(|f| f.plus(1).hour());
        match self.unlearned.get(sid) {
            Some(&u) if hour.is_some_and(|h| h == t.hour() || h == t.hour() - 1) => u,
            _ => Unlearned::default(),
        }
    }
}

/// A stored minute as the closing pass reads it: the series counts, not the event IDs.
#[derive(Debug, Default, Deserialize)]
struct ClosedMinute {
    #[serde(default)]
    series: BTreeMap<String, crate::count::minutes::SeriesMinute>,
}

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

/// Series per account and region the drop detector follows through silence; each costs a state
/// read per processed file. Further busy series are checked only on minutes with events.
pub const MAX_DROP_WATCH: usize = 100;

/// What happened to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Processed,
    /// Processed before (marker found): nothing done.
    AlreadyProcessed,
    /// Not a CloudTrail log file; not read.
    Skipped(String),
    /// A CloudTrail log file that cannot be read (corrupt, too large, not CloudTrail JSON):
    /// permanently refused and remembered, so re-deliveries are not retried forever.
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub key: String,
    pub status: Status,
    pub records: u64,
    pub counted: u64,
    pub ignored: BTreeMap<&'static str, u64>,
    /// Events whose ID was already counted (in this file or another).
    pub duplicates: u64,
    /// Counted after their minute had closed: in metrics and baselines, never in a decision.
    pub late: u64,
    pub minutes_touched: usize,
    pub series_touched: usize,
    pub insights: Vec<InsightRecord>,
    /// Starts withheld as part of a deploy session (see [`crate::detect::session`]): series ID and the
    /// Start's minute.
    pub withheld: Vec<(String, Minute)>,
    /// New Starts made through a deploy tool, held until their session window has been
    /// delivered (written or withheld by a later file, the sweep or the flush).
    pub held: Vec<(String, Minute)>,
}

impl Outcome {
    fn new(key: &str, status: Status) -> Outcome {
        Outcome {
            key: key.to_string(),
            status,
            records: 0,
            counted: 0,
            ignored: BTreeMap::new(),
            duplicates: 0,
            late: 0,
            minutes_touched: 0,
            series_touched: 0,
            insights: Vec::new(),
            withheld: Vec::new(),
            held: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Retry later: the object, the store or the sink was temporarily unavailable.
    #[error("{key}: {reason}")]
    Transient { key: String, reason: String },
    /// A fault of this installation (e.g. a corrupt state file) rather than of the object.
    #[error("{key}: {reason}")]
    Fatal { key: String, reason: String },
}

impl ProcessError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ProcessError::Transient { .. })
    }
}

/// Internal: a conflict restarts the file; anything else ends it.
enum Abort {
    Conflict,
    Error(ProcessError),
}

/// Opens (or re-opens) the object's bytes; called again when an exact recount is needed.
pub type Opener<'a> = &'a dyn Fn() -> std::io::Result<Box<dyn Read + 'a>>;

pub struct Engine<'a> {
    pub config: Config,
    store: &'a dyn StateStore,
    sink: &'a dyn InsightSink,
    touched: Mutex<BTreeSet<TrailScope>>,
}

pub fn trail_pk(scope: &TrailScope) -> String {
    match &scope.org {
        Some(org) => format!("TRAIL#{}#{}#{}", org, scope.account, scope.region),
        None => format!("TRAIL#{}#{}", scope.account, scope.region),
    }
}

pub fn minute_sk(m: Minute) -> String {
    format!("MIN#{:012}", m.0)
}

/// Event-ID hashes one minute item keeps: 16,000 × 8 bytes is ~171 KB as base64, well below
/// DynamoDB's 400 KB item limit with the series counts beside them. A busier minute keeps the
/// rest in chunk items of as many (see `Engine::save_minute`).
pub const INLINE_IDS: usize = 16_000;

/// The sort key of a chunk of minute `m`'s event-ID hashes (`suffix`: `#<file tag>#<n>`).
pub fn id_chunk_sk(m: Minute, suffix: &str) -> String {
    format!("IDS#{:012}{suffix}", m.0)
}

const TRAIL_SK: &str = "STATE";
/// Partition listing every account/region seen (for the sweep).
const TRAILS_PK: &str = "TRAILS";
/// Extra minutes the sweep waits beyond the lateness allowance before closing by wall clock.
const SWEEP_GRACE_MINUTES: i64 = 15;

fn series_sk(id: &str) -> String {
    format!("SER#{id}")
}

fn marker_pk(object_id: &str) -> String {
    format!("OBJ#{object_id}")
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
        let mut attempt = 0;
        loop {
            let result = self.try_process(object_id, key, open);
            match result {
                Ok(outcome) => {
                    self.store.commit().map_err(|e| store_error(key, e))?;
                    return Ok(outcome);
                }
                Err(Abort::Conflict) if attempt < CONFLICT_RETRIES => {
                    self.store.rollback();
                    attempt += 1;
                }
                Err(Abort::Conflict) => {
                    self.store.rollback();
                    return Err(ProcessError::Transient {
                        key: key.into(),
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

    fn try_process(&self, object_id: &str, key: &str, open: Opener<'_>) -> Result<Outcome, Abort> {
        let log = match classify_key(key) {
            Ok(log) => log,
            Err(reason) => return Ok(Outcome::new(key, Status::Skipped(reason.to_string()))),
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
            return Ok(Outcome::new(key, Status::AlreadyProcessed));
        }
        let pk = trail_pk(&log.scope);
        let (mut trail, trail_version) = self.load::<TrailState>(&pk, TRAIL_SK, key)?;
        if trail_version.is_none() {
            trail.paged = true;
        }
        let mut outcome = Outcome::new(key, Status::Processed);

        // Pass 1: count the file.
        // Older than the retention before the closed minutes (their items may be pruned), or
        // before the file's own delivery: such a record is a clock error or garbage, not a late
        // event, and counting it would move `observed_since` back by years and skip the warm-up.
        let retention = i64::from(self.config.metrics_retention_days) * MINUTES_PER_DAY;
        let too_old = Some(
            trail
                .closed_through
                .map_or(log.delivered, |c| c.max(log.delivered))
                .plus(-retention),
        );
        let future = log
            .delivered
            .plus(i64::from(self.config.future_tolerance_minutes));
        let mut counts = FileCounts::default();
        let read = self.count_file(object_id, open, too_old, future, &mut outcome, |e, _| {
            counts.add(e);
            true
        });
        match read {
            Ok(records) => outcome.records = records,
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
                    self.put_marker(&marker, key, &format!("rejected: {reason}"))?;
                }
                let mut o = Outcome::new(key, Status::Rejected(reason));
                o.records = outcome.records;
                return Ok(o);
            }
        }

        // Merge into the stored minutes; exact recount where IDs overlap or repeat.
        let mut stored: BTreeMap<Minute, (MinuteCounts, Option<u64>)> = BTreeMap::new();
        let mut recount: BTreeSet<Minute> = BTreeSet::new();
        let mut added: BTreeMap<Minute, MinuteCounts> = BTreeMap::new();
        // Every series the file speaks of, counted now or by an earlier attempt: a redelivery
        // after a crash must still reach the Start decision for them.
        let mut touched_series: BTreeSet<String> = BTreeSet::new();
        for (minute, mut file_minute) in std::mem::take(&mut counts.minutes) {
            touched_series.extend(file_minute.series.keys().cloned());
            let had_duplicates = file_minute.seal();
            let (bucket, version) = self.load_minute(&pk, minute, key)?;
            let overlap = bucket.overlap(&file_minute.ids);
            if overlap == file_minute.ids.len() && !had_duplicates {
                outcome.duplicates += overlap as u64;
                outcome.counted -= overlap as u64;
            } else if overlap == 0 && !had_duplicates {
                added.insert(minute, file_minute);
            } else {
                recount.insert(minute);
            }
            stored.insert(minute, (bucket, version));
        }
        if !recount.is_empty() {
            let mut seen: HashSet<u64> = HashSet::new();
            for m in &recount {
                seen.extend(stored[m].0.all_ids());
            }
            let mut exact = FileCounts::default();
            let mut dupes = 0u64;
            let mut scratch = Outcome::new(key, Status::Processed);
            self.count_file(object_id, open, too_old, future, &mut scratch, |e, _| {
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
            outcome.duplicates += dupes;
            outcome.counted -= dupes;
            for (m, mut c) in exact.minutes {
                c.seal();
                added.insert(m, c);
            }
        }
        for (m, c) in added.iter_mut() {
            if let Some((bucket, version)) = stored.get_mut(m) {
                // Only late minutes need the file's own counts again (below); the others are
                // moved into the stored minute rather than copied, so a big file's attribution
                // is not held twice.
                let late = trail.closed_through.is_some_and(|ct| *m <= ct);
                if late {
                    bucket.merge(c);
                } else {
                    bucket.absorb(std::mem::take(c));
                }
                self.save_minute(&pk, *m, bucket, *version, object_id, key)?;
                // The event IDs are stored now and not needed again in this run.
                bucket.ids = Vec::new();
                bucket.chunked_ids = Vec::new();
            }
        }
        outcome.minutes_touched = stored.len();

        // Trail progress.
        if let Some(first) = stored.keys().next() {
            trail.observed_since = Some(trail.observed_since.map_or(*first, |o| o.min(*first)));
        }
        if let Some(last) = stored.keys().next_back() {
            trail.newest_event = Some(trail.newest_event.map_or(*last, |n| n.max(*last)));
        }
        trail.newest_delivery = Some(
            trail
                .newest_delivery
                .map_or(log.delivered, |d| d.max(log.delivered)),
        );

        let mut series = SeriesCache::new(&trail);
        let mut transitions: Vec<(String, Transition)> = Vec::new();

        // Late counts are learned; decisions already made stand.
        let ctx = context(&trail);
        for (m, c) in &added {
            for (sid, s) in &c.series {
                if let (Some(ctx), true) = (ctx, trail.closed_through.is_some_and(|ct| *m <= ct)) {
                    outcome.late += s.count;
                    let state = series.get(self, &pk, sid, key)?;
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

        let target = log.delivered.plus(-i64::from(self.config.lateness_minutes));
        self.close_through(&pk, &mut trail, target, &mut series, &mut transitions, key)?;

        // Early Start: a still-open minute whose evidence already meets the rule.
        if let Some(ctx) = context(&trail) {
            // This file's earlier open minutes, per series, for the sustained rule (they are
            // part of its run but not yet closed).
            let mut open_run: BTreeMap<&str, Vec<(Minute, Unlearned)>> = BTreeMap::new();
            // Every stored open minute (earlier files' too), read only if a run might need them.
            let mut open = OpenMinutes {
                range: (trail.closed_through.map(|c| c.plus(1)), trail.newest_event),
                read: None,
            };
            for (m, (bucket, _)) in &stored {
                if trail.closed_through.is_some_and(|ct| *m <= ct) {
                    continue;
                }
                // `bucket` already includes this file's counts (merged above).
                for (sid, s) in &bucket.series {
                    if !touched_series.contains(sid) {
                        continue;
                    }
                    let cfg = self.config.detector_for(sid);
                    let state = series.get(self, &pk, sid, key)?;
                    let run = open_run.entry(sid).or_default();
                    let mut open_part = run
                        .iter()
                        .filter(|(e, _)| *e < *m && e.hour() >= m.hour() - 1)
                        .fold(Unlearned::default(), |u, (_, e)| u.and(*e));
                    let winsorised = state.winsorise(*m, s.count, ctx, cfg);
                    run.push((*m, Unlearned::minute(s.count, winsorised)));
                    // No Start without the rule (the usual case): judged once, nothing more.
                    let mut starts = state.meets_start_rule(
                        *m,
                        s.count,
                        trail.unlearned_near(sid, *m).and(open_part),
                        ctx,
                        cfg,
                    );
                    // A run may have begun in minutes an earlier file brought, still open: an
                    // unusual minute is judged again with them.
                    if !starts && state.may_continue_a_run(*m, s.count, ctx, cfg) {
                        let minutes = open.get(self, &pk, key)?;
                        open_part = OpenMinutes::series_before(minutes, sid, *m)
                            .into_iter()
                            .fold(Unlearned::default(), |u, (e, count)| {
                                u.and(Unlearned::minute(
                                    count,
                                    state.winsorise(e, count, ctx, cfg),
                                ))
                            });
                        starts = state.meets_start_rule(
                            *m,
                            s.count,
                            trail.unlearned_near(sid, *m).and(open_part),
                            ctx,
                            cfg,
                        );
                    }
                    if !starts {
                        // This file may hold the first minutes of a run whose Start an earlier
                        // file proved (still open): the Start is dated again from them.
                        if state.insight.as_ref().is_some_and(|i| *m < i.start)
                            && let Some(t) =
                                self.redate_start(&pk, sid, state, &mut open, ctx, cfg, key)?
                        {
                            transitions.push((sid.clone(), t));
                        }
                        continue;
                    }
                    // Where its run began: every stored open minute of the series in the window.
                    let near = OpenMinutes::series_before(open.get(self, &pk, key)?, sid, *m);
                    // The Start record reports the baseline up to now. Following learns the
                    // deferred minutes, so from here only the open ones are unlearned.
                    self.follow(&pk, &mut trail, sid, state, key)?;
                    if let Some(t) = state.observe_open_minute(
                        *m,
                        s.count,
                        open_part,
                        &near,
                        &s.attribution,
                        ctx,
                        cfg,
                    ) {
                        transitions.push((sid.clone(), t));
                    }
                }
            }
        }
        outcome.series_touched = touched_series.len();

        let verdicts =
            self.judge_sessions(&pk, &mut trail, &mut series, transitions, false, key)?;
        outcome.withheld = verdicts.withheld;
        outcome.held = verdicts.held;
        outcome.insights = self.emit(&log.scope, &verdicts.write, key)?;
        self.save_series(&pk, &mut trail, series, key)?;
        if trail_version.is_none() {
            self.register_trail(&log.scope, &pk, key)?;
        }
        self.save(&pk, TRAIL_SK, &trail, trail_version, key)?;
        self.put_marker(&marker, key, "processed")?;
        Ok(outcome)
    }

    /// The deploy-session rule (see [`crate::detect::session`]) on this unit of work's transitions.
    ///
    /// A new Start made through a deploy tool is held in its series' state (the trail keeps an
    /// index), written with the decision as a written Start would be, until files up to
    /// [`SESSION_HOLD_MINUTES`] after its session window have been delivered, or the window is
    /// closed, or `release_all` (the end-of-input flush): a Terraform run reaches its APIs one
    /// after another, so its first API's Start is decided before the rest of the session shows.
    /// What is decided for a held insight meanwhile (a moved Start, its End) waits with it. Then
    /// it is judged on the whole window: withheld (logged, not written, and so is its End) or
    /// written. A Start that moves a written or withheld one keeps that verdict.
    ///
    /// The transitions to write come out in order, released ones first.
    fn judge_sessions(
        &self,
        pk: &str,
        trail: &mut TrailState,
        series: &mut SeriesCache,
        transitions: Transitions,
        release_all: bool,
        key: &str,
    ) -> Result<Verdicts, Abort> {
        let ctx = context(trail).filter(|_| self.config.deploy_session_apis > 0);
        let (closed, delivered) = (trail.closed_through, trail.newest_delivery);
        let ready = |until: Minute| {
            release_all
                || ctx.is_none()
                || closed.is_some_and(|c| c >= until)
                || delivered.is_some_and(|d| d >= until.plus(SESSION_HOLD_MINUTES))
        };
        // This unit's transitions: into the hold of their insight, into a new hold, or out.
        let mut now: Transitions = Vec::new();
        let mut judged_now: Vec<usize> = Vec::new();
        let mut held = Vec::new();
        for (sid, t) in transitions {
            let indexed = trail.held.len() < MAX_HELD_SERIES || trail.held.contains_key(&sid);
            let state = series.get(self, pk, &sid, key)?;
            if let Some(h) = state.held.iter_mut().find(|h| !t.drop && h.holds(&t)) {
                h.hold(t);
                continue;
            }
            if ctx.is_some() && self.is_deploy_start(&t) {
                let (_, until) = session::window_of(&t);
                if !ready(until) && indexed && state.held.len() < MAX_HELD_PER_SERIES {
                    tracing::info!(
                        key,
                        series = %sid,
                        start = %t.start.to_rfc3339(),
                        until = %until.to_rfc3339(),
                        "insight held: made through a deploy tool, judged once its session \
                         window is delivered"
                    );
                    held.push((sid.clone(), t.start));
                    state.held.push(HeldStart {
                        start: t.start,
                        until,
                        transitions: vec![t],
                    });
                    // Listed now for the cap; `save_series` derives the list from the states.
                    trail.held.entry(sid).or_insert(until);
                    continue;
                }
                judged_now.push(now.len());
            }
            now.push((sid, t));
        }
        // Then the holds whose window has been delivered, before this unit's own (older Starts).
        let due: Vec<String> = trail
            .held
            .iter()
            .filter(|(_, until)| ready(**until))
            .map(|(sid, _)| sid.clone())
            .collect();
        let mut list: Transitions = Vec::new();
        let mut judged: Vec<usize> = Vec::new();
        for sid in due {
            let state = series.get(self, pk, &sid, key)?;
            let (go, keep): (Vec<HeldStart>, Vec<HeldStart>) = std::mem::take(&mut state.held)
                .into_iter()
                .partition(|h| ready(h.until));
            state.held = keep;
            for h in go {
                judged.push(list.len());
                list.extend(h.transitions.into_iter().map(|t| (sid.clone(), t)));
            }
        }
        judged.extend(judged_now.into_iter().map(|i| i + list.len()));
        list.extend(now);
        let withheld = match ctx {
            Some(ctx) => self.withhold_sessions(pk, ctx, series, &mut list, &judged, key)?,
            None => Vec::new(),
        };
        Ok(Verdicts {
            write: list,
            withheld,
            held,
        })
    }

    /// Judge the Starts at `judged` in `list` on their session windows as stored now: mark each
    /// deploy session's Start (and End, when it ended while held) withheld, and its open insight
    /// too. Returns them.
    fn withhold_sessions(
        &self,
        pk: &str,
        ctx: TrailContext,
        series: &mut SeriesCache,
        list: &mut Transitions,
        judged: &[usize],
        key: &str,
    ) -> Result<Vec<(String, Minute)>, Abort> {
        let windows: Vec<(Minute, Minute)> = judged
            .iter()
            .map(|&i| session::window_of(&list[i].1))
            .collect();
        let (Some(from), Some(to)) = (
            windows.iter().map(|w| w.0).min(),
            windows.iter().map(|w| w.1).max(),
        ) else {
            return Ok(Vec::new());
        };
        let minutes = self.minutes_between(pk, from, to, key)?;
        let min_apis = self.config.deploy_session_apis;
        let mut withheld = Vec::new();
        for (&i, &(from, to)) in judged.iter().zip(&windows) {
            let (sid, t) = &list[i];
            let (Some(own), Some((caller, _))) = (
                SeriesKey::from_id(sid),
                t.insight_attribution.callers.first(),
            ) else {
                continue;
            };
            let (sid, start, caller) = (sid.clone(), t.start, caller.clone());
            // The other series in the window: who led each there, and whether its events there
            // are far above its usual rate (a state is read only for those this caller led).
            let mut window: BTreeMap<&str, (u64, TopCounts)> = BTreeMap::new();
            for (_, bucket) in minutes.iter().filter(|(m, _)| (from..=to).contains(m)) {
                for (other, s) in bucket.series.iter().filter(|(other, _)| **other != sid) {
                    let (sum, callers) = window.entry(other.as_str()).or_default();
                    *sum += s.count;
                    callers.merge(&s.attribution.callers, MINUTE_ATTRIBUTION_CAPACITY);
                }
            }
            let mut seen: Vec<(SeriesKey, Option<String>, bool)> = Vec::new();
            for (other, (sum, callers)) in window {
                let Some(other_key) = SeriesKey::from_id(other) else {
                    continue;
                };
                let top = callers.top(1).into_iter().next().map(|(c, _)| c);
                let unusual = top.as_ref() == Some(&caller) && {
                    let cfg = self.config.detector_for(other);
                    let state = series.get(self, pk, other, key)?;
                    state.is_unusual_over(start, sum, to.0 - from.0 + 1, ctx, cfg)
                };
                seen.push((other_key, top, unusual));
            }
            let observations = seen.iter().map(|(k, top, unusual)| session::Observation {
                series: k,
                top_caller: top.as_deref(),
                unusual: *unusual,
            });
            let Some(found) = session::deploy_session(&own, &caller, observations, min_apis) else {
                continue;
            };
            tracing::info!(
                key,
                series = %own.label(),
                start = %start.to_rfc3339(),
                caller = %found.caller,
                other_apis = ?found.other_apis,
                "insight withheld: deploy session"
            );
            withheld.push((sid.clone(), start));
            // Its Start, and its End when it ended while held.
            for (s, t) in list.iter_mut() {
                if *s == sid && t.start == start && !t.drop {
                    t.withheld = true;
                }
            }
            let state = series.get(self, pk, &sid, key)?;
            if let Some(ins) = state.insight.as_mut().filter(|ins| ins.start == start) {
                ins.withheld = true;
            }
        }
        Ok(withheld)
    }

    /// A new Start (not a moved one, not a drop) whose top user agent is a deploy tool's.
    fn is_deploy_start(&self, t: &Transition) -> bool {
        t.phase == Phase::Start
            && !t.withheld
            && !t.drop
            && t.replaces.is_none()
            && t.insight_attribution
                .agents
                .first()
                .is_some_and(|(agent, _)| {
                    session::is_deploy_agent(agent, &self.config.deploy_session_agents)
                })
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

    /// Stream the file, classify records and hand the ones that count to `keep` (which says
    /// whether it counted the event). Returns the number of records read.
    fn count_file(
        &self,
        object_id: &str,
        open: Opener<'_>,
        too_old: Option<Minute>,
        future: Minute,
        outcome: &mut Outcome,
        mut keep: impl FnMut(&crate::cloudtrail::record::CountedEvent, u64) -> bool,
    ) -> Result<u64, ReadError> {
        let reader = open().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Missing(e.to_string()),
            _ => ReadError::Transient(e),
        })?;
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
    fn close_through(
        &self,
        pk: &str,
        trail: &mut TrailState,
        target: Minute,
        series: &mut SeriesCache,
        transitions: &mut Vec<(String, Transition)>,
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
        }
        Ok(())
    }

    /// The stored minutes in `from..=to`, in order, by their series counts.
    fn minutes_between(
        &self,
        pk: &str,
        from: Minute,
        to: Minute,
        key: &str,
    ) -> Result<Vec<(Minute, ClosedMinute)>, Abort> {
        let mut out = Vec::new();
        // A busy hour repeats the same callers across its minutes: hold each once.
        let mut strings = Strings::default();
        let mut each = |sk: String, item: Item| {
            let Some(minute) = sk
                .strip_prefix("MIN#")
                .and_then(|m| m.parse().ok())
                .map(Minute)
            else {
                return Ok(());
            };
            let mut closed: ClosedMinute = serde_json::from_slice(&item.body)
                .map_err(|e| StoreError::Permanent(format!("corrupt state item: {e}")))?;
            for s in closed.series.values_mut() {
                s.attribution.share(&mut strings);
            }
            out.push((minute, closed));
            Ok(())
        };
        let from = minute_sk(from.max(Minute(0)));
        self.store
            .query_each(pk, &from, &minute_sk(to), &mut each)
            .map_err(|e| abort(key, e))?;
        Ok(out)
    }

    /// A quiet series starts being followed minute by minute (it Starts, or the drop detector
    /// watches it): it learns its deferred minutes first.
    fn follow(
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

    /// Render and write the Insights files for `transitions`.
    fn emit(
        &self,
        scope: &TrailScope,
        transitions: &[(String, Transition)],
        key: &str,
    ) -> Result<Vec<InsightRecord>, Abort> {
        let mut records = Vec::new();
        for (sid, t) in transitions {
            let Some(series) = SeriesKey::from_id(sid) else {
                continue;
            };
            if t.withheld {
                continue; // a deploy session's: logged when it was withheld
            }
            if let Some(old) = t.replaces {
                let old_key = start_file_key(scope, &series, old);
                self.sink.delete(&old_key).map_err(|e| {
                    Abort::Error(ProcessError::Transient {
                        key: key.into(),
                        reason: e.to_string(),
                    })
                })?;
                records.retain(|r: &InsightRecord| {
                    r.shared_event_id != shared_event_id(scope, &series, old).to_string()
                });
                tracing::info!(key, series = %series.label(), moved_from = %old.to_rfc3339(), to = %t.start.to_rfc3339(), "insight start moved earlier");
            }
            let record = render(scope, &series, t);
            let file = insight_file(scope, record.clone()).map_err(|e| {
                Abort::Error(ProcessError::Fatal {
                    key: key.into(),
                    reason: format!("cannot encode an Insights file: {e}"),
                })
            })?;
            self.sink.put(&file).map_err(|e| {
                Abort::Error(ProcessError::Transient {
                    key: key.into(),
                    reason: e.to_string(),
                })
            })?;
            tracing::info!(
                key,
                insight = %record.shared_event_id,
                state = match t.phase { Phase::Start => "Start", Phase::End => "End" },
                series = %series.label(),
                event_time = %record.event_time,
                file = %file.key,
                "insight"
            );
            records.push(record);
        }
        self.sink.flush().map_err(|e| {
            Abort::Error(ProcessError::Transient {
                key: key.into(),
                reason: e.to_string(),
            })
        })?;
        Ok(records)
    }

    /// Write the changed series states: into their pages when this unit of work folds an hour
    /// (and they are not followed), else into their own items (see [`SeriesCache`]).
    ///
    /// An own item a series leaves for its page is not deleted: a concurrent invocation that
    /// read the trail item before this one's may still look for it there (and then lose the race
    /// on the trail item and retry). It is overwritten when the series next leaves its page.
    fn save_series(
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

    fn put_marker(&self, marker: &str, key: &str, status: &str) -> Result<(), Abort> {
        let body = serde_json::to_vec(&serde_json::json!({ "key": key, "status": status }))
            .map_err(|e| fatal(key, e))?;
        match self.store.put(marker, "DONE", &body, None) {
            Err(StoreError::Conflict { .. }) => Err(Abort::Conflict),
            other => other.map_err(|e| abort(key, e)),
        }
    }

    /// A stored minute with every event-ID hash it holds (its chunks read back).
    fn load_minute(
        &self,
        pk: &str,
        minute: Minute,
        key: &str,
    ) -> Result<(MinuteCounts, Option<u64>), Abort> {
        let (mut bucket, version) = self.load::<MinuteCounts>(pk, &minute_sk(minute), key)?;
        for sk in &bucket.id_chunks {
            let Some(item) = self.store.get(pk, sk).map_err(|e| abort(key, e))? else {
                // Expired before its minute (TTL): its IDs can no longer catch a copy, which
                // costs at most a double count; failing the file for ever would cost more.
                tracing::warn!(key, item = sk.as_str(), "event-ID chunk missing; skipped");
                continue;
            };
            let chunk: IdChunk = decode(&item.body, key)?;
            bucket.chunked_ids.extend(chunk.ids);
        }
        bucket.chunked_ids.sort_unstable();
        Ok((bucket, version))
    }

    /// Write a minute. One item holds [`INLINE_IDS`] event-ID hashes at most; beyond that they
    /// move to chunk items named after this log file and the minute version it read, written
    /// first and listed in the minute item only when it is written: a crash or a lost race
    /// leaves unlisted chunks that nothing reads, and a retry from the same version rewrites
    /// them with the same IDs.
    fn save_minute(
        &self,
        pk: &str,
        minute: Minute,
        bucket: &mut MinuteCounts,
        version: Option<u64>,
        object_id: &str,
        key: &str,
    ) -> Result<(), Abort> {
        if bucket.ids.len() > INLINE_IDS {
            // Named by the file and the minute version it read: every attempt that writes a
            // chunk under one name writes the same IDs, so a late loser of a race cannot change
            // a chunk the winner listed.
            let tag = format!(
                "{:016x}",
                crate::cloudtrail::record::fnv1a(object_id.as_bytes())
            );
            let read = version.unwrap_or(0);
            for (n, ids) in bucket.ids.chunks(INLINE_IDS).enumerate() {
                let sk = id_chunk_sk(minute, &format!("#{tag}#{read}#{n}"));
                let chunk = IdChunk { ids: ids.to_vec() };
                let body = serde_json::to_vec(&chunk).map_err(|e| fatal(key, e))?;
                let current = self
                    .store
                    .get(pk, &sk)
                    .map_err(|e| abort(key, e))?
                    .map(|i| i.version);
                self.store
                    .put(pk, &sk, &body, current)
                    .map_err(|e| abort(key, e))?;
                bucket.id_chunks.push(sk);
            }
            bucket.ids.clear();
        }
        self.save(pk, &minute_sk(minute), bucket, version, key)
    }

    fn load<T: for<'de> Deserialize<'de> + Default>(
        &self,
        pk: &str,
        sk: &str,
        key: &str,
    ) -> Result<(T, Option<u64>), Abort> {
        match self.store.get(pk, sk).map_err(|e| abort(key, e))? {
            Some(item) => Ok((decode(&item.body, key)?, Some(item.version))),
            None => Ok((T::default(), None)),
        }
    }

    fn save<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        value: &T,
        version: Option<u64>,
        key: &str,
    ) -> Result<(), Abort> {
        let body = serde_json::to_vec(value).map_err(|e| fatal(key, e))?;
        self.store
            .put(pk, sk, &body, version)
            .map_err(|e| abort(key, e))
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

    /// Close one account/region through the minute `target` picks (and judge its held Starts
    /// whose window that completes, or all with `release_all`), retrying on conflicts.
    fn close_scope(
        &self,
        scope: &TrailScope,
        target: impl Fn(&TrailState) -> Option<Minute>,
        release_all: bool,
    ) -> Result<Vec<InsightRecord>, ProcessError> {
        let label = format!("{}/{}", scope.account, scope.region);
        let mut attempt = 0;
        loop {
            match self.try_close_scope(scope, &label, &target, release_all) {
                Ok(records) => {
                    self.store.commit().map_err(|e| store_error(&label, e))?;
                    return Ok(records);
                }
                Err(Abort::Conflict) if attempt < CONFLICT_RETRIES => {
                    self.store.rollback();
                    attempt += 1;
                }
                Err(Abort::Conflict) => {
                    self.store.rollback();
                    return Err(ProcessError::Transient {
                        key: label,
                        reason: "too many concurrent updates".into(),
                    });
                }
                Err(Abort::Error(e)) => {
                    self.store.rollback();
                    return Err(e);
                }
            }
        }
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
    fn register_trail(&self, scope: &TrailScope, pk: &str, key: &str) -> Result<(), Abort> {
        let body = serde_json::to_vec(scope).map_err(|e| fatal(key, e))?;
        match self.store.put(TRAILS_PK, pk, &body, None) {
            Ok(()) | Err(StoreError::Conflict { .. }) => Ok(()),
            Err(e) => Err(abort(key, e)),
        }
    }

    /// The stored per-minute counts of an account/region between two minutes (inclusive).
    pub fn minute_counts(
        &self,
        scope: &TrailScope,
        from: Minute,
        to: Minute,
    ) -> Result<Vec<(Minute, MinuteCounts)>, ProcessError> {
        let pk = trail_pk(scope);
        let rows = self
            .store
            .query(&pk, &minute_sk(from), &minute_sk(to))
            .map_err(|e| store_error(&pk, e))?;
        let mut out = Vec::with_capacity(rows.len());
        for (sk, item) in rows {
            let Some(m) = sk
                .strip_prefix("MIN#")
                .and_then(|m| m.parse().ok())
                .map(Minute)
            else {
                continue;
            };
            let counts: MinuteCounts =
                serde_json::from_slice(&item.body).map_err(|e| ProcessError::Fatal {
                    key: pk.clone(),
                    reason: format!("corrupt state item {sk}: {e}"),
                })?;
            out.push((m, counts));
        }
        Ok(out)
    }
}

fn context(trail: &TrailState) -> Option<TrailContext> {
    trail
        .observed_since
        .map(|observed_since| TrailContext { observed_since })
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8], key: &str) -> Result<T, Abort> {
    serde_json::from_slice(body).map_err(|e| {
        Abort::Error(ProcessError::Fatal {
            key: key.into(),
            reason: format!("corrupt state item: {e}"),
        })
    })
}

fn fatal(key: &str, e: impl std::fmt::Display) -> Abort {
    Abort::Error(ProcessError::Fatal {
        key: key.into(),
        reason: e.to_string(),
    })
}

fn abort(key: &str, e: StoreError) -> Abort {
    match e {
        StoreError::Conflict { .. } => Abort::Conflict,
        other => Abort::Error(store_error(key, other)),
    }
}

fn store_error(key: &str, e: StoreError) -> ProcessError {
    match e {
        StoreError::Permanent(reason) => ProcessError::Fatal {
            key: key.into(),
            reason,
        },
        other => ProcessError::Transient {
            key: key.into(),
            reason: other.to_string(),
        },
    }
}

/// Where a cached series state came from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Home {
    /// Its own item (`SER#`), at this version if it exists.
    Own(Option<u64>),
    /// Its page.
    Page,
    /// Neither: a series new to a trail that has always had pages (its own item, if any, is not
    /// its state).
    Unread,
}

/// Series states loaded during one file, written back at the end if they changed.
///
/// Series states live in a few page items (`PAGE#<pages>#<n>`, a series in page
/// `fnv1a(id) % pages`), so that the hourly fold and each file's reads cost a handful of requests
/// rather than one per series. A series whose state changes between folds (it Starts, is
/// followed, or learns late events) is written to its own item (`SER#<id>`) and listed in
/// `TrailState::loose` until the next fold takes it back into its page.
struct SeriesCache {
    entries: BTreeMap<String, CachedSeries>,
    pages: BTreeMap<u32, CachedPage>,
    page_count: u32,
    loose: BTreeSet<String>,
    paged: bool,
    /// Set by `close_through` when this unit of work folds an hour: only then are pages written.
    folding: bool,
}

struct CachedSeries {
    state: SeriesState,
    /// As loaded, to tell whether it changed.
    original: SeriesState,
    home: Home,
}

#[derive(Default)]
struct CachedPage {
    /// Each series' state as stored: only the series a file touches are decoded.
    states: BTreeMap<String, Box<RawValue>>,
    version: Option<u64>,
    dirty: bool,
}

/// A page is split (the page count doubled) before it would grow past this; DynamoDB's item
/// limit is 400 KB. Series states are 1–3 KB, so a page holds about a hundred.
const PAGE_MAX_BYTES: usize = 256 * 1024;

fn page_sk(pages: u32, n: u32) -> String {
    format!("PAGE#{pages}#{n}")
}

fn page_of(sid: &str, pages: u32) -> u32 {
    (fnv1a(sid.as_bytes()) % u64::from(pages.max(1))) as u32
}

impl SeriesCache {
    fn new(trail: &TrailState) -> SeriesCache {
        SeriesCache {
            entries: BTreeMap::new(),
            pages: BTreeMap::new(),
            page_count: trail.pages.max(1),
            loose: trail.loose.clone(),
            paged: trail.paged,
            folding: false,
        }
    }

    fn page(
        &mut self,
        engine: &Engine<'_>,
        pk: &str,
        n: u32,
        key: &str,
    ) -> Result<&mut CachedPage, Abort> {
        let page = match self.pages.entry(n) {
            Entry::Occupied(page) => page.into_mut(),
            Entry::Vacant(slot) => {
                let item = engine
                    .store
                    .get(pk, &page_sk(self.page_count, n))
                    .map_err(|e| abort(key, e))?;
                slot.insert(match item {
                    Some(item) => CachedPage {
                        states: decode(&item.body, key)?,
                        version: Some(item.version),
                        dirty: false,
                    },
                    None => CachedPage::default(),
                })
            }
        };
        Ok(page)
    }

    fn get(
        &mut self,
        engine: &Engine<'_>,
        pk: &str,
        sid: &str,
        key: &str,
    ) -> Result<&mut SeriesState, Abort> {
        if !self.entries.contains_key(sid) {
            let in_page = if self.loose.contains(sid) {
                None
            } else {
                let n = page_of(sid, self.page_count);
                match self.page(engine, pk, n, key)?.states.get(sid) {
                    Some(json) => Some(decode::<SeriesState>(json.get().as_bytes(), key)?),
                    None => None,
                }
            };
            let (state, home) = match in_page {
                Some(state) => (state, Home::Page),
                None if self.paged && !self.loose.contains(sid) => {
                    (SeriesState::default(), Home::Unread)
                }
                // Its own item: a loose series, or state written before pages existed.
                None => match engine
                    .store
                    .get(pk, &series_sk(sid))
                    .map_err(|e| abort(key, e))?
                {
                    Some(item) => (decode(&item.body, key)?, Home::Own(Some(item.version))),
                    None => (SeriesState::default(), Home::Own(None)),
                },
            };
            let entry = CachedSeries {
                original: state.clone(),
                state,
                home,
            };
            self.entries.insert(sid.to_string(), entry);
        }
        match self.entries.get_mut(sid) {
            Some(e) => Ok(&mut e.state),
            None => Err(fatal(key, "series cache lost an entry")),
        }
    }

    /// Write the changed pages, first splitting them if one grew past [`PAGE_MAX_BYTES`]. A
    /// split writes a new generation of pages (the count is in their keys), so the trail item,
    /// written after, switches to it at once; the old generation stays for readers of the old
    /// trail item (a few items, once per doubling).
    fn write_pages(
        &mut self,
        engine: &Engine<'_>,
        pk: &str,
        trail: &mut TrailState,
        key: &str,
    ) -> Result<(), Abort> {
        let mut bodies: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for (n, page) in &self.pages {
            if page.dirty {
                let body = serde_json::to_vec(&page.states).map_err(|e| fatal(key, e))?;
                bodies.insert(*n, body);
            }
        }
        if bodies.values().any(|b| b.len() > PAGE_MAX_BYTES) {
            let old = self.page_count;
            let mut all: BTreeMap<String, Box<RawValue>> = BTreeMap::new();
            for n in 0..old {
                all.append(&mut self.page(engine, pk, n, key)?.states);
            }
            let mut count = old;
            loop {
                count *= 2;
                let mut split: BTreeMap<u32, BTreeMap<&String, &RawValue>> = BTreeMap::new();
                for (sid, state) in &all {
                    split
                        .entry(page_of(sid, count))
                        .or_default()
                        .insert(sid, state);
                }
                bodies.clear();
                for (n, states) in &split {
                    bodies.insert(*n, serde_json::to_vec(states).map_err(|e| fatal(key, e))?);
                }
                if count >= 4096 || bodies.values().all(|b| b.len() <= PAGE_MAX_BYTES) {
                    break;
                }
            }
            tracing::info!(key, pages = count, "series pages split");
            self.page_count = count;
            self.pages.clear();
            // An attempt that crashed before its trail item may have written some of them.
            for n in bodies.keys() {
                let item = engine
                    .store
                    .get(pk, &page_sk(count, *n))
                    .map_err(|e| abort(key, e))?;
                let page = CachedPage {
                    version: item.map(|i| i.version),
                    ..CachedPage::default()
                };
                self.pages.insert(*n, page);
            }
        }
        for (n, body) in &bodies {
            let version = self.pages.get(n).and_then(|p| p.version);
            engine
                .store
                .put(pk, &page_sk(self.page_count, *n), body, version)
                .map_err(|e| abort(key, e))?;
        }
        if !bodies.is_empty() {
            trail.pages = self.page_count;
        }
        Ok(())
    }
}

/// Every series state of one account and region as stored: the pages, with loose series'
/// own items over them (and own items from before pages existed). For inspection and tests.
pub fn stored_series_states(
    store: &dyn StateStore,
    scope: &TrailScope,
) -> Result<BTreeMap<String, SeriesState>, StoreError> {
    let pk = trail_pk(scope);
    let trail: TrailState = match store.get(&pk, TRAIL_SK)? {
        Some(item) => serde_json::from_slice(&item.body)
            .map_err(|e| StoreError::Permanent(format!("corrupt trail item: {e}")))?,
        None => return Ok(BTreeMap::new()),
    };
    let corrupt = |sk: &str, e: serde_json::Error| StoreError::Permanent(format!("{sk}: {e}"));
    let mut out: BTreeMap<String, SeriesState> = BTreeMap::new();
    for n in 0..trail.pages {
        let sk = page_sk(trail.pages, n);
        if let Some(item) = store.get(&pk, &sk)? {
            let states: BTreeMap<String, SeriesState> =
                serde_json::from_slice(&item.body).map_err(|e| corrupt(&sk, e))?;
            out.extend(states);
        }
    }
    for (sk, item) in store.query(&pk, "SER#", "SER#~")? {
        let Some(sid) = sk.strip_prefix("SER#") else {
            continue;
        };
        // As `SeriesCache::get` reads: an own item counts when the series is loose, or, in
        // state from before pages, when it is in no page; any other is left behind (from the
        // series' last time out of its page, or an attempt that crashed before its trail item).
        if trail.loose.contains(sid) || (!trail.paged && !out.contains_key(sid)) {
            let state = serde_json::from_slice(&item.body).map_err(|e| corrupt(&sk, e))?;
            out.insert(sid.to_string(), state);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlearned_sums_are_bounded() {
        let mut trail = TrailState::default();
        for i in 0..MAX_UNLEARNED + 10 {
            trail.add_unlearned(&format!("call#s{i}#Api"), 5, 3);
        }
        assert_eq!(trail.unlearned.len(), MAX_UNLEARNED);
        trail.add_unlearned("call#s0#Api", 9, 4);
        assert_eq!(
            trail.unlearned["call#s0#Api"],
            Unlearned { events: 7, peak: 9 },
            "a carried series still adds up"
        );
        let absent = format!("call#s{}#Api", MAX_UNLEARNED + 1);
        assert!(!trail.unlearned.contains_key(&absent));
        let bytes = serde_json::to_vec(&trail).unwrap().len();
        assert!(bytes < 100 * 1024, "{bytes} bytes");
    }

    #[test]
    fn unlearned_minutes_stored_before_peaks_still_read() {
        let old: TrailState = serde_json::from_str(r#"{"unlearned":{"call#s#Api":7}}"#).unwrap();
        assert_eq!(
            old.unlearned["call#s#Api"],
            Unlearned { events: 7, peak: 0 }
        );
        let now = serde_json::to_string(&old).unwrap();
        assert!(now.contains(r#""call#s#Api":[7,0]"#), "{now}");
        let back: TrailState = serde_json::from_str(&now).unwrap();
        assert_eq!(back.unlearned, old.unlearned);
    }
}
