//! Labelled synthetic traffic for the evaluation: per-series minute counts with the benign
//! patterns that make real CloudTrail traffic hard (rhythm, cron, autoscaling, Terraform sessions,
//! heavy-tailed bursts, level shifts, recurring throttling storms) and injected anomalies over a
//! grid of magnitudes, durations and shapes. Counts are generated first, so the reference
//! detectors and the fast sweeps see exactly the traffic that [`super::delivery`] writes as files.

use crate::base::series::SeriesKey;
use crate::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, Minute, minute_of_day, weekday};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Poisson};
use std::collections::BTreeMap;

/// What to generate. The same scenario and seed give the same traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: &'static str,
    pub seed: u64,
    /// Accounts with injected anomalies.
    pub accounts: usize,
    /// Further accounts with normal traffic only, for clean false-alarm rates.
    pub null_accounts: usize,
    pub series_per_account: usize,
    pub days: u32,
    /// First minute (a Monday at midnight keeps the weekly rhythm aligned).
    pub start: Minute,
    /// Injections are placed from this day on (the baseline needs a week to be complete).
    pub first_injection_day: u32,
    /// The busiest series' typical rate (events per minute); bounds the run's size.
    pub max_rate: f64,
}

impl Scenario {
    /// The report's scenario: 6 accounts (2 without injections), 100 series each, 3 weeks.
    pub fn full(seed: u64) -> Scenario {
        Scenario {
            name: "full",
            seed,
            accounts: 4,
            null_accounts: 2,
            series_per_account: 100,
            days: 21,
            start: monday(),
            first_injection_day: 8,
            max_rate: 12.0,
        }
    }

    /// A small scenario that runs in `make test` in seconds and guards the floors.
    pub fn small(seed: u64) -> Scenario {
        Scenario {
            name: "small",
            seed,
            accounts: 2,
            null_accounts: 1,
            series_per_account: 50,
            days: 10,
            start: monday(),
            first_injection_day: 4,
            max_rate: 6.0,
        }
    }

    pub fn minutes(&self) -> usize {
        self.days as usize * MINUTES_PER_DAY as usize
    }

    pub fn end(&self) -> Minute {
        self.start.plus(self.minutes() as i64)
    }
}

fn monday() -> Minute {
    // 2026-01-05T00:00Z, a Monday.
    Minute(29_459_520)
}

/// The benign shape of a series' traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// Poisson with a mild daily rhythm.
    Steady,
    /// People: business hours on weekdays.
    BusinessHours,
    /// A scheduled job: a burst every N minutes.
    Cron,
    /// Autoscaling: bursts sized by load steps, a few to tens a day.
    Autoscaling,
    /// Weekly infrastructure-as-code sessions touching many APIs at once.
    Terraform,
    /// Compound Poisson: burst arrivals with heavy-tailed sizes.
    Bursty,
    /// A deploy changes the level for good on some day (labelled separately).
    LevelShift,
    /// Errors: a steady background rate plus a recurring daily throttling storm.
    ThrottlingStorms,
}

impl Pattern {
    pub fn label(self) -> &'static str {
        match self {
            Pattern::Steady => "steady",
            Pattern::BusinessHours => "business hours",
            Pattern::Cron => "cron",
            Pattern::Autoscaling => "autoscaling",
            Pattern::Terraform => "terraform sessions",
            Pattern::Bursty => "heavy-tailed bursts",
            Pattern::LevelShift => "level shift",
            Pattern::ThrottlingStorms => "throttling storms",
        }
    }
}

/// One generated series: its key, pattern, typical rate and the identities that call it.
#[derive(Debug, Clone)]
pub struct Series {
    pub account: String,
    pub key: SeriesKey,
    pub pattern: Pattern,
    /// Mean events per minute over the whole run, before injections.
    pub mean_rate: f64,
    pub callers: Vec<String>,
    pub agents: Vec<String>,
    /// Benign events per minute, from the scenario's start.
    pub normal: Vec<u16>,
    /// Of `normal`, the events of the account's Terraform sessions per minute: they are made by
    /// the account's deploy identity ([`deploy_caller`]) with Terraform's user agent, as a real
    /// pipeline's are, not by the series' usual callers.
    pub session: BTreeMap<usize, u16>,
    /// Injected events per minute (zero outside injections).
    pub injected: Vec<u16>,
}

impl Series {
    pub fn total(&self, i: usize) -> u64 {
        u64::from(self.normal[i]) + u64::from(self.injected[i])
    }
}

/// How an injection's size is given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Magnitude {
    /// The rate becomes this multiple of the usual rate at that time.
    Times(f64),
    /// This many extra events per minute (sparse series, where a multiple means nothing).
    Extra(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Step,
    Ramp,
    Decay,
}

impl Shape {
    pub fn label(self) -> &'static str {
        match self {
            Shape::Step => "step",
            Shape::Ramp => "ramp",
            Shape::Decay => "decay",
        }
    }

    /// The fraction of the full magnitude in minute `i` of `n`.
    fn weight(self, i: u32, n: u32) -> f64 {
        match self {
            Shape::Step => 1.0,
            Shape::Ramp => f64::from(i + 1) / f64::from(n),
            Shape::Decay => 0.5f64.powf(f64::from(i) * 4.0 / f64::from(n.max(1))),
        }
    }
}

/// An injected anomaly: the ground truth.
#[derive(Debug, Clone)]
pub struct Injection {
    /// Index into [`Traffic::series`].
    pub series: usize,
    pub start: Minute,
    pub minutes: u32,
    pub magnitude: Magnitude,
    pub shape: Shape,
    /// Whether the extra calls come from an identity never seen before.
    pub new_caller: Option<String>,
    /// Extra events actually generated.
    pub events: u64,
    /// The usual rate at the start (events per minute).
    pub usual_rate: f64,
    /// Peak (usual + extra) ÷ usual, the "×N baseline" of the targets.
    pub ratio: f64,
}

impl Injection {
    pub fn end(&self) -> Minute {
        self.start.plus(i64::from(self.minutes))
    }
}

/// A permanent change of level: at most one insight is acceptable, then adaptation.
#[derive(Debug, Clone)]
pub struct LevelShift {
    pub series: usize,
    pub at: Minute,
    pub factor: f64,
}

#[derive(Debug, Clone)]
pub struct Traffic {
    pub scenario: Scenario,
    pub series: Vec<Series>,
    pub injections: Vec<Injection>,
    pub shifts: Vec<LevelShift>,
}

/// APIs a series may be about: (source, name, is write).
const APIS: &[(&str, &str)] = &[
    ("ec2.amazonaws.com", "RunInstances"),
    ("ec2.amazonaws.com", "TerminateInstances"),
    ("ec2.amazonaws.com", "CreateTags"),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress"),
    ("ec2.amazonaws.com", "CreateSnapshot"),
    ("ec2.amazonaws.com", "DeleteSnapshot"),
    ("ec2.amazonaws.com", "ModifyInstanceAttribute"),
    ("autoscaling.amazonaws.com", "CompleteLifecycleAction"),
    ("autoscaling.amazonaws.com", "SetDesiredCapacity"),
    ("iam.amazonaws.com", "CreateUser"),
    ("iam.amazonaws.com", "AttachRolePolicy"),
    ("iam.amazonaws.com", "PutRolePolicy"),
    ("iam.amazonaws.com", "CreateAccessKey"),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy"),
    ("s3.amazonaws.com", "PutBucketPolicy"),
    ("s3.amazonaws.com", "CreateBucket"),
    ("s3.amazonaws.com", "PutBucketTagging"),
    ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
    ("lambda.amazonaws.com", "CreateFunction20150331"),
    ("lambda.amazonaws.com", "PublishVersion20150331"),
    ("ssm.amazonaws.com", "UpdateInstanceInformation"),
    ("ssm.amazonaws.com", "PutParameter"),
    ("ssm.amazonaws.com", "SendCommand"),
    ("kms.amazonaws.com", "CreateGrant"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion"),
    ("dynamodb.amazonaws.com", "UpdateTable"),
    ("dynamodb.amazonaws.com", "CreateBackup"),
    ("rds.amazonaws.com", "CreateDBSnapshot"),
    ("rds.amazonaws.com", "ModifyDBInstance"),
    ("cloudformation.amazonaws.com", "CreateStack"),
    ("cloudformation.amazonaws.com", "UpdateStack"),
    ("ecs.amazonaws.com", "UpdateService"),
    ("ecs.amazonaws.com", "RegisterTaskDefinition"),
    ("sts.amazonaws.com", "AssumeRole"),
    ("logs.amazonaws.com", "CreateLogStream"),
    ("logs.amazonaws.com", "PutRetentionPolicy"),
    ("secretsmanager.amazonaws.com", "PutSecretValue"),
    ("secretsmanager.amazonaws.com", "RotateSecret"),
    ("route53.amazonaws.com", "ChangeResourceRecordSets"),
    ("elasticloadbalancing.amazonaws.com", "RegisterTargets"),
];

/// Read APIs whose errors are counted (error-rate series).
const READ_APIS: &[(&str, &str)] = &[
    ("secretsmanager.amazonaws.com", "GetSecretValue"),
    ("s3.amazonaws.com", "GetBucketPolicy"),
    ("ec2.amazonaws.com", "DescribeInstances"),
    ("iam.amazonaws.com", "GetRole"),
    ("kms.amazonaws.com", "Decrypt"),
    ("ssm.amazonaws.com", "GetParameter"),
    ("dynamodb.amazonaws.com", "DescribeTable"),
    ("sts.amazonaws.com", "GetCallerIdentity"),
    ("lambda.amazonaws.com", "GetFunction"),
    ("cloudwatch.amazonaws.com", "GetMetricData"),
];

const ERROR_CODES: &[&str] = &[
    "AccessDenied",
    "ResourceNotFoundException",
    "ValidationException",
    "ThrottlingException",
];

const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2023",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1 lang/python#3.12.2",
    "aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 api/ec2#1.150.0",
    DEPLOY_AGENT,
    "aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.10",
    "autoscaling.amazonaws.com",
    "AWS Internal",
    "console.amazonaws.com",
];

/// The identity an account's Terraform sessions run as (one pipeline role, as in real accounts).
pub fn deploy_caller(account: &str) -> String {
    format!("arn:aws:sts::{account}:assumed-role/TerraformDeploy/ci-pipeline")
}

/// The user agent of the Terraform sessions' calls.
pub const DEPLOY_AGENT: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io)";

/// Generate the scenario's traffic. Deterministic for the scenario (seed included).
pub fn generate(scenario: &Scenario) -> Traffic {
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed);
    let mut series = Vec::new();
    let mut shifts = Vec::new();
    let accounts = scenario.accounts + scenario.null_accounts;
    let mut injections = Vec::new();
    for a in 0..accounts {
        let account = format!("{:012}", 210_000_000_000u64 + a as u64 * 1_111);
        let first = series.len();
        let sessions = terraform_sessions(scenario, &mut rng);
        for i in 0..scenario.series_per_account {
            let s = make_series(
                scenario,
                &account,
                i,
                &sessions,
                &mut rng,
                &mut shifts,
                series.len(),
            );
            series.push(s);
        }
        if a < scenario.accounts {
            inject(
                scenario,
                &mut series,
                first,
                &mut injections,
                &mut rng,
                &shifts,
            );
        }
    }
    Traffic {
        scenario: scenario.clone(),
        series,
        injections,
        shifts,
    }
}

/// Start minutes and lengths of the account's Terraform sessions (weekday business hours,
/// once or twice a week).
fn terraform_sessions(scenario: &Scenario, rng: &mut ChaCha8Rng) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for week in 0..scenario.days.div_ceil(7) {
        for _ in 0..rng.random_range(1..=2) {
            let day = week * 7 + rng.random_range(0..5);
            if day >= scenario.days {
                continue;
            }
            let at = day as usize * 1440 + rng.random_range(9 * 60..17 * 60);
            out.push((at, rng.random_range(2..=10)));
        }
    }
    out
}

/// A rate tier: most series are sparse, a few are busy.
fn draw_rate(rng: &mut ChaCha8Rng, max_rate: f64) -> f64 {
    let (lo, hi): (f64, f64) = match rng.random_range(0..100) {
        0..55 => (1e-4, 0.01),
        55..80 => (0.01, 0.3),
        80..96 => (0.3, 4.0f64.min(max_rate)),
        _ => (4.0f64.min(max_rate), max_rate),
    };
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

fn arn(account: &str, rng: &mut ChaCha8Rng) -> String {
    const ROLES: &[&str] = &[
        "Admin",
        "Deployer",
        "eks-node",
        "ci-runner",
        "backup",
        "DataPipeline",
        "OrganizationAccountAccessRole",
    ];
    format!(
        "arn:aws:sts::{account}:assumed-role/{}/s{}",
        ROLES.choose(rng).unwrap_or(&"Admin"),
        rng.random_range(0..100)
    )
}

fn make_series(
    scenario: &Scenario,
    account: &str,
    index: usize,
    sessions: &[(usize, usize)],
    rng: &mut ChaCha8Rng,
    shifts: &mut Vec<LevelShift>,
    global_index: usize,
) -> Series {
    let n = scenario.minutes();
    let is_error = index % 5 == 4;
    let (key, pattern) = if is_error {
        let (src, name) = READ_APIS[(index / 5) % READ_APIS.len()];
        let code = ERROR_CODES[(index / 5 / READ_APIS.len() + index) % ERROR_CODES.len()];
        let pattern = if code == "ThrottlingException" && rng.random_bool(0.5) {
            Pattern::ThrottlingStorms
        } else if rng.random_bool(0.3) {
            Pattern::Bursty
        } else {
            Pattern::Steady
        };
        (SeriesKey::error_rate(src, name, code), pattern)
    } else {
        let (src, name) = APIS[index % APIS.len()];
        let name = if index >= APIS.len() {
            format!("{name}V{}", index / APIS.len() + 1)
        } else {
            name.to_string()
        };
        let pattern = match rng.random_range(0..100) {
            0..30 => Pattern::Steady,
            30..50 => Pattern::BusinessHours,
            50..62 => Pattern::Cron,
            62..70 => Pattern::Autoscaling,
            70..82 => Pattern::Terraform,
            82..94 => Pattern::Bursty,
            _ => Pattern::LevelShift,
        };
        (SeriesKey::call_rate(src, &name), pattern)
    };
    let rate = draw_rate(rng, scenario.max_rate);
    let mut normal = vec![0u16; n];
    let mut session: BTreeMap<usize, u16> = BTreeMap::new();
    let phase = rng.random_range(0.0..24.0);
    let amplitude = rng.random_range(0.0..0.6);
    let diurnal = |i: usize| {
        let h = (i % 1440) as f64 / 60.0;
        1.0 + amplitude * ((h - phase) / 24.0 * std::f64::consts::TAU).cos()
    };
    let add = |v: &mut Vec<u16>, i: usize, k: u64| {
        if i < v.len() {
            v[i] = v[i].saturating_add(k.min(u64::from(u16::MAX)) as u16);
        }
    };
    let poisson = |rng: &mut ChaCha8Rng, lambda: f64| -> u64 {
        if lambda <= 0.0 {
            0
        } else if lambda < 1e-3 {
            u64::from(rng.random_bool(lambda))
        } else {
            Poisson::new(lambda)
                .map(|p| p.sample(rng) as u64)
                .unwrap_or(0)
        }
    };
    match pattern {
        Pattern::Steady | Pattern::ThrottlingStorms => {
            let base = if pattern == Pattern::ThrottlingStorms {
                rate.min(0.05)
            } else {
                rate
            };
            for i in 0..n {
                let k = poisson(rng, base * diurnal(i));
                add(&mut normal, i, k);
            }
            if pattern == Pattern::ThrottlingStorms {
                // A nightly batch hits the quota: 5-15 minutes of throttling, every day.
                let at = rng.random_range(0..1440);
                let len = rng.random_range(5..=15);
                let level = rng.random_range(10.0..60.0);
                for d in 0..scenario.days as usize {
                    let jitter = rng.random_range(0..3);
                    for m in 0..len {
                        let lambda = level * rng.random_range(0.6..1.2);
                        let k = poisson(rng, lambda);
                        add(&mut normal, d * 1440 + at + jitter + m, k);
                    }
                }
            }
        }
        Pattern::BusinessHours | Pattern::LevelShift => {
            let shift_day = rng.random_range(6..scenario.days.max(7)) as usize;
            let factor = [0.5, 2.0, 3.0, 5.0][rng.random_range(0..4)];
            if pattern == Pattern::LevelShift {
                shifts.push(LevelShift {
                    series: global_index,
                    at: scenario.start.plus((shift_day * 1440 + 10 * 60) as i64),
                    factor,
                });
            }
            for i in 0..n {
                let m = scenario.start.plus(i as i64);
                let mut lambda = if pattern == Pattern::BusinessHours {
                    let h = minute_of_day(m) / MINUTES_PER_HOUR;
                    let working = weekday(m) < 5 && (8..18).contains(&h);
                    rate * if working { 3.5 } else { 0.05 }
                } else {
                    rate * diurnal(i)
                };
                if pattern == Pattern::LevelShift && i >= shift_day * 1440 + 10 * 60 {
                    lambda *= factor;
                }
                let k = poisson(rng, lambda);
                add(&mut normal, i, k);
            }
        }
        Pattern::Cron => {
            let every = *[5usize, 15, 60, 1440].choose(rng).unwrap_or(&60);
            let burst = rng.random_range(2..=50u64);
            let offset = rng.random_range(0..every);
            let mut i = offset;
            while i < n {
                let jitter = rng.random_range(0..=2usize);
                add(&mut normal, i + jitter, burst);
                i += every;
            }
            for i in 0..n {
                let k = poisson(rng, rate * 0.2);
                add(&mut normal, i, k);
            }
        }
        Pattern::Autoscaling | Pattern::Bursty => {
            // Burst arrivals per minute and heavy-tailed sizes (lognormal / geometric).
            let arrivals = (rate / 4.0).max(1.0 / 1440.0);
            let sizes = LogNormal::new(1.0, 0.9).ok();
            for i in 0..n {
                let load = if pattern == Pattern::Autoscaling {
                    diurnal(i)
                } else {
                    1.0
                };
                for _ in 0..poisson(rng, arrivals * load) {
                    let size: f64 = sizes.map_or(3.0, |d| d.sample(rng));
                    let size = size.ceil() as u64;
                    let spread = rng.random_range(1..=2usize);
                    for s in 0..spread {
                        add(&mut normal, i + s, size.div_ceil(spread as u64));
                    }
                }
            }
        }
        Pattern::Terraform => {
            for i in 0..n {
                let k = poisson(rng, rate * 0.3);
                add(&mut normal, i, k);
            }
            // A run works through its resources one after another: each API's calls begin
            // somewhere in the first `len` minutes (drawn apart from the rest of the traffic, so
            // the other series stay as they were).
            let mut order = ChaCha8Rng::seed_from_u64(
                scenario.seed ^ (global_index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            );
            for &(at, len) in sessions {
                if rng.random_bool(0.6) {
                    let per_minute = rng.random_range(1..=6u64);
                    let at = at + order.random_range(0..len);
                    for m in 0..len {
                        add(&mut normal, at + m, per_minute);
                        if at + m < n {
                            *session.entry(at + m).or_default() += per_minute as u16;
                        }
                    }
                }
            }
        }
    }
    let mean_rate = normal.iter().map(|&c| f64::from(c)).sum::<f64>() / n as f64;
    let callers: Vec<String> = (0..rng.random_range(1..=4))
        .map(|_| arn(account, rng))
        .collect();
    let agents: Vec<String> = (0..rng.random_range(1..=2))
        .map(|_| AGENTS.choose(rng).unwrap_or(&AGENTS[0]).to_string())
        .collect();
    Series {
        account: account.to_string(),
        key,
        pattern,
        mean_rate,
        callers,
        agents,
        normal,
        session,
        injected: vec![0; n],
    }
}

/// The usual rate of a series around minute `i`: the mean of the same hour over the previous
/// week (what a human would call "its normal rate then"), with a small floor.
fn usual_rate(s: &Series, i: usize) -> f64 {
    let mut sum = 0u64;
    let mut minutes = 0u64;
    for d in 1..=7usize {
        let Some(centre) = i.checked_sub(d * 1440) else {
            break;
        };
        for j in centre.saturating_sub(30)..(centre + 30).min(s.normal.len()) {
            sum += u64::from(s.normal[j]);
            minutes += 1;
        }
    }
    if minutes == 0 {
        return s.mean_rate.max(1e-4);
    }
    (sum as f64 / minutes as f64)
        .max(s.mean_rate * 0.5)
        .max(1e-4)
}

/// Injected events per minute at most: ×100 of a busy series would otherwise dominate the run's
/// size without telling anything more.
const MAX_EXTRA_PER_MINUTE: f64 = 500.0;

/// Place the grid of injections on this account's series (never on level-shift series).
fn inject(
    scenario: &Scenario,
    series: &mut [Series],
    first: usize,
    out: &mut Vec<Injection>,
    rng: &mut ChaCha8Rng,
    shifts: &[LevelShift],
) {
    const DURATIONS: [u32; 6] = [1, 2, 5, 15, 60, 240];
    const SHAPES: [Shape; 3] = [Shape::Step, Shape::Ramp, Shape::Decay];
    const FACTORS: [f64; 4] = [2.0, 5.0, 10.0, 100.0];
    const EXTRA: [u32; 4] = [3, 6, 20, 100];
    let n = scenario.minutes();
    let candidates: Vec<usize> = (first..series.len())
        .filter(|&i| !shifts.iter().any(|s| s.series == i))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let lo = scenario.first_injection_day as usize * 1440;
    // Injections on one series are two days apart, so truths do not overlap.
    let mut placed_at: Vec<Vec<usize>> = vec![Vec::new(); series.len()];
    for (cell, (&duration, &shape)) in DURATIONS
        .iter()
        .flat_map(|d| SHAPES.iter().map(move |s| (d, s)))
        .enumerate()
    {
        for m in 0..4 {
            let new_caller = (cell + m) % 2 == 0;
            for _ in 0..50 {
                let si = *candidates.choose(rng).unwrap_or(&candidates[0]);
                let at = rng.random_range(lo..n.saturating_sub(300).max(lo + 1));
                if placed_at[si].iter().any(|&p| p.abs_diff(at) < 2 * 1440) {
                    continue;
                }
                let s = &mut series[si];
                let usual = usual_rate(s, at);
                let magnitude = if usual >= 0.3 {
                    Magnitude::Times(FACTORS[m])
                } else {
                    Magnitude::Extra(EXTRA[m])
                };
                let mut events = 0u64;
                let mut peak = 0f64;
                for k in 0..duration {
                    let w = shape.weight(k, duration);
                    let extra = match magnitude {
                        Magnitude::Times(f) => (f - 1.0) * usual * w,
                        Magnitude::Extra(e) => f64::from(e) * w,
                    }
                    .min(MAX_EXTRA_PER_MINUTE);
                    peak = peak.max(extra);
                    let c = if extra < 30.0 {
                        Poisson::new(extra.max(1e-9))
                            .map(|p| p.sample(rng) as u64)
                            .unwrap_or(0)
                    } else {
                        extra.round() as u64
                    };
                    let i = at + k as usize;
                    if i < n {
                        s.injected[i] = s.injected[i].saturating_add(c.min(60_000) as u16);
                        events += c;
                    }
                }
                // As the records will name it once the session name is dropped.
                let caller = new_caller.then(|| {
                    format!(
                        "arn:aws:sts::{}:assumed-role/Intruder{}",
                        s.account,
                        out.len()
                    )
                });
                out.push(Injection {
                    series: si,
                    start: scenario.start.plus(at as i64),
                    minutes: duration,
                    magnitude,
                    shape,
                    new_caller: caller,
                    events,
                    usual_rate: usual,
                    ratio: (usual + peak) / usual,
                });
                placed_at[si].push(at);
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_traffic_and_injections_land_where_labelled() {
        let s = Scenario::small(3);
        let a = generate(&s);
        let b = generate(&s);
        assert_eq!(a.series.len(), b.series.len());
        assert!(
            a.series
                .iter()
                .zip(&b.series)
                .all(|(x, y)| x.normal == y.normal)
        );
        assert_eq!(a.series.len(), 150);
        assert!(
            a.injections.len() >= 60,
            "{} injections",
            a.injections.len()
        );
        for inj in &a.injections {
            let s = &a.series[inj.series];
            let from = (inj.start.0 - s_start(&a)) as usize;
            let inside: u64 = (from..from + inj.minutes as usize)
                .filter(|&i| i < s.injected.len())
                .map(|i| u64::from(s.injected[i]))
                .sum();
            assert_eq!(inside, inj.events);
            assert!(inj.ratio >= 1.0);
        }
        let injected_total: u64 = a
            .series
            .iter()
            .flat_map(|s| s.injected.iter())
            .map(|&c| u64::from(c))
            .sum();
        let labelled: u64 = a.injections.iter().map(|i| i.events).sum();
        assert_eq!(injected_total, labelled, "no injected event is unlabelled");
    }

    fn s_start(t: &Traffic) -> i64 {
        t.scenario.start.0
    }
}
