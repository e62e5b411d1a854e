//! The real-data benchmark: labelled count series that nobody on this project generated (CSV
//! files of `TimeStamp,Value,Label`, such as Microsoft's Cloud Monitoring Dataset), turned into
//! CloudTrail log files the way the synthetic benchmark's traffic is ([`crate::synth::delivery`]), replayed
//! end to end through the engine, and scored against their labelled windows.
//!
//! Conversion, one series at a time (each series is one account calling one write API):
//! - **Time.** A step of `s` minutes (hourly series: 60) becomes `s` minutes: its events are
//!   spread at random over them. Minute series map one step to one minute. The series keeps its
//!   own dates.
//! - **Scale.** Each value is that step's number of events, times one factor per series:
//!   1, or whatever brings the series' total down to [`EVENTS_CAP`] (big series are thinned
//!   binomially, which keeps their shape). Fractions round up or down at random.
//! - **Labels.** Consecutive labelled steps form one window. A window is a *rise* when its mean
//!   value is above the median of the values in the 7 days before it (the whole series when there
//!   is none), else a *drop*. Rises are scored; drops are only counted (call-rate insights report
//!   rises; drops belong to the opt-in drop detector).
//! - **Missing values** (empty cells) are steps without events.
//!
//! Scoring: a rise window is found when an insight Starts inside it, extended by
//! [`WINDOW_GRACE_MINUTES`] on each side. A Start outside every labelled window (rises and drops,
//! extended the same way) is a false insight; they are counted per series-week after the
//! warm-up. Windows that begin during the warm-up are left out. Any Start on a series without
//! labels is a false insight on a null series.

use super::methods::{self, Method, Prediction};
use crate::base::series::SeriesKey;
use crate::base::time::{MINUTES_PER_DAY, MINUTES_PER_HOUR, MINUTES_PER_WEEK, Minute};
use crate::config::{Config, DetectorConfig};
use crate::synth::traffic::{Pattern, Scenario, Series, Traffic};
use anyhow::{Context, Result, bail};
use chrono::NaiveDateTime;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A series' events are thinned to at most this many, so the whole set replays in minutes.
pub const EVENTS_CAP: f64 = 400_000.0;
/// A window is extended by this much on each side when matching Starts to it.
pub const WINDOW_GRACE_MINUTES: i64 = 10;
/// The folders the detector was designed on; the others are the held-out check.
pub const DESIGN_GROUPS: &[&str] = &[
    "application-crash-rate-1",
    "data-ingress-rate",
    "ecommerce-api-incoming-rps",
];

/// A labelled window, in minutes: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Minute,
    pub end: Minute,
    pub rise: bool,
}

impl Window {
    /// Whether a Start at `t` falls in the window, extended by [`WINDOW_GRACE_MINUTES`].
    pub fn covers(&self, t: Minute) -> bool {
        t.0 >= self.start.0 - WINDOW_GRACE_MINUTES && t.0 < self.end.0 + WINDOW_GRACE_MINUTES
    }

    /// Whether any of `predictions` Starts in the window: it is found.
    pub fn found(&self, predictions: &[Prediction]) -> bool {
        predictions.iter().any(|p| self.covers(p.start))
    }
}

/// One labelled series, converted to events per minute.
#[derive(Debug, Clone)]
pub struct LabelledSeries {
    /// The file name without `.csv`.
    pub name: String,
    /// The folder it was found in (relative to the benchmark's root), e.g. `data-ingress-rate`.
    pub group: String,
    pub step_minutes: i64,
    pub start: Minute,
    /// Events per minute from `start`.
    pub counts: Vec<u16>,
    pub windows: Vec<Window>,
    /// Events per unit of the CSV's value.
    pub factor: f64,
}

impl LabelledSeries {
    pub fn end(&self) -> Minute {
        self.start.plus(self.counts.len() as i64)
    }
    pub fn is_null(&self) -> bool {
        self.windows.is_empty()
    }
    pub fn events(&self) -> u64 {
        self.counts.iter().map(|&c| u64::from(c)).sum()
    }
}

/// Every `*.csv` under `dir` (recursively), in path order, converted.
pub fn load(dir: &Path) -> Result<Vec<LabelledSeries>> {
    let mut paths: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", dir.display()))?
        .into_iter()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("csv")))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{}: no .csv series found", dir.display());
    }
    paths
        .iter()
        .map(|p| {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let group = p
                .parent()
                .and_then(|d| d.strip_prefix(dir).ok())
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            convert(&name, &group, &text).with_context(|| format!("{}", p.display()))
        })
        .collect()
}

/// One CSV row: minute, value (missing: `None`), labelled.
type Row = (Minute, Option<f64>, bool);

fn parse_time(s: &str) -> Option<Minute> {
    let s = s
        .trim()
        .trim_matches('"')
        .trim_end_matches('Z')
        .replace(' ', "T");
    let t = NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M"))
        .ok()?;
    Some(Minute::from_datetime(t.and_utc()))
}

fn parse_rows(text: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"'))
            .collect();
        let [time, value, label, ..] = cells[..] else {
            bail!("line {}: expected TimeStamp,Value,Label", i + 1);
        };
        let t = parse_time(time).with_context(|| format!("line {}: bad time `{time}`", i + 1))?;
        let value = match value {
            "" => None,
            v => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .with_context(|| format!("line {}: bad value `{v}`", i + 1))?,
            ),
        };
        let labelled = label.parse::<f64>().is_ok_and(|l| l > 0.0);
        rows.push((t, value, labelled));
    }
    rows.sort_by_key(|r| r.0);
    rows.dedup_by_key(|r| r.0);
    if rows.len() < 2 {
        bail!("fewer than two rows");
    }
    Ok(rows)
}

/// A stable seed from the series' name, so a conversion is the same on every run.
fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Convert one CSV's text (see the module documentation).
pub fn convert(name: &str, group: &str, text: &str) -> Result<LabelledSeries> {
    let rows = parse_rows(text)?;
    let step = rows
        .windows(2)
        .map(|w| w[1].0.0 - w[0].0.0)
        .min()
        .unwrap_or(1)
        .max(1);
    let start = rows[0].0;
    let steps = ((rows[rows.len() - 1].0.0 - start.0) / step + 1) as usize;
    let mut values = vec![None; steps];
    let mut labels = vec![false; steps];
    for &(t, v, l) in &rows {
        let i = ((t.0 - start.0) / step) as usize;
        values[i] = v;
        labels[i] = l;
    }
    let total: f64 = values.iter().flatten().sum();
    let factor = if total > EVENTS_CAP {
        EVENTS_CAP / total
    } else {
        1.0
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed_of(name));
    // Whole days, so the generated traffic's scenario covers the series.
    let minutes = (steps as i64 * step + MINUTES_PER_DAY - 1) / MINUTES_PER_DAY * MINUTES_PER_DAY;
    let mut counts = vec![0u16; minutes as usize];
    for (i, v) in values.iter().enumerate() {
        let Some(v) = v else { continue };
        let scaled = v * factor;
        let events = scaled.floor() as u64 + u64::from(rng.random_bool(scaled.fract()));
        for _ in 0..events {
            let m = i as i64 * step + rng.random_range(0..step);
            let c = &mut counts[m as usize];
            *c = c.saturating_add(1);
        }
    }
    let windows = windows(&values, &labels, step, start);
    Ok(LabelledSeries {
        name: name.to_string(),
        group: group.to_string(),
        step_minutes: step,
        start,
        counts,
        windows,
        factor,
    })
}

/// Consecutive labelled steps as windows, each classified rise or drop.
fn windows(values: &[Option<f64>], labels: &[bool], step: i64, start: Minute) -> Vec<Window> {
    let week = (MINUTES_PER_WEEK / step) as usize;
    let mut out = Vec::new();
    let mut i = 0;
    while i < labels.len() {
        if !labels[i] {
            i += 1;
            continue;
        }
        let first = i;
        while i < labels.len() && labels[i] {
            i += 1;
        }
        let inside: Vec<f64> = values[first..i].iter().flatten().copied().collect();
        let mut before: Vec<f64> = values[first.saturating_sub(week)..first]
            .iter()
            .flatten()
            .copied()
            .collect();
        if before.is_empty() {
            before = values.iter().flatten().copied().collect();
        }
        let mean = inside.iter().sum::<f64>() / inside.len().max(1) as f64;
        out.push(Window {
            start: start.plus(first as i64 * step),
            end: start.plus(i as i64 * step),
            rise: mean > median(&mut before),
        });
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The series as generated traffic (one account, one write API), so the synthetic benchmark's
/// log writer, replay and reference detectors apply unchanged.
pub fn to_traffic(s: &LabelledSeries, index: usize) -> Traffic {
    let account = format!("{:012}", 310_000_000_000u64 + index as u64 * 1_111);
    let series = Series {
        callers: vec![format!(
            "arn:aws:sts::{account}:assumed-role/app-{}/worker",
            s.name
        )],
        agents: vec!["aws-sdk-java/2.25.11 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.10".into()],
        account,
        key: SeriesKey::call_rate("ec2.amazonaws.com", "RunInstances"),
        pattern: Pattern::Steady,
        mean_rate: s.events() as f64 / s.counts.len().max(1) as f64,
        normal: s.counts.clone(),
        session: BTreeMap::new(),
        injected: vec![0; s.counts.len()],
    };
    Traffic {
        scenario: Scenario {
            name: "real",
            seed: seed_of(&s.name),
            accounts: 1,
            null_accounts: 0,
            series_per_account: 1,
            days: (s.counts.len() as i64 / MINUTES_PER_DAY) as u32,
            start: s.start,
            first_injection_day: 0,
            max_rate: 0.0,
        },
        series: vec![series],
        injections: Vec::new(),
        shifts: Vec::new(),
    }
}

/// One series' score.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SeriesScore {
    /// Rise windows after the warm-up…
    pub windows: usize,
    /// …with a Start in them.
    pub detected: usize,
    pub false_insights: usize,
    pub series_weeks: f64,
    /// False insights on a series without labels.
    pub null_false: usize,
    /// Drop windows (not scored) and rise windows inside the warm-up (left out).
    pub drop_windows: usize,
    pub warmup_windows: usize,
    pub insights: usize,
}

impl SeriesScore {
    pub fn add(&mut self, o: &SeriesScore) {
        self.windows += o.windows;
        self.detected += o.detected;
        self.false_insights += o.false_insights;
        self.series_weeks += o.series_weeks;
        self.null_false += o.null_false;
        self.drop_windows += o.drop_windows;
        self.warmup_windows += o.warmup_windows;
        self.insights += o.insights;
    }
    pub fn recall(&self) -> f64 {
        if self.windows == 0 {
            return 0.0;
        }
        self.detected as f64 / self.windows as f64
    }
    pub fn false_per_series_week(&self) -> f64 {
        if self.series_weeks <= 0.0 {
            return 0.0;
        }
        self.false_insights as f64 / self.series_weeks
    }
}

/// Score the Starts of `predictions` (all on this series) against its windows.
pub fn score(s: &LabelledSeries, predictions: &[Prediction], warmup_hours: u32) -> SeriesScore {
    let warm = s.start.plus(i64::from(warmup_hours) * MINUTES_PER_HOUR);
    let mut out = SeriesScore {
        series_weeks: (s.end().0 - warm.0).max(0) as f64 / MINUTES_PER_WEEK as f64,
        insights: predictions.len(),
        ..SeriesScore::default()
    };
    for w in &s.windows {
        if !w.rise {
            out.drop_windows += 1;
        } else if w.start < warm {
            out.warmup_windows += 1;
        } else {
            out.windows += 1;
            out.detected += usize::from(w.found(predictions));
        }
    }
    out.false_insights = predictions
        .iter()
        .filter(|p| p.start >= warm && !s.windows.iter().any(|w| w.covers(p.start)))
        .count();
    if s.is_null() {
        out.null_false = out.false_insights;
    }
    out
}

/// A detector's score on the whole set, by group.
#[derive(Debug, Clone, Serialize)]
pub struct MethodScore {
    /// The detector ([`Method::family`]): one line of the trade-off chart.
    pub family: String,
    pub label: String,
    pub by_group: BTreeMap<String, SeriesScore>,
}

impl MethodScore {
    /// The groups matching `design` (the design set) or not (held out), summed.
    pub fn part(&self, design: bool) -> SeriesScore {
        let mut out = SeriesScore::default();
        for (g, s) in &self.by_group {
            if is_design(g) == design {
                out.add(s);
            }
        }
        out
    }
    pub fn all(&self) -> SeriesScore {
        let mut out = self.part(true);
        out.add(&self.part(false));
        out
    }
}

pub fn is_design(group: &str) -> bool {
    DESIGN_GROUPS
        .iter()
        .any(|d| group == *d || group.ends_with(&format!("/{d}")))
}

/// Everything the real-data benchmark measured.
#[derive(Debug)]
pub struct RealEvaluation {
    pub root: PathBuf,
    pub series: Vec<LabelledSeries>,
    /// Ours end to end through log files.
    pub end_to_end: MethodScore,
    pub seconds: f64,
    pub files: usize,
    /// Ours on counts per preset, and the references on the same counts.
    pub presets: Vec<MethodScore>,
    pub references: Vec<MethodScore>,
    /// Ours on counts over a range of the main knob, for the trade-off curve.
    pub sweep: Vec<MethodScore>,
}

/// Every series as traffic ([`to_traffic`]), converted once for all the methods run on it.
pub fn traffics(series: &[LabelledSeries]) -> Vec<Traffic> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| to_traffic(s, i))
        .collect()
}

/// Run `method` on every series' counts (`traffics`, from [`traffics`]) and score it.
pub fn score_method(
    series: &[LabelledSeries],
    traffics: &[Traffic],
    method: &Method,
    label: String,
    warmup: u32,
) -> MethodScore {
    let mut by_group: BTreeMap<String, SeriesScore> = BTreeMap::new();
    for (s, traffic) in series.iter().zip(traffics) {
        let p = methods::detect(traffic, method, warmup);
        by_group
            .entry(s.group.clone())
            .or_default()
            .add(&score(s, &p, warmup));
    }
    MethodScore {
        family: method.family().to_string(),
        label,
        by_group,
    }
}

/// The main knob's values on the trade-off curve.
pub const SWEEP_ALPHAS: &[f64] = &[1e-3, 1e-4, 1e-6, 1e-8, 1e-10, 1e-13, 1e-16];

/// Convert every series under `root`, replay them end to end with `config` (in `dir`), and
/// score ours, the presets and the references.
/// With `replay` false, ours is fed the counts minute by minute instead (quick, for tuning).
pub fn evaluate(root: &Path, config: &Config, dir: &Path, replay: bool) -> Result<RealEvaluation> {
    let clock = std::time::Instant::now();
    let series = load(root)?;
    eprintln!(
        "[evaluate] {} labelled series from {}: {} events after conversion",
        series.len(),
        root.display(),
        series.iter().map(LabelledSeries::events).sum::<u64>()
    );
    let warmup = config.detector.warmup_hours;
    let traffics = traffics(&series);
    let (end_to_end, files) = if replay {
        replay_all(&series, config, dir)?
    } else {
        let ours = Method::Ours(config.detector.clone());
        let label = "trail-insights, on counts".to_string();
        (score_method(&series, &traffics, &ours, label, warmup), 0)
    };
    let seconds = clock.elapsed().as_secs_f64();
    eprintln!("[evaluate] real series replayed end to end in {seconds:.1} s ({files} files)");
    let ours = |d: DetectorConfig, label: String| (Method::Ours(d), label);
    let mut runs: Vec<(Method, String)> = ["low", "medium", "high"]
        .iter()
        .filter_map(|n| crate::config::preset(n).map(|d| ours(d, format!("preset {n}"))))
        .collect();
    let references = [
        Method::ZScore { sigmas: 3.0 },
        Method::PoissonOnly { alpha: 1e-6 },
        Method::Static { threshold: 10 },
    ];
    runs.extend(references.iter().map(|m| (m.clone(), m.label())));
    for &alpha in SWEEP_ALPHAS {
        let d = DetectorConfig {
            start_alpha: alpha,
            ..config.detector.clone()
        };
        runs.push(ours(d, format!("START_ALPHA {alpha:e}")));
    }
    for sigmas in [3.0, 5.0, 8.0, 12.0, 20.0] {
        let m = Method::ZScore { sigmas };
        runs.push((m.clone(), m.label()));
    }
    for alpha in [1e-6, 1e-9, 1e-12, 1e-16, 1e-24] {
        let m = Method::PoissonOnly { alpha };
        runs.push((m.clone(), m.label()));
    }
    let mut scored = super::on_all_cores(&runs, |(m, label)| {
        score_method(&series, &traffics, m, label.clone(), warmup)
    })
    .into_iter();
    let presets: Vec<MethodScore> = scored.by_ref().take(3).collect();
    let references: Vec<MethodScore> = scored.by_ref().take(references.len()).collect();
    let sweep: Vec<MethodScore> = scored.collect();
    Ok(RealEvaluation {
        root: root.to_path_buf(),
        series,
        end_to_end,
        seconds,
        files,
        presets,
        references,
        sweep,
    })
}

/// Write each series' log files and replay them through the engine, the series split over the
/// cores; returns ours end to end and the number of files.
pub fn replay_all(
    series: &[LabelledSeries],
    config: &Config,
    dir: &Path,
) -> Result<(MethodScore, usize)> {
    let indexed: Vec<(usize, &LabelledSeries)> = series.iter().enumerate().collect();
    let results = super::on_all_cores(&indexed, |&(i, s)| replay_one(s, i, config, dir));
    let mut by_group: BTreeMap<String, SeriesScore> = BTreeMap::new();
    let mut files = 0;
    for ((_, s), result) in indexed.iter().zip(results) {
        let (sc, f) = result?;
        by_group.entry(s.group.clone()).or_default().add(&sc);
        files += f;
    }
    let score = MethodScore {
        family: "trail-insights".into(),
        label: "trail-insights, end to end".into(),
        by_group,
    };
    Ok((score, files))
}

fn replay_one(
    s: &LabelledSeries,
    index: usize,
    config: &Config,
    dir: &Path,
) -> Result<(SeriesScore, usize)> {
    let traffic = to_traffic(s, index);
    let series_dir = dir.join(format!("{}-{}", s.group.replace('/', "_"), s.name));
    let logs_dir = series_dir.join("logs");
    if logs_dir.exists() {
        std::fs::remove_dir_all(&logs_dir)
            .with_context(|| format!("clearing {}", logs_dir.display()))?;
    }
    let written = crate::synth::delivery::write(&traffic, &logs_dir, traffic.scenario.seed)?;
    let (predictions, _) = super::end_to_end(&traffic, &logs_dir, &series_dir, config)?;
    std::fs::remove_dir_all(&logs_dir).ok();
    let sc = score(s, &predictions, config.detector.warmup_hours);
    eprintln!(
        "[evaluate]   {}/{}: {} events, {}/{} rise windows found, {} false insights",
        s.group, s.name, written.events, sc.detected, sc.windows, sc.false_insights
    );
    Ok((sc, written.files.len()))
}

/// The end-to-end score as one JSON object: the whole set, and its design and held-out parts.
pub fn summary_json(e: &RealEvaluation) -> serde_json::Value {
    let part = |s: &SeriesScore| {
        serde_json::json!({
            "windows": s.windows,
            "detected": s.detected,
            "recall": s.recall(),
            "false_insights": s.false_insights,
            "false_per_series_week": s.false_per_series_week(),
            "null_false": s.null_false,
            "series_weeks": s.series_weeks,
        })
    };
    let mut all = part(&e.end_to_end.all());
    all["series"] = e.series.len().into();
    all["design"] = part(&e.end_to_end.part(true));
    all["held_out"] = part(&e.end_to_end.part(false));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hourly_steps_spread_over_their_minutes_and_windows_are_classified() {
        let mut text = String::from("TimeStamp,Value,Label\n");
        for h in 0..200 {
            let (v, l) = match h {
                100..=101 => (600, 1), // a rise
                150 => (0, 1),         // a drop
                120 => (60, 0),
                _ => (60, 0),
            };
            text.push_str(&format!(
                "2018-06-{:02} {:02}:00:00,{v},{l}\n",
                1 + h / 24,
                h % 24
            ));
        }
        text.push_str("2018-06-09 08:00:00,,0\n");
        let s = convert("x", "g", &text).unwrap();
        assert_eq!(s.step_minutes, 60);
        assert_eq!(s.counts.len() % MINUTES_PER_DAY as usize, 0);
        assert_eq!(s.events(), 197 * 60 + 2 * 600);
        // An hour's events stay within its minutes.
        let hour = |h: usize| {
            s.counts[h * 60..(h + 1) * 60]
                .iter()
                .map(|&c| u64::from(c))
                .sum::<u64>()
        };
        assert_eq!(hour(100), 600);
        assert_eq!(hour(150), 0);
        assert_eq!(s.windows.len(), 2);
        assert!(s.windows[0].rise && !s.windows[1].rise);
        assert_eq!(s.windows[0].end.0 - s.windows[0].start.0, 120);
    }

    #[test]
    fn big_series_are_thinned_to_the_cap() {
        let mut text = String::from("TimeStamp,Value,Label\n");
        for m in 0..1000 {
            text.push_str(&format!(
                "\"2018-04-25T{:02}:{:02}:00Z\",1000,0\n",
                m / 60,
                m % 60
            ));
        }
        let s = convert("big", "g", &text).unwrap();
        assert_eq!(s.step_minutes, 1);
        let events = s.events() as f64;
        assert!((events - EVENTS_CAP).abs() < EVENTS_CAP * 0.01, "{events}");
        assert!(s.is_null());
    }

    #[test]
    fn starts_are_scored_against_windows_and_warmup() {
        let start = Minute(0);
        let s = LabelledSeries {
            name: "s".into(),
            group: "g".into(),
            step_minutes: 1,
            start,
            counts: vec![0; 3 * MINUTES_PER_WEEK as usize],
            windows: vec![
                Window {
                    start: Minute(60),
                    end: Minute(70),
                    rise: true,
                }, // in warm-up
                Window {
                    start: Minute(5000),
                    end: Minute(5060),
                    rise: true,
                },
                Window {
                    start: Minute(9000),
                    end: Minute(9010),
                    rise: true,
                },
                Window {
                    start: Minute(12000),
                    end: Minute(12100),
                    rise: false,
                },
            ],
            factor: 1.0,
        };
        let at = |m: i64| Prediction {
            series: 0,
            start: Minute(m),
            end: Minute(m + 5),
            emitted: None,
            top_callers: Vec::new(),
        };
        let p = [at(4995), at(12050), at(20000), at(65)];
        let sc = score(&s, &p, 36);
        assert_eq!((sc.windows, sc.detected), (2, 1));
        assert_eq!(sc.warmup_windows, 1);
        assert_eq!(sc.drop_windows, 1);
        assert_eq!(sc.false_insights, 1);
        assert_eq!(sc.null_false, 0);
    }
}
