//! The series states a unit of work reads and writes, and where they are stored: a few page
//! items per trail, or a series' own item while it changes between hourly folds.

use super::Engine;
use super::LOG_TARGET;
use super::error::{Abort, abort, fatal};
use super::items::{TRAIL_SK, decode, page_sk, series_sk, trail_pk};
use super::trail::TrailState;
use crate::cloudtrail::key::TrailScope;
use crate::cloudtrail::record::fnv1a;
use crate::detect::detector::SeriesState;
use crate::store::{StateStore, StoreError};
use serde_json::value::RawValue;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

/// Where a cached series state came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Home {
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
pub(super) struct SeriesCache {
    pub(super) entries: BTreeMap<String, CachedSeries>,
    pages: BTreeMap<u32, CachedPage>,
    pub(super) page_count: u32,
    loose: BTreeSet<String>,
    paged: bool,
    /// Set by `close_through` when this unit of work folds an hour: only then are pages written.
    pub(super) folding: bool,
}

pub(super) struct CachedSeries {
    pub(super) state: SeriesState,
    /// As loaded, to tell whether it changed.
    pub(super) original: SeriesState,
    pub(super) home: Home,
}

#[derive(Default)]
pub(super) struct CachedPage {
    /// Each series' state as stored: only the series a file touches are decoded.
    pub(super) states: BTreeMap<String, Box<RawValue>>,
    version: Option<u64>,
    pub(super) dirty: bool,
}

/// A page is split (the page count doubled) before it would grow past this; DynamoDB's item
/// limit is 400 KB. Series states are 1–3 KB, so a page holds about a hundred.
const PAGE_MAX_BYTES: usize = 256 * 1024;

pub(super) fn page_of(sid: &str, pages: u32) -> u32 {
    (fnv1a(sid.as_bytes()) % u64::from(pages.max(1))) as u32
}

impl SeriesCache {
    pub(super) fn new(trail: &TrailState) -> SeriesCache {
        SeriesCache {
            entries: BTreeMap::new(),
            pages: BTreeMap::new(),
            page_count: trail.pages.max(1),
            loose: trail.loose.clone(),
            paged: trail.paged,
            folding: false,
        }
    }

    pub(super) fn page(
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

    pub(super) fn get(
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
    pub(super) fn write_pages(
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
            tracing::info!(target: LOG_TARGET, key, pages = count, "series pages split");
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
