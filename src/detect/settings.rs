//! The detector's knobs and the sensitivity presets that set them together. `config` reads them
//! from a file and the environment; the detector only sees the resulting [`DetectorConfig`].

/// Detector knobs (see README, "Configuration", for what each trades).
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorConfig {
    /// Poisson tail probability below which a minute is surprising enough to Start.
    pub start_alpha: f64,
    /// Minimum events for a minute to Start on its own evidence; below, only as part of a
    /// sustained run.
    pub single_minute_count: u64,
    /// Minimum (winsorised) events in the previous and current clock hour for the sustained
    /// rule (0 turns the rule off).
    pub sustained_events: u64,
    /// Minimum ratio of the minute's count to the baseline rate.
    pub min_ratio: f64,
    /// Novelty gates: the count must exceed a high-ranked recent comparable minute (the sustained
    /// rule: pair of hours) by this fraction, and by at least 2 events.
    pub novelty_margin: f64,
    /// A closed minute is still "unusual" (keeps an insight open) below this tail probability…
    pub end_alpha: f64,
    /// …and at or above this count (and twice the baseline rate).
    pub end_min_count: u64,
    /// Consecutive usual closed minutes that End an insight.
    pub end_quiet_minutes: u32,
    /// An insight open this long is ended and its level accepted as the new normal.
    pub max_insight_hours: u32,
    /// Use the hour-of-day rate when a series had at least this many events in the window.
    pub seasonal_min_events: u64,
    /// No insights until the trail has been observed this long.
    pub warmup_hours: u32,
    /// Burst-tail gate: for a series burstier than Poisson, a minute must exceed what its own
    /// burst sizes suggest happens once in this many weeks (0 turns the gate off).
    pub tail_return_weeks: f64,
    /// The drop detector (see [`crate::detect::drop`]): off by default.
    pub drop_insights: bool,
    /// Calls per minute at this hour on each of the last 7 days for an API to count as busy.
    pub drop_min_rate: f64,
    /// Consecutive low minutes that Start a drop insight.
    pub drop_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    Low,
    Medium,
    High,
}

impl Sensitivity {
    pub fn parse(name: &str) -> Option<Sensitivity> {
        match name.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Sensitivity::Low),
            "medium" => Some(Sensitivity::Medium),
            "high" => Some(Sensitivity::High),
            _ => None,
        }
    }

    /// `base` with this preset's Start gates; the End, warm-up and window knobs stay as set.
    pub fn start_gates_on(self, base: &DetectorConfig) -> DetectorConfig {
        let p = self.detector();
        DetectorConfig {
            start_alpha: p.start_alpha,
            single_minute_count: p.single_minute_count,
            sustained_events: p.sustained_events,
            min_ratio: p.min_ratio,
            novelty_margin: p.novelty_margin,
            tail_return_weeks: p.tail_return_weeks,
            ..base.clone()
        }
    }

    pub fn detector(self) -> DetectorConfig {
        let medium = DetectorConfig {
            start_alpha: 1e-6,
            single_minute_count: 12,
            sustained_events: 15,
            min_ratio: 3.0,
            novelty_margin: 0.5,
            end_alpha: 1e-3,
            end_min_count: 2,
            end_quiet_minutes: 5,
            max_insight_hours: 24,
            seasonal_min_events: 100,
            warmup_hours: 36,
            tail_return_weeks: 200.0,
            drop_insights: false,
            drop_min_rate: 5.0,
            drop_minutes: 15,
        };
        match self {
            Sensitivity::Medium => medium,
            Sensitivity::Low => DetectorConfig {
                start_alpha: 1e-8,
                single_minute_count: 20,
                sustained_events: 30,
                min_ratio: 5.0,
                novelty_margin: 1.0,
                tail_return_weeks: 1000.0,
                ..medium
            },
            Sensitivity::High => DetectorConfig {
                start_alpha: 1e-5,
                // As CloudTrail Insights on sparse APIs: a few events in one minute are enough.
                single_minute_count: 3,
                sustained_events: 10,
                min_ratio: 2.0,
                novelty_margin: 0.25,
                tail_return_weeks: 50.0,
                ..medium
            },
        }
    }
}

/// The detector knobs of a named preset (`low`, `medium`, `high`).
pub fn preset(name: &str) -> Option<DetectorConfig> {
    Sensitivity::parse(name).map(Sensitivity::detector)
}
