//! Series states live in pages (a few items per account and region) and, between folds, in
//! their own items. State written before pages existed (one item per series) must still be read,
//! and the next fold must move it into pages, with the same results as a store that always had
//! pages.

mod common;

use common::spike::{self, process_file};
use serde_json::Value;
use trail_insights::engine::{Engine, stored_series_states, trail_pk};
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::{EmbeddedStore, Item, StateStore, StoreError};

/// Rewrite the store's series states into the layout of before pages: one `SER#` item each, no
/// pages, no page fields in the trail item.
fn to_layout_before_pages(store: &EmbeddedStore) -> usize {
    let pk = trail_pk(&spike::scope());
    let states = stored_series_states(store, &spike::scope()).unwrap();
    for (sid, state) in &states {
        let sk = format!("SER#{sid}");
        let version = store.get(&pk, &sk).unwrap().map(|i| i.version);
        let body = serde_json::to_vec(state).unwrap();
        store.put(&pk, &sk, &body, version).unwrap();
    }
    let pages = store.query(&pk, "PAGE#", "PAGE#~").unwrap();
    for (sk, _) in &pages {
        store.delete(&pk, sk).unwrap();
    }
    let trail = store.get(&pk, "STATE").unwrap().unwrap();
    let mut v: Value = serde_json::from_slice(&trail.body).unwrap();
    let fields = v.as_object_mut().unwrap();
    assert!(
        fields.remove("pages").is_some(),
        "the history was folded into a page"
    );
    fields.remove("loose");
    assert_eq!(fields.remove("paged"), Some(Value::Bool(true)));
    let body = serde_json::to_vec(&v).unwrap();
    store.put(&pk, "STATE", &body, Some(trail.version)).unwrap();
    store.commit().unwrap();
    states.len()
}

#[test]
fn state_from_before_pages_is_read_and_moved_into_pages() {
    let dir = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(&dir.path().join("logs"), "PAGESPAGES");

    let clean_store = EmbeddedStore::open(&dir.path().join("clean")).unwrap();
    let clean_sink = DirectorySink {
        root: dir.path().join("clean-out"),
    };
    let clean = Engine::new(spike::config(), &clean_store, &clean_sink);
    for f in &files {
        process_file(&clean, f).unwrap();
    }

    let store = EmbeddedStore::open(&dir.path().join("old")).unwrap();
    let sink = DirectorySink {
        root: dir.path().join("old-out"),
    };
    let engine = Engine::new(spike::config(), &store, &sink);
    // The history files fold their hours into a page; then the layout of before pages.
    for f in &files[..2] {
        process_file(&engine, f).unwrap();
    }
    let series = to_layout_before_pages(&store);
    assert!(series >= 1, "{series} series");
    let pk = trail_pk(&spike::scope());
    assert!(store.query(&pk, "PAGE#", "PAGE#~").unwrap().is_empty());
    for f in &files[2..] {
        process_file(&engine, f).unwrap();
    }

    let (got, want) = (spike::state(&store), spike::state(&clean_store));
    assert!(got == want, "{}", spike::diff(&want, &got));
    assert_eq!(
        common::snapshot(&dir.path().join("old-out")),
        common::snapshot(&dir.path().join("clean-out"))
    );
    // The fold moved every series into its page; none is loose at the end.
    let (trail, pages) = pages_of(&store);
    assert!(trail.get("loose").is_none(), "{trail}");
    let in_pages: usize = pages.iter().map(|(_, states)| states.len()).sum();
    assert_eq!(
        in_pages,
        got.keys().filter(|k| k.starts_with("SER#")).count()
    );
}

/// A page's size in bytes and its series states.
type Page = (usize, serde_json::Map<String, Value>);

/// The trail item, and each page it names.
fn pages_of(store: &EmbeddedStore) -> (Value, Vec<Page>) {
    let pk = trail_pk(&spike::scope());
    let trail: Value =
        serde_json::from_slice(&store.get(&pk, "STATE").unwrap().unwrap().body).unwrap();
    let count = trail["pages"].as_u64().unwrap();
    let pages = (0..count)
        .map(|n| {
            let sk = format!("PAGE#{count}#{n}");
            let page = store.get(&pk, &sk).unwrap().unwrap();
            (page.body.len(), serde_json::from_slice(&page.body).unwrap())
        })
        .collect();
    (trail, pages)
}

/// Log files with an event for each of `apis` APIs every 5 minutes for 80 minutes: the file of
/// 01:20 folds hour 00, whose series fill more than one page.
fn many_series_trail(logs: &std::path::Path, apis: usize) -> Vec<std::path::PathBuf> {
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let first =
        trail_insights::base::time::Minute::parse_event_time("2026-01-05T00:00:00Z").unwrap();
    let mut paths = Vec::new();
    for f in 0..16 {
        let start = first.plus(5 * f);
        let time = start.to_rfc3339();
        let records: Vec<Value> = (0..apis)
            .map(|api| {
                let name = format!("PutParameter{api}");
                let id = format!("e-{f}-{api}");
                common::event(&time, "ssm.amazonaws.com", &name, false, None, arn, &id)
            })
            .collect();
        let stamp = common::stamp(start.plus(5));
        let unique = format!("SPLITSPLIT{f:04}");
        paths.push(common::write_log(
            logs,
            spike::ACCOUNT,
            spike::REGION,
            &stamp,
            &unique,
            &records,
        ));
    }
    paths
}

#[test]
fn pages_split_before_they_outgrow_an_item_and_keep_every_series() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let apis = 1500;
    let paths = many_series_trail(&logs, apis);
    let store = EmbeddedStore::open(&dir.path().join("state")).unwrap();
    let sink = DirectorySink {
        root: dir.path().join("out"),
    };
    let engine = Engine::new(spike::config(), &store, &sink);
    for path in &paths {
        common::process_path(&engine, &logs, path).unwrap();
    }
    let (trail, pages) = pages_of(&store);
    assert!(pages.len() >= 2, "{trail}");
    let mut in_pages = 0;
    for (bytes, states) in &pages {
        assert!(*bytes <= 256 * 1024, "a page of {bytes} bytes");
        for (sid, state) in states {
            assert!(state["last_closed"].is_number(), "{sid}: {state}");
        }
        in_pages += states.len();
    }
    assert_eq!(in_pages, apis);
    assert_eq!(
        stored_series_states(&store, &spike::scope()).unwrap().len(),
        apis
    );
}

/// Writes through at once, like DynamoDB (no transaction to roll back), and fails the `fail_at`-th
/// page write, like a crash there.
struct WriteThrough<'a> {
    inner: &'a EmbeddedStore,
    page_puts: std::sync::atomic::AtomicU64,
    fail_at: u64,
}

impl StateStore for WriteThrough<'_> {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        self.inner.get(pk, sk)
    }
    fn put(&self, pk: &str, sk: &str, body: &[u8], v: Option<u64>) -> Result<(), StoreError> {
        if sk.starts_with("PAGE#") {
            let n = self
                .page_puts
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                + 1;
            if n == self.fail_at {
                return Err(StoreError::Transient("crash".into()));
            }
        }
        self.inner.put(pk, sk, body, v)?;
        self.inner.commit()
    }
    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.inner.delete(pk, sk)?;
        self.inner.commit()
    }
    fn query_each(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        each: &mut dyn FnMut(String, Item) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.inner.query_each(pk, from, to, each)
    }
    fn commit(&self) -> Result<(), StoreError> {
        Ok(())
    }
    fn rollback(&self) {}
}

#[test]
fn a_crash_in_the_middle_of_a_split_is_retried_to_the_same_pages() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let paths = many_series_trail(&logs, 1500);
    let run = |name: &str, fail_at: u64| {
        let embedded = EmbeddedStore::open(&dir.path().join(name)).unwrap();
        let store = WriteThrough {
            inner: &embedded,
            page_puts: Default::default(),
            fail_at,
        };
        let sink = DirectorySink {
            root: dir.path().join(format!("{name}-out")),
        };
        let engine = Engine::new(spike::config(), &store, &sink);
        let mut failures = 0;
        for path in &paths {
            if common::process_path(&engine, &logs, path).is_err() {
                failures += 1;
                common::process_path(&engine, &logs, path).unwrap();
            }
        }
        (
            stored_series_states(&embedded, &spike::scope()).unwrap(),
            failures,
        )
    };
    let (clean, none) = run("clean", 0);
    assert_eq!(none, 0);
    // The first fold already needs two pages (a split from the one page of a new trail): fail
    // the second page write, after the first is written.
    let (crashed, failures) = run("crashed", 2);
    assert_eq!(failures, 1);
    assert_eq!(crashed.len(), 1500);
    assert!(
        crashed == clean,
        "series states differ after the retried split"
    );
}
