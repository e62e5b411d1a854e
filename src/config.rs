//! Every tunable in one place. The same names work in a TOML config file (`MIN_RATIO = 3`) and as
//! environment variables (`MIN_RATIO=3`); the environment wins. A sensitivity preset sets the
//! detector knobs first, and any knob given explicitly overrides the preset.

use crate::base::knob::parse_flag;
use crate::cloudtrail::reader::ReadLimits;
pub use crate::detect::settings::{DetectorConfig, Sensitivity, preset};
use std::collections::BTreeMap;
use std::path::Path;

/// Everything the engine needs besides storage and output.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub detector: DetectorConfig,
    /// A minute is closed this long after the newest delivery seen for its account and region.
    pub lateness_minutes: u32,
    pub limits: ReadLimits,
    /// Per-minute counts are kept this long (for `metrics`).
    pub metrics_retention_days: u32,
    /// Records stamped later than their file's delivery by more than this are skipped.
    pub future_tolerance_minutes: u32,
    /// A Start is withheld when its top caller drove this many APIs (its own included) above
    /// their usual rate at once: a deploy session (see [`crate::detect::session`]); 0 turns it off.
    pub deploy_session_apis: usize,
    /// …and whose top user agent matches one of these patterns (`*` wildcards, any case): the
    /// tools that deploy infrastructure. `*` makes any caller's session a deploy.
    pub deploy_session_agents: Vec<String>,
    // ---- extensions beyond AWS (issue 7); all off by default ----
    /// Events left out before counting (`SUPPRESS_*`, `ONLY_EVENT_SOURCES`).
    pub suppression: crate::count::suppression::Suppression,
    /// Populations analysed beyond AWS's (`READ_CALL_INSIGHTS`, `DATA_EVENT_INSIGHTS`).
    pub coverage: crate::cloudtrail::record::Coverage,
    /// Per-series sensitivity (`SERIES_SENSITIVITY`), first match wins.
    pub series_sensitivity: Vec<SeriesSensitivity>,
}

/// One `SERIES_SENSITIVITY` rule: series matching `eventSource:eventName[:errorCode]` (`*`
/// wildcards) use another preset's Start gates. Two parts match every series of that API (call
/// and error rate); three parts match its error-rate series with that code. `off` never Starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSensitivity {
    pub event_source: String,
    pub event_name: String,
    pub error_code: Option<String>,
    /// The global knobs with the preset's Start gates.
    pub detector: DetectorConfig,
}

impl SeriesSensitivity {
    fn matches(&self, series: &crate::base::series::SeriesKey) -> bool {
        use crate::count::suppression::glob;
        glob(&self.event_source, &series.event_source)
            && glob(&self.event_name, &series.event_name)
            && match (&self.error_code, &series.error_code) {
                (None, _) => true,
                (Some(p), Some(code)) => glob(p, code),
                (Some(_), None) => false,
            }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            detector: Sensitivity::Medium.detector(),
            lateness_minutes: 15,
            limits: ReadLimits::default(),
            metrics_retention_days: 15,
            future_tolerance_minutes: 15,
            deploy_session_apis: 4,
            deploy_session_agents: crate::detect::session::DEPLOY_AGENTS
                .iter()
                .map(|a| a.to_string())
                .collect(),
            suppression: Default::default(),
            coverage: Default::default(),
            series_sensitivity: Vec::new(),
        }
    }
}

/// The names accepted in config files and the environment, with a one-line meaning each.
pub const KNOBS: &[(&str, &str)] = &[
    (
        "SENSITIVITY",
        "preset for the detector knobs: low | medium | high (default medium)",
    ),
    (
        "START_ALPHA",
        "Poisson tail probability to Start (default 1e-6)",
    ),
    (
        "SINGLE_MINUTE_COUNT",
        "minimum events for one minute to Start on its own, at least 3 (default 12)",
    ),
    (
        "SUSTAINED_EVENTS",
        "minimum events over the current and previous clock hour for a sustained run to Start (default 15; 0 = off)",
    ),
    (
        "MIN_RATIO",
        "minimum count / baseline rate to Start (default 3)",
    ),
    (
        "NOVELTY_MARGIN",
        "fraction above a high-ranked recent comparable minute (or pair of hours) to Start (default 0.5)",
    ),
    (
        "END_ALPHA",
        "tail probability under which a minute keeps an insight open (default 1e-3)",
    ),
    (
        "END_MIN_COUNT",
        "count at or above which a minute keeps an insight open (default 2)",
    ),
    (
        "END_QUIET_MINUTES",
        "consecutive usual minutes that End an insight (default 5)",
    ),
    (
        "MAX_INSIGHT_HOURS",
        "insights are ended and their level accepted after this (default 24)",
    ),
    (
        "SEASONAL_MIN_EVENTS",
        "events in 7 days before the hour-of-day rate is used (default 100)",
    ),
    (
        "WARMUP_HOURS",
        "hours a trail is observed before the first insight (default 36)",
    ),
    (
        "TAIL_RETURN_WEEKS",
        "bursty series: Start only above their once-in-this-many-weeks minute (default 200; 0 = off)",
    ),
    (
        "DEPLOY_SESSION_APIS",
        "withhold a Start whose top caller drove this many APIs above their usual rate at once (default 4; 0 = off)",
    ),
    (
        "DEPLOY_SESSION_AGENTS",
        "comma-separated user-agent patterns (* wildcard, any case) of deploy tools (default *terraform*, *pulumi*, *cloudformation*, *crossplane*)",
    ),
    (
        "LATENESS_MINUTES",
        "minutes after the newest delivery before a minute closes (default 15)",
    ),
    (
        "MAX_DECOMPRESSED_BYTES",
        "cap on a log file's decompressed size (default 2147483648)",
    ),
    (
        "MAX_RECORD_BYTES",
        "cap on one record's size (default 524288)",
    ),
    (
        "METRICS_RETENTION_DAYS",
        "days per-minute counts are kept (default 15)",
    ),
    (
        "FUTURE_TOLERANCE_MINUTES",
        "records later than their delivery by more are skipped (default 15)",
    ),
];

/// Settings of the extensions beyond AWS (besides suppression), all off by default.
pub const EXTENSION_KNOBS: &[(&str, &str)] = &[
    (
        "READ_CALL_INSIGHTS",
        "true: call-rate insights on read management calls too, in their own series (default false)",
    ),
    (
        "DATA_EVENT_INSIGHTS",
        "true: call-rate and error-rate insights on data events, in their own series (default false)",
    ),
    (
        "DROP_INSIGHTS",
        "true: insights when a busy API falls silent (default false)",
    ),
    (
        "DROP_MIN_RATE",
        "calls a minute at this hour on each of the last 7 days that make an API busy (default 5)",
    ),
    (
        "DROP_MINUTES",
        "consecutive minutes under 10% of the expected rate that Start a drop (default 15)",
    ),
    (
        "SERIES_SENSITIVITY",
        "comma-separated source:name[:errorCode]=low|medium|high|off (* wildcard; first match wins)",
    ),
];

/// A configuration problem, naming the setting and where it came from.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

impl Config {
    /// Defaults, then the file (if any), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Config::load_from(file, &env)
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_from(file: Option<&Path>, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let mut settings: BTreeMap<String, (String, String)> = BTreeMap::new();
        if let Some(path) = file {
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read {origin}: {e}")))?;
            let table: toml::Table = text
                .parse()
                .map_err(|e| ConfigError(format!("{origin} is not valid TOML: {e}")))?;
            for (k, v) in table {
                let name = k.to_ascii_uppercase();
                removed(&name, &origin)?;
                if !known(&name) {
                    return Err(ConfigError(format!(
                        "{origin}: unknown setting `{k}` (known: {})",
                        all_knobs().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    )));
                }
                let value = match v {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                settings.insert(name, (value, origin.clone()));
            }
        }
        for (k, v) in env {
            removed(k, "environment")?;
            if known(k) {
                settings.insert(k.clone(), (v.clone(), "environment".into()));
            }
        }
        Config::from_settings(&settings)
    }

    /// Defaults, then the preset (`SENSITIVITY`), then each group of knobs in turn; the first
    /// invalid setting is the error.
    fn from_settings(s: &BTreeMap<String, (String, String)>) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        if let Some((v, origin)) = s.get("SENSITIVITY") {
            let preset = Sensitivity::parse(v).ok_or_else(|| {
                ConfigError(format!(
                    "SENSITIVITY ({origin}) must be low, medium or high, not `{v}`"
                ))
            })?;
            c.detector = preset.detector();
        }
        detector_knobs(s, &mut c.detector)?;
        deploy_session_knobs(s, &mut c)?;
        engine_knobs(s, &mut c)?;
        extension_knobs(s, &mut c)?;
        Ok(c)
    }
}

/// The detector knobs over the preset (`START_ALPHA` … `TAIL_RETURN_WEEKS`).
fn detector_knobs(
    s: &BTreeMap<String, (String, String)>,
    d: &mut DetectorConfig,
) -> Result<(), ConfigError> {
    set(
        s,
        "START_ALPHA",
        &mut d.start_alpha,
        |v| *v > 0.0 && *v < 1.0,
        "between 0 and 1",
    )?;
    set(
        s,
        "SINGLE_MINUTE_COUNT",
        &mut d.single_minute_count,
        |v| *v >= 3,
        "at least 3",
    )?;
    set(s, "SUSTAINED_EVENTS", &mut d.sustained_events, |_| true, "")?;
    set(
        s,
        "MIN_RATIO",
        &mut d.min_ratio,
        |v| *v >= 1.0,
        "at least 1",
    )?;
    set(
        s,
        "NOVELTY_MARGIN",
        &mut d.novelty_margin,
        |v| *v >= 0.0,
        "0 or more",
    )?;
    set(
        s,
        "END_ALPHA",
        &mut d.end_alpha,
        |v| *v > 0.0 && *v < 1.0,
        "between 0 and 1",
    )?;
    set(
        s,
        "END_MIN_COUNT",
        &mut d.end_min_count,
        |v| *v >= 1,
        "at least 1",
    )?;
    set(
        s,
        "END_QUIET_MINUTES",
        &mut d.end_quiet_minutes,
        |v| (1..=60).contains(v),
        "between 1 and 60",
    )?;
    set(
        s,
        "MAX_INSIGHT_HOURS",
        &mut d.max_insight_hours,
        |v| (1..=168).contains(v),
        "between 1 and 168",
    )?;
    set(
        s,
        "SEASONAL_MIN_EVENTS",
        &mut d.seasonal_min_events,
        |_| true,
        "",
    )?;
    set(
        s,
        "WARMUP_HOURS",
        &mut d.warmup_hours,
        |v| *v <= 168,
        "at most 168",
    )?;
    set(
        s,
        "TAIL_RETURN_WEEKS",
        &mut d.tail_return_weeks,
        |v| (0.0..=1e6).contains(v),
        "between 0 and 1000000",
    )?;
    Ok(())
}

/// The deploy-session rule: how many APIs at once, and which tools deploy.
fn deploy_session_knobs(
    s: &BTreeMap<String, (String, String)>,
    c: &mut Config,
) -> Result<(), ConfigError> {
    set(
        s,
        "DEPLOY_SESSION_APIS",
        &mut c.deploy_session_apis,
        |v| *v != 1,
        "0 (off) or at least 2",
    )?;
    if let Some((raw, origin)) = s.get("DEPLOY_SESSION_AGENTS") {
        c.deploy_session_agents = crate::count::suppression::list(raw);
        if c.deploy_session_agents.is_empty() {
            return Err(ConfigError(format!(
                "DEPLOY_SESSION_AGENTS ({origin}) must name at least one pattern (`*` for \
                 any); DEPLOY_SESSION_APIS=0 turns the rule off"
            )));
        }
    }
    Ok(())
}

/// The engine: lateness, read limits, metrics retention, clock tolerance.
fn engine_knobs(s: &BTreeMap<String, (String, String)>, c: &mut Config) -> Result<(), ConfigError> {
    // Lateness is capped at an hour: the baseline used for a decision leaves out the current
    // and the previous hour, which are then never still open when a decision is made.
    set(
        s,
        "LATENESS_MINUTES",
        &mut c.lateness_minutes,
        |v| *v <= 60,
        "at most 60",
    )?;
    set(
        s,
        "MAX_DECOMPRESSED_BYTES",
        &mut c.limits.max_decompressed_bytes,
        |v| *v >= 1024,
        "at least 1024",
    )?;
    set(
        s,
        "MAX_RECORD_BYTES",
        &mut c.limits.max_record_bytes,
        |v| *v >= 1024,
        "at least 1024",
    )?;
    set(
        s,
        "METRICS_RETENTION_DAYS",
        &mut c.metrics_retention_days,
        |v| (9..=90).contains(v),
        "between 9 and 90",
    )?;
    set(
        s,
        "FUTURE_TOLERANCE_MINUTES",
        &mut c.future_tolerance_minutes,
        |v| *v <= 1440,
        "at most 1440",
    )?;
    Ok(())
}

/// The extensions beyond AWS (issue 7): read calls, data events, drops, per-series
/// sensitivity (over the detector knobs already set) and suppression.
fn extension_knobs(
    s: &BTreeMap<String, (String, String)>,
    c: &mut Config,
) -> Result<(), ConfigError> {
    if let Some((raw, origin)) = s.get("READ_CALL_INSIGHTS") {
        c.coverage.read_calls =
            parse_flag("READ_CALL_INSIGHTS", raw, origin).map_err(ConfigError)?;
    }
    if let Some((raw, origin)) = s.get("DATA_EVENT_INSIGHTS") {
        c.coverage.data_events =
            parse_flag("DATA_EVENT_INSIGHTS", raw, origin).map_err(ConfigError)?;
    }
    if let Some((raw, origin)) = s.get("DROP_INSIGHTS") {
        c.detector.drop_insights = parse_flag("DROP_INSIGHTS", raw, origin).map_err(ConfigError)?;
    }
    set(
        s,
        "DROP_MIN_RATE",
        &mut c.detector.drop_min_rate,
        |v| *v >= 1.0,
        "at least 1",
    )?;
    set(
        s,
        "DROP_MINUTES",
        &mut c.detector.drop_minutes,
        |v| (1..=240).contains(v),
        "between 1 and 240",
    )?;
    if let Some((raw, origin)) = s.get("SERIES_SENSITIVITY") {
        c.series_sensitivity = series_sensitivity(raw, origin, &c.detector)?;
    }
    for (name, _) in crate::count::suppression::SUPPRESSION_KNOBS {
        if let Some((raw, origin)) = s.get(*name) {
            c.suppression.set(name, raw, origin).map_err(ConfigError)?;
        }
    }
    Ok(())
}

impl Config {
    /// The detector knobs for one series (by ID): the first matching `SERIES_SENSITIVITY` rule's,
    /// else the global ones.
    pub fn detector_for(&self, series_id: &str) -> &DetectorConfig {
        if self.series_sensitivity.is_empty() {
            return &self.detector;
        }
        let Some(series) = crate::base::series::SeriesKey::from_id(series_id) else {
            return &self.detector;
        };
        self.series_sensitivity
            .iter()
            .find(|rule| rule.matches(&series))
            .map_or(&self.detector, |rule| &rule.detector)
    }
}

fn series_sensitivity(
    raw: &str,
    origin: &str,
    base: &DetectorConfig,
) -> Result<Vec<SeriesSensitivity>, ConfigError> {
    let bad = |rule: &str, why: &str| {
        ConfigError(format!(
            "SERIES_SENSITIVITY ({origin}): `{rule}` {why}; expected eventSource:eventName[:errorCode]=low|medium|high|off"
        ))
    };
    let mut rules = Vec::new();
    for rule in raw.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let (pattern, level) = rule
            .rsplit_once('=')
            .ok_or_else(|| bad(rule, "has no `=`"))?;
        let detector = match level.trim().to_ascii_lowercase().as_str() {
            "off" => DetectorConfig {
                single_minute_count: u64::MAX,
                sustained_events: 0,
                drop_insights: false,
                ..base.clone()
            },
            other => Sensitivity::parse(other)
                .ok_or_else(|| bad(rule, "names no sensitivity"))?
                .start_gates_on(base),
        };
        let parts: Vec<&str> = pattern.trim().split(':').collect();
        let (event_source, event_name, error_code) = match parts[..] {
            [s, n] => (s, n, None),
            [s, n, c] => (s, n, Some(c.to_string())),
            _ => return Err(bad(rule, "does not have two or three `:`-separated parts")),
        };
        if event_source.is_empty() || event_name.is_empty() {
            return Err(bad(rule, "has an empty part"));
        }
        rules.push(SeriesSensitivity {
            event_source: event_source.into(),
            event_name: event_name.into(),
            error_code,
            detector,
        });
    }
    Ok(rules)
}

/// Every setting name: the detector and engine knobs, then the extensions.
pub fn all_knobs() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    KNOBS
        .iter()
        .chain(EXTENSION_KNOBS.iter())
        .chain(crate::count::suppression::SUPPRESSION_KNOBS.iter())
}

/// Settings that no longer exist, with what to do instead: a file or environment that still sets
/// one is refused rather than silently given another meaning.
const REMOVED_KNOBS: &[(&str, &str)] = &[
    (
        "MIN_COUNT",
        "SINGLE_MINUTE_COUNT sets the events one minute needs to Start on its own",
    ),
    (
        "NOVELTY_MIN_EXTRA",
        "the novelty gates ask for 2 events beyond the comparable level; NOVELTY_MARGIN sets the rest",
    ),
    (
        "NOVELTY_GLOBAL_WEIGHT",
        "novelty compares with the larger of the same-hour and any-hour levels",
    ),
    (
        "END_RATIO",
        "a minute keeps an insight open at twice the baseline rate or more; END_ALPHA and END_MIN_COUNT set the rest",
    ),
];

fn removed(name: &str, origin: &str) -> Result<(), ConfigError> {
    match REMOVED_KNOBS.iter().find(|(n, _)| *n == name) {
        Some((n, instead)) => Err(ConfigError(format!(
            "{n} ({origin}) is no longer a setting: {instead}; remove it"
        ))),
        None => Ok(()),
    }
}

fn known(name: &str) -> bool {
    all_knobs().any(|(n, _)| *n == name)
}

fn set<T: std::str::FromStr>(
    s: &BTreeMap<String, (String, String)>,
    name: &str,
    slot: &mut T,
    valid: impl Fn(&T) -> bool,
    rule: &str,
) -> Result<(), ConfigError> {
    let Some((raw, origin)) = s.get(name) else {
        return Ok(());
    };
    let v: T = raw
        .trim()
        .parse()
        .map_err(|_| ConfigError(format!("{name} ({origin}) is not a valid number: `{raw}`")))?;
    if !valid(&v) {
        return Err(ConfigError(format!(
            "{name} ({origin}) must be {rule}, not `{raw}`"
        )));
    }
    *slot = v;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_then_environment_then_preset_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "SINGLE_MINUTE_COUNT = 7\nlateness_minutes = 20\nSENSITIVITY = \"high\"\n",
        )
        .unwrap();
        let c = Config::load_from(
            Some(&path),
            &env(&[("LATENESS_MINUTES", "30"), ("PATH", "/bin")]),
        )
        .unwrap();
        assert_eq!(
            c.detector.single_minute_count, 7,
            "explicit knob beats preset"
        );
        assert_eq!(c.lateness_minutes, 30, "environment beats file");
        assert_eq!(c.detector.start_alpha, 1e-5, "preset applied");
    }

    #[test]
    fn series_sensitivity_picks_the_first_matching_rule() {
        let c = Config::load_from(
            None,
            &env(&[
                ("END_QUIET_MINUTES", "9"),
                (
                    "SERIES_SENSITIVITY",
                    "iam.amazonaws.com:*:AccessDenied=off, iam.amazonaws.com:*=high, *:Describe*=low",
                ),
            ]),
        )
        .unwrap();
        use crate::base::series::{Population, SeriesKey};
        let id = |k: SeriesKey| k.id();
        let iam_denied = id(SeriesKey::error_rate(
            "iam.amazonaws.com",
            "CreateUser",
            "AccessDenied",
        ));
        let off = c.detector_for(&iam_denied);
        assert_eq!(
            (off.single_minute_count, off.sustained_events),
            (u64::MAX, 0),
            "off: neither Start rule"
        );
        let iam = c.detector_for(&id(SeriesKey::call_rate("iam.amazonaws.com", "CreateUser")));
        assert_eq!(
            (iam.single_minute_count, iam.start_alpha),
            (3, 1e-5),
            "high's Start gates"
        );
        assert_eq!(iam.end_quiet_minutes, 9, "the global End knobs stay");
        let iam_throttled = id(SeriesKey::error_rate(
            "iam.amazonaws.com",
            "CreateUser",
            "Throttling",
        ));
        assert_eq!(c.detector_for(&iam_throttled).single_minute_count, 3);
        let reads = id(
            SeriesKey::call_rate("ec2.amazonaws.com", "DescribeInstances")
                .in_population(Population::ReadManagement),
        );
        assert_eq!(c.detector_for(&reads).single_minute_count, 20, "low");
        let other = id(SeriesKey::call_rate("ec2.amazonaws.com", "RunInstances"));
        assert_eq!(c.detector_for(&other), &c.detector);

        for (raw, why) in [
            ("iam.amazonaws.com:*", "has no `=`"),
            ("iam.amazonaws.com=high", "two or three"),
            ("iam.amazonaws.com:*=loud", "names no sensitivity"),
            (":*=high", "has an empty part"),
        ] {
            let e = Config::load_from(None, &env(&[("SERIES_SENSITIVITY", raw)]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("SERIES_SENSITIVITY (environment)") && e.contains(why),
                "{e}"
            );
        }
    }

    #[test]
    fn removed_settings_are_refused_with_what_to_do_instead() {
        let e = Config::load_from(None, &env(&[("MIN_COUNT", "5")]))
            .unwrap_err()
            .0;
        assert!(
            e.contains("MIN_COUNT (environment) is no longer a setting")
                && e.contains("SINGLE_MINUTE_COUNT"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "end_ratio = 3\n").unwrap();
        let e = Config::load_from(Some(&path), &[]).unwrap_err().0;
        assert!(e.contains("END_RATIO") && e.contains("remove it"), "{e}");
    }

    #[test]
    fn errors_name_the_setting_and_origin() {
        let e = Config::load_from(None, &env(&[("MIN_RATIO", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("MIN_RATIO") && e.contains("environment"), "{e}");
        let e = Config::load_from(None, &env(&[("LATENESS_MINUTES", "90")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("at most 60"), "{e}");
        let e = Config::load_from(None, &env(&[("SENSITIVITY", "max")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("low, medium or high"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "MIN_CONT = 7\n").unwrap();
        let e = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
        assert!(e.contains("unknown setting `MIN_CONT`"), "{e}");
        std::fs::write(&path, "MIN_RATIO = \n").unwrap();
        let e = Config::load_from(Some(&path), &[]).unwrap_err().to_string();
        assert!(e.contains("not valid TOML"), "{e}");
    }
}
