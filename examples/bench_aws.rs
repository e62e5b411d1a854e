//! The AWS path measured: per log file, S3 and DynamoDB requests, consumed capacity units and CPU
//! time, against DynamoDB Local and SeaweedFS, for a quiet, a typical and a busy account; and
//! the cost per 100,000 events that follows (the prices and assumptions are written below).
//!
//! Usage (servers from `make local-up`):
//!   eval "$(scripts/local-aws.sh env)"
//!   cargo run --release --example bench_aws -- OUT_DIR
//!
//! Writes OUT_DIR/aws.md (tables) and OUT_DIR/aws.json, and prints the tables.
//! Files go through the function's own code path: `App::new` (the DynamoDB store and S3 sink),
//! `open_object` (streaming GetObject) and `Engine::process`, one file at a time in delivery
//! order, as the function processes S3 notifications.

use anyhow::{Context, Result};
use std::cell::Cell;
use std::fmt::Write as _;
use std::time::Instant;
use trail_insights::app::lambda::{App, FunctionConfig};
use trail_insights::aws::dynamo::create_table;
use trail_insights::aws::s3::open_object;
use trail_insights::base::time::Minute;
use trail_insights::config::Config;
use trail_insights::engine::{Engine, Status};
use trail_insights::insight::record::InsightFile;
use trail_insights::insight::sink::{InsightSink, SinkError};
use trail_insights::store::{StateStore, StoreError, StoreOp, WatchedStore};
use trail_insights::synth::corpus::{FileSpec, gz_bytes};

/// Prices, us-east-1, as published on the AWS pricing pages for Lambda, S3 and DynamoDB as of
/// November 2024 (DynamoDB on-demand after the 1 November 2024 price reduction); unchanged at
/// the time of writing as far as we know. Check them before relying on the dollar figures.
mod price {
    /// Lambda on arm64, per GB-second (first 7.5 billion GB-seconds a month).
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    /// Lambda, per invocation ($0.20 per million).
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// S3 Standard GET, per request ($0.0004 per 1,000).
    pub const S3_GET: f64 = 0.0004 / 1e3;
    /// S3 Standard PUT (and COPY, POST, LIST), per request ($0.005 per 1,000). DELETE is free.
    pub const S3_PUT: f64 = 0.005 / 1e3;
    /// DynamoDB on-demand, per write request unit ($0.625 per million).
    pub const DYNAMO_WRU: f64 = 0.625 / 1e6;
    /// DynamoDB on-demand, per read request unit ($0.125 per million).
    pub const DYNAMO_RRU: f64 = 0.125 / 1e6;
    /// CloudTrail Insights, per 100,000 events analysed.
    pub const CLOUDTRAIL_INSIGHTS_PER_100K: f64 = 0.35;
}

/// How the measurement on this machine becomes a Lambda bill.
mod model {
    /// The function's memory (template.yaml).
    pub const MEMORY_GB: f64 = 0.5;
    /// Lambda gives a full vCPU at 1,769 MB and a proportional share below.
    pub const FULL_VCPU_GB: f64 = 1.769;
    /// CPU time here × this = CPU time on Lambda arm64 (Graviton2). This machine is an AMD EPYC
    /// (Zen 4) at ~2.6 GHz; Graviton2 runs single-threaded parsing/compression code at roughly
    /// 0.6–0.7 of its speed, so we take 1.5 (an assumption, not a measurement on arm64).
    pub const ARM64_CPU_FACTOR: f64 = 1.5;
    /// Latency of one DynamoDB request in the same region (the engine's requests are
    /// sequential), and the time to first byte of an S3 GET/PUT: typical published figures,
    /// assumed rather than measured (local servers answer in well under a millisecond).
    pub const DYNAMO_LATENCY_S: f64 = 0.005;
    pub const S3_LATENCY_S: f64 = 0.020;
}

struct Profile {
    name: &'static str,
    events_per_file: u64,
    files: u64,
}

/// Events per five-minute log file: ~20 a minute (a quiet account), ~1,000 a minute (a typical
/// production account), ~20,000 a minute (a busy one).
const PROFILES: [Profile; 3] = [
    Profile {
        name: "quiet",
        events_per_file: 100,
        files: 36,
    },
    Profile {
        name: "typical",
        events_per_file: 5_000,
        files: 36,
    },
    Profile {
        name: "busy",
        events_per_file: 100_000,
        // Two hours, so the measured files include one that completes an hour (the baselines'
        // hourly fold).
        files: 24,
    },
];

/// Files measured per profile are those after the first half hour of deliveries: the first files
/// create every item and are not what an account pays for day to day.
const WARMUP_FILES: u64 = 6;

/// The store's requests by kind; the capacity units come from DynamoDB's own
/// `ConsumedCapacity` (`take_consumed_capacity`).
#[derive(Default)]
struct Requests {
    gets: Cell<u64>,
    queries: Cell<u64>,
    puts: Cell<u64>,
    deletes: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

impl Requests {
    fn count(&self, op: StoreOp<'_>) -> Result<(), StoreError> {
        match op {
            StoreOp::Get => bump(&self.gets),
            StoreOp::Query => bump(&self.queries),
            StoreOp::Put { .. } => bump(&self.puts),
            StoreOp::Delete => bump(&self.deletes),
            StoreOp::Commit => {}
        }
        Ok(())
    }
}

struct CountingSink<'a> {
    inner: &'a dyn InsightSink,
    /// False when S3 is unavailable: requests are counted, not sent.
    send: bool,
    puts: Cell<u64>,
    deletes: Cell<u64>,
}

impl InsightSink for CountingSink<'_> {
    fn put(&self, file: &InsightFile) -> Result<(), SinkError> {
        bump(&self.puts);
        if !self.send {
            return Ok(());
        }
        self.inner.put(file)
    }
    fn delete(&self, key: &str) -> Result<(), SinkError> {
        bump(&self.deletes);
        if !self.send {
            return Ok(());
        }
        self.inner.delete(key)
    }
}

/// CPU time of the whole process (every thread, including the SDK's), in seconds, from
/// `/proc/self/task/*/schedstat` (nanosecond resolution, unlike getrusage's ticks on some
/// kernels).
fn process_cpu_seconds() -> f64 {
    let mut ns = 0u64;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    ns as f64 / 1e9
}

#[derive(Default, Clone, serde::Serialize)]
struct PerFile {
    events: f64,
    counted: f64,
    minutes_touched: f64,
    series_touched: f64,
    insights: f64,
    s3_get: f64,
    s3_put: f64,
    s3_delete: f64,
    dynamo_get: f64,
    dynamo_query: f64,
    dynamo_put: f64,
    dynamo_delete: f64,
    dynamo_requests: f64,
    rcu: f64,
    wcu: f64,
    cpu_s: f64,
    wall_s: f64,
}

#[derive(serde::Serialize)]
struct ProfileResult {
    profile: String,
    events_per_file: u64,
    files_measured: u64,
    mean_per_file: PerFile,
    max_dynamo_put_per_file: f64,
    /// Dollars per log file and per 100,000 events, by component.
    cost_per_file: Cost,
    cost_per_100k_events: Cost,
    /// Whether log files were read from S3 (SeaweedFS) rather than from memory.
    read_from_s3: bool,
}

#[derive(Default, Clone, serde::Serialize)]
struct Cost {
    lambda_compute: f64,
    lambda_requests: f64,
    s3: f64,
    dynamo_reads: f64,
    dynamo_writes: f64,
    total: f64,
}

impl Cost {
    fn of(f: &PerFile) -> Cost {
        let cpu_arm = f.cpu_s * model::ARM64_CPU_FACTOR;
        let cpu_share = (model::MEMORY_GB / model::FULL_VCPU_GB).min(1.0);
        let waits = (f.dynamo_requests) * model::DYNAMO_LATENCY_S
            + (f.s3_get + f.s3_put + f.s3_delete) * model::S3_LATENCY_S;
        let duration = cpu_arm / cpu_share + waits;
        let mut c = Cost {
            lambda_compute: duration * model::MEMORY_GB * price::LAMBDA_ARM_GB_SECOND,
            lambda_requests: price::LAMBDA_REQUEST,
            s3: f.s3_get * price::S3_GET + f.s3_put * price::S3_PUT,
            dynamo_reads: f.rcu * price::DYNAMO_RRU,
            dynamo_writes: f.wcu * price::DYNAMO_WRU,
            total: 0.0,
        };
        c.total = c.lambda_compute + c.lambda_requests + c.s3 + c.dynamo_reads + c.dynamo_writes;
        c
    }

    fn scaled(&self, k: f64) -> Cost {
        Cost {
            lambda_compute: self.lambda_compute * k,
            lambda_requests: self.lambda_requests * k,
            s3: self.s3 * k,
            dynamo_reads: self.dynamo_reads * k,
            dynamo_writes: self.dynamo_writes * k,
            total: self.total * k,
        }
    }
}

fn main() -> Result<()> {
    let out_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench/results".into());
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {out_dir}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sdk = rt.block_on(aws_config::load_defaults(
        aws_config::BehaviorVersion::latest(),
    ));
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let mut results = Vec::new();
    for p in &PROFILES {
        let table = format!("ti-bench-{}-{run}", p.name);
        // One bucket for the logs and the Insights (prefix `trail-insights/`): a shared
        // SeaweedFS runs out of volumes when every run creates buckets.
        let bucket = format!("ti-bench-{run}");
        let s3 = trail_insights::aws::s3::client(&sdk);
        rt.block_on(create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table))?;
        let start = Minute::parse_event_time("2026-01-05T00:05:00Z").context("start")?;
        let specs: Vec<FileSpec> = (0..p.files)
            .map(|i| FileSpec {
                account: "111122223333".into(),
                region: "us-east-1".into(),
                delivered: start.plus(5 * i as i64),
                events: p.events_per_file,
                seed: 100 + i,
            })
            .collect();
        let bodies: Vec<Vec<u8>> = specs.iter().map(gz_bytes).collect();
        let uploaded = rt.block_on(async {
            let _ = s3.create_bucket().bucket(&bucket).send().await;
            for (spec, body) in specs.iter().zip(&bodies) {
                s3.put_object()
                    .bucket(&bucket)
                    .key(spec.key())
                    .body(body.clone().into())
                    .send()
                    .await
                    .with_context(|| format!("uploading {}", spec.key()))?;
            }
            anyhow::Ok(())
        });
        let from_s3 = match uploaded {
            Ok(()) => true,
            Err(e) => {
                eprintln!(
                    "warning: S3 upload failed ({e:#}); log files are read from memory and \
                     GetObject requests are counted, not sent"
                );
                false
            }
        };
        let (trail_bucket, out_bucket) = (bucket.clone(), bucket.clone());
        let config = FunctionConfig {
            table: table.clone(),
            destination_bucket: out_bucket.clone(),
            destination_prefix: "trail-insights/".into(),
            engine: Config::default(),
            event_bus: None,
            event_source: trail_insights::insight::publish::DEFAULT_SOURCE.into(),
            plot_svg: false,
        };
        let app = App::new(config, &sdk, rt.handle().clone());
        let counted = Requests::default();
        let store = WatchedStore::new(&app.store, |op| counted.count(op));
        let sink = CountingSink {
            inner: &app.sink,
            send: from_s3,
            puts: Cell::new(0),
            deletes: Cell::new(0),
        };
        let engine = Engine::new(app.config.engine.clone(), &store, &sink);
        let mut sum = PerFile::default();
        let mut max_puts = 0.0f64;
        let mut measured = 0u64;
        for (i, spec) in specs.iter().enumerate() {
            let key = spec.key();
            let opens = Cell::new(0u64);
            let body = bodies[i].as_slice();
            let open = || -> std::io::Result<Box<dyn std::io::Read + '_>> {
                bump(&opens);
                if !from_s3 {
                    return Ok(Box::new(body));
                }
                Ok(Box::new(open_object(
                    &app.s3,
                    &app.handle,
                    &trail_bucket,
                    &key,
                )?))
            };
            let before = (
                counted.gets.get(),
                counted.queries.get(),
                counted.puts.get(),
                counted.deletes.get(),
                sink.puts.get(),
                sink.deletes.get(),
            );
            let _ = app.store.take_consumed_capacity();
            let cpu0 = process_cpu_seconds();
            let t0 = Instant::now();
            let outcome = engine
                .process(&format!("{trail_bucket}/{key}"), &key, &open)
                .with_context(|| format!("processing {key}"))?;
            let wall = t0.elapsed().as_secs_f64();
            let cpu = process_cpu_seconds() - cpu0;
            let (rcu, wcu, requests) = app.store.take_consumed_capacity();
            anyhow::ensure!(
                outcome.status == Status::Processed,
                "{key}: {:?}",
                outcome.status
            );
            if (i as u64) < WARMUP_FILES {
                continue;
            }
            measured += 1;
            let puts = (counted.puts.get() - before.2) as f64;
            max_puts = max_puts.max(puts);
            let f = PerFile {
                events: outcome.records as f64,
                counted: outcome.counted as f64,
                minutes_touched: outcome.minutes_touched as f64,
                series_touched: outcome.series_touched as f64,
                insights: outcome.insights.len() as f64,
                s3_get: opens.get() as f64,
                s3_put: (sink.puts.get() - before.4) as f64,
                s3_delete: (sink.deletes.get() - before.5) as f64,
                dynamo_get: (counted.gets.get() - before.0) as f64,
                dynamo_query: (counted.queries.get() - before.1) as f64,
                dynamo_put: puts,
                dynamo_delete: (counted.deletes.get() - before.3) as f64,
                dynamo_requests: requests as f64,
                rcu,
                wcu,
                cpu_s: cpu,
                wall_s: wall,
            };
            add(&mut sum, &f);
        }
        let mean = scale(&sum, 1.0 / measured.max(1) as f64);
        let per_file = Cost::of(&mean);
        let per_100k = per_file.scaled(100_000.0 / mean.events.max(1.0));
        eprintln!(
            "{}: {} files measured, ${:.5} per 100k events",
            p.name, measured, per_100k.total
        );
        results.push(ProfileResult {
            profile: p.name.into(),
            events_per_file: p.events_per_file,
            files_measured: measured,
            mean_per_file: mean,
            max_dynamo_put_per_file: max_puts,
            cost_per_file: per_file,
            cost_per_100k_events: per_100k,
            read_from_s3: from_s3,
        });
    }
    let md = tables(&results);
    print!("{md}");
    std::fs::write(format!("{out_dir}/aws.md"), &md)?;
    std::fs::write(
        format!("{out_dir}/aws.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    Ok(())
}

impl PerFile {
    /// Every figure, in a fixed order (for sums and means).
    fn figures(&mut self) -> [&mut f64; 17] {
        [
            &mut self.events,
            &mut self.counted,
            &mut self.minutes_touched,
            &mut self.series_touched,
            &mut self.insights,
            &mut self.s3_get,
            &mut self.s3_put,
            &mut self.s3_delete,
            &mut self.dynamo_get,
            &mut self.dynamo_query,
            &mut self.dynamo_put,
            &mut self.dynamo_delete,
            &mut self.dynamo_requests,
            &mut self.rcu,
            &mut self.wcu,
            &mut self.cpu_s,
            &mut self.wall_s,
        ]
    }
}

fn add(sum: &mut PerFile, f: &PerFile) {
    let mut f = f.clone();
    for (s, v) in sum.figures().into_iter().zip(f.figures()) {
        *s += *v;
    }
}

fn scale(f: &PerFile, k: f64) -> PerFile {
    let mut out = f.clone();
    for v in out.figures() {
        *v *= k;
    }
    out
}

fn tables(results: &[ProfileResult]) -> String {
    let mut s = String::new();
    s.push_str("Per log file (mean over the files after the first half hour):\n\n");
    s.push_str("| account | events/file | counted | minutes | series | S3 GET | S3 PUT | S3 DELETE | DDB GetItem | DDB Query | DDB PutItem (max) | DDB DeleteItem | DDB requests | RCU | WCU | CPU ms (x86_64) | wall ms (local) |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let f = &r.mean_per_file;
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.1} ({:.0}) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.profile,
            f.events,
            f.counted,
            f.minutes_touched,
            f.series_touched,
            f.s3_get,
            f.s3_put,
            f.s3_delete,
            f.dynamo_get,
            f.dynamo_query,
            f.dynamo_put,
            r.max_dynamo_put_per_file,
            f.dynamo_delete,
            f.dynamo_requests,
            f.rcu,
            f.wcu,
            f.cpu_s * 1e3,
            f.wall_s * 1e3,
        );
    }
    if results.iter().any(|r| !r.read_from_s3) {
        s.push_str("\n(S3 was unavailable for some profiles: their GET/PUT requests were counted, not sent.)\n");
    }
    s.push_str("\nDollars per 100,000 events (CloudTrail Insights: $0.35; target ≤ $0.0175):\n\n");
    s.push_str("| account | Lambda compute | Lambda requests | S3 | DynamoDB reads | DynamoDB writes | total | ÷ CloudTrail Insights |\n");
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in results {
        let c = &r.cost_per_100k_events;
        let _ = writeln!(
            s,
            "| {} | ${:.6} | ${:.6} | ${:.6} | ${:.6} | ${:.6} | **${:.5}** | 1/{:.0} |",
            r.profile,
            c.lambda_compute,
            c.lambda_requests,
            c.s3,
            c.dynamo_reads,
            c.dynamo_writes,
            c.total,
            price::CLOUDTRAIL_INSIGHTS_PER_100K / c.total.max(1e-12),
        );
    }
    s
}
