//! Duplicates and order, beyond what `replay.rs` shows for the command line: notifications
//! repeated many times through the Lambda handler against DynamoDB Local and SeaweedFS, whole
//! files re-delivered under new keys, and the files in random orders (several seeds). Results
//! are compared with a clean ordered run: per-minute counts, baselines and Insights files.

mod common;

use common::local_aws;
use common::spike::{
    self, BUCKET, TrailFile, by_id, check_exact, counts_of, diff, independent_counts, prepare,
    process_file, unique,
};
use common::watch::event_file;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use trail_insights::app::backfill::insight_records_in_s3;
use trail_insights::app::lambda::{App, FunctionConfig, handle};
use trail_insights::aws::s3::S3Location;
use trail_insights::engine::{Engine, Status};
use trail_insights::insight::record::{InsightRecord, parse_insight_file};
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::EmbeddedStore;

type State = BTreeMap<String, Vec<u8>>;

/// Process `order` (indexes into `files`) on a fresh embedded store; state and Insights records.
fn embedded_run(files: &[TrailFile], order: &[usize], work: &Path) -> (State, Vec<InsightRecord>) {
    let store = EmbeddedStore::open(&work.join("state")).unwrap();
    let sink = DirectorySink {
        root: work.join("out"),
    };
    let engine = Engine::new(spike::config(), &store, &sink);
    for &i in order {
        let o = process_file(&engine, &files[i]).unwrap();
        assert!(
            matches!(o.status, Status::Processed | Status::AlreadyProcessed),
            "{:?}",
            o.status
        );
    }
    let insights = common::snapshot(&work.join("out"))
        .iter()
        .flat_map(|(_, b)| parse_insight_file(b).unwrap())
        .collect();
    (spike::state(&store), insights)
}

fn shuffled(order: &mut [usize], seed: u64) {
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
}

#[test]
fn spike_files_in_any_order_within_the_lateness_allowance_equal_the_ordered_run() {
    let dir = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(dir.path(), "ORDERORDER");
    let ordered: Vec<usize> = (0..files.len()).collect();
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = embedded_run(&files, &ordered, clean_dir.path());
    check_exact(&files, &clean.0, &clean.1);
    // The spike files are all delivered within the lateness allowance of the burst: any order
    // among them must give the same result. History first, the closing file last.
    let spikes = 2..2 + spike::SPIKE_FILES;
    for seed in 1..=6 {
        let mut order = ordered.clone();
        shuffled(&mut order[spikes.clone()], seed);
        let work = tempfile::tempdir().unwrap();
        let got = embedded_run(&files, &order, work.path());
        check_exact(&files, &got.0, &got.1);
        assert!(
            got.0 == clean.0,
            "seed {seed}, order {order:?}: state differs: {}",
            diff(&clean.0, &got.0)
        );
        // A Start is written as soon as an open minute's evidence meets the rule, so its
        // statistics are those of the file that tipped it (as `replay.rs` notes): Starts must
        // agree in time and ID, Ends in every field.
        let (a, b) = (by_id(&got.1), by_id(&clean.1));
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for r in &got.1 {
            let c = clean
                .1
                .iter()
                .find(|c| {
                    c.shared_event_id == r.shared_event_id
                        && c.insight_details.state == r.insight_details.state
                })
                .unwrap();
            if r.insight_details.state == "End" {
                assert_eq!(
                    serde_json::to_string(r).unwrap(),
                    serde_json::to_string(c).unwrap(),
                    "seed {seed}, order {order:?}: End records differ"
                );
            } else {
                assert_eq!(
                    (&r.event_time, &r.event_id),
                    (&c.event_time, &c.event_id),
                    "seed {seed}, order {order:?}: Start records differ"
                );
            }
        }
    }
}

#[test]
fn files_in_any_order_count_every_event_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(dir.path(), "SHUFFLESHUF");
    let expected = independent_counts(&files);
    for seed in 1..=6 {
        let mut order: Vec<usize> = (0..files.len()).collect();
        shuffled(&mut order, seed);
        // Each file twice: once in the shuffled order, then all again in reverse.
        let twice: Vec<usize> = order.iter().chain(order.iter().rev()).copied().collect();
        let work = tempfile::tempdir().unwrap();
        let (state, _) = embedded_run(&files, &twice, work.path());
        // Out of delivery order, files can arrive after their minutes closed: they are counted
        // (as late) but not decided on, so only the counts must equal a clean run's.
        assert_eq!(
            counts_of(&state),
            expected,
            "seed {seed}, order {order:?}: per-minute counts"
        );
    }
}

#[test]
fn whole_files_redelivered_under_new_keys_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(dir.path(), "ORIGINALORIG");
    let ordered: Vec<usize> = (0..files.len()).collect();
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = embedded_run(&files, &ordered, clean_dir.path());
    // Every spike file delivered again, a minute later, under another key: every eventID in it
    // was counted before (duplicate eventIDs across files).
    let copies_dir = tempfile::tempdir().unwrap();
    let mut with_copies: Vec<TrailFile> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        with_copies.push(TrailFile {
            key: f.key.clone(),
            path: f.path.clone(),
            records: f.records.clone(),
        });
        if (2..2 + spike::SPIKE_FILES).contains(&i) {
            let stamp = format!("20260109T10{:02}Z", 4 + i - 2);
            let path = common::write_log(
                copies_dir.path(),
                spike::ACCOUNT,
                spike::REGION,
                &stamp,
                &format!("COPYCOPYCOPY{i:04}"),
                &f.records,
            );
            with_copies.push(TrailFile {
                key: path
                    .strip_prefix(copies_dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .to_string(),
                path,
                records: f.records.clone(),
            });
        }
    }
    let all: Vec<usize> = (0..with_copies.len()).collect();
    let work = tempfile::tempdir().unwrap();
    let got = embedded_run(&with_copies, &all, work.path());
    assert!(
        got.0 == clean.0,
        "state differs: {}",
        diff(&clean.0, &got.0)
    );
    assert_eq!(by_id(&got.1), by_id(&clean.1), "Insights records differ");
}

/// The Lambda handler in this process against DynamoDB Local and SeaweedFS.
struct Function {
    rt: tokio::runtime::Runtime,
    app: Arc<App>,
    out: String,
}

impl Function {
    /// A function with its own table and destination prefix; `upload` puts the trail under
    /// its prefix first.
    fn new(name: &str, upload: Option<(&str, &[TrailFile])>) -> Function {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let sdk = rt.block_on(aws_config::load_defaults(
            aws_config::BehaviorVersion::latest(),
        ));
        let (table, out) = (unique(name), unique(&format!("{name}-out")));
        let (logs, files) = upload.unwrap_or(("", &[]));
        rt.block_on(prepare(&sdk, &table, logs, files));
        let config = FunctionConfig {
            table: table.clone(),
            destination_bucket: BUCKET.into(),
            destination_prefix: format!("{out}/"),
            engine: spike::config(),
            event_bus: None,
            event_source: trail_insights::insight::publish::DEFAULT_SOURCE.into(),
            plot_svg: false,
        };
        let app = Arc::new(App::new(config, &sdk, rt.handle().clone()));
        Function { rt, app, out }
    }

    fn invoke(&self, event: &Value) -> Value {
        self.rt
            .block_on(handle(self.app.clone(), event.clone()))
            .unwrap()
    }

    fn result(&self) -> (State, Vec<InsightRecord>) {
        let state = spike::state(&self.app.store);
        let insights = insight_records_in_s3(&S3Location {
            bucket: BUCKET.into(),
            prefix: format!("{}/", self.out),
        })
        .unwrap();
        (state, insights)
    }
}

#[test]
fn the_same_notification_many_times_through_the_handler_equals_one_delivery() {
    local_aws();
    let dir = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(dir.path(), "NOTIFYNOTIFY");
    let logs = unique("dup-logs");
    let clean = Function::new("dup-clean", Some((&logs, &files)));
    for f in &files {
        let r = clean.invoke(&event_file(
            "s3-put.json",
            BUCKET,
            &[&format!("{logs}/{}", f.key)],
        ));
        assert_eq!(r["processed"], 1, "{r}");
    }
    let (clean_state, clean_insights) = clean.result();
    check_exact(&files, &clean_state, &clean_insights);

    let dup = Function::new("dup-many", None);
    let mut invocations = 0;
    for (i, f) in files.iter().enumerate() {
        let key = format!("{logs}/{}", f.key);
        let k = key.as_str();
        // The same object in both messages of one SQS batch, then the same notification three
        // times and in the other shapes; odd files get the SQS batch last instead of first.
        let sqs = event_file("sqs-s3.json", BUCKET, &[k, k]);
        let mut single: Vec<Value> = vec![
            event_file("s3-put.json", BUCKET, &[k]),
            event_file("s3-put.json", BUCKET, &[k]),
            event_file("s3-put.json", BUCKET, &[k]),
            event_file("sns-s3.json", BUCKET, &[k]),
            event_file("eventbridge-s3.json", BUCKET, &[k]),
        ];
        if i % 2 == 0 {
            let r = dup.invoke(&sqs);
            assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
        }
        let processed: u64 = single
            .iter_mut()
            .map(|e| dup.invoke(e)["processed"].as_u64().unwrap())
            .sum();
        assert_eq!(processed, (i % 2) as u64, "{k}: processed once in all");
        if i % 2 == 1 {
            let r = dup.invoke(&sqs);
            assert_eq!(r["batchItemFailures"], serde_json::json!([]), "{r}");
        }
        invocations += 6;
    }
    // Everything once more, as a late redelivery.
    for f in &files {
        let r = dup.invoke(&event_file(
            "s3-put.json",
            BUCKET,
            &[&format!("{logs}/{}", f.key)],
        ));
        assert_eq!(r["processed"], 0, "{r}");
        invocations += 1;
    }
    let (state, insights) = dup.result();
    assert!(
        state == clean_state,
        "state differs: {}",
        diff(&clean_state, &state)
    );
    assert_eq!(
        by_id(&insights),
        by_id(&clean_insights),
        "Insights records differ"
    );
    eprintln!("{invocations} invocations for {} files", files.len());
}

/// An account that goes quiet after its spikes: no file closes the burst minutes, so only the
/// scheduled sweep can write the End records. The sweep Ends both insights exactly as the closing
/// file does, and a second sweep writes nothing new.
#[test]
fn the_sweep_ends_the_insights_of_an_account_that_went_quiet() {
    let root = tempfile::tempdir().unwrap();
    let files = spike::spike_trail(root.path(), "sweep");
    let all: Vec<usize> = (0..files.len()).collect();
    let (_, with_closing_file) = embedded_run(&files, &all, &root.path().join("closed"));

    let work = root.path().join("swept");
    let store = EmbeddedStore::open(&work.join("state")).unwrap();
    let sink = DirectorySink {
        root: work.join("out"),
    };
    let engine = Engine::new(spike::config(), &store, &sink);
    for f in &files[..files.len() - 1] {
        process_file(&engine, f).unwrap();
    }
    let ends = |records: &[InsightRecord]| -> Vec<String> {
        let mut v: Vec<String> = records
            .iter()
            .filter(|r| r.insight_details.state == "End")
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        v.sort();
        v
    };
    let before: Vec<InsightRecord> = common::snapshot(&work.join("out"))
        .iter()
        .flat_map(|(_, b)| parse_insight_file(b).unwrap())
        .collect();
    assert!(ends(&before).is_empty(), "no End before the sweep");
    assert_eq!(before.len(), 2, "two Starts");

    // Long after the last delivery (10:10): past the lateness allowance and the sweep's grace.
    let now = trail_insights::base::time::Minute::parse_event_time("2026-01-09T12:00:00Z").unwrap();
    let swept = engine.sweep(now).unwrap();
    assert_eq!(swept.len(), 2, "{swept:?}");
    assert_eq!(
        ends(&swept),
        ends(&with_closing_file),
        "the same End records"
    );
    assert!(
        engine.sweep(now).unwrap().is_empty(),
        "a second sweep writes nothing"
    );
    let on_disk: Vec<InsightRecord> = common::snapshot(&work.join("out"))
        .iter()
        .flat_map(|(_, b)| parse_insight_file(b).unwrap())
        .collect();
    assert_eq!(
        ends(&on_disk),
        ends(&with_closing_file),
        "End files written"
    );
}
