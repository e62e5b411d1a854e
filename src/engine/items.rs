//! The state items: their keys, and typed reads and writes of them.
//!
//! Per account/region (partition [`trail_pk`]): the trail item (`STATE`), one item per minute
//! (`MIN#<minute>`) and its event-ID chunks (`IDS#<minute>#…`), series states in pages
//! (`PAGE#<pages>#<n>`) or their own items (`SER#<id>`). Elsewhere: one marker per processed
//! object (`OBJ#<object>`, `DONE`), and the registry of trails the sweep visits (`TRAILS`).

use super::Engine;
use super::error::{Abort, ProcessError, abort, fatal};
use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::store::StoreError;
use serde::{Deserialize, Serialize};

pub fn trail_pk(scope: &TrailScope) -> String {
    match &scope.org {
        Some(org) => format!("TRAIL#{}#{}#{}", org, scope.account, scope.region),
        None => format!("TRAIL#{}#{}", scope.account, scope.region),
    }
}

pub fn minute_sk(m: Minute) -> String {
    format!("MIN#{:012}", m.0)
}

/// The sort key of a chunk of minute `m`'s event-ID hashes (`suffix`: `#<file tag>#<n>`).
pub fn id_chunk_sk(m: Minute, suffix: &str) -> String {
    format!("IDS#{:012}{suffix}", m.0)
}

/// The trail item's sort key.
pub(super) const TRAIL_SK: &str = "STATE";
/// Partition listing every account/region seen (for the sweep).
pub(super) const TRAILS_PK: &str = "TRAILS";

pub(super) fn series_sk(id: &str) -> String {
    format!("SER#{id}")
}

pub(super) fn marker_pk(object_id: &str) -> String {
    format!("OBJ#{object_id}")
}

pub(super) fn page_sk(pages: u32, n: u32) -> String {
    format!("PAGE#{pages}#{n}")
}

pub(super) fn decode<T: for<'de> Deserialize<'de>>(body: &[u8], key: &str) -> Result<T, Abort> {
    serde_json::from_slice(body).map_err(|e| {
        Abort::Error(ProcessError::Fatal {
            key: key.into(),
            reason: format!("corrupt state item: {e}"),
        })
    })
}

impl Engine<'_> {
    /// Write the object's marker (`processed`, or `rejected: <reason>`). It must not exist yet:
    /// a concurrent invocation that wrote it first makes this one retry, and find it.
    pub(super) fn put_marker(&self, marker: &str, key: &str, status: &str) -> Result<(), Abort> {
        let body = serde_json::to_vec(&serde_json::json!({ "key": key, "status": status }))
            .map_err(|e| fatal(key, e))?;
        match self.store.put(marker, "DONE", &body, None) {
            Err(StoreError::Conflict { .. }) => Err(Abort::Conflict),
            other => other.map_err(|e| abort(key, e)),
        }
    }

    /// An item and the version read (`None`: absent, read as the default value).
    pub(super) fn load<T: for<'de> Deserialize<'de> + Default>(
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

    /// Write an item over the version read: a conflict if someone else wrote it meanwhile.
    pub(super) fn save<T: Serialize>(
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
}
