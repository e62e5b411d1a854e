//! Event-time minutes: the unit every counter, baseline and decision is keyed on.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};

pub const MINUTES_PER_HOUR: i64 = 60;
pub const MINUTES_PER_DAY: i64 = 1440;
pub const MINUTES_PER_WEEK: i64 = 10080;

/// Whole minutes since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Minute(pub i64);

impl Minute {
    pub fn from_datetime(t: DateTime<Utc>) -> Minute {
        Minute(t.timestamp().div_euclid(60))
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0 * 60, 0)
            .single()
            .unwrap_or_default()
    }

    /// Parse CloudTrail's `eventTime` (`2023-07-19T21:33:41Z`); accepts any RFC 3339 time.
    pub fn parse_event_time(s: &str) -> Option<Minute> {
        if let Some(m) = parse_fast(s) {
            return Some(m);
        }
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| Minute::from_datetime(t.with_timezone(&Utc)))
    }

    /// Parse the `YYYYMMDDTHHmmZ` stamp used in CloudTrail file names.
    pub fn parse_compact(s: &str) -> Option<Minute> {
        let t = NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%MZ").ok()?;
        if s.len() != 14 {
            return None;
        }
        Some(Minute::from_datetime(t.and_utc()))
    }

    /// `2026-01-05T10:00:00Z`, as CloudTrail writes `eventTime` on Insights records.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().format("%Y-%m-%dT%H:%M:%SZ").to_string()
    }

    /// `20260105T1000Z`, as in CloudTrail file names.
    pub fn to_compact(self) -> String {
        self.to_datetime().format("%Y%m%dT%H%MZ").to_string()
    }

    /// `2026/01/05`, the date folders of the S3 layout.
    pub fn date_path(self) -> String {
        self.to_datetime().format("%Y/%m/%d").to_string()
    }

    pub fn hour(self) -> i64 {
        self.0.div_euclid(MINUTES_PER_HOUR)
    }

    pub fn day_start(self) -> Minute {
        Minute(self.0 - self.0.rem_euclid(MINUTES_PER_DAY))
    }

    pub fn plus(self, minutes: i64) -> Minute {
        Minute(self.0 + minutes)
    }
}

/// The fixed CloudTrail shape `YYYY-MM-DDTHH:MM:SSZ` without a general parser (hot path).
fn parse_fast(s: &str) -> Option<Minute> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut v = 0u32;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        Some(v)
    };
    let date = NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let t = date.and_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(Minute::from_datetime(t.and_utc()))
}

/// Parse a command-line time (RFC 3339, or a bare date meaning midnight UTC).
pub fn parse_cli_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    Err(format!(
        "`{s}` is not an RFC 3339 time such as 2026-01-05T10:00:00Z"
    ))
}

/// Minutes since 00:00 UTC of the minute's day (used for `baselineDuration`).
pub fn minute_of_day(m: Minute) -> i64 {
    let t = m.to_datetime();
    i64::from(t.hour()) * 60 + i64::from(t.minute())
}

/// Day of week, Monday = 0; for seasonal patterns in generated traffic.
pub fn weekday(m: Minute) -> u32 {
    m.to_datetime().weekday().num_days_from_monday()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_event_times() {
        let m = Minute::parse_event_time("2023-07-19T21:33:41Z").unwrap();
        assert_eq!(m.to_rfc3339(), "2023-07-19T21:33:00Z");
        let slow = Minute::parse_event_time("2023-07-19T21:33:41.123+00:00").unwrap();
        assert_eq!(slow, m);
        assert_eq!(Minute::parse_event_time("2023-13-19T21:33:41Z"), None);
        assert_eq!(Minute::parse_event_time("yesterday"), None);
        assert_eq!(Minute::parse_event_time(""), None);
    }

    #[test]
    fn compact_roundtrip() {
        let m = Minute::parse_compact("20150801T0210Z").unwrap();
        assert_eq!(m.to_compact(), "20150801T0210Z");
        assert_eq!(m.date_path(), "2015/08/01");
        assert_eq!(Minute::parse_compact("20150801T021Z"), None);
    }

    #[test]
    fn day_arithmetic() {
        let m = Minute::parse_event_time("2024-12-11T16:52:00Z").unwrap();
        assert_eq!(minute_of_day(m), 1012);
        assert_eq!(m.day_start().to_rfc3339(), "2024-12-11T00:00:00Z");
        let before_epoch = Minute(-1);
        assert_eq!(before_epoch.day_start(), Minute(-1440));
    }
}
