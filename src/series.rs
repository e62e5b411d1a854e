//! What a series is: one API (and, for error rate, one error code) in one account and region.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum InsightType {
    ApiCallRateInsight,
    ApiErrorRateInsight,
}

impl InsightType {
    pub fn as_str(self) -> &'static str {
        match self {
            InsightType::ApiCallRateInsight => "ApiCallRateInsight",
            InsightType::ApiErrorRateInsight => "ApiErrorRateInsight",
        }
    }

    pub fn parse(s: &str) -> Option<InsightType> {
        match s {
            "ApiCallRateInsight" => Some(InsightType::ApiCallRateInsight),
            "ApiErrorRateInsight" => Some(InsightType::ApiErrorRateInsight),
            _ => None,
        }
    }
}

/// A series within one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    pub insight_type: InsightType,
    pub event_source: String,
    pub event_name: String,
    /// Set for (and only for) `ApiErrorRateInsight`.
    pub error_code: Option<String>,
}

impl SeriesKey {
    pub fn call_rate(source: &str, name: &str) -> SeriesKey {
        SeriesKey {
            insight_type: InsightType::ApiCallRateInsight,
            event_source: source.to_string(),
            event_name: name.to_string(),
            error_code: None,
        }
    }

    pub fn error_rate(source: &str, name: &str, code: &str) -> SeriesKey {
        SeriesKey {
            insight_type: InsightType::ApiErrorRateInsight,
            event_source: source.to_string(),
            event_name: name.to_string(),
            error_code: Some(code.to_string()),
        }
    }

    /// A compact, stable text form used in storage keys and IDs.
    pub fn id(&self) -> String {
        match &self.error_code {
            None => format!("call#{}#{}", self.event_source, self.event_name),
            Some(code) => format!("error#{}#{}#{}", self.event_source, self.event_name, code),
        }
    }

    pub fn from_id(id: &str) -> Option<SeriesKey> {
        let mut parts = id.splitn(4, '#');
        match (parts.next()?, parts.next()?, parts.next()?, parts.next()) {
            ("call", s, n, None) => Some(SeriesKey::call_rate(s, n)),
            ("error", s, n, Some(c)) => Some(SeriesKey::error_rate(s, n, c)),
            _ => None,
        }
    }

    /// Human label for tables: `ec2.amazonaws.com RunInstances` or `… (AccessDenied)`.
    pub fn label(&self) -> String {
        match &self.error_code {
            None => format!("{} {}", self.event_source, self.event_name),
            Some(c) => format!("{} {} ({c})", self.event_source, self.event_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_roundtrip() {
        for k in [
            SeriesKey::call_rate("ec2.amazonaws.com", "RunInstances"),
            SeriesKey::error_rate("s3.amazonaws.com", "GetObject", "Access#Denied"),
        ] {
            assert_eq!(SeriesKey::from_id(&k.id()), Some(k));
        }
        assert_eq!(SeriesKey::from_id("call#a"), None);
        assert_eq!(SeriesKey::from_id("x#a#b"), None);
    }
}
