//! Synthetic CloudTrail trail for `trail-insights demo`.
//!
//! Writes a multi-day trail for one account and region as real CloudTrail
//! delivery files (`AWSLogs/.../*.json.gz`), with a steady, plausible baseline
//! and two injected incidents. The incidents are returned as ground truth so
//! the demo can show what the detector is expected to find.
//!
//! Generation is deterministic for a seed and streams one five-minute
//! delivery window at a time, so memory stays flat however many days are asked.
//!
//! This module plans the incidents, paces the traffic and writes the delivery files; who
//! calls is in `callers`, what each API call carries in `calls`, and how a call becomes a
//! CloudTrail record in `record`.

use std::f64::consts::TAU;
use std::path::{Path, PathBuf};

use crate::base::time::Minute;
use crate::cloudtrail::writer;
use anyhow::{Context, Result, bail};
use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use flate2::Compression;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpec {
    /// RNG seed; the same seed gives byte-identical files.
    pub seed: u64,
    /// Number of whole days of traffic.
    pub days: u32,
    /// First event time; truncated to the whole minute.
    pub start: DateTime<Utc>,
    /// Twelve-digit AWS account id.
    pub account: String,
    /// Region the trail is for (e.g. `us-east-1`).
    pub region: String,
}

impl Default for DemoSpec {
    fn default() -> Self {
        DemoSpec {
            seed: 7,
            days: 9,
            // A Monday, so the weekday/weekend rhythm starts at a clean edge.
            start: Utc
                .with_ymd_and_hms(2026, 1, 5, 0, 0, 0)
                .single()
                .unwrap_or_default(),
            account: "123456789012".to_string(),
            region: "us-east-1".to_string(),
        }
    }
}

/// One injected anomaly: the ground truth the detector should report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    /// Short human label.
    pub name: String,
    /// `ApiCallRateInsight` or `ApiErrorRateInsight`.
    pub insight_type: String,
    pub event_source: String,
    pub event_name: String,
    /// The error code of the injected calls, for error-rate incidents.
    pub error_code: Option<String>,
    /// First minute of the incident.
    pub start: DateTime<Utc>,
    /// Exclusive end, on a whole minute.
    pub end: DateTime<Utc>,
    /// Injected calls in every minute of `[start, end)` (on top of normal traffic).
    pub per_minute: u32,
    /// Caller ARN normalised the way Insights groups it (assumed-role without session).
    pub caller_arn: String,
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTrail {
    /// Every delivery file, sorted by path.
    pub files: Vec<PathBuf>,
    /// Distinct events written (duplicated deliveries counted once).
    pub events: u64,
    /// Injected incidents, in time order.
    pub incidents: Vec<Incident>,
}

/// CloudTrail delivers roughly every five minutes.
const WINDOW_MINUTES: i64 = 5;
/// Delivery lands 0..3 minutes after the window closes.
const MAX_JITTER_SECS: i64 = 180;
/// Share of events that slip into the next delivery.
const DELAY_P: f64 = 0.02;
/// Share of events delivered twice in the same file (CloudTrail is at-least-once).
const DUP_P: f64 = 0.0005;
/// Share of normal read events written in the older 1.05 shape.
const OLD_STYLE_P: f64 = 0.01;

mod callers;
mod calls;
mod record;

use callers::{Caller, FLEET, Principal, UA_SSM};
use calls::Call;
use record::json_inner;

/// A rendered event waiting for delivery.
struct Ev {
    time: DateTime<Utc>,
    json: String,
    injected: bool,
}

#[derive(Clone, Copy)]
enum Kind {
    Burst,
    Storm,
}

/// Generates the trail into `dir` and returns the files and the ground truth.
///
/// Incidents go into the last two days (`days - 2` at 10:23 and `days - 1` at
/// 03:41, UTC offsets from the start day), so the default 9-day spec has them
/// on days 7 and 8; with fewer than 3 days there is no baseline worth the name
/// and no incident is injected.
pub fn generate(dir: &Path, spec: &DemoSpec) -> Result<DemoTrail> {
    if spec.days == 0 {
        bail!("demo needs at least one day");
    }
    // Both end up in paths and file names, so hold them to AWS's own shapes.
    if spec.account.len() != 12 || !spec.account.bytes().all(|b| b.is_ascii_digit()) {
        bail!("account must be 12 digits, got {:?}", spec.account);
    }
    let region_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    if spec.region.is_empty() || !spec.region.bytes().all(region_ok) {
        bail!("region must look like us-east-1, got {:?}", spec.region);
    }
    let start = truncate_minute(spec.start);
    let end = start + Duration::days(i64::from(spec.days));
    let planned = plan_incidents(spec, start);
    let mut g = Gen {
        spec,
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        planned: &planned,
        acct: json_inner(&spec.account),
        region: json_inner(&spec.region),
    };

    let windows = i64::from(spec.days) * 24 * 60 / WINDOW_MINUTES;
    let mut future: Vec<Ev> = Vec::new();
    let mut delayed: Vec<String> = Vec::new();
    let mut files = Vec::new();
    let mut events = 0u64;

    for w in 0..windows {
        let ws = start + Duration::minutes(w * WINDOW_MINUTES);
        let we = ws + Duration::minutes(WINDOW_MINUTES);
        let mut current = std::mem::take(&mut future);
        let mut produced = Vec::new();
        if w == 0 {
            g.heartbeat(ws, &mut produced);
        }
        for m in 0..WINDOW_MINUTES {
            g.minute(ws + Duration::minutes(m), &mut produced);
        }
        // The next heartbeat straddles the window edge; its early half is ours.
        g.heartbeat(we, &mut produced);
        for ev in produced {
            if ev.time < ws || ev.time >= end {
                continue;
            } else if ev.time < we {
                current.push(ev);
            } else {
                future.push(ev);
            }
        }

        let mut batch = std::mem::take(&mut delayed);
        events += current.len() as u64;
        for ev in current {
            let dup = !ev.injected && g.rng.random_bool(DUP_P);
            let target = if g.rng.random_bool(DELAY_P) {
                &mut delayed
            } else {
                &mut batch
            };
            if dup {
                target.push(ev.json.clone());
            }
            target.push(ev.json);
        }
        if !batch.is_empty() {
            files.push(g.write_file(dir, we, batch)?);
        }
    }
    if !delayed.is_empty() {
        let next = end + Duration::minutes(WINDOW_MINUTES);
        files.push(g.write_file(dir, next, delayed)?);
    }

    files.sort();
    Ok(DemoTrail {
        files,
        events,
        incidents: planned.into_iter().map(|(i, _)| i).collect(),
    })
}

fn truncate_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t - Duration::seconds(i64::from(t.second())) - Duration::nanoseconds(i64::from(t.nanosecond()))
}

/// Fixed offsets from the start so the ground truth is reproducible.
fn plan_incidents(spec: &DemoSpec, start: DateTime<Utc>) -> Vec<(Incident, Kind)> {
    if spec.days < 3 {
        return Vec::new();
    }
    let acct = &spec.account;
    let day = |d: u32, h: i64, m: i64| {
        start + Duration::days(i64::from(d)) + Duration::hours(h) + Duration::minutes(m)
    };
    let burst = day(spec.days - 2, 10, 23);
    let storm = day(spec.days - 1, 3, 41);
    vec![
        (
            Incident {
                name: "write-call burst".to_string(),
                insight_type: "ApiCallRateInsight".to_string(),
                event_source: "ec2.amazonaws.com".to_string(),
                event_name: "RunInstances".to_string(),
                error_code: None,
                start: burst,
                end: burst + Duration::minutes(6),
                per_minute: 40,
                caller_arn: format!("arn:aws:sts::{acct}:assumed-role/CompromisedRole"),
            },
            Kind::Burst,
        ),
        (
            Incident {
                name: "AccessDenied storm".to_string(),
                insight_type: "ApiErrorRateInsight".to_string(),
                event_source: "secretsmanager.amazonaws.com".to_string(),
                event_name: "GetSecretValue".to_string(),
                error_code: Some("AccessDeniedException".to_string()),
                start: storm,
                end: storm + Duration::minutes(10),
                per_minute: 30,
                caller_arn: format!("arn:aws:sts::{acct}:assumed-role/AppRole"),
            },
            Kind::Storm,
        ),
    ]
}

/// Builds one call of a given API at a given time.
type MakeCall<'g> = fn(&mut Gen<'g>, DateTime<Utc>) -> Call;

/// Generator state: one RNG stream consumed in a fixed order, for determinism.
struct Gen<'a> {
    spec: &'a DemoSpec,
    rng: ChaCha8Rng,
    planned: &'a [(Incident, Kind)],
    /// Account and region, already JSON-escaped for hand-assembled records.
    acct: String,
    region: String,
}

impl<'g> Gen<'g> {
    fn poisson(&mut self, lambda: f64) -> u32 {
        match Poisson::new(lambda) {
            Ok(d) => d.sample(&mut self.rng) as u32,
            Err(_) => 0,
        }
    }

    fn second_in(&mut self, minute: DateTime<Utc>) -> DateTime<Utc> {
        minute + Duration::seconds(self.rng.random_range(0..60))
    }

    fn uuid(&mut self) -> String {
        uuid::Builder::from_random_bytes(self.rng.random())
            .into_uuid()
            .to_string()
    }

    fn alnum(&mut self, n: usize, upper_only: bool) -> String {
        const ALL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        let set = if upper_only { UPPER } else { ALL };
        (0..n)
            .map(|_| char::from(set[self.rng.random_range(0..set.len())]))
            .collect()
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[self.rng.random_range(0..16)]))
            .collect()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.rng.random_range(0..items.len())]
    }

    /// Emits `n` calls built by `make` at random seconds of `minute`.
    fn repeat(&mut self, n: u32, minute: DateTime<Utc>, out: &mut Vec<Ev>, make: MakeCall<'g>) {
        for _ in 0..n {
            let t = self.second_in(minute);
            let call = make(self, t);
            out.push(self.emit(call));
        }
    }

    /// Steady fleet heartbeat: every instance reports within a minute of the mark.
    fn heartbeat(&mut self, mark: DateTime<Utc>, out: &mut Vec<Ev>) {
        for (i, (id, ip)) in FLEET.iter().enumerate() {
            let t = mark + Duration::seconds(self.rng.random_range(-60..60));
            let az = ["a", "b", "c"][i % 3];
            let region = &self.region;
            let caller = Caller::new(Principal::Role("SSMInstanceRole", id), UA_SSM, ip);
            let params = format!(
                r#"{{"instanceId":"{id}","agentVersion":"3.3.131.0","agentStatus":"Active","platformType":"Linux","iPAddress":"{ip}","availabilityZone":"{region}{az}"}}"#
            );
            let call = Call::new(
                t,
                "ssm.amazonaws.com",
                "UpdateInstanceInformation",
                false,
                caller,
            )
            .params(params);
            let ev = self.emit(call);
            out.push(ev);
        }
    }

    /// All normal traffic and incident calls whose event time falls in `minute`.
    fn minute(&mut self, minute: DateTime<Utc>, out: &mut Vec<Ev>) {
        let hour = f64::from(minute.hour()) + f64::from(minute.minute()) / 60.0;
        // 0 at 02:00, 1 at 14:00 UTC.
        let daily = (1.0 + ((hour - 14.0) / 24.0 * TAU).cos()) / 2.0;
        let weekday = minute.weekday().num_days_from_monday() < 5;
        let office = (9..18).contains(&minute.hour());
        let human = match (weekday, office) {
            (true, true) => 1.0,
            (false, true) => 0.15,
            _ => 0.02,
        };

        let plan: [(f64, MakeCall<'g>); 14] = [
            (1.0 + 2.0 * daily, Self::describe_instances),
            (2.0, Self::assume_role),
            (0.5, Self::list_buckets),
            (1.0, Self::get_secret_ok),
            (1.0, Self::decrypt),
            (1.2, Self::get_metric_data),
            (0.8, Self::describe_instance_status),
            (0.5, Self::get_caller_identity),
            (0.3, Self::create_log_stream),
            (0.2, Self::get_bucket_acl_ok),
            (0.05, Self::get_bucket_acl_denied),
            (0.02, Self::run_instances_ci),
            (0.2 * human, Self::create_tags),
            (0.5 * human, Self::describe_security_groups),
        ];
        for (lambda, make) in plan {
            let n = self.poisson(lambda);
            self.repeat(n, minute, out, make);
        }
        // Nightly backup cron.
        if minute.hour() == 2 && minute.minute() == 0 {
            for k in 0..6 {
                let t = self.second_in(minute);
                let call = self.create_snapshot(t, k);
                out.push(self.emit(call));
            }
        }

        for idx in 0..self.planned.len() {
            let (inc, kind) = &self.planned[idx];
            if minute < inc.start || minute >= inc.end {
                continue;
            }
            let (per_minute, kind) = (inc.per_minute, *kind);
            let make = match kind {
                Kind::Burst => Self::run_instances_attacker,
                Kind::Storm => Self::get_secret_denied,
            };
            for _ in 0..per_minute {
                let t = self.second_in(minute);
                let mut call = make(self, t);
                call.injected = true;
                out.push(self.emit(call));
            }
        }
    }

    /// Writes one delivery file for the window that closed at `window_end`.
    fn write_file(
        &mut self,
        dir: &Path,
        window_end: DateTime<Utc>,
        mut records: Vec<String>,
    ) -> Result<PathBuf> {
        records.shuffle(&mut self.rng);
        let delivered = window_end + Duration::seconds(self.rng.random_range(0..MAX_JITTER_SECS));
        let unique = self.alnum(16, false);
        let key = writer::key(
            &self.spec.account,
            &self.spec.region,
            Minute::from_datetime(delivered),
            &unique,
        );
        // Level 2 is the fastest miniz level here and still compresses ~10x.
        let path = writer::write(dir, &key, &records, Compression::new(2))
            .with_context(|| format!("writing {}", dir.join(&key).display()))?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::record::stable_id;
    use super::*;
    use flate2::read::GzDecoder;
    use serde_json::Value;
    use std::collections::{BTreeMap, HashSet};
    use std::fs::File;
    use std::io::Read;

    fn small_spec(seed: u64) -> DemoSpec {
        DemoSpec {
            seed,
            days: 3,
            ..DemoSpec::default()
        }
    }

    fn read_gz(path: &Path) -> Vec<u8> {
        let mut out = Vec::new();
        GzDecoder::new(File::open(path).expect("open"))
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }

    fn records(path: &Path) -> Vec<Value> {
        let v: Value = serde_json::from_slice(&read_gz(path)).expect("json");
        v["Records"].as_array().expect("Records").clone()
    }

    fn parse_time(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    /// (stamp, folder date) from a delivery file path.
    fn stamp_of(path: &Path, spec: &DemoSpec) -> DateTime<Utc> {
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        let rest = name.strip_suffix(".json.gz").expect("suffix");
        let parts: Vec<&str> = rest.split('_').collect();
        assert_eq!(parts.len(), 5, "{name}");
        assert_eq!(parts[0], spec.account);
        assert_eq!(parts[1], "CloudTrail");
        assert_eq!(parts[2], spec.region);
        let stamp = parts[3];
        assert_eq!(stamp.len(), 14, "{name}");
        assert!(stamp.ends_with('Z') && &stamp[8..9] == "T", "{name}");
        assert_eq!(parts[4].len(), 16, "{name}");
        assert!(
            parts[4].chars().all(|c| c.is_ascii_alphanumeric()),
            "{name}"
        );
        let t = Utc
            .with_ymd_and_hms(
                stamp[0..4].parse().expect("y"),
                stamp[4..6].parse().expect("m"),
                stamp[6..8].parse().expect("d"),
                stamp[9..11].parse().expect("H"),
                stamp[11..13].parse().expect("M"),
                0,
            )
            .single()
            .expect("stamp");
        let comps: Vec<&str> = path
            .iter()
            .rev()
            .skip(1)
            .take(7)
            .map(|c| c.to_str().expect("utf8"))
            .collect();
        assert_eq!(comps[0], &stamp[6..8]);
        assert_eq!(comps[1], &stamp[4..6]);
        assert_eq!(comps[2], &stamp[0..4]);
        assert_eq!(comps[3], spec.region);
        assert_eq!(comps[4], "CloudTrail");
        assert_eq!(comps[5], spec.account);
        assert_eq!(comps[6], "AWSLogs");
        t
    }

    fn normalise(arn: &str) -> String {
        if arn.contains(":assumed-role/") {
            match arn.rfind('/') {
                Some(i) => arn[..i].to_string(),
                None => arn.to_string(),
            }
        } else {
            arn.to_string()
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let spec = DemoSpec {
            days: 1,
            ..DemoSpec::default()
        };
        let a = tempfile::tempdir().expect("tmp");
        let b = tempfile::tempdir().expect("tmp");
        let ta = generate(a.path(), &spec).expect("gen a");
        let tb = generate(b.path(), &spec).expect("gen b");
        assert_eq!(ta.events, tb.events);
        assert_eq!(ta.files.len(), tb.files.len());
        for (fa, fb) in ta.files.iter().zip(&tb.files) {
            let ra = fa.strip_prefix(a.path()).expect("prefix");
            let rb = fb.strip_prefix(b.path()).expect("prefix");
            assert_eq!(ra, rb);
            assert_eq!(read_gz(fa), read_gz(fb));
        }
        let c = tempfile::tempdir().expect("tmp");
        let other = DemoSpec {
            seed: 8,
            ..spec.clone()
        };
        let tc = generate(c.path(), &other).expect("gen c");
        assert_ne!(
            ta.files.iter().map(|f| f.file_name()).collect::<Vec<_>>(),
            tc.files.iter().map(|f| f.file_name()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn files_events_and_incidents_are_consistent() {
        let spec = small_spec(11);
        let dir = tempfile::tempdir().expect("tmp");
        let trail = generate(dir.path(), &spec).expect("gen");
        assert_eq!(trail.incidents.len(), 2);
        let mut sorted = trail.files.clone();
        sorted.sort();
        assert_eq!(sorted, trail.files);

        let mut ids = HashSet::new();
        let mut dup_records = 0u64;
        let mut old_style = 0u64;
        let mut delays = Vec::new();
        let mut matches: Vec<BTreeMap<DateTime<Utc>, u32>> = vec![BTreeMap::new(); 2];
        let start = spec.start;
        let end = start + Duration::days(i64::from(spec.days));
        for path in &trail.files {
            let stamp = stamp_of(path, &spec);
            let recs = records(path);
            assert!(!recs.is_empty());
            for r in recs {
                let id = r["eventID"].as_str().expect("eventID").to_string();
                if !ids.insert(id) {
                    dup_records += 1;
                    continue;
                }
                let t = parse_time(r["eventTime"].as_str().expect("eventTime"));
                assert!(t >= start && t < end, "{t}");
                assert!(stamp >= t, "stamp {stamp} before event {t}");
                assert!(
                    stamp <= t + Duration::minutes(14),
                    "stamp {stamp} late for {t}"
                );
                delays.push((stamp - t).num_seconds());
                match r["eventVersion"].as_str() {
                    Some("1.05") => {
                        assert!(r.get("readOnly").is_none());
                        assert!(r.get("eventCategory").is_none());
                        assert!(r.get("managementEvent").is_none());
                        old_style += 1;
                    }
                    Some("1.09") => {
                        assert!(r["readOnly"].is_boolean());
                        assert_eq!(r["eventCategory"], "Management");
                        assert_eq!(r["managementEvent"], true);
                    }
                    other => panic!("eventVersion {other:?}"),
                }
                assert_eq!(r["eventType"], "AwsApiCall");
                assert_eq!(r["recipientAccountId"], spec.account.as_str());
                assert_eq!(r["awsRegion"], spec.region.as_str());
                let arn = r["userIdentity"]["arn"].as_str().map(normalise);
                for (k, inc) in trail.incidents.iter().enumerate() {
                    if r["eventSource"] == inc.event_source.as_str()
                        && r["eventName"] == inc.event_name.as_str()
                        && r["errorCode"].as_str() == inc.error_code.as_deref()
                        && arn.as_deref() == Some(inc.caller_arn.as_str())
                    {
                        *matches[k].entry(truncate_minute(t)).or_default() += 1;
                    }
                }
            }
        }
        assert_eq!(ids.len() as u64, trail.events);
        assert!(old_style > 0, "expected some 1.05 records");
        assert!(dup_records > 0, "expected some duplicated deliveries");
        // Most events land 5..8 minutes late; a few slip to the next delivery.
        let late = delays.iter().filter(|d| **d > 10 * 60).count();
        assert!(late > 0 && (late as f64) < 0.05 * delays.len() as f64);

        for (k, inc) in trail.incidents.iter().enumerate() {
            let minutes = (inc.end - inc.start).num_minutes();
            assert_eq!(matches[k].len() as i64, minutes, "{}", inc.name);
            for (m, n) in &matches[k] {
                assert!(*m >= inc.start && *m < inc.end, "{} at {m}", inc.name);
                assert_eq!(*n, inc.per_minute, "{} at {m}", inc.name);
            }
        }
    }

    #[test]
    fn default_incidents_sit_on_days_seven_and_eight() {
        let spec = DemoSpec::default();
        let plan = plan_incidents(&spec, spec.start);
        let burst = &plan[0].0;
        let storm = &plan[1].0;
        assert_eq!(burst.start.to_rfc3339(), "2026-01-12T10:23:00+00:00");
        assert_eq!(burst.end.to_rfc3339(), "2026-01-12T10:29:00+00:00");
        assert_eq!(storm.start.to_rfc3339(), "2026-01-13T03:41:00+00:00");
        assert_eq!(storm.end.to_rfc3339(), "2026-01-13T03:51:00+00:00");
        assert_eq!(
            burst.caller_arn,
            "arn:aws:sts::123456789012:assumed-role/CompromisedRole"
        );
        assert_eq!(storm.error_code.as_deref(), Some("AccessDeniedException"));
        let end = spec.start + Duration::days(i64::from(spec.days));
        assert!(
            plan.iter()
                .all(|(i, _)| i.end + Duration::minutes(30) < end)
        );
    }

    #[test]
    fn short_or_bad_specs() {
        let spec = DemoSpec {
            days: 2,
            ..DemoSpec::default()
        };
        assert!(plan_incidents(&spec, spec.start).is_empty());
        let zero = DemoSpec {
            days: 0,
            ..DemoSpec::default()
        };
        let dir = tempfile::tempdir().expect("tmp");
        assert!(generate(dir.path(), &zero).is_err());
        let bad = DemoSpec {
            account: "../etc".to_string(),
            ..DemoSpec::default()
        };
        assert!(generate(dir.path(), &bad).is_err());
    }

    #[test]
    fn stable_ids_look_like_aws() {
        let a = stable_id("AROA", "AppRole");
        assert_eq!(a, stable_id("AROA", "AppRole"));
        assert_eq!(a.len(), 21);
        assert_ne!(a, stable_id("AROA", "CIDeployRole"));
        assert_eq!(stable_id("ASIA", "x").len(), 20);
    }
}
