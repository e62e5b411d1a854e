//! The AWS path against real local servers (DynamoDB Local, SeaweedFS S3) started by
//! `scripts/local-aws.sh`, and the real Lambda handler through `cargo lambda watch`.

mod common;

use common::watch::{Watch, aws_env, event_file};
use common::{demo_trail, event, local_aws, write_log};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use trail_insights::app::backfill::{backfill, insight_records_in_s3};
use trail_insights::app::cli::replay::replay;
use trail_insights::app::lambda::FunctionConfig;
use trail_insights::aws::dynamo::{DynamoStore, create_table};
use trail_insights::aws::s3::S3Location;
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::engine::Engine;
use trail_insights::insight::pairs::lookup;
use trail_insights::insight::record::InsightRecord;
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::EmbeddedStore;

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Create a table and buckets, and upload every file under `dir` to `bucket` (key = path).
fn prepare(
    rt: &tokio::runtime::Runtime,
    table: &str,
    buckets: &[&str],
    upload: Option<(&Path, &str)>,
) {
    rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        create_table(&aws_sdk_dynamodb::Client::new(&sdk), table)
            .await
            .unwrap();
        let s3 = trail_insights::aws::s3::client(&sdk);
        for b in buckets {
            let _ = s3.create_bucket().bucket(*b).send().await;
        }
        if let Some((dir, bucket)) = upload {
            let mut files = Vec::new();
            for e in walkdir::WalkDir::new(dir) {
                let e = e.unwrap();
                if e.file_type().is_file() {
                    let key = e
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    files.push((key, e.path().to_path_buf()));
                }
            }
            for chunk in files.chunks(32) {
                let mut set = tokio::task::JoinSet::new();
                for (key, path) in chunk.iter().cloned() {
                    let (s3, bucket) = (s3.clone(), bucket.to_string());
                    set.spawn(async move {
                        let body =
                            aws_sdk_s3::primitives::ByteStream::from(std::fs::read(path).unwrap());
                        s3.put_object()
                            .bucket(bucket)
                            .key(key)
                            .body(body)
                            .send()
                            .await
                            .unwrap();
                    });
                }
                while let Some(r) = set.join_next().await {
                    r.unwrap();
                }
            }
        }
    });
}

fn by_id(records: Vec<InsightRecord>) -> BTreeMap<(String, String), InsightRecord> {
    records
        .into_iter()
        .map(|r| {
            (
                (r.shared_event_id.clone(), r.insight_details.state.clone()),
                r,
            )
        })
        .collect()
}

/// Per-series counts of every stored minute.
fn counts(engine: &Engine<'_>, scope: &TrailScope) -> BTreeMap<(i64, String), u64> {
    let mut out = BTreeMap::new();
    for (m, c) in engine
        .minute_counts(scope, Minute(0), Minute(i64::MAX / 4))
        .unwrap()
    {
        for (sid, s) in c.series {
            out.insert((m.0, sid), s.count);
        }
    }
    out
}

#[test]
fn lambda_path_on_dynamodb_and_s3_equals_replay() {
    local_aws();
    let (dir, trail) = demo_trail();
    let rt = runtime();
    let (table, logs, out) = (unique("eq"), unique("logs"), unique("out"));
    prepare(&rt, &table, &[&logs, &out], Some((dir, &logs)));
    let config = FunctionConfig {
        table: table.clone(),
        destination_bucket: out.clone(),
        destination_prefix: "trail-insights/".into(),
        engine: Config::default(),
        event_bus: None,
        event_source: trail_insights::insight::publish::DEFAULT_SOURCE.into(),
        plot_svg: false,
    };
    let s = backfill(
        &S3Location {
            bucket: logs.clone(),
            prefix: "AWSLogs/".into(),
        },
        100 * 365 * 1440,
        config.clone(),
        false,
    )
    .unwrap();
    assert_eq!(
        (s.selected, s.processed, s.failed),
        (trail.files.len(), trail.files.len(), 0)
    );
    let from_s3 = insight_records_in_s3(&S3Location {
        bucket: out.clone(),
        prefix: "trail-insights/".into(),
    })
    .unwrap();

    let work = tempfile::tempdir().unwrap();
    let local = replay(
        std::slice::from_ref(dir),
        &work.path().join("state"),
        &work.path().join("out"),
        Config::default(),
        false,
        false,
    )
    .unwrap();
    assert_eq!(local.processed, trail.files.len());
    let from_disk: Vec<InsightRecord> = lookup(&work.path().join("out"))
        .unwrap()
        .into_iter()
        .flat_map(|p| p.start.into_iter().chain(p.end))
        .collect();
    assert_eq!(from_s3.len(), 2 * trail.incidents.len());
    assert!(
        by_id(from_s3) == by_id(from_disk),
        "the same Insights records from both paths"
    );

    let scope = TrailScope {
        org: None,
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let embedded = EmbeddedStore::open(&work.path().join("state")).unwrap();
    let sink = DirectorySink {
        root: work.path().join("unused"),
    };
    let local_counts = counts(&Engine::new(Config::default(), &embedded, &sink), &scope);
    let dynamo = rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        aws_sdk_dynamodb::Client::new(&sdk)
    });
    let store = DynamoStore::new(dynamo, &table, rt.handle().clone(), 15);
    let remote_counts = std::thread::scope(|s| {
        s.spawn(|| counts(&Engine::new(Config::default(), &store, &sink), &scope))
            .join()
            .unwrap()
    });
    assert!(local_counts.len() > 1000);
    assert!(
        local_counts == remote_counts,
        "the same per-minute counts in DynamoDB and the embedded store"
    );

    // The insight graph from the function's table and bucket equals the one from replay's state.
    drop(embedded);
    let id = &lookup(&work.path().join("out")).unwrap()[0]
        .start
        .as_ref()
        .unwrap()
        .shared_event_id
        .clone();
    let plot = |source: &[&str], out: &str, file: &str| {
        let path = work.path().join(file);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_trail-insights"))
            .args(["plot", "--insight", id])
            .args(source)
            .args(["--out", out])
            .arg("--output")
            .arg(&path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(&path).unwrap()
    };
    let state = work.path().join("state");
    let local_svg = plot(
        &["--state", state.to_str().unwrap()],
        work.path().join("out").to_str().unwrap(),
        "local.svg",
    );
    let remote_svg = plot(
        &["--table", &table],
        &format!("s3://{out}/trail-insights/"),
        "remote.svg",
    );
    assert!(local_svg.contains("Top callers during the insight"));
    assert!(
        local_svg == remote_svg,
        "plot --table/--out s3:// draws what plot --state/--out DIR does"
    );
}

#[test]
fn handler_under_cargo_lambda_watch_counts_once_under_duplicates_and_concurrency() {
    local_aws();
    let rt = runtime();
    let (table, logs, out) = (unique("watch"), unique("trail"), unique("dest"));
    let dir = tempfile::tempdir().unwrap();
    let arn = "arn:aws:sts::123456789012:assumed-role/App/i-1";
    let logs_dir = dir.path().join("logs");
    let f = |stamp: &str, unique: &str, records: &[Value]| {
        write_log(
            &logs_dir,
            "123456789012",
            "us-east-1",
            stamp,
            unique,
            records,
        )
        .strip_prefix(&logs_dir)
        .unwrap()
        .to_string_lossy()
        .to_string()
    };
    let denied = |sec: u32, i: u32| {
        event(
            &format!("2026-01-09T10:00:{sec:02}Z"),
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            true,
            Some("AccessDenied"),
            arn,
            &format!("d-{i}"),
        )
    };
    let f1 = f(
        "20260101T0005Z",
        "WATCHWATCHWATCH1",
        &[event(
            "2026-01-01T00:00:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-1",
        )],
    );
    let f2 = f(
        "20260109T1005Z",
        "WATCHWATCHWATCH2",
        &(0..8).map(|i| denied(i, i)).collect::<Vec<_>>(),
    );
    // f3 repeats one event of f2 (a duplicate eventID across files) and adds six more.
    let f3 = f(
        "20260109T1006Z",
        "WATCHWATCHWATCH3",
        &(7..14).map(|i| denied(i, i)).collect::<Vec<_>>(),
    );
    let f4 = f(
        "20260109T1030Z",
        "WATCHWATCHWATCH4",
        &[event(
            "2026-01-09T10:25:00Z",
            "iam.amazonaws.com",
            "CreateUser",
            false,
            None,
            arn,
            "c-2",
        )],
    );
    prepare(&rt, &table, &[&logs, &out], Some((&logs_dir, &logs)));

    let mut env = aws_env();
    env.extend([
        ("TABLE_NAME", table.clone()),
        ("DESTINATION_BUCKET", out.clone()),
        ("DESTINATION_PREFIX", "insights/".to_string()),
        ("WARMUP_HOURS", "24".to_string()),
    ]);
    let watch = Watch::start(&env);

    let r = watch.invoke(&event_file("s3-put.json", &logs, &[&f1]));
    assert_eq!(r["processed"], 1, "{r}");

    // Concurrent invocations over overlapping files, in every notification shape.
    let mut sqs = event_file("sqs-s3.json", &logs, &[&f3, &f2]);
    let mut bad = sqs["Records"][0].clone();
    bad["messageId"] = "malformed-1".into();
    bad["body"] = "{ this is not json".into();
    sqs["Records"].as_array_mut().unwrap().push(bad);
    let batch = [
        event_file("s3-put.json", &logs, &[&f2]),
        event_file("sns-s3.json", &logs, &[&f2]),
        event_file("eventbridge-s3.json", &logs, &[&f3]),
        sqs.clone(),
    ];
    let responses: Vec<Value> = std::thread::scope(|s| {
        let handles: Vec<_> = batch.iter().map(|e| s.spawn(|| watch.invoke(e))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        responses[3]["batchItemFailures"],
        serde_json::json!([]),
        "a malformed message does not fail the batch: {}",
        responses[3]
    );

    let again = [
        event_file("s3-put.json", &logs, &[&f4]),
        event_file("eventbridge-s3.json", &logs, &[&f4]),
        event_file("sns-s3.json", &logs, &[&f4]),
    ];
    std::thread::scope(|s| {
        for e in &again {
            s.spawn(|| watch.invoke(e));
        }
    });
    // Redelivery of everything changes nothing.
    let r = watch.invoke(&sqs);
    assert_eq!(r["batchItemFailures"], serde_json::json!([]));

    let scope = TrailScope {
        org: None,
        account: "123456789012".into(),
        region: "us-east-1".into(),
    };
    let dynamo = rt.block_on(async {
        aws_sdk_dynamodb::Client::new(
            &aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
        )
    });
    let store = DynamoStore::new(dynamo, &table, rt.handle().clone(), 15);
    let sink = DirectorySink {
        root: dir.path().join("unused"),
    };
    let got = std::thread::scope(|s| {
        s.spawn(|| counts(&Engine::new(Config::default(), &store, &sink), &scope))
            .join()
            .unwrap()
    });
    let ten = Minute::parse_event_time("2026-01-09T10:00:00Z").unwrap().0;
    assert_eq!(
        got.get(&(
            ten,
            "error#secretsmanager.amazonaws.com#GetSecretValue#AccessDenied".into()
        )),
        Some(&14),
        "14 distinct events, each counted once: {got:?}"
    );
    assert_eq!(got.values().sum::<u64>(), 16, "{got:?}");

    let records = insight_records_in_s3(&S3Location {
        bucket: out.clone(),
        prefix: "insights/".into(),
    })
    .unwrap();
    let states: Vec<&str> = records
        .iter()
        .map(|r| r.insight_details.state.as_str())
        .collect();
    assert_eq!(
        records.len(),
        2,
        "exactly one Start and one End: {states:?}"
    );
    assert_eq!(records[0].shared_event_id, records[1].shared_event_id);
    let end = records
        .iter()
        .find(|r| r.insight_details.state == "End")
        .unwrap();
    assert_eq!(end.event_time, "2026-01-09T10:01:00Z");
    assert_eq!(
        end.insight_details
            .insight_context
            .statistics
            .insight
            .average,
        14.0
    );

    // The test event is acknowledged; the sweep (wall clock: these January minutes are past the
    // retention) closes and prunes without writing any Insights record.
    let r = watch.invoke(&event_file("s3-test-event.json", &logs, &[]));
    assert_eq!(r["batchItemFailures"], serde_json::json!([]));
    let r = watch.invoke(&event_file("sweep.json", &logs, &[]));
    assert_eq!(r["insights"], 0, "{r}");
    let after = insight_records_in_s3(&S3Location {
        bucket: out.clone(),
        prefix: "insights/".into(),
    })
    .unwrap();
    assert_eq!(after.len(), 2);
}

#[test]
fn setup_creates_the_table_with_ttl_and_the_buckets_and_can_run_again() {
    local_aws();
    let table = unique("setup");
    let (trail, insights) = (unique("setup-trail"), unique("setup-out"));
    for run in ["first", "second"] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_trail-insights"))
            .args([
                "setup", "--table", &table, "--bucket", &trail, "--bucket", &insights,
            ])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{run} run: {stdout} {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let table_line = if run == "first" {
            "created"
        } else {
            "already exists"
        };
        assert!(
            stdout.contains(&format!("table {table}: {table_line}")),
            "{run}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("bucket {trail}: {table_line}")),
            "{run}: {stdout}"
        );
    }
    let rt = runtime();
    rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let described = dynamo
            .describe_table()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let t = described.table.unwrap();
        let keys: Vec<(String, String)> = t
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("pk".to_string(), "HASH".to_string()),
                ("sk".to_string(), "RANGE".to_string())
            ]
        );
        let ttl = dynamo
            .describe_time_to_live()
            .table_name(&table)
            .send()
            .await
            .unwrap();
        let ttl = ttl.time_to_live_description.unwrap();
        assert_eq!(ttl.attribute_name(), Some("ttl"));
        let s3 = trail_insights::aws::s3::client(&sdk);
        for b in [&trail, &insights] {
            s3.head_bucket().bucket(b).send().await.unwrap();
        }
    });
}
