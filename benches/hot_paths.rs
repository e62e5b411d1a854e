//! Criterion benchmarks of the hot paths: parse (gzip + JSON to records), count (the counting
//! rules and per-minute counters), decide (closing a minute of a series with a week of
//! baseline), and one whole log file through the engine on the embedded store.
//! Run with `cargo bench --bench hot_paths` (part of `make bench`).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::reader::{ReadLimits, read_records};
use trail_insights::cloudtrail::record::{CountedEvent, classify_record};
use trail_insights::config::Config;
use trail_insights::count::attribution::Attribution;
use trail_insights::count::minutes::FileCounts;
use trail_insights::detect::detector::{SeriesState, TrailContext, Unlearned};
use trail_insights::engine::Engine;
use trail_insights::insight::sink::DirectorySink;
use trail_insights::store::EmbeddedStore;
use trail_insights::synth::corpus::{FileSpec, gz_bytes, write_json};

const EVENTS: u64 = 10_000;

fn spec(delivered: Minute) -> FileSpec {
    FileSpec {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        delivered,
        events: EVENTS,
        seed: 3,
    }
}

fn start() -> Minute {
    Minute::parse_event_time("2026-01-05T10:05:00Z").unwrap()
}

fn parse(c: &mut Criterion) {
    let gz = gz_bytes(&spec(start()));
    let mut json = Vec::new();
    write_json(&spec(start()), &mut json).unwrap();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(EVENTS));
    g.bench_function("gzip+json 10k events", |b| {
        b.iter(|| {
            let mut n = 0u64;
            read_records(gz.as_slice(), ReadLimits::default(), |r, _| {
                n += u64::from(r.event_name.is_some())
            })
            .unwrap();
            black_box(n)
        })
    });
    g.bench_function("json only 10k events", |b| {
        b.iter(|| {
            let mut n = 0u64;
            read_records(json.as_slice(), ReadLimits::default(), |r, _| {
                n += u64::from(r.event_name.is_some())
            })
            .unwrap();
            black_box(n)
        })
    });
    g.finish();
}

fn count(c: &mut Criterion) {
    let mut json = Vec::new();
    write_json(&spec(start()), &mut json).unwrap();
    let mut g = c.benchmark_group("count");
    g.throughput(Throughput::Elements(EVENTS));
    // Parse once; measure classification and counting of the parsed records.
    let mut events: Vec<CountedEvent> = Vec::new();
    read_records(json.as_slice(), ReadLimits::default(), |r, i| {
        if let Ok(e) = classify_record(r, Default::default(), || i) {
            events.push(e);
        }
    })
    .unwrap();
    g.bench_function("classify+count 10k events", |b| {
        b.iter(|| {
            let mut counts = FileCounts::default();
            read_records(json.as_slice(), ReadLimits::default(), |r, i| {
                if let Ok(e) = classify_record(r, Default::default(), || i) {
                    counts.add(&e);
                }
            })
            .unwrap();
            black_box(counts.minutes.len())
        })
    });
    g.bench_function("count only (counted events of 10k)", |b| {
        b.iter(|| {
            let mut counts = FileCounts::default();
            for e in &events {
                counts.add(e);
            }
            black_box(counts.minutes.len())
        })
    });
    g.finish();
}

fn decide(c: &mut Criterion) {
    let cfg = Config::default().detector;
    let t0 = start().plus(-8 * 1440);
    let ctx = TrailContext { observed_since: t0 };
    let mut attribution = Attribution::default();
    attribution.add("arn:aws:iam::1:role/Deploy", "aws-cli/2", None, 16);
    // A week of baseline: 3 events a minute.
    let mut warm = SeriesState::default();
    for i in 0..(7 * 1440) {
        warm.close_minute(t0.plus(i), 3, &attribution, ctx, &cfg);
    }
    let now = t0.plus(7 * 1440);
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(1));
    g.bench_function("close one minute (week of baseline)", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut s| black_box(s.close_minute(now, 4, &attribution, ctx, &cfg)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("observe open minute (week of baseline)", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut s| {
                black_box(s.observe_open_minute(
                    now,
                    40,
                    Unlearned::default(),
                    &[],
                    &attribution,
                    ctx,
                    &cfg,
                ))
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    let gz = gz_bytes(&spec(start()));
    let key = spec(start()).key();
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(EVENTS));
    g.sample_size(10);
    g.bench_function("process one 10k-event file (embedded store)", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = EmbeddedStore::open(&dir.path().join("state")).unwrap();
                let sink = DirectorySink {
                    root: dir.path().join("out"),
                };
                let engine = Engine::new(Config::default(), &store, &sink);
                let open =
                    || -> std::io::Result<Box<dyn std::io::Read>> { Ok(Box::new(gz.as_slice())) };
                black_box(engine.process(&key, &key, &open).unwrap());
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, parse, count, decide, engine);
criterion_main!(benches);
