//! Concurrent processors over overlapping files of one account and region, against DynamoDB
//! Local and SeaweedFS: K threads in one process, K `trail-insights backfill` processes, and the
//! Lambda under `cargo lambda watch` invoked concurrently with overlapping notifications. Each
//! ends with per-minute counts equal to an independent count, exactly one Start and one End per
//! spike, every file processed by exactly one processor, and state and Insights records equal to
//! a single-threaded clean run.

mod common;

use common::local_aws;
use common::spike::{
    self, BUCKET, TrailFile, by_id, check_exact, diff, prepare, process_file, unique,
};
use common::watch::{Watch, aws_env, event_file};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Barrier, Mutex, OnceLock};
use trail_insights::app::backfill::insight_records_in_s3;
use trail_insights::aws::dynamo::DynamoStore;
use trail_insights::aws::s3::{S3Location, S3Sink};
use trail_insights::engine::{Engine, Status};
use trail_insights::insight::record::{InsightFile, InsightRecord};
use trail_insights::insight::sink::{InsightSink, SinkError};

/// Processors running at once.
const K: usize = 4;

fn trail() -> &'static (PathBuf, Vec<TrailFile>) {
    static TRAIL: OnceLock<(PathBuf, Vec<TrailFile>)> = OnceLock::new();
    TRAIL.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("ti-conc-")
            .tempdir()
            .unwrap()
            .keep();
        let files = spike::spike_trail(&dir, "CONCURRENT");
        (dir, files)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sdk(rt: &tokio::runtime::Runtime) -> aws_config::SdkConfig {
    rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ))
}

/// The state and Insights records a run left in `table` and under `out/` in the bucket.
struct Result {
    state: BTreeMap<String, Vec<u8>>,
    insights: Vec<InsightRecord>,
}

fn collect(rt: &tokio::runtime::Runtime, table: &str, out: &str) -> Result {
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk(rt)),
        table,
        rt.handle().clone(),
        15,
    );
    let state = std::thread::scope(|s| s.spawn(|| spike::state(&store)).join().unwrap());
    let insights = std::thread::scope(|s| {
        s.spawn(|| {
            insight_records_in_s3(&S3Location {
                bucket: BUCKET.into(),
                prefix: format!("{out}/"),
            })
            .unwrap()
        })
        .join()
        .unwrap()
    });
    Result { state, insights }
}

/// One processor, the files in delivery order: the result every concurrent run must equal.
fn clean() -> &'static Result {
    static CLEAN: OnceLock<Result> = OnceLock::new();
    CLEAN.get_or_init(|| {
        let (_, files) = trail();
        let rt = runtime();
        let sdk = sdk(&rt);
        let (table, out) = (unique("conc-clean"), unique("conc-clean-out"));
        rt.block_on(prepare(&sdk, &table, &out, &[]));
        let store = DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            &table,
            rt.handle().clone(),
            15,
        );
        let sink = S3Sink::new(
            trail_insights::aws::s3::client(&sdk),
            rt.handle().clone(),
            BUCKET,
            &format!("{out}/"),
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                let engine = Engine::new(spike::config(), &store, &sink);
                for f in files {
                    let o = process_file(&engine, f).unwrap();
                    assert_eq!(o.status, Status::Processed, "{}", f.key);
                }
            })
            .join()
            .unwrap()
        });
        let r = collect(&rt, &table, &out);
        check_exact(files, &r.state, &r.insights);
        r
    })
}

fn assert_equals_clean(r: &Result, what: &str) {
    let (_, files) = trail();
    check_exact(files, &r.state, &r.insights);
    let c = clean();
    assert!(
        r.state == c.state,
        "{what}: state differs from the clean run: {}",
        diff(&c.state, &r.state)
    );
    assert_eq!(
        by_id(&r.insights),
        by_id(&c.insights),
        "{what}: Insights records differ from the clean run"
    );
}

/// Every Insights file written, to show that concurrent writers never disagree on a file.
struct RecordingSink<S> {
    inner: S,
    puts: Mutex<Vec<(String, Vec<u8>)>>,
}

impl<S: InsightSink> InsightSink for RecordingSink<S> {
    fn put(&self, file: &InsightFile) -> std::result::Result<(), SinkError> {
        self.puts
            .lock()
            .unwrap()
            .push((file.key.clone(), file.body.clone()));
        self.inner.put(file)
    }
    fn delete(&self, key: &str) -> std::result::Result<(), SinkError> {
        self.inner.delete(key)
    }
}

#[test]
fn k_threads_over_the_same_files_count_each_event_once() {
    local_aws();
    let started = std::time::Instant::now();
    let (_, files) = trail();
    clean();
    let rt = runtime();
    let sdk = sdk(&rt);
    let (table, out) = (unique("conc-threads"), unique("conc-threads-out"));
    rt.block_on(prepare(&sdk, &table, &out, &[]));
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let sink = RecordingSink {
        inner: S3Sink::new(
            trail_insights::aws::s3::client(&sdk),
            rt.handle().clone(),
            BUCKET,
            &format!("{out}/"),
        ),
        puts: Mutex::new(Vec::new()),
    };
    let barrier = Barrier::new(K);
    // Every thread walks all files in delivery order, as overlapping deliveries do; they start
    // together, so they race for the same file at the same moment.
    let statuses: Vec<Vec<Status>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..K)
            .map(|_| {
                s.spawn(|| {
                    let store = DynamoStore::new(ddb.clone(), &table, rt.handle().clone(), 15);
                    let engine = Engine::new(spike::config(), &store, &sink);
                    barrier.wait();
                    files
                        .iter()
                        .map(|f| process_file(&engine, f).unwrap().status)
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (i, f) in files.iter().enumerate() {
        let processed = statuses
            .iter()
            .filter(|s| s[i] == Status::Processed)
            .count();
        assert_eq!(processed, 1, "{} processed by exactly one thread", f.key);
        assert!(
            statuses
                .iter()
                .all(|s| matches!(s[i], Status::Processed | Status::AlreadyProcessed))
        );
    }
    let puts = sink.puts.into_inner().unwrap();
    let mut by_key: BTreeMap<&str, &Vec<u8>> = BTreeMap::new();
    for (k, body) in &puts {
        if let Some(earlier) = by_key.insert(k, body) {
            assert_eq!(earlier, body, "two writers wrote different versions of {k}");
        }
    }
    assert_equals_clean(&collect(&rt, &table, &out), "K threads");
    eprintln!(
        "{K} threads, {} files, {} records: {} Insights puts for {} files, {:.1} s",
        files.len(),
        files.iter().map(|f| f.records.len()).sum::<usize>(),
        puts.len(),
        by_key.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn k_backfill_processes_over_the_same_bucket_count_each_event_once() {
    local_aws();
    let started = std::time::Instant::now();
    let (_, files) = trail();
    clean();
    let rt = runtime();
    let (table, logs, out) = (
        unique("conc-procs"),
        unique("conc-procs-logs"),
        unique("conc-procs-out"),
    );
    rt.block_on(prepare(&sdk(&rt), &table, &logs, files));
    let children: Vec<_> = (0..K)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_trail-insights"))
                .args([
                    "backfill",
                    &format!("s3://{BUCKET}/{logs}/AWSLogs/"),
                    "--since",
                ])
                .arg("3650d")
                .envs(aws_env())
                .env("TABLE_NAME", &table)
                .env("DESTINATION_BUCKET", BUCKET)
                .env("DESTINATION_PREFIX", &out)
                .env("WARMUP_HOURS", "24")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut processed = 0;
    let mut already = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "backfill failed: {stdout}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        // "N objects listed, N log files selected: P processed, A already processed, ..."
        let number_before = |what: &str| -> usize {
            let at = stdout.find(what).unwrap();
            stdout[..at]
                .split_whitespace()
                .last()
                .unwrap()
                .parse()
                .unwrap()
        };
        processed += number_before(" processed,");
        already += number_before(" already processed");
    }
    assert_eq!(processed, files.len(), "each file processed by one process");
    assert_eq!(already, (K - 1) * files.len());
    assert_equals_clean(&collect(&rt, &table, &out), "K processes");
    eprintln!(
        "{K} backfill processes, {} files: {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn concurrent_lambda_invocations_with_overlapping_notifications_count_each_event_once() {
    local_aws();
    let (_, files) = trail();
    clean();
    let rt = runtime();
    let (table, logs, out) = (
        unique("conc-lambda"),
        unique("conc-lambda-logs"),
        unique("conc-lambda-out"),
    );
    rt.block_on(prepare(&sdk(&rt), &table, &logs, files));
    let mut env = aws_env();
    env.extend([
        ("TABLE_NAME", table.clone()),
        ("DESTINATION_BUCKET", BUCKET.to_string()),
        ("DESTINATION_PREFIX", out.clone()),
        ("WARMUP_HOURS", "24".to_string()),
    ]);
    let watch = Watch::start(&env);
    let started = std::time::Instant::now();
    // One wave per delivery: K invocations at once, all naming the new file in each notification
    // shape, the SQS batch also redelivering the previous file (overlapping notifications).
    let mut invocations = 0;
    for (i, f) in files.iter().enumerate() {
        let key = format!("{logs}/{}", f.key);
        let previous = format!("{logs}/{}", files[i.saturating_sub(1)].key);
        let wave = [
            event_file("s3-put.json", BUCKET, &[&key]),
            event_file("sns-s3.json", BUCKET, &[&key]),
            event_file("eventbridge-s3.json", BUCKET, &[&key]),
            event_file("sqs-s3.json", BUCKET, &[&previous, &key]),
        ];
        let responses: Vec<Value> = std::thread::scope(|s| {
            let handles: Vec<_> = wave.iter().map(|e| s.spawn(|| watch.invoke(e))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        invocations += wave.len();
        let processed: u64 = responses[..3]
            .iter()
            .map(|r| r["processed"].as_u64().unwrap())
            .sum();
        assert!(processed <= 1, "{} processed more than once", f.key);
        assert_eq!(
            responses[3]["batchItemFailures"],
            serde_json::json!([]),
            "{}",
            responses[3]
        );
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(watch);
    assert_equals_clean(&collect(&rt, &table, &out), "concurrent Lambda invocations");
    eprintln!(
        "{invocations} Lambda invocations in waves of {K}, {} files: {seconds:.1} s",
        files.len()
    );
}
