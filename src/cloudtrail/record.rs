//! CloudTrail records: the few fields rate analysis needs, and the rules that decide what counts.
//!
//! Counting rules (reference §2.1 and §4), decided here once:
//! - Insights (`AwsCloudTrailInsight`), aggregated (`AwsAggregatedEvent`) and network-activity
//!   records are never counted, whatever else they say.
//! - A record without `eventCategory` is a management event unless `managementEvent` is `false`
//!   (older eventVersions lack both). Data events are analysed only when asked for
//!   ([`Coverage::data_events`]): call rate on reads and writes, error rate on errors, in their
//!   own series (`sourceEventCategory: Data`), as AWS's data-event Insights do.
//! - With [`Coverage::read_calls`], successful read management calls (`readOnly: true`) feed a
//!   call-rate series of their own, an extension AWS does not offer.
//! - Call rate counts management events with `readOnly: false`. A record without `readOnly`
//!   (older eventVersions, most console sign-ins) is not counted for call rate: we cannot tell it
//!   is a write, and AWS documents call rate as write-only.
//! - Error rate counts management events, read or write, with a non-empty `errorCode`.
//! - Records without a parseable `eventTime`, or without `eventSource`/`eventName`, are skipped and
//!   counted as invalid; the rest of the file is still processed.
//! - Duplicate `eventID`s are counted once. A record without `eventID` gets a stable stand-in
//!   derived from the file and its position, so a re-read of the file is still recognised.

use crate::base::series::Population;
use crate::base::time::Minute;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The fields of a CloudTrail record that matter here; every other field is skipped unparsed.
/// Strings are borrowed from the decompressed buffer (copied only if they contain escapes), so
/// reading a record allocates nothing. Every field is optional and leniently typed so one odd
/// record cannot fail a whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord<'a> {
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub event_time: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(
        default,
        borrow,
        deserialize_with = "lenient_string",
        rename = "eventID"
    )]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub event_category: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub read_only: Option<bool>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub management_event: Option<bool>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub user_agent: Option<Cow<'a, str>>,
    /// Kept as raw JSON and read (with [`identity`]) only for the records that are counted:
    /// most records are successful reads, whose caller nobody asks for.
    #[serde(default, borrow, deserialize_with = "raw_identity")]
    pub user_identity: Option<&'a RawValue>,
}

/// `userIdentity` as raw JSON. serde_json checks a raw value's UTF-8 once it has read past it
/// (a skipped field is not checked): an identity with invalid UTF-8 is no identity, not a failed
/// file, as it was when its unread fields were skipped. Any other error (malformed JSON, the end
/// of the buffer) stands.
fn raw_identity<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<&'a RawValue>, D::Error> {
    match Option::<&'a RawValue>::deserialize(d) {
        Err(e) if e.to_string().starts_with("invalid unicode code point") => Ok(None),
        other => other,
    }
}

/// The caller's identity from a record's raw `userIdentity`, leniently: anything but an object
/// (or JSON too deeply nested to read) is no identity.
pub fn identity(raw: Option<&RawValue>) -> Option<RawIdentity<'_>> {
    let mut de = serde_json::Deserializer::from_str(raw?.get());
    lenient_identity(&mut de).ok().flatten()
}

#[derive(Debug, Default)]
pub struct RawIdentity<'a> {
    pub identity_type: Option<Cow<'a, str>>,
    pub arn: Option<Cow<'a, str>>,
    pub invoked_by: Option<Cow<'a, str>>,
    pub principal_id: Option<Cow<'a, str>>,
}

/// Populations analysed beyond AWS's default (management writes for call rate, management
/// errors for error rate). Both off by default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Successful read management calls get call-rate series (`READ_CALL_INSIGHTS`).
    pub read_calls: bool,
    /// Data events get call-rate and error-rate series (`DATA_EVENT_INSIGHTS`).
    pub data_events: bool,
}

/// Which insight series a counted event feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedEvent {
    pub minute: Minute,
    pub event_source: String,
    pub event_name: String,
    /// The record's population: `Management` or `Data` (where its error-rate series lives).
    pub population: Population,
    /// Feeds an `ApiCallRateInsight` series of this population.
    pub call_rate: Option<Population>,
    /// Feeds `ApiErrorRateInsight` for this code.
    pub error_code: Option<String>,
    /// Normalised caller (assumed-role session name removed).
    pub caller: String,
    pub user_agent: String,
    /// Made by an AWS service on the account's behalf (`invokedBy`, or an `AWSService`
    /// identity), whatever the caller's ARN: for `SUPPRESS_AWS_SERVICE_CALLERS`.
    pub via_aws_service: bool,
    /// 64-bit hash of `eventID`, for de-duplication.
    pub id_hash: u64,
}

/// Why a record is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ignored {
    /// Insights, aggregated or network-activity records.
    NotAnApiCall,
    /// Data events (analysed only with `DATA_EVENT_INSIGHTS`).
    DataEvent,
    /// A successful read, or a record that does not say whether it is a write.
    ReadOrUnknown,
    /// Missing or unparseable `eventTime`, `eventSource` or `eventName`.
    Invalid,
}

impl Ignored {
    pub fn label(self) -> &'static str {
        match self {
            Ignored::NotAnApiCall => "not an API call",
            Ignored::DataEvent => "data event",
            Ignored::ReadOrUnknown => "read (or no readOnly) without error",
            Ignored::Invalid => "invalid record",
        }
    }
}

/// Apply the counting rules to one record. `fallback_id` gives the stand-in ID when `eventID` is
/// missing; it is only called then, so the common case pays nothing for it.
pub fn classify_record(
    raw: RawRecord<'_>,
    coverage: Coverage,
    fallback_id: impl FnOnce() -> u64,
) -> Result<CountedEvent, Ignored> {
    let event_type = raw.event_type.as_deref().unwrap_or("AwsApiCall");
    if matches!(
        event_type,
        "AwsCloudTrailInsight" | "AwsAggregatedEvent" | "AwsVpceEvent" | "AwsVpceEvents"
    ) {
        return Err(Ignored::NotAnApiCall);
    }
    let management = match raw.event_category.as_deref() {
        Some("Management") => true,
        Some("Data") => false,
        Some(_) => return Err(Ignored::NotAnApiCall),
        None => raw.management_event != Some(false),
    };
    let minute = raw
        .event_time
        .as_deref()
        .and_then(Minute::parse_event_time)
        .ok_or(Ignored::Invalid)?;
    let (Some(event_source), Some(event_name)) = (raw.event_source, raw.event_name) else {
        return Err(Ignored::Invalid);
    };
    if event_source.is_empty() || event_name.is_empty() {
        return Err(Ignored::Invalid);
    }
    let (population, call_rate) = if management {
        let call_rate = match raw.read_only {
            _ if event_type == "AwsConsoleSignIn" => None,
            Some(false) => Some(Population::Management),
            Some(true) if coverage.read_calls => Some(Population::ReadManagement),
            _ => None,
        };
        (Population::Management, call_rate)
    } else if coverage.data_events {
        (Population::Data, Some(Population::Data))
    } else {
        return Err(Ignored::DataEvent);
    };
    let error_code = raw.error_code.filter(|c| !c.is_empty());
    if call_rate.is_none() && error_code.is_none() {
        return Err(Ignored::ReadOrUnknown);
    }
    let id_hash = match raw.event_id.as_deref() {
        Some(id) if !id.is_empty() => fnv1a(id.as_bytes()),
        _ => fallback_id(),
    };
    let identity = identity(raw.user_identity);
    Ok(CountedEvent {
        minute,
        event_source: event_source.into_owned(),
        event_name: event_name.into_owned(),
        population,
        call_rate,
        error_code: error_code.map(Cow::into_owned),
        caller: caller_of(identity.as_ref()),
        via_aws_service: identity.as_ref().is_some_and(|id| {
            id.invoked_by.as_deref().is_some_and(|s| !s.is_empty())
                || id.identity_type.as_deref() == Some("AWSService")
        }),
        user_agent: raw
            .user_agent
            .filter(|u| !u.is_empty())
            .map_or_else(|| "unknown".into(), Cow::into_owned),
        id_hash,
    })
}

/// The caller as Insights attributes it: the ARN, with an assumed role's session name removed.
pub fn caller_of(identity: Option<&RawIdentity<'_>>) -> String {
    let Some(id) = identity else {
        return "unknown".into();
    };
    if let Some(arn) = id.arn.as_deref().filter(|a| !a.is_empty()) {
        return normalise_arn(arn);
    }
    id.invoked_by
        .as_deref()
        .or(id.principal_id.as_deref())
        .or(id.identity_type.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

/// `arn:aws:sts::1:assumed-role/Role/Session` → `arn:aws:sts::1:assumed-role/Role`.
pub fn normalise_arn(arn: &str) -> String {
    if let Some(pos) = arn.find(":assumed-role/") {
        let after = &arn[pos + ":assumed-role/".len()..];
        if let Some(slash) = after.find('/') {
            return arn[..pos + ":assumed-role/".len() + slash].to_string();
        }
    }
    arn.to_string()
}

/// FNV-1a: a stable 64-bit hash (the same in every build and on every machine).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Any JSON value, read leniently: a string (borrowed when it has no escapes), a boolean, or
/// something else (skipped without being built).
enum Lenient<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    Other,
}

impl<'de> Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Lenient::Str(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Lenient::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Lenient::Other)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_any(V)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// Accepts a string; any other JSON value (number, object, null) reads as absent.
fn lenient_string<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(match Lenient::deserialize(d)? {
        Lenient::Str(s) => Some(s),
        _ => None,
    })
}

/// Accepts `true`/`false` and the strings `"true"`/`"false"`; anything else reads as absent.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Lenient::deserialize(d)? {
        Lenient::Bool(b) => Some(b),
        Lenient::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Lenient::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// A `userIdentity` that is not an object reads as absent. Within it a repeated key keeps its
/// last value and odd values read as absent, so the identity never fails the record.
fn lenient_identity<'de: 'a, 'a, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<RawIdentity<'a>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(field_identifier, rename_all = "camelCase")]
    enum Field {
        #[serde(rename = "type")]
        Type,
        Arn,
        InvokedBy,
        PrincipalId,
        #[serde(other)]
        Other,
    }
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<RawIdentity<'de>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut id = RawIdentity::default();
            let text = |v: Lenient<'de>| match v {
                Lenient::Str(s) => Some(s),
                _ => None,
            };
            while let Some(field) = a.next_key::<Field>()? {
                match field {
                    Field::Type => id.identity_type = text(a.next_value()?),
                    Field::Arn => id.arn = text(a.next_value()?),
                    Field::InvokedBy => id.invoked_by = text(a.next_value()?),
                    Field::PrincipalId => id.principal_id = text(a.next_value()?),
                    Field::Other => {
                        a.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(Some(id))
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            while a.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeply_nested_fields_read_as_absent_without_recursing() {
        let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let deep_map = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        let json = format!(
            r#"{{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances",
            "readOnly":false,"managementEvent":{},"userAgent":{},"requestParameters":{},
            "userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","sessionContext":{}}}}}"#,
            deep(50_000),
            deep_map(50_000),
            deep(50_000),
            deep_map(50_000)
        );
        let r = parse(&json);
        assert_eq!(r.management_event, None);
        assert_eq!(r.user_agent, None);
        let e = classify_record(r, Coverage::default(), || 0).unwrap();
        assert_eq!(e.caller, "arn:aws:iam::1:user/a");
        let json = format!(r#"{{"userIdentity":{},"readOnly":"TRUE"}}"#, deep(50_000));
        let r = parse(&json);
        assert!(identity(r.user_identity).is_none());
        assert_eq!(r.read_only, Some(true));
    }

    fn parse(json: &str) -> RawRecord<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn aws_write_example_counts_for_call_rate() {
        let r = parse(
            r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Mary_Major"},
            "eventTime":"2023-07-19T21:33:41Z","eventSource":"cloudtrail.amazonaws.com","eventName":"StartLogging",
            "userAgent":"aws-cli/2.13.5","eventID":"eae87c48-d421-4626-94f5-EXAMPLEac994","readOnly":false,
            "eventType":"AwsApiCall","managementEvent":true,"eventCategory":"Management","requestParameters":{"name":"myTrail"}}"#,
        );
        let e = classify_record(r, Coverage::default(), || 0).unwrap();
        assert_eq!(e.call_rate, Some(Population::Management));
        assert_eq!(e.error_code, None);
        assert_eq!(e.caller, "arn:aws:iam::123456789012:user/Mary_Major");
        assert_eq!(e.minute.to_rfc3339(), "2023-07-19T21:33:00Z");
        assert!(!e.via_aws_service);
    }

    #[test]
    fn calls_a_service_made_on_a_callers_behalf_are_marked() {
        let record = |identity: &str| {
            format!(
                r#"{{"userIdentity":{identity},"eventTime":"2023-07-19T21:33:41Z","eventSource":"kms.amazonaws.com",
                "eventName":"CreateGrant","readOnly":false,"eventID":"e1"}}"#
            )
        };
        let via = |identity: &str| {
            let json = record(identity);
            let e = classify_record(parse(&json), Coverage::default(), || 0).unwrap();
            (e.caller, e.via_aws_service)
        };
        // The caller stays the role's ARN; `invokedBy` marks the call as made for it.
        assert_eq!(
            via(
                r#"{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/App/s","invokedBy":"ec2.amazonaws.com"}"#
            ),
            ("arn:aws:sts::1:assumed-role/App".into(), true)
        );
        assert_eq!(
            via(r#"{"type":"AWSService","invokedBy":"cloudtrail.amazonaws.com"}"#),
            ("cloudtrail.amazonaws.com".into(), true)
        );
        assert_eq!(via(r#"{"type":"AWSService"}"#), ("AWSService".into(), true));
        assert_eq!(
            via(r#"{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","invokedBy":""}"#),
            ("arn:aws:iam::1:user/a".into(), false)
        );
    }

    #[test]
    fn old_error_example_counts_for_error_rate_only() {
        let r = parse(
            r#"{"eventVersion":"1.04","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/Alice"},
            "eventTime":"2016-07-14T19:15:45Z","eventSource":"cloudtrail.amazonaws.com","eventName":"UpdateTrail",
            "errorCode":"TrailNotFoundException","eventID":"b7d4398e-b2f0-4faa-9c76-e2d316a8d67f","eventType":"AwsApiCall"}"#,
        );
        let e = classify_record(r, Coverage::default(), || 0).unwrap();
        assert_eq!(e.call_rate, None, "no readOnly: not known to be a write");
        assert_eq!(e.error_code.as_deref(), Some("TrailNotFoundException"));
    }

    #[test]
    fn assumed_role_session_is_removed() {
        assert_eq!(
            normalise_arn("arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName"),
            "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed"
        );
        assert_eq!(
            normalise_arn("arn:aws:sts::1:assumed-role/Role"),
            "arn:aws:sts::1:assumed-role/Role"
        );
        let id = RawIdentity {
            invoked_by: Some(Cow::Borrowed("ec2.amazonaws.com")),
            ..Default::default()
        };
        assert_eq!(caller_of(Some(&id)), "ec2.amazonaws.com");
    }

    #[test]
    fn insight_aggregated_and_data_records_are_ignored() {
        let insight = parse(
            r#"{"eventType":"AwsCloudTrailInsight","eventCategory":"Insight","eventTime":"2023-07-10T01:42:00Z"}"#,
        );
        assert_eq!(
            classify_record(insight, Coverage::default(), || 0),
            Err(Ignored::NotAnApiCall)
        );
        let agg = parse(r#"{"eventType":"AwsAggregatedEvent","eventCategory":"Aggregated"}"#);
        assert_eq!(
            classify_record(agg, Coverage::default(), || 0),
            Err(Ignored::NotAnApiCall)
        );
        let data = parse(
            r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"s3.amazonaws.com","eventName":"PutObject","readOnly":false,"eventCategory":"Data","managementEvent":false}"#,
        );
        assert_eq!(
            classify_record(data, Coverage::default(), || 0),
            Err(Ignored::DataEvent)
        );
    }

    #[test]
    fn odd_fields_do_not_fail_the_record() {
        let r = parse(
            r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":7,"readOnly":"false","userIdentity":"x"}"#,
        );
        assert_eq!(
            classify_record(r, Coverage::default(), || 0),
            Err(Ignored::Invalid)
        );
        let r = parse(
            r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":"false","userIdentity":"x","userAgent":{"a":1}}"#,
        );
        let e = classify_record(r, Coverage::default(), || 42).unwrap();
        assert_eq!(e.call_rate, Some(Population::Management));
        assert_eq!(e.caller, "unknown");
        assert_eq!(e.user_agent, "unknown");
        assert_eq!(e.id_hash, 42);
        // The identity is read only for counted records, and one too deep to read is no caller.
        let deep_arn = format!(
            r#"{{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":false,"userIdentity":{{"arn":{}1{}}}}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let e = classify_record(parse(&deep_arn), Coverage::default(), || 0).unwrap();
        assert_eq!(e.caller, "unknown");
        let bad_time =
            parse(r#"{"eventTime":"soon","eventSource":"a","eventName":"b","readOnly":false}"#);
        assert_eq!(
            classify_record(bad_time, Coverage::default(), || 0),
            Err(Ignored::Invalid)
        );
    }

    #[test]
    fn successful_reads_are_ignored() {
        let r = parse(
            r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","readOnly":true}"#,
        );
        assert_eq!(
            classify_record(r, Coverage::default(), || 0),
            Err(Ignored::ReadOrUnknown)
        );
    }

    #[test]
    fn opt_in_populations_get_their_own_series() {
        let read = r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","readOnly":true}"#;
        let data = r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true,"eventCategory":"Data","managementEvent":false,"errorCode":"NoSuchKey"}"#;
        let write = r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":false}"#;
        let signin = r#"{"eventTime":"2023-07-10T01:42:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","readOnly":true,"eventType":"AwsConsoleSignIn"}"#;
        let all = Coverage {
            read_calls: true,
            data_events: true,
        };
        let e = classify_record(parse(read), all, || 0).unwrap();
        assert_eq!(
            (e.population, e.call_rate),
            (Population::Management, Some(Population::ReadManagement))
        );
        let e = classify_record(parse(data), all, || 0).unwrap();
        assert_eq!(
            (e.population, e.call_rate),
            (Population::Data, Some(Population::Data))
        );
        assert_eq!(e.error_code.as_deref(), Some("NoSuchKey"));
        let e = classify_record(parse(write), all, || 0).unwrap();
        assert_eq!(
            e.call_rate,
            Some(Population::Management),
            "writes stay AWS's"
        );
        assert_eq!(
            classify_record(parse(signin), all, || 0),
            Err(Ignored::ReadOrUnknown),
            "console sign-ins are not API calls"
        );
        let reads_only = Coverage {
            read_calls: true,
            data_events: false,
        };
        assert_eq!(
            classify_record(parse(data), reads_only, || 0),
            Err(Ignored::DataEvent)
        );
    }
}
