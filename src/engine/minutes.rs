//! The minute items: one per minute with events, holding its counts per series and the hashes of
//! the event IDs counted in it (a busy minute's in chunk items), and reads of ranges of them.

use super::error::{Abort, ProcessError, abort, fatal, store_error};
use super::items::{decode, id_chunk_sk, minute_sk, trail_pk};
use super::{Engine, LOG_TARGET};
use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::count::attribution::Strings;
use crate::count::minutes::{IdChunk, MinuteCounts};
use crate::store::{Item, StoreError};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Event-ID hashes one minute item keeps: 16,000 × 8 bytes is ~171 KB as base64, well below
/// DynamoDB's 400 KB item limit with the series counts beside them. A busier minute keeps the
/// rest in chunk items of as many (see `Engine::save_minute`).
pub const INLINE_IDS: usize = 16_000;

/// A stored minute as the closing pass reads it: the series counts, not the event IDs.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ClosedMinute {
    #[serde(default)]
    pub(super) series: BTreeMap<String, crate::count::minutes::SeriesMinute>,
}

impl Engine<'_> {
    /// A stored minute with every event-ID hash it holds (its chunks read back).
    pub(super) fn load_minute(
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
                tracing::warn!(target: LOG_TARGET, key, item = sk.as_str(), "event-ID chunk missing; skipped");
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
    pub(super) fn save_minute(
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

    /// The stored minutes in `from..=to`, in order, by their series counts.
    pub(super) fn minutes_between(
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
