//! What a Lambda invocation asks for, from any of the shapes that reach the function: direct S3
//! notifications, SQS messages carrying them (or S3's test event), SNS-wrapped notifications,
//! CloudTrail's own SNS message, EventBridge "Object Created" events, and the scheduled sweep.
//!
//! Parsed from plain JSON values rather than the `aws_lambda_events` structs so one function can
//! accept every shape and tell a malformed message from a foreign one with a precise reason.

use crate::cloudtrail::key::decode_notification_key;
use serde_json::Value;

/// One object to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// The decoded key (notification keys are form-encoded).
    pub key: String,
    /// The SQS message it came in, for partial batch failures.
    pub message_id: Option<String>,
}

/// A message that carried nothing to do (S3's test event, a non-create event) or that could not
/// be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub message_id: Option<String>,
    pub reason: String,
    /// Malformed (logged as a warning and counted) rather than merely not for us.
    pub malformed: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub objects: Vec<ObjectRef>,
    pub ignored: Vec<Ignored>,
    /// The scheduled sweep that closes minutes of accounts that went quiet.
    pub sweep: bool,
    /// The event was an SQS batch: report failures per message.
    pub sqs: bool,
    /// A one-off backfill (`{"trail-insights":"backfill", "bucket": …}`).
    pub backfill: Option<crate::app::backfill::BackfillRequest>,
}

/// The payload of the scheduled sweep (the template's Schedule `Input`).
pub const SWEEP_MARKER: &str = "trail-insights";

pub fn parse_invocation(event: &Value) -> Invocation {
    let mut inv = Invocation::default();
    if event.get(SWEEP_MARKER).and_then(Value::as_str) == Some("backfill") {
        match crate::app::backfill::BackfillRequest::from_event(event) {
            Ok(r) => inv.backfill = Some(r),
            Err(reason) => inv.ignored.push(malformed(None, reason)),
        }
        return inv;
    }
    if event.get(SWEEP_MARKER).and_then(Value::as_str) == Some("sweep")
        || event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
    {
        inv.sweep = true;
        return inv;
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let is_sqs = records
            .first()
            .and_then(|r| r.get("eventSource"))
            .and_then(Value::as_str)
            == Some("aws:sqs");
        if is_sqs {
            inv.sqs = true;
            for r in records {
                let id = r.get("messageId").and_then(Value::as_str).map(String::from);
                match r.get("body").and_then(Value::as_str) {
                    Some(body) => match serde_json::from_str::<Value>(body) {
                        Ok(v) => collect(&v, id, &mut inv),
                        Err(e) => inv
                            .ignored
                            .push(malformed(id, format!("message body is not JSON: {e}"))),
                    },
                    None => inv
                        .ignored
                        .push(malformed(id, "SQS message without a body".into())),
                }
            }
            return inv;
        }
    }
    collect(event, None, &mut inv);
    inv
}

/// S3 notification event types (the part before `:`), named in reasons when they match.
const S3_EVENT_CATEGORIES: &[&str] = &[
    "ObjectRemoved",
    "ObjectRestore",
    "ObjectTagging",
    "ObjectAcl",
    "LifecycleExpiration",
    "LifecycleTransition",
    "IntelligentTiering",
    "ReducedRedundancyLostObject",
    "Replication",
];

/// S3's EventBridge detail types other than Object Created.
const S3_DETAIL_TYPES: &[&str] = &[
    "Object Deleted",
    "Object Restore Initiated",
    "Object Restore Completed",
    "Object Restore Expired",
    "Object Tags Added",
    "Object Tags Deleted",
    "Object ACL Updated",
    "Object Storage Class Changed",
    "Object Access Tier Changed",
];

/// `value` quoted when it is one of `names`, else a placeholder: reasons are logged, and a
/// message's free text (which could be anything, of any size) never is.
fn known(value: &str, names: &[&str]) -> String {
    if names.contains(&value) {
        format!("{value:?}")
    } else {
        "(unrecognised type)".into()
    }
}

/// A non-empty string: an empty bucket name or key cannot be fetched (the SDK refuses to build
/// the request, which would otherwise look like a failure worth retrying).
fn non_empty(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn malformed(message_id: Option<String>, reason: String) -> Ignored {
    Ignored {
        message_id,
        reason,
        malformed: true,
    }
}

fn not_for_us(message_id: Option<String>, reason: String) -> Ignored {
    Ignored {
        message_id,
        reason,
        malformed: false,
    }
}

/// Collect the objects of one (unwrapped) notification.
fn collect(v: &Value, id: Option<String>, inv: &mut Invocation) {
    // S3's test event, sent when a notification configuration is saved.
    if v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        inv.ignored.push(not_for_us(id, "s3:TestEvent".into()));
        return;
    }
    // EventBridge "Object Created".
    if v.get("source").and_then(Value::as_str) == Some("aws.s3") {
        let bucket = v.pointer("/detail/bucket/name").and_then(non_empty);
        let key = v.pointer("/detail/object/key").and_then(non_empty);
        match (v.get("detail-type").and_then(Value::as_str), bucket, key) {
            (Some("Object Created"), Some(b), Some(k)) => inv.objects.push(ObjectRef {
                bucket: b.into(),
                // EventBridge keys are not form-encoded.
                key: k.into(),
                message_id: id,
            }),
            (Some("Object Created"), _, _) => inv.ignored.push(malformed(
                id,
                "Object Created event without bucket or key".into(),
            )),
            (other, _, _) => inv.ignored.push(not_for_us(
                id,
                format!(
                    "EventBridge event {} is not Object Created",
                    known(other.unwrap_or(""), S3_DETAIL_TYPES)
                ),
            )),
        }
        return;
    }
    // CloudTrail's own SNS notification: {"s3Bucket": "...", "s3ObjectKey": ["...", ...]}.
    if let (Some(bucket), Some(keys)) = (
        v.get("s3Bucket").and_then(non_empty),
        v.get("s3ObjectKey").and_then(Value::as_array),
    ) {
        for k in keys.iter().filter_map(non_empty) {
            inv.objects.push(ObjectRef {
                bucket: bucket.into(),
                key: k.into(),
                message_id: id.clone(),
            });
        }
        return;
    }
    let Some(records) = v.get("Records").and_then(Value::as_array) else {
        inv.ignored.push(malformed(
            id,
            "not an S3, SNS, SQS or EventBridge notification".into(),
        ));
        return;
    };
    for r in records {
        // SNS: the S3 notification is the message text.
        if let Some(message) = r.pointer("/Sns/Message").and_then(Value::as_str) {
            match serde_json::from_str::<Value>(message) {
                Ok(inner) => collect(&inner, id.clone(), inv),
                Err(e) => inv.ignored.push(malformed(
                    id.clone(),
                    format!("SNS message is not JSON: {e}"),
                )),
            }
            continue;
        }
        let event_name = r.get("eventName").and_then(Value::as_str).unwrap_or("");
        if r.get("eventSource").and_then(Value::as_str) != Some("aws:s3") {
            inv.ignored
                .push(malformed(id.clone(), "record is not from aws:s3".into()));
            continue;
        }
        if !event_name.starts_with("ObjectCreated:") {
            let category = event_name.split(':').next().unwrap_or("");
            inv.ignored.push(not_for_us(
                id.clone(),
                format!(
                    "{} event is not an object creation",
                    known(category, S3_EVENT_CATEGORIES)
                ),
            ));
            continue;
        }
        let bucket = r.pointer("/s3/bucket/name").and_then(non_empty);
        let key = r.pointer("/s3/object/key").and_then(non_empty);
        match (bucket, key) {
            (Some(b), Some(k)) => inv.objects.push(ObjectRef {
                bucket: b.into(),
                key: decode_notification_key(k),
                message_id: id.clone(),
            }),
            _ => inv.ignored.push(malformed(
                id.clone(),
                "S3 record without bucket name or object key".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s3(key: &str) -> Value {
        json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": key, "size": 1}}}]})
    }

    #[test]
    fn direct_s3_keys_are_form_decoded() {
        let inv = parse_invocation(&s3("AWSLogs/a+b/caf%C3%A9%2B.json.gz"));
        assert_eq!(
            inv.objects,
            vec![ObjectRef {
                bucket: "b".into(),
                key: "AWSLogs/a b/café+.json.gz".into(),
                message_id: None
            }]
        );
        assert!(!inv.sqs && !inv.sweep);
    }

    #[test]
    fn sqs_batch_keeps_message_ids_and_isolates_bad_messages() {
        let event = json!({"Records": [
            {"messageId": "m1", "eventSource": "aws:sqs", "body": s3("k1").to_string()},
            {"messageId": "m2", "eventSource": "aws:sqs", "body": "{not json"},
            {"messageId": "m3", "eventSource": "aws:sqs", "body": json!({"Service": "Amazon S3", "Event": "s3:TestEvent"}).to_string()},
            {"messageId": "m4", "eventSource": "aws:sqs", "body": json!({"Records": [{"Sns": {"Message": s3("k4").to_string()}}]}).to_string()},
        ]});
        let inv = parse_invocation(&event);
        assert!(inv.sqs);
        let keys: Vec<_> = inv
            .objects
            .iter()
            .map(|o| (o.key.as_str(), o.message_id.as_deref()))
            .collect();
        assert_eq!(keys, [("k1", Some("m1")), ("k4", Some("m4"))]);
        assert_eq!(inv.ignored.len(), 2);
        assert!(inv.ignored[0].malformed && inv.ignored[0].message_id.as_deref() == Some("m2"));
        assert!(!inv.ignored[1].malformed, "the test event is not an error");
    }

    #[test]
    fn sns_eventbridge_cloudtrail_sns_and_sweep() {
        let sns = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": s3("k").to_string()}}]});
        assert_eq!(parse_invocation(&sns).objects[0].key, "k");
        let eb = json!({"version": "0", "source": "aws.s3", "detail-type": "Object Created",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "a b.json.gz"}}});
        assert_eq!(parse_invocation(&eb).objects[0].key, "a b.json.gz");
        let ct = json!({"s3Bucket": "b", "s3ObjectKey": ["k1", "k2"]});
        assert_eq!(parse_invocation(&ct).objects.len(), 2);
        assert!(parse_invocation(&json!({"trail-insights": "sweep"})).sweep);
        assert!(
            parse_invocation(&json!({"source": "aws.events", "detail-type": "Scheduled Event"}))
                .sweep
        );
    }

    #[test]
    fn deletes_and_garbage_are_ignored_with_reasons() {
        let mut del = s3("k");
        del["Records"][0]["eventName"] = json!("ObjectRemoved:Delete");
        let inv = parse_invocation(&del);
        assert!(inv.objects.is_empty() && !inv.ignored[0].malformed);
        assert_eq!(
            inv.ignored[0].reason,
            "\"ObjectRemoved\" event is not an object creation"
        );
        del["Records"][0]["eventName"] = json!("ObjectRemoved:AKIAFAKEVALUE");
        assert!(!parse_invocation(&del).ignored[0].reason.contains("AKIA"));
        del["Records"][0]["eventName"] = json!("AKIAFAKEVALUE");
        assert_eq!(
            parse_invocation(&del).ignored[0].reason,
            "(unrecognised type) event is not an object creation"
        );
        let eb = json!({"source": "aws.s3", "detail-type": "secret-ish text"});
        assert_eq!(
            parse_invocation(&eb).ignored[0].reason,
            "EventBridge event (unrecognised type) is not Object Created"
        );
        let inv = parse_invocation(&json!({"hello": 1}));
        assert!(inv.ignored[0].malformed);
        let inv = parse_invocation(
            &json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put"}]}),
        );
        assert!(inv.ignored[0].reason.contains("without bucket"));
        let mut empty = s3("k");
        empty["Records"][0]["s3"]["bucket"]["name"] = json!("");
        let inv = parse_invocation(&empty);
        assert!(inv.objects.is_empty() && inv.ignored[0].malformed);
        assert!(inv.ignored[0].reason.contains("without bucket"));
        let inv = parse_invocation(&s3(""));
        assert!(inv.objects.is_empty() && inv.ignored[0].malformed);
    }
}
