//! `replay` end to end on real gzip log files: the demo's incidents, exact counts against an
//! independent count, idempotence, and order independence.

mod common;

use common::{demo_trail, snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use trail_insights::app::cli::demo::demo_matches;
use trail_insights::app::cli::metrics::metrics;
use trail_insights::app::cli::replay::{ReplaySummary, replay};
use trail_insights::base::series::SeriesKey;
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::insight::pairs::{PairedInsight, pair};
use trail_insights::insight::record::InsightRecord;

fn run(paths: &[PathBuf], work: &Path) -> ReplaySummary {
    replay(
        paths,
        &work.join("state"),
        &work.join("out"),
        Config::default(),
        true,
        false,
    )
    .unwrap()
}

#[test]
fn demo_trail_yields_exactly_the_injected_incidents() {
    let (dir, trail) = demo_trail();
    let work = tempfile::tempdir().unwrap();
    let summary = run(std::slice::from_ref(dir), work.path());
    assert_eq!(summary.processed, trail.files.len());
    assert!(summary.rejected.is_empty() && summary.failed == 0);
    let found = pair(summary.insights.clone());
    assert_eq!(
        found.len(),
        trail.incidents.len(),
        "exactly one insight per incident: {found:#?}"
    );
    for inc in &trail.incidents {
        let hit: Vec<&PairedInsight> = found.iter().filter(|p| demo_matches(p, inc)).collect();
        assert_eq!(hit.len(), 1, "{}", inc.name);
        let (start, end) = (hit[0].start.as_ref().unwrap(), hit[0].end.as_ref().unwrap());
        assert_eq!(
            start.event_time,
            Minute::from_datetime(inc.start).to_rfc3339(),
            "Start in the first unusual minute"
        );
        assert_eq!(
            end.event_time,
            Minute::from_datetime(inc.end).to_rfc3339(),
            "End the minute after the last"
        );
        let stats = &end.insight_details.insight_context.statistics;
        let minutes = (inc.end - inc.start).num_minutes();
        assert_eq!(stats.insight_duration, Some(minutes));
        assert!(
            stats.insight.average >= f64::from(inc.per_minute),
            "{stats:?}"
        );
        let callers = &end
            .insight_details
            .insight_context
            .attributions
            .as_ref()
            .unwrap()[0];
        assert_eq!(callers.attribute, "userIdentityArn");
        assert_eq!(
            callers.insight[0].value, inc.caller_arn,
            "top caller is the incident's"
        );
    }
    // The Insights files on disk are the records returned.
    let on_disk = trail_insights::insight::pairs::lookup(&work.path().join("out")).unwrap();
    assert_eq!(on_disk.len(), found.len());
}

/// Count every file independently of the engine: plain serde_json values and the documented rules.
fn independent_counts(files: &[PathBuf]) -> BTreeMap<(String, i64), u64> {
    let mut seen = HashSet::new();
    let mut counts = BTreeMap::new();
    for f in files {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for r in v["Records"].as_array().unwrap() {
            if !seen.insert(r["eventID"].as_str().unwrap().to_string()) {
                continue;
            }
            let category = r
                .get("eventCategory")
                .and_then(Value::as_str)
                .unwrap_or("Management");
            if category != "Management" {
                continue;
            }
            let t = chrono::DateTime::parse_from_rfc3339(r["eventTime"].as_str().unwrap()).unwrap();
            let minute = t.timestamp().div_euclid(60);
            let (src, name) = (
                r["eventSource"].as_str().unwrap(),
                r["eventName"].as_str().unwrap(),
            );
            if r.get("readOnly") == Some(&Value::Bool(false)) {
                *counts
                    .entry((format!("call#{src}#{name}"), minute))
                    .or_default() += 1;
            }
            if let Some(code) = r.get("errorCode").and_then(Value::as_str) {
                *counts
                    .entry((format!("error#{src}#{name}#{code}"), minute))
                    .or_default() += 1;
            }
        }
    }
    counts
}

#[test]
fn metrics_equal_an_independent_count() {
    let (dir, trail) = demo_trail();
    let work = tempfile::tempdir().unwrap();
    run(std::slice::from_ref(dir), work.path());
    let expected = independent_counts(&trail.files);
    let series: HashSet<&String> = expected.keys().map(|(s, _)| s).collect();
    assert!(series.len() >= 8, "the demo has several series: {series:?}");
    let scope = TrailScope {
        org: None,
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let (first, last) = (
        expected.keys().map(|k| k.1).min().unwrap(),
        expected.keys().map(|k| k.1).max().unwrap(),
    );
    for id in series {
        let key = SeriesKey::from_id(id).unwrap();
        let m = metrics(
            &work.path().join("state"),
            &scope,
            &key,
            Minute(first),
            Minute(last + 1),
            60,
            false,
        )
        .unwrap();
        let got: BTreeMap<i64, u64> = m["Timestamps"]
            .as_array()
            .unwrap()
            .iter()
            .zip(m["Values"].as_array().unwrap())
            .map(|(t, v)| {
                (
                    Minute::parse_event_time(t.as_str().unwrap()).unwrap().0,
                    v.as_f64().unwrap() as u64,
                )
            })
            .collect();
        let want: BTreeMap<i64, u64> = expected
            .iter()
            .filter(|((s, _), _)| s == id)
            .map(|((_, m), c)| (*m, *c))
            .collect();
        assert_eq!(got, want, "per-minute counts of {id}");
    }
}

#[test]
fn a_second_replay_changes_nothing_and_writes_nothing() {
    let (dir, trail) = demo_trail();
    let work = tempfile::tempdir().unwrap();
    let first = run(std::slice::from_ref(dir), work.path());
    assert!(!first.insights.is_empty());
    let out_before = snapshot(&work.path().join("out"));
    let mtimes = |d: &Path| -> Vec<std::time::SystemTime> {
        snapshot(d)
            .iter()
            .map(|(p, _)| std::fs::metadata(d.join(p)).unwrap().modified().unwrap())
            .collect()
    };
    let mtimes_before = mtimes(&work.path().join("out"));
    // redb rewrites its header when a file is opened, so compare what is stored, item by item.
    let digest = |p: &Path| {
        trail_insights::store::EmbeddedStore::open(p)
            .unwrap()
            .all_items()
            .unwrap()
    };
    let state_before = digest(&work.path().join("state"));
    let second = run(std::slice::from_ref(dir), work.path());
    assert_eq!(second.processed, 0);
    assert_eq!(second.already_processed, trail.files.len());
    assert_eq!(second.counted, 0);
    assert!(second.insights.is_empty(), "{:?}", second.insights);
    assert!(
        snapshot(&work.path().join("out")) == out_before,
        "Insights files unchanged"
    );
    assert_eq!(
        mtimes(&work.path().join("out")),
        mtimes_before,
        "nothing rewritten"
    );
    assert!(
        digest(&work.path().join("state")) == state_before,
        "stored state unchanged"
    );
}

/// Copy the trail with records shuffled inside each file, and every 7th file delivered 10 minutes
/// later than it was (within the lateness allowance).
fn shuffled_and_late_copy(files: &[PathBuf], root: &Path, to: &Path) -> Vec<PathBuf> {
    use rand::SeedableRng;
    use rand::seq::SliceRandom;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(std::fs::File::open(f).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["Records"].as_array_mut().unwrap().shuffle(&mut rng);
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().to_string();
        let rel = if i % 7 == 3 {
            let name = rel.rsplit('/').next().unwrap();
            let stamp = name.split('_').nth(3).unwrap();
            let later = Minute::parse_compact(stamp).unwrap().plus(10);
            let new_name = name.replace(stamp, &later.to_compact());
            format!(
                "AWSLogs/123456789012/CloudTrail/us-east-1/{}/{new_name}",
                later.date_path()
            )
        } else {
            rel
        };
        let path = to.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, common::gz(&serde_json::to_vec(&v).unwrap())).unwrap();
        out.push(path);
    }
    out
}

fn by_id(records: &[InsightRecord]) -> BTreeMap<(String, String), InsightRecord> {
    records
        .iter()
        .map(|r| {
            (
                (r.shared_event_id.clone(), r.insight_details.state.clone()),
                r.clone(),
            )
        })
        .collect()
}

#[test]
fn late_and_shuffled_files_give_the_same_result() {
    let (dir, trail) = demo_trail();
    let ordered = tempfile::tempdir().unwrap();
    let a = run(std::slice::from_ref(dir), ordered.path());
    let copy = tempfile::tempdir().unwrap();
    shuffled_and_late_copy(&trail.files, dir, &copy.path().join("logs"));
    let b = run(&[copy.path().join("logs")], copy.path());
    assert_eq!(a.counted, b.counted);
    let on_disk = |dir: &Path| -> Vec<InsightRecord> {
        trail_insights::insight::pairs::lookup(&dir.join("out"))
            .unwrap()
            .into_iter()
            .flat_map(|p| p.start.into_iter().chain(p.end))
            .collect()
    };
    let (ra, rb) = (
        by_id(&on_disk(ordered.path())),
        by_id(&on_disk(copy.path())),
    );
    assert_eq!(ra.len(), 2 * trail.incidents.len());
    assert_eq!(
        ra.keys().collect::<Vec<_>>(),
        rb.keys().collect::<Vec<_>>(),
        "same insights"
    );
    for (k, x) in &ra {
        let y = &rb[k];
        if k.1 == "End" {
            assert_eq!(
                serde_json::to_string_pretty(x).unwrap(),
                serde_json::to_string_pretty(y).unwrap(),
                "End records identical"
            );
        } else {
            assert_eq!(x.event_time, y.event_time);
            assert_eq!(x.event_id, y.event_id);
        }
    }
}

#[test]
fn bad_files_are_rejected_and_the_rest_is_processed() {
    let work = tempfile::tempdir().unwrap();
    let logs = work.path().join("logs");
    let good = common::write_log(
        &logs,
        "123456789012",
        "us-east-1",
        "20260105T0010Z",
        "AAAAAAAAAAAAAAAA",
        &[common::event(
            "2026-01-05T00:03:00Z",
            "ec2.amazonaws.com",
            "RunInstances",
            false,
            None,
            "arn:aws:iam::123456789012:user/a",
            "id-1",
        )],
    );
    let bad = good.with_file_name(
        "123456789012_CloudTrail_us-east-1_20260105T0005Z_BBBBBBBBBBBBBBBB.json.gz",
    );
    std::fs::write(&bad, b"this is not gzip").unwrap();
    let digest = logs.join("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2026/01/05/x.json.gz");
    std::fs::create_dir_all(digest.parent().unwrap()).unwrap();
    std::fs::write(&digest, b"{}").unwrap();
    let s = run(std::slice::from_ref(&logs), work.path());
    assert_eq!(s.files, 2, "only files named like log files are picked up");
    assert_eq!(s.processed, 1);
    assert_eq!(s.counted, 1);
    assert_eq!(s.rejected.len(), 1);
    assert!(s.rejected[0].0.ends_with("BBBBBBBBBBBBBBBB.json.gz"));
    assert!(
        s.rejected[0].1.contains("neither gzip nor a JSON object"),
        "{}",
        s.rejected[0].1
    );
    let again = run(&[logs], work.path());
    assert_eq!(
        again.already_processed, 2,
        "a rejected file is remembered, not retried forever"
    );
}
