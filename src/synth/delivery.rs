//! Turns generated traffic into real CloudTrail delivery files, so the evaluation runs end to end
//! through the same reading, counting and detection as `replay`. Each account's events are
//! delivered in five-minute files after a lognormal delay (median about 5 minutes), a few files
//! are late by up to an hour, and a few events are duplicated (same `eventID`), as CloudTrail does.

use super::traffic::{DEPLOY_AGENT, Traffic, deploy_caller};
use crate::base::time::Minute;
use crate::cloudtrail::writer;
use anyhow::{Context, Result};
use flate2::Compression;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const REGION: &str = "us-east-1";
/// Share of delivery files held back by up to an hour.
const LATE_FILE_P: f64 = 0.001;
/// Share of events delivered twice.
const DUPLICATE_P: f64 = 0.0001;

/// What was written.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub events: u64,
    pub duplicates: u64,
}

/// Write every account's traffic under `dir` in the S3 layout (`AWSLogs/<acct>/CloudTrail/...`).
pub fn write(traffic: &Traffic, dir: &Path, seed: u64) -> Result<Written> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_f11e);
    let delay = LogNormal::new(5f64.ln(), 0.45).context("delay distribution")?;
    let mut out = Written::default();
    let mut accounts: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in traffic.series.iter().enumerate() {
        accounts.entry(s.account.as_str()).or_default().push(i);
    }
    // Who made each injected minute's calls: the injection's new identity, if it has one.
    let mut intruder: BTreeMap<(usize, i64), &str> = BTreeMap::new();
    for inj in &traffic.injections {
        if let Some(c) = &inj.new_caller {
            for m in 0..i64::from(inj.minutes) {
                intruder.insert((inj.series, inj.start.0 + m), c.as_str());
            }
        }
    }
    let start = traffic.scenario.start;
    for (account, members) in accounts {
        // Delivery slot (minute, multiple of 5) -> records.
        let mut pending: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for i in 0..traffic.scenario.minutes() {
            let minute = start.plus(i as i64);
            // Everything due before this minute is complete: no later minute is delivered earlier.
            while let Some((&slot, _)) = pending.first_key_value() {
                if slot > minute.0 {
                    break;
                }
                if let Some((slot, records)) = pending.pop_first() {
                    write_file(dir, account, Minute(slot), records, &mut rng, &mut out)?;
                }
            }
            let lag = delay.sample(&mut rng).clamp(1.0, 25.0) as i64;
            let mut slot = (minute.0 + lag).div_euclid(5) * 5 + 5;
            if rng.random_bool(LATE_FILE_P) {
                slot += rng.random_range(15..=60);
            }
            let batch = pending.entry(slot).or_default();
            for &si in &members {
                let s = &traffic.series[si];
                let total = s.total(i);
                if total == 0 {
                    continue;
                }
                let session = s.session.get(&i).map_or(0, |&c| u64::from(c));
                for k in 0..total {
                    let injected = k >= u64::from(s.normal[i]);
                    let caller = match intruder.get(&(si, minute.0)) {
                        Some(c) if injected => format!("{c}/session"),
                        _ => {
                            let usual = s.callers.choose(&mut rng).cloned().unwrap_or_default();
                            if k < session {
                                deploy_caller(account)
                            } else {
                                usual
                            }
                        }
                    };
                    let agent = s.agents.choose(&mut rng).map_or("", |a| a.as_str());
                    let agent = if k < session { DEPLOY_AGENT } else { agent };
                    let record = render(s, account, minute, &caller, agent, &mut rng);
                    if rng.random_bool(DUPLICATE_P) {
                        batch.push(record.clone());
                        out.duplicates += 1;
                    }
                    batch.push(record);
                    out.events += 1;
                }
            }
        }
        while let Some((slot, records)) = pending.pop_first() {
            write_file(dir, account, Minute(slot), records, &mut rng, &mut out)?;
        }
    }
    out.files.sort();
    Ok(out)
}

fn render(
    s: &super::traffic::Series,
    account: &str,
    minute: Minute,
    caller: &str,
    agent: &str,
    rng: &mut ChaCha8Rng,
) -> String {
    let t = minute.to_datetime();
    let time = format!(
        "{}:{:02}Z",
        t.format("%Y-%m-%dT%H:%M"),
        rng.random_range(0..60)
    );
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        rng.random::<u32>(),
        rng.random::<u16>(),
        rng.random_range(0..0x1000u16),
        rng.random_range(0..0x1000u16),
        rng.random::<u64>() & 0xffff_ffff_ffff
    );
    let (read_only, error) = match &s.key.error_code {
        Some(code) => (
            true,
            format!(
                ",\"errorCode\":{},\"errorMessage\":\"synthetic\"",
                serde_json::Value::from(code.as_str())
            ),
        ),
        None => (false, String::new()),
    };
    format!(
        concat!(
            "{{\"eventVersion\":\"1.09\",\"userIdentity\":{{\"type\":\"AssumedRole\",",
            "\"arn\":{arn},\"accountId\":\"{acct}\"}},\"eventTime\":\"{time}\",",
            "\"eventSource\":\"{src}\",\"eventName\":\"{name}\",\"awsRegion\":\"{region}\",",
            "\"sourceIPAddress\":\"10.0.{a}.{b}\",\"userAgent\":{agent}{error},",
            "\"requestParameters\":null,\"responseElements\":null,",
            "\"eventID\":\"{id}\",\"readOnly\":{ro},\"eventType\":\"AwsApiCall\",",
            "\"managementEvent\":true,\"recipientAccountId\":\"{acct}\",",
            "\"eventCategory\":\"Management\"}}"
        ),
        arn = serde_json::Value::from(caller),
        acct = account,
        time = time,
        src = s.key.event_source,
        name = s.key.event_name,
        region = REGION,
        a = rng.random_range(0..255),
        b = rng.random_range(1..255),
        agent = serde_json::Value::from(agent),
        error = error,
        id = id,
        ro = read_only,
    )
}

fn write_file(
    dir: &Path,
    account: &str,
    delivered: Minute,
    records: Vec<String>,
    rng: &mut ChaCha8Rng,
    out: &mut Written,
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let unique: String = (0..16)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    let key = writer::key(account, REGION, delivered, &unique);
    let path = writer::write(dir, &key, &records, Compression::fast())
        .with_context(|| format!("writing {}", dir.join(&key).display()))?;
    out.files.push(path);
    Ok(())
}
