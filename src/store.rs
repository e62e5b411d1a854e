//! State storage behind one small trait: versioned items addressed like DynamoDB items
//! (partition key, sort key). The engine keeps all its meaning on top; a store only stores.
//!
//! Every write names the version it expects, so concurrent writers detect each other
//! (optimistic concurrency); the engine retries the whole log file on a conflict, which is safe
//! because every step of processing a file is idempotent.
//!
//! [`EmbeddedStore`] keeps items in a local redb file. Writes are buffered and committed together
//! by [`StateStore::commit`], so a log file's effects land all at once or not at all.

use redb::{Database, ReadableDatabase, TableDefinition};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// A stored item: its body and the version it was written as (1 for the first write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub version: u64,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Someone else wrote the item since it was read.
    #[error("concurrent update of {pk} / {sk}")]
    Conflict { pk: String, sk: String },
    /// Worth retrying later (throttling, timeouts, a busy file).
    #[error("state store temporarily unavailable: {0}")]
    Transient(String),
    #[error("state store error: {0}")]
    Permanent(String),
}

pub trait StateStore {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// Write `body` if the item's current version is `expected` (`None`: it must not exist).
    fn put(&self, pk: &str, sk: &str, body: &[u8], expected: Option<u64>)
    -> Result<(), StoreError>;
    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError>;
    /// Items of partition `pk` with `from <= sk <= to`, in sort-key order.
    fn query(&self, pk: &str, from: &str, to: &str) -> Result<Vec<(String, Item)>, StoreError>;
    /// End of a unit of work (one log file). Stores that write through make this a no-op.
    fn commit(&self) -> Result<(), StoreError>;
    /// Forget uncommitted writes (after a failed unit of work).
    fn rollback(&self);
    /// Read and write capacity units and requests used since the last call (DynamoDB only).
    fn take_consumed_capacity(&self) -> (f64, f64, u64) {
        (0.0, 0.0, 0)
    }
}

/// A store operation, as [`WatchedStore`] reports it before passing it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp<'a> {
    Get,
    Put { sk: &'a str },
    Delete,
    Query,
    Commit,
}

/// Reports every operation to `watch` before passing it on to `inner`; `watch` may refuse it
/// with an error. This is how the benchmarks count requests and the crash tests stop a process
/// at a chosen write, without each restating the trait. A refused commit rolls `inner` back, as
/// a process that died before its commit landed.
pub struct WatchedStore<'a, F> {
    inner: &'a dyn StateStore,
    watch: F,
}

impl<'a, F: Fn(StoreOp<'_>) -> Result<(), StoreError>> WatchedStore<'a, F> {
    pub fn new(inner: &'a dyn StateStore, watch: F) -> Self {
        WatchedStore { inner, watch }
    }
}

impl<F: Fn(StoreOp<'_>) -> Result<(), StoreError>> StateStore for WatchedStore<'_, F> {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        (self.watch)(StoreOp::Get)?;
        self.inner.get(pk, sk)
    }
    fn put(
        &self,
        pk: &str,
        sk: &str,
        body: &[u8],
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        (self.watch)(StoreOp::Put { sk })?;
        self.inner.put(pk, sk, body, expected)
    }
    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        (self.watch)(StoreOp::Delete)?;
        self.inner.delete(pk, sk)
    }
    fn query(&self, pk: &str, from: &str, to: &str) -> Result<Vec<(String, Item)>, StoreError> {
        (self.watch)(StoreOp::Query)?;
        self.inner.query(pk, from, to)
    }
    fn commit(&self) -> Result<(), StoreError> {
        if let Err(e) = (self.watch)(StoreOp::Commit) {
            self.inner.rollback();
            return Err(e);
        }
        self.inner.commit()
    }
    fn rollback(&self) {
        self.inner.rollback()
    }
    fn take_consumed_capacity(&self) -> (f64, f64, u64) {
        self.inner.take_consumed_capacity()
    }
}

const ITEMS: TableDefinition<&str, &[u8]> = TableDefinition::new("items");

/// The embedded store: one redb file, nothing to install.
pub struct EmbeddedStore {
    db: Database,
    /// Uncommitted writes: `None` is a delete.
    pending: Mutex<BTreeMap<String, Option<Item>>>,
}

fn compose(pk: &str, sk: &str) -> String {
    format!("{pk}\u{0}{sk}")
}

fn encode(item: &Item) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + item.body.len());
    v.extend_from_slice(&item.version.to_le_bytes());
    v.extend_from_slice(&item.body);
    v
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    if bytes.len() < 8 {
        return Err(StoreError::Permanent(
            "corrupt item in the state file".into(),
        ));
    }
    let mut version = [0u8; 8];
    version.copy_from_slice(&bytes[..8]);
    Ok(Item {
        version: u64::from_le_bytes(version),
        body: bytes[8..].to_vec(),
    })
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Permanent(e.to_string())
}

impl EmbeddedStore {
    /// Open (or create) the store in directory `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Permanent(format!(
                "cannot create state directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join("state.redb");
        let db = Database::create(&path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Transient(format!(
                "{} is in use by another trail-insights process",
                path.display()
            )),
            other => StoreError::Permanent(format!("cannot open {}: {other}", path.display())),
        })?;
        // Create the table only once: opening an existing store must not write to it.
        let exists = {
            let txn = db.begin_read().map_err(db_err)?;
            txn.open_table(ITEMS).is_ok()
        };
        if !exists {
            let txn = db.begin_write().map_err(db_err)?;
            txn.open_table(ITEMS).map_err(db_err)?;
            txn.commit().map_err(db_err)?;
        }
        Ok(EmbeddedStore {
            db,
            pending: Mutex::new(BTreeMap::new()),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Option<Item>>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every committed item, in key order (for inspection and tests).
    pub fn all_items(&self) -> Result<Vec<(String, Item)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(ITEMS).map_err(db_err)?;
        let mut out = Vec::new();
        for entry in table.range::<&str>(..).map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value().to_string(), decode(v.value())?));
        }
        Ok(out)
    }

    fn committed(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(ITEMS).map_err(db_err)?;
        match table.get(key).map_err(db_err)? {
            Some(v) => Ok(Some(decode(v.value())?)),
            None => Ok(None),
        }
    }
}

impl StateStore for EmbeddedStore {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let key = compose(pk, sk);
        if let Some(p) = self.pending().get(&key) {
            return Ok(p.clone());
        }
        self.committed(&key)
    }

    fn put(
        &self,
        pk: &str,
        sk: &str,
        body: &[u8],
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let current = self.get(pk, sk)?.map(|i| i.version);
        if current != expected {
            return Err(StoreError::Conflict {
                pk: pk.into(),
                sk: sk.into(),
            });
        }
        let item = Item {
            version: expected.unwrap_or(0) + 1,
            body: body.to_vec(),
        };
        self.pending().insert(compose(pk, sk), Some(item));
        Ok(())
    }

    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.pending().insert(compose(pk, sk), None);
        Ok(())
    }

    fn query(&self, pk: &str, from: &str, to: &str) -> Result<Vec<(String, Item)>, StoreError> {
        let (lo, hi) = (compose(pk, from), compose(pk, to));
        let mut merged: BTreeMap<String, Option<Item>> = BTreeMap::new();
        {
            let txn = self.db.begin_read().map_err(db_err)?;
            let table = txn.open_table(ITEMS).map_err(db_err)?;
            for entry in table.range(lo.as_str()..=hi.as_str()).map_err(db_err)? {
                let (k, v) = entry.map_err(db_err)?;
                merged.insert(k.value().to_string(), Some(decode(v.value())?));
            }
        }
        for (k, v) in self.pending().range(lo..=hi) {
            merged.insert(k.clone(), v.clone());
        }
        let prefix_len = pk.len() + 1;
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|item| (k[prefix_len..].to_string(), item)))
            .collect())
    }

    fn commit(&self) -> Result<(), StoreError> {
        let pending = std::mem::take(&mut *self.pending());
        if pending.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(ITEMS).map_err(db_err)?;
            for (k, v) in &pending {
                match v {
                    Some(item) => {
                        table
                            .insert(k.as_str(), encode(item).as_slice())
                            .map_err(db_err)?;
                    }
                    None => {
                        table.remove(k.as_str()).map_err(db_err)?;
                    }
                }
            }
        }
        txn.commit().map_err(db_err)
    }

    fn rollback(&self) {
        self.pending().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_conflicts_and_commit() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = EmbeddedStore::open(dir.path()).unwrap();
            s.put("p", "a", b"1", None).unwrap();
            assert!(matches!(
                s.put("p", "a", b"x", None),
                Err(StoreError::Conflict { .. })
            ));
            s.put("p", "a", b"2", Some(1)).unwrap();
            s.put("p", "b", b"3", None).unwrap();
            s.put("q", "a", b"4", None).unwrap();
            assert_eq!(
                s.get("p", "a").unwrap().unwrap(),
                Item {
                    version: 2,
                    body: b"2".to_vec()
                }
            );
            s.commit().unwrap();
            s.put("p", "c", b"5", None).unwrap();
            s.rollback();
        }
        let s = EmbeddedStore::open(dir.path()).unwrap();
        let got = s.query("p", "", "\u{10ffff}").unwrap();
        let keys: Vec<_> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["a", "b"],
            "committed survive reopening; rolled back do not"
        );
        s.delete("p", "a").unwrap();
        assert_eq!(s.query("p", "a", "b").unwrap().len(), 1);
        assert_eq!(s.get("p", "a").unwrap(), None);
    }
}
