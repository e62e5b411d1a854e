//! Insights records and files exactly in CloudTrail's trail format (reference §1), and their
//! deterministic identity: IDs and object keys derive from the insight itself, so a retried or
//! concurrent write of the same record overwrites rather than duplicates.

use crate::base::series::{InsightType, Population, SeriesKey};
use crate::base::time::Minute;
use crate::cloudtrail::key::TrailScope;
use crate::detect::detector::{Phase, Ranked, RankedAttribution, Transition};
use flate2::{Compression, write::GzEncoder};
use serde::{Deserialize, Serialize};
use std::io::Write;
use uuid::Uuid;

/// Namespace for our name-based (v5) UUIDs.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_3c2e_8d4a_4f7b_9e21_7a5c_0d3e_9f14);
/// The record format version we emit (the newest seen on Insights records).
pub const EVENT_VERSION: &str = "1.09";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightRecord {
    pub event_version: String,
    pub event_time: String,
    pub aws_region: String,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_account_id: Option<String>,
    #[serde(rename = "sharedEventID")]
    pub shared_event_id: String,
    pub insight_details: InsightDetails,
    pub event_category: String,
    /// Our extensions, under one clearly named field that AWS consumers ignore. Absent on every
    /// record AWS's product could have written.
    #[serde(
        rename = "trailInsights",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extension: Option<Extension>,
}

/// What makes a record an extension beyond AWS's Insights.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    /// `Read`: the series counts successful read management calls (AWS's call rate counts
    /// writes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<String>,
    /// `Drop`: the rate fell far below its baseline (AWS reports only rises).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
}

impl InsightRecord {
    /// The series this record is about.
    pub fn series(&self) -> SeriesKey {
        let d = &self.insight_details;
        let key = match (InsightType::parse(&d.insight_type), &d.error_code) {
            (Some(InsightType::ApiErrorRateInsight), code) => SeriesKey::error_rate(
                &d.event_source,
                &d.event_name,
                code.as_deref().unwrap_or(""),
            ),
            _ => SeriesKey::call_rate(&d.event_source, &d.event_name),
        };
        let reads = self
            .extension
            .as_ref()
            .is_some_and(|x| x.calls.as_deref() == Some("Read"));
        let population = match d.source_event_category.as_deref() {
            Some("Data") => Population::Data,
            _ if reads => Population::ReadManagement,
            _ => Population::Management,
        };
        key.in_population(population)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightDetails {
    pub state: String,
    pub event_source: String,
    pub event_name: String,
    pub insight_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_event_category: Option<String>,
    pub insight_context: InsightContext,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightContext {
    pub statistics: Statistics,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributions: Option<Vec<AttributionBlock>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    pub baseline: Average,
    pub insight: Average,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insight_duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_duration: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Average {
    pub average: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionBlock {
    pub attribute: String,
    pub insight: Vec<AttributionValue>,
    pub baseline: Vec<AttributionValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionValue {
    pub value: String,
    pub average: f64,
}

/// The ID shared by an insight's Start and End records.
pub fn shared_event_id(scope: &TrailScope, series: &SeriesKey, start: Minute) -> Uuid {
    let name = format!(
        "{}|{}|{}|{}",
        scope.account,
        scope.region,
        series.id(),
        start.0
    );
    Uuid::new_v5(&ID_NAMESPACE, name.as_bytes())
}

/// The shared ID of `t`'s insight: a drop and a spike starting in the same minute differ.
fn transition_id(scope: &TrailScope, series: &SeriesKey, t: &Transition) -> Uuid {
    let shared = shared_event_id(scope, series, t.start);
    if t.drop {
        Uuid::new_v5(&shared, b"drop")
    } else {
        shared
    }
}

fn event_id(shared: Uuid, phase: Phase) -> Uuid {
    let tag = match phase {
        Phase::Start => "Start",
        Phase::End => "End",
    };
    Uuid::new_v5(&shared, tag.as_bytes())
}

/// Render one transition as a CloudTrail Insights record.
pub fn render(scope: &TrailScope, series: &SeriesKey, t: &Transition) -> InsightRecord {
    let shared = transition_id(scope, series, t);
    let is_call_rate = series.insight_type == InsightType::ApiCallRateInsight;
    let block = |attribute: &str, insight: &Ranked, baseline: &Ranked| AttributionBlock {
        attribute: attribute.to_string(),
        insight: values(insight),
        baseline: values(baseline),
    };
    let (i, b): (&RankedAttribution, &RankedAttribution) =
        (&t.insight_attribution, &t.baseline_attribution);
    let mut attributions = vec![
        block("userIdentityArn", &i.callers, &b.callers),
        block("userAgent", &i.agents, &b.agents),
    ];
    if is_call_rate {
        attributions.push(block("errorCode", &i.errors, &b.errors));
    }
    InsightRecord {
        event_version: EVENT_VERSION.into(),
        event_time: t.event_time.to_rfc3339(),
        aws_region: scope.region.clone(),
        event_id: event_id(shared, t.phase).to_string(),
        event_type: "AwsCloudTrailInsight".into(),
        recipient_account_id: Some(scope.account.clone()),
        shared_event_id: shared.to_string(),
        insight_details: InsightDetails {
            state: match t.phase {
                Phase::Start => "Start".into(),
                Phase::End => "End".into(),
            },
            event_source: series.event_source.clone(),
            event_name: series.event_name.clone(),
            insight_type: series.insight_type.as_str().into(),
            error_code: series.error_code.clone(),
            source_event_category: Some(series.population.source_event_category().into()),
            insight_context: InsightContext {
                statistics: Statistics {
                    baseline: Average {
                        average: t.baseline_average,
                    },
                    insight: Average {
                        average: t.insight_average,
                    },
                    insight_duration: Some(t.insight_duration),
                    baseline_duration: Some(t.baseline_duration),
                },
                attributions: Some(attributions),
            },
        },
        event_category: "Insight".into(),
        extension: extension(series, t),
    }
}

fn extension(series: &SeriesKey, t: &Transition) -> Option<Extension> {
    let x = Extension {
        calls: (series.population == Population::ReadManagement).then(|| "Read".into()),
        direction: t.drop.then(|| "Drop".into()),
    };
    (x != Extension::default()).then_some(x)
}

fn values(r: &Ranked) -> Vec<AttributionValue> {
    r.iter()
        .map(|(v, a)| AttributionValue {
            value: v.clone(),
            average: *a,
        })
        .collect()
}

/// An Insights file ready to store: its object key (relative to the destination prefix) and
/// gzip body.
#[derive(Debug, Clone)]
pub struct InsightFile {
    pub key: String,
    pub body: Vec<u8>,
    pub record: InsightRecord,
}

/// The object key of a record's file, in the `CloudTrail-Insight` layout.
fn file_key(scope: &TrailScope, event_id: &str, stamp: Minute) -> String {
    let unique = unique_suffix(event_id);
    let org = scope
        .org
        .as_ref()
        .map(|o| format!("{o}/"))
        .unwrap_or_default();
    format!(
        "AWSLogs/{org}{acct}/CloudTrail-Insight/{region}/{date}/{acct}_CloudTrail-Insight_{region}_{stamp}_{unique}.json.gz",
        acct = scope.account,
        region = scope.region,
        date = stamp.date_path(),
        stamp = stamp.to_compact(),
    )
}

/// The key the Start file of the insight starting at `start` was written under.
pub fn start_file_key(scope: &TrailScope, series: &SeriesKey, start: Minute) -> String {
    let id = event_id(shared_event_id(scope, series, start), Phase::Start);
    file_key(scope, &id.to_string(), start)
}

/// Build the file for one record, in the `CloudTrail-Insight` layout.
pub fn insight_file(scope: &TrailScope, record: InsightRecord) -> std::io::Result<InsightFile> {
    let stamp = Minute::parse_event_time(&record.event_time).unwrap_or(Minute(0));
    let key = file_key(scope, &record.event_id, stamp);
    let json = serde_json::to_vec(&serde_json::json!({ "Records": [&record] }))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&json)?;
    Ok(InsightFile {
        key,
        body: gz.finish()?,
        record,
    })
}

/// 16 alphanumeric characters derived from the record's ID (AWS uses 16 random ones).
fn unique_suffix(event_id: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut n = Uuid::new_v5(&ID_NAMESPACE, event_id.as_bytes()).as_u128();
    (0..16)
        .map(|_| {
            let c = ALPHABET[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

/// Read the records of an Insights file (gzip or plain JSON).
pub fn parse_insight_file(bytes: &[u8]) -> Result<Vec<InsightRecord>, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "Records")]
        records: Vec<InsightRecord>,
    }
    let json = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
            .map_err(|e| format!("corrupt gzip: {e}"))?;
        out
    } else {
        bytes.to_vec()
    };
    serde_json::from_slice::<File>(&json)
        .map(|f| f.records)
        .map_err(|e| format!("not an Insights file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::key::classify_key;

    fn scope() -> TrailScope {
        TrailScope {
            org: None,
            account: "123456789012".into(),
            region: "us-east-1".into(),
        }
    }

    fn transition(phase: Phase) -> Transition {
        let start = Minute::parse_event_time("2023-07-10T01:42:00Z").unwrap();
        let calls = vec![(
            "arn:aws:sts::123456789012:assumed-role/CodeDeployRole1".to_string(),
            5.0,
        )];
        Transition {
            phase,
            start,
            event_time: if phase == Phase::Start {
                start
            } else {
                start.plus(1)
            },
            insight_average: 5.0,
            insight_duration: 1,
            baseline_average: 1.0 / 10182.0,
            baseline_duration: 10182,
            insight_attribution: RankedAttribution {
                callers: calls.clone(),
                agents: vec![("codedeploy.amazonaws.com".into(), 5.0)],
                errors: vec![("null".into(), 5.0)],
            },
            baseline_attribution: RankedAttribution::default(),
            accepted_as_normal: false,
            replaces: None,
            drop: false,
            withheld: false,
        }
    }

    #[test]
    fn start_and_end_share_the_id_and_differ_in_event_id() {
        let k = SeriesKey::call_rate("autoscaling.amazonaws.com", "CompleteLifecycleAction");
        let s = render(&scope(), &k, &transition(Phase::Start));
        let e = render(&scope(), &k, &transition(Phase::End));
        assert_eq!(s.shared_event_id, e.shared_event_id);
        assert_ne!(s.event_id, e.event_id);
        assert_eq!(
            s,
            render(&scope(), &k, &transition(Phase::Start)),
            "deterministic"
        );
        assert_eq!(e.event_time, "2023-07-10T01:43:00Z");
        let blocks = s
            .insight_details
            .insight_context
            .attributions
            .as_ref()
            .unwrap();
        let names: Vec<_> = blocks.iter().map(|b| b.attribute.as_str()).collect();
        assert_eq!(names, ["userIdentityArn", "userAgent", "errorCode"]);
    }

    #[test]
    fn opt_in_populations_are_marked_and_aws_records_are_not() {
        let aws = SeriesKey::call_rate("ec2.amazonaws.com", "RunInstances");
        let r = render(&scope(), &aws, &transition(Phase::Start));
        assert_eq!(r.extension, None);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("trailInsights").is_none(), "{json}");
        assert_eq!(r.series(), aws);

        let reads = SeriesKey::call_rate("ec2.amazonaws.com", "DescribeInstances")
            .in_population(Population::ReadManagement);
        let r = render(&scope(), &reads, &transition(Phase::Start));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["trailInsights"],
            serde_json::json!({ "calls": "Read" })
        );
        assert_eq!(json["insightDetails"]["sourceEventCategory"], "Management");
        assert_eq!(json["insightDetails"]["insightType"], "ApiCallRateInsight");
        assert_eq!(r.series(), reads);

        let data = SeriesKey::error_rate("s3.amazonaws.com", "PutObject", "InvalidRequest")
            .in_population(Population::Data);
        let r = render(&scope(), &data, &transition(Phase::End));
        assert_eq!(
            r.extension, None,
            "data-event Insights are AWS's own format"
        );
        assert_eq!(
            r.insight_details.source_event_category.as_deref(),
            Some("Data")
        );
        assert_eq!(r.series(), data);
        assert_ne!(
            r.shared_event_id,
            render(
                &scope(),
                &data.clone().in_population(Population::Management),
                &transition(Phase::End)
            )
            .shared_event_id,
            "a data series is a different insight from the management one"
        );

        let mut fall = transition(Phase::Start);
        fall.drop = true;
        let r = render(&scope(), &aws, &fall);
        assert_eq!(
            serde_json::to_value(&r).unwrap()["trailInsights"],
            serde_json::json!({ "direction": "Drop" })
        );
    }

    #[test]
    fn error_rate_records_carry_the_code_and_two_attributions() {
        let k = SeriesKey::error_rate(
            "cloudtrail.amazonaws.com",
            "DescribeQuery",
            "QueryIdNotFoundException",
        );
        let r = render(&scope(), &k, &transition(Phase::Start));
        assert_eq!(
            r.insight_details.error_code.as_deref(),
            Some("QueryIdNotFoundException")
        );
        assert_eq!(
            r.insight_details
                .insight_context
                .attributions
                .as_ref()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn file_layout_and_roundtrip() {
        let k = SeriesKey::call_rate("ec2.amazonaws.com", "RunInstances");
        let r = render(&scope(), &k, &transition(Phase::Start));
        let f = insight_file(&scope(), r.clone()).unwrap();
        assert!(f.key.starts_with("AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2023/07/10/123456789012_CloudTrail-Insight_us-east-1_20230710T0142Z_"), "{}", f.key);
        let name = f.key.rsplit('/').next().unwrap();
        let unique = name
            .trim_end_matches(".json.gz")
            .rsplit('_')
            .next()
            .unwrap();
        assert_eq!(unique.len(), 16);
        assert!(unique.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(parse_insight_file(&f.body).unwrap(), vec![r]);
        assert!(
            classify_key(&f.key).is_err(),
            "our own output is never analysed"
        );
        assert_eq!(
            start_file_key(&scope(), &k, transition(Phase::Start).start),
            f.key
        );
        let org = TrailScope {
            org: Some("o-abc123".into()),
            ..scope()
        };
        let f = insight_file(&org, render(&org, &k, &transition(Phase::End))).unwrap();
        assert!(
            f.key
                .starts_with("AWSLogs/o-abc123/123456789012/CloudTrail-Insight/"),
            "{}",
            f.key
        );
    }
}
