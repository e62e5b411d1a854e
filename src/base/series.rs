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

/// Which calls a series counts. `Management` and `Data` are AWS's populations (named in each
/// record's `sourceEventCategory`); `ReadManagement` is ours: successful read management calls,
/// which AWS never analyses for call rate. Opt-in populations get their own series, so turning
/// them on never changes AWS's.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub enum Population {
    /// Management events: writes for call rate, reads and writes for error rate (AWS).
    #[default]
    Management,
    /// Data events, reads and writes (AWS's data-event Insights; opt-in here).
    Data,
    /// Read management calls, for call rate only (an extension; opt-in).
    ReadManagement,
}

impl Population {
    /// The record's `sourceEventCategory`.
    pub fn source_event_category(self) -> &'static str {
        match self {
            Population::Management | Population::ReadManagement => "Management",
            Population::Data => "Data",
        }
    }

    /// Prefix of series IDs; AWS's management series keep the original unprefixed IDs.
    fn id_prefix(self) -> &'static str {
        match self {
            Population::Management => "",
            Population::Data => "data-",
            Population::ReadManagement => "read-",
        }
    }
}

/// A series within one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeriesKey {
    pub insight_type: InsightType,
    #[serde(default)]
    pub population: Population,
    pub event_source: String,
    pub event_name: String,
    /// Set for (and only for) `ApiErrorRateInsight`.
    pub error_code: Option<String>,
}

impl SeriesKey {
    pub fn call_rate(source: &str, name: &str) -> SeriesKey {
        SeriesKey {
            insight_type: InsightType::ApiCallRateInsight,
            population: Population::Management,
            event_source: source.to_string(),
            event_name: name.to_string(),
            error_code: None,
        }
    }

    pub fn error_rate(source: &str, name: &str, code: &str) -> SeriesKey {
        SeriesKey {
            insight_type: InsightType::ApiErrorRateInsight,
            population: Population::Management,
            event_source: source.to_string(),
            event_name: name.to_string(),
            error_code: Some(code.to_string()),
        }
    }

    /// The same series counted over another population.
    pub fn in_population(mut self, population: Population) -> SeriesKey {
        self.population = population;
        self
    }

    /// A compact, stable text form used in storage keys and IDs: `call#<source>#<name>`,
    /// `error#<source>#<name>#<code>`, prefixed `data-` or `read-` for the opt-in populations.
    pub fn id(&self) -> String {
        let p = self.population.id_prefix();
        match &self.error_code {
            None => format!("{p}call#{}#{}", self.event_source, self.event_name),
            Some(code) => format!(
                "{p}error#{}#{}#{}",
                self.event_source, self.event_name, code
            ),
        }
    }

    pub fn from_id(id: &str) -> Option<SeriesKey> {
        let (population, rest) = if let Some(rest) = id.strip_prefix("data-") {
            (Population::Data, rest)
        } else if let Some(rest) = id.strip_prefix("read-") {
            (Population::ReadManagement, rest)
        } else {
            (Population::Management, id)
        };
        let mut parts = rest.splitn(4, '#');
        let key = match (parts.next()?, parts.next()?, parts.next()?, parts.next()) {
            ("call", s, n, None) => SeriesKey::call_rate(s, n),
            ("error", s, n, Some(c)) if population != Population::ReadManagement => {
                SeriesKey::error_rate(s, n, c)
            }
            _ => return None,
        };
        Some(key.in_population(population))
    }

    /// Human label for tables: `ec2.amazonaws.com RunInstances`, `… (AccessDenied)`, with
    /// `[data]` or `[read]` after the opt-in populations.
    pub fn label(&self) -> String {
        let base = match &self.error_code {
            None => format!("{} {}", self.event_source, self.event_name),
            Some(c) => format!("{} {} ({c})", self.event_source, self.event_name),
        };
        match self.population {
            Population::Management => base,
            Population::Data => format!("{base} [data]"),
            Population::ReadManagement => format!("{base} [read]"),
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
            SeriesKey::call_rate("s3.amazonaws.com", "GetObject").in_population(Population::Data),
            SeriesKey::error_rate("s3.amazonaws.com", "PutObject", "InvalidRequest")
                .in_population(Population::Data),
            SeriesKey::call_rate("ec2.amazonaws.com", "DescribeInstances")
                .in_population(Population::ReadManagement),
        ] {
            assert_eq!(SeriesKey::from_id(&k.id()), Some(k));
        }
        assert_eq!(
            SeriesKey::call_rate("a", "b").id(),
            "call#a#b",
            "AWS's series keep their stored IDs"
        );
        assert_eq!(SeriesKey::from_id("call#a"), None);
        assert_eq!(SeriesKey::from_id("x#a#b"), None);
        assert_eq!(SeriesKey::from_id("read-error#a#b#c"), None);
    }
}
