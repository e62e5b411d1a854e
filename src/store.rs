//! State storage behind one small trait: versioned items addressed like DynamoDB items
//! (partition key, sort key). The engine keeps all its meaning on top; a store only stores.
//!
//! Every write names the version it expects, so concurrent writers detect each other
//! (optimistic concurrency); the engine retries the whole log file on a conflict, which is safe
//! because every step of processing a file is idempotent.
//!
//! [`EmbeddedStore`] keeps items in a local redb file. Writes go into one redb transaction that
//! [`StateStore::commit`] ends, so a log file's effects land all at once or not at all.

use redb::{
    Database, ReadOnlyTable, ReadableDatabase, ReadableTable, Table, TableDefinition,
    WriteTransaction,
};
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

/// What [`StateStore::query_each`] hands each item (sort key, item) to; an error stops the query.
pub type EachItem<'a> = &'a mut dyn FnMut(String, Item) -> Result<(), StoreError>;

pub trait StateStore {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError>;
    /// Write `body` if the item's current version is `expected` (`None`: it must not exist).
    fn put(&self, pk: &str, sk: &str, body: &[u8], expected: Option<u64>)
    -> Result<(), StoreError>;
    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError>;
    /// Hand the items of partition `pk` with `from <= sk <= to` to `each`, in sort-key order,
    /// one at a time: a caller that decodes as it goes never holds every raw item at once.
    /// `each` must not call the store (the embedded store holds its lock meanwhile).
    fn query_each(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        each: EachItem<'_>,
    ) -> Result<(), StoreError>;
    /// The items [`Self::query_each`] visits, collected.
    fn query(&self, pk: &str, from: &str, to: &str) -> Result<Vec<(String, Item)>, StoreError> {
        let mut out = Vec::new();
        self.query_each(pk, from, to, &mut |sk, item| {
            out.push((sk, item));
            Ok(())
        })?;
        Ok(out)
    }
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
    fn query_each(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        each: EachItem<'_>,
    ) -> Result<(), StoreError> {
        (self.watch)(StoreOp::Query)?;
        self.inner.query_each(pk, from, to, each)
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

/// redb's page cache, half of which may hold a transaction's written pages. Its default (1 GiB)
/// let resident memory grow with the state written in a run; the operating system's file cache
/// already keeps recently used pages close, so a small cache costs little time.
const CACHE_BYTES: usize = 4 * 1024 * 1024;

/// The embedded store: one redb file, nothing to install.
pub struct EmbeddedStore {
    db: Database,
    /// The uncommitted writes, held as an open redb write transaction rather than a map of item
    /// copies: redb keeps at most half of [`CACHE_BYTES`] of them in memory and spills the rest
    /// to the file, so a busy log file's minute items do not all sit on the heap until commit.
    /// Opened by the first write, ended by `commit` or `rollback`.
    txn: Mutex<Option<WriteTransaction>>,
}

fn compose(pk: &str, sk: &str) -> String {
    format!("{pk}\u{0}{sk}")
}

fn encode(version: u64, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&version.to_le_bytes());
    v.extend_from_slice(body);
    v
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    Ok(Item {
        version: version_of(bytes)?,
        body: bytes[8..].to_vec(),
    })
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Permanent(e.to_string())
}

fn version_of(bytes: &[u8]) -> Result<u64, StoreError> {
    match bytes.first_chunk::<8>() {
        Some(version) => Ok(u64::from_le_bytes(*version)),
        None => Err(StoreError::Permanent(
            "corrupt item in the state file".into(),
        )),
    }
}

/// One item's stored bytes from a table, committed or (in a write transaction) not, read by
/// `read` ([`decode`] for the item, [`version_of`] for its version without copying the body).
fn read_in<T>(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
    read: impl FnOnce(&[u8]) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    table
        .get(key)
        .map_err(db_err)?
        .map(|v| read(v.value()))
        .transpose()
}

/// Visit the items of `lo..=hi`, their keys without the first `strip` bytes.
fn range_in(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    lo: &str,
    hi: &str,
    strip: usize,
    each: EachItem<'_>,
) -> Result<(), StoreError> {
    for entry in table.range(lo..=hi).map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        each(k.value()[strip..].to_string(), decode(v.value())?)?;
    }
    Ok(())
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
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| match e {
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
            txn: Mutex::new(None),
        })
    }

    fn txn(&self) -> std::sync::MutexGuard<'_, Option<WriteTransaction>> {
        self.txn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` on the items table of the open write transaction, opening one if needed.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut Table<&str, &[u8]>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut guard = self.txn();
        let txn = match guard.take() {
            Some(txn) => txn,
            None => self.db.begin_write().map_err(db_err)?,
        };
        let txn = guard.insert(txn);
        let mut table = txn.open_table(ITEMS).map_err(db_err)?;
        f(&mut table)
    }

    fn committed(&self) -> Result<ReadOnlyTable<&'static str, &'static [u8]>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        txn.open_table(ITEMS).map_err(db_err)
    }

    /// Every committed item, in key order (for inspection and tests).
    pub fn all_items(&self) -> Result<Vec<(String, Item)>, StoreError> {
        let table = self.committed()?;
        let mut out = Vec::new();
        for entry in table.range::<&str>(..).map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            out.push((k.value().to_string(), decode(v.value())?));
        }
        Ok(out)
    }
}

impl StateStore for EmbeddedStore {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let key = compose(pk, sk);
        // With the uncommitted writes, if any.
        match self.txn().as_ref() {
            Some(txn) => read_in(&txn.open_table(ITEMS).map_err(db_err)?, &key, decode),
            None => read_in(&self.committed()?, &key, decode),
        }
    }

    fn put(
        &self,
        pk: &str,
        sk: &str,
        body: &[u8],
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let key = compose(pk, sk);
        self.write(|table| {
            if read_in(&*table, &key, version_of)? != expected {
                return Err(StoreError::Conflict {
                    pk: pk.into(),
                    sk: sk.into(),
                });
            }
            let bytes = encode(expected.unwrap_or(0) + 1, body);
            table
                .insert(key.as_str(), bytes.as_slice())
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let key = compose(pk, sk);
        self.write(|table| {
            table.remove(key.as_str()).map_err(db_err)?;
            Ok(())
        })
    }

    fn query_each(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        each: EachItem<'_>,
    ) -> Result<(), StoreError> {
        let (lo, hi) = (compose(pk, from), compose(pk, to));
        let strip = pk.len() + 1;
        match self.txn().as_ref() {
            Some(txn) => {
                let table = txn.open_table(ITEMS).map_err(db_err)?;
                range_in(&table, &lo, &hi, strip, each)
            }
            None => range_in(&self.committed()?, &lo, &hi, strip, each),
        }
    }

    fn commit(&self) -> Result<(), StoreError> {
        match self.txn().take() {
            Some(txn) => txn.commit().map_err(db_err),
            None => Ok(()),
        }
    }

    fn rollback(&self) {
        if let Some(txn) = self.txn().take() {
            // Nothing was written; a failed abort leaves the file as last committed.
            let _ = txn.abort();
        }
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

    #[test]
    fn a_unit_of_work_larger_than_the_cache_reads_back_and_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStore::open(dir.path()).unwrap();
        let body = vec![7u8; 100_000];
        let n = 3 * CACHE_BYTES / body.len();
        for i in 0..n {
            s.put("p", &format!("{i:04}"), &body, None).unwrap();
        }
        let mut seen = 0;
        s.query_each("p", "", "\u{10ffff}", &mut |_, item| {
            assert_eq!(item.body.len(), body.len());
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, n, "uncommitted writes are visible to the writer");
        s.rollback();
        assert!(s.query("p", "", "\u{10ffff}").unwrap().is_empty());
        assert!(s.all_items().unwrap().is_empty());
        for i in 0..n {
            s.put("p", &format!("{i:04}"), &body, None).unwrap();
        }
        s.commit().unwrap();
        drop(s);
        let s = EmbeddedStore::open(dir.path()).unwrap();
        assert_eq!(s.all_items().unwrap().len(), n);
        assert_eq!(s.get("p", "0000").unwrap().unwrap().version, 1);
    }
}
