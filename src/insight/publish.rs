//! Publishing Insights records on an EventBridge bus, shaped like CloudTrail's own
//! "AWS Insight via CloudTrail" events, so rules written for those (to SNS, chat, tickets) work
//! with a change of `source` only.
//!
//! Shape. CloudTrail's events on EventBridge carry the CloudTrail record as `detail` (for API
//! calls this is documented; for Insights the docs name only the detail-type, and the published
//! rule examples match `detail.insightDetails.*`, i.e. `detail` is the Insights record). So each
//! entry is: `DetailType` "AWS Insight via CloudTrail", `Detail` = the record exactly as written
//! to the Insights file, `Time` = the record's `eventTime`, no `Resources`. The envelope's
//! `account` and `region` are those of the bus (EventBridge sets them), which for organization
//! trails may differ from `detail.recipientAccountId`.
//!
//! Source. `aws.cloudtrail` cannot be used: EventBridge reserves the `aws.` prefix for AWS
//! services and rejects such entries (NotAuthorizedForSourceException). The source is
//! `EVENT_SOURCE` (default [`DEFAULT_SOURCE`]); configuration refuses an `aws.` value.
//!
//! Delivery is at least once: entries are sent after the Insights files are written and before
//! the state that records them, so a failure or crash makes the step retry and send again. Every
//! entry is deterministic (the record's `eventID` is derived from the insight), so consumers
//! de-duplicate on `detail.eventID`. A Start withdrawn because a late file moved it earlier is
//! dropped if it has not been sent yet; once sent it stays sent (its `sharedEventID` never gets
//! an End).

use crate::insight::record::{InsightFile, InsightRecord};
use crate::insight::sink::{InsightSink, SinkError};
use std::sync::Mutex;
use std::time::Duration;

/// The detail-type CloudTrail uses for Insights events on EventBridge.
pub const DETAIL_TYPE: &str = "AWS Insight via CloudTrail";
/// Our default `source` (`aws.*` is reserved for AWS services).
pub const DEFAULT_SOURCE: &str = "trail-insights";
/// PutEvents accepts at most 10 entries per request.
pub const MAX_BATCH: usize = 10;
/// Attempts for entries failing with a retryable error code (the SDK already retries whole
/// requests that are throttled or fail).
const ENTRY_ATTEMPTS: u32 = 4;

/// One PutEvents entry (the bus name is the publisher's).
#[derive(Debug, Clone, PartialEq)]
pub struct BusEntry {
    pub source: String,
    pub detail_type: String,
    /// The Insights record as JSON.
    pub detail: String,
    /// RFC 3339; the record's `eventTime`.
    pub time: String,
}

impl BusEntry {
    pub fn for_record(record: &InsightRecord, source: &str) -> Result<BusEntry, String> {
        Ok(BusEntry {
            source: source.to_string(),
            detail_type: DETAIL_TYPE.to_string(),
            detail: serde_json::to_string(record)
                .map_err(|e| format!("cannot encode {} as JSON: {e}", record.event_id))?,
            time: record.event_time.clone(),
        })
    }
}

/// Why one entry of a PutEvents request was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryError {
    pub code: String,
    pub message: String,
}

impl EntryError {
    /// EventBridge's retryable per-entry error codes; the rest (AccessDenied, MalformedDetail,
    /// NotAuthorizedForSource, …) will not succeed by trying again now.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.code.as_str(),
            "ThrottlingException" | "InternalFailure" | "InternalException" | ""
        )
    }
}

/// One PutEvents call. The I/O lives in `aws::events`; tests may use anything that answers.
pub trait EventPublisher: Send + Sync {
    /// Send up to [`MAX_BATCH`] entries; one result per entry, in order. `Err` when the whole
    /// request failed (after the client's own retries).
    fn put_events(&self, entries: &[BusEntry]) -> Result<Vec<Result<(), EntryError>>, String>;
    /// The bus, for messages.
    fn bus(&self) -> &str;
}

/// An [`InsightSink`] that writes files through `inner` and publishes each record on a bus,
/// in batches of up to ten when the engine flushes.
pub struct PublishingSink<'a> {
    inner: &'a dyn InsightSink,
    publisher: &'a dyn EventPublisher,
    source: String,
    /// (file key, entry) written but not yet sent.
    pending: Mutex<Vec<(String, BusEntry)>>,
    backoff: Duration,
}

impl<'a> PublishingSink<'a> {
    pub fn new(
        inner: &'a dyn InsightSink,
        publisher: &'a dyn EventPublisher,
        source: &str,
    ) -> PublishingSink<'a> {
        PublishingSink {
            inner,
            publisher,
            source: source.to_string(),
            pending: Mutex::new(Vec::new()),
            backoff: Duration::from_millis(200),
        }
    }

    /// Shorter waits between attempts (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<(String, BusEntry)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Send one batch, retrying only the entries that failed with a retryable code.
    fn send(&self, batch: Vec<(String, BusEntry)>) -> Result<(), SinkError> {
        let mut left = batch;
        let mut attempt = 1;
        loop {
            let entries: Vec<BusEntry> = left.iter().map(|(_, e)| e.clone()).collect();
            let results = self
                .publisher
                .put_events(&entries)
                .map_err(|reason| SinkError {
                    key: format!("event bus {}", self.publisher.bus()),
                    reason: format!("PutEvents failed: {reason}"),
                })?;
            if results.len() != left.len() {
                return Err(SinkError {
                    key: format!("event bus {}", self.publisher.bus()),
                    reason: format!(
                        "PutEvents answered {} results for {} entries",
                        results.len(),
                        left.len()
                    ),
                });
            }
            let failed: Vec<((String, BusEntry), EntryError)> = left
                .into_iter()
                .zip(results)
                .filter_map(|(entry, r)| r.err().map(|e| (entry, e)))
                .collect();
            let Some((_, first)) = failed.first() else {
                return Ok(());
            };
            let retryable = failed.iter().all(|(_, e)| e.is_retryable());
            if !retryable || attempt >= ENTRY_ATTEMPTS {
                return Err(SinkError {
                    key: format!("event bus {}", self.publisher.bus()),
                    reason: format!(
                        "{} of the entries failed after {attempt} attempt(s), e.g. {} ({}): {}",
                        failed.len(),
                        failed[0].0.0,
                        first.code,
                        first.message
                    ),
                });
            }
            tracing::warn!(bus = self.publisher.bus(), failed = failed.len(), code = %first.code, attempt, "PutEvents entries failed; retrying them");
            std::thread::sleep(self.backoff * 2u32.pow(attempt - 1));
            attempt += 1;
            left = failed.into_iter().map(|(entry, _)| entry).collect();
        }
    }
}

impl InsightSink for PublishingSink<'_> {
    fn put(&self, file: &InsightFile) -> Result<(), SinkError> {
        self.inner.put(file)?;
        let entry =
            BusEntry::for_record(&file.record, &self.source).map_err(|reason| SinkError {
                key: file.key.clone(),
                reason,
            })?;
        let mut pending = self.pending();
        pending.retain(|(k, _)| *k != file.key);
        pending.push((file.key.clone(), entry));
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), SinkError> {
        self.pending().retain(|(k, _)| k != key);
        self.inner.delete(key)
    }

    fn flush(&self) -> Result<(), SinkError> {
        self.inner.flush()?;
        let all = std::mem::take(&mut *self.pending());
        let mut batches = all.into_iter().peekable();
        while batches.peek().is_some() {
            let batch: Vec<(String, BusEntry)> = batches.by_ref().take(MAX_BATCH).collect();
            self.send(batch)?;
        }
        Ok(())
    }
}

/// `EVENT_SOURCE` must be usable with PutEvents.
pub fn validate_source(source: &str) -> Result<(), String> {
    if source.is_empty() || source.len() > 256 {
        return Err("EVENT_SOURCE must be 1 to 256 characters".into());
    }
    if source.to_ascii_lowercase().starts_with("aws.") {
        return Err(format!(
            "EVENT_SOURCE `{source}`: sources starting with `aws.` are reserved for AWS services and EventBridge refuses them"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insight::record::{InsightFile, InsightRecord};

    /// Answers from a script: each call pops the per-entry failures to apply (by position).
    struct Scripted {
        calls: Mutex<Vec<Vec<BusEntry>>>,
        script: Mutex<Vec<Vec<Option<&'static str>>>>,
    }

    impl EventPublisher for Scripted {
        fn put_events(&self, entries: &[BusEntry]) -> Result<Vec<Result<(), EntryError>>, String> {
            self.calls.lock().unwrap().push(entries.to_vec());
            let mut script = self.script.lock().unwrap();
            let plan = if script.is_empty() {
                Vec::new()
            } else {
                script.remove(0)
            };
            Ok((0..entries.len())
                .map(|i| match plan.get(i).copied().flatten() {
                    Some(code) => Err(EntryError {
                        code: code.into(),
                        message: "scripted".into(),
                    }),
                    None => Ok(()),
                })
                .collect())
        }
        fn bus(&self) -> &str {
            "test-bus"
        }
    }

    struct Nothing;
    impl InsightSink for Nothing {
        fn put(&self, _: &InsightFile) -> Result<(), SinkError> {
            Ok(())
        }
        fn delete(&self, _: &str) -> Result<(), SinkError> {
            Ok(())
        }
    }

    fn file(i: usize) -> InsightFile {
        let record: InsightRecord = serde_json::from_value(serde_json::json!({
            "eventVersion": "1.09", "eventTime": "2026-01-12T10:23:00Z", "awsRegion": "us-east-1",
            "eventID": format!("id-{i}"), "eventType": "AwsCloudTrailInsight",
            "sharedEventID": "s", "eventCategory": "Insight",
            "insightDetails": { "state": "Start", "eventSource": "ec2.amazonaws.com",
              "eventName": "RunInstances", "insightType": "ApiCallRateInsight",
              "insightContext": { "statistics": { "baseline": {"average": 0.1}, "insight": {"average": 9.0} } } }
        }))
        .unwrap();
        InsightFile {
            key: format!("k{i}"),
            body: Vec::new(),
            record,
        }
    }

    fn scripted(script: Vec<Vec<Option<&'static str>>>) -> Scripted {
        Scripted {
            calls: Mutex::new(Vec::new()),
            script: Mutex::new(script),
        }
    }

    #[test]
    fn batches_of_ten_in_order_and_withdrawn_starts_are_not_sent() {
        let p = scripted(vec![]);
        let sink = PublishingSink::new(&Nothing, &p, "trail-insights");
        for i in 0..23 {
            sink.put(&file(i)).unwrap();
        }
        sink.delete("k5").unwrap();
        sink.flush().unwrap();
        let calls = p.calls.lock().unwrap().clone();
        assert_eq!(
            calls.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![10, 10, 2]
        );
        let ids: Vec<String> = calls
            .iter()
            .flatten()
            .map(|e| {
                serde_json::from_str::<serde_json::Value>(&e.detail).unwrap()["eventID"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(!ids.contains(&"id-5".to_string()));
        assert_eq!(ids.first().map(String::as_str), Some("id-0"));
        assert!(calls.iter().flatten().all(|e| e.detail_type == DETAIL_TYPE
            && e.source == "trail-insights"
            && e.time == "2026-01-12T10:23:00Z"));
        sink.flush().unwrap();
        assert_eq!(p.calls.lock().unwrap().len(), 3, "nothing left to send");
    }

    #[test]
    fn failed_entries_are_retried_alone_then_the_step_fails() {
        let p = scripted(vec![vec![None, Some("ThrottlingException"), None]]);
        let sink = PublishingSink::new(&Nothing, &p, "s").with_backoff(Duration::from_millis(1));
        for i in 0..3 {
            sink.put(&file(i)).unwrap();
        }
        sink.flush().unwrap();
        let calls = p.calls.lock().unwrap().clone();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].len(), 1, "only the failed entry is sent again");
        assert!(calls[1][0].detail.contains("id-1"));

        let p = scripted(vec![vec![Some("AccessDeniedException")]]);
        let sink = PublishingSink::new(&Nothing, &p, "s");
        sink.put(&file(0)).unwrap();
        let e = sink.flush().unwrap_err();
        assert!(e.to_string().contains("AccessDeniedException"), "{e}");
        assert_eq!(p.calls.lock().unwrap().len(), 1, "not retried");

        let always = vec![vec![Some("InternalFailure")]; 10];
        let p = scripted(always);
        let sink = PublishingSink::new(&Nothing, &p, "s").with_backoff(Duration::from_millis(1));
        sink.put(&file(0)).unwrap();
        assert!(sink.flush().is_err());
        assert_eq!(p.calls.lock().unwrap().len(), ENTRY_ATTEMPTS as usize);
    }

    #[test]
    fn reserved_sources_are_refused() {
        assert!(validate_source("aws.cloudtrail").is_err());
        assert!(validate_source("AWS.x").is_err());
        assert!(validate_source("").is_err());
        assert!(validate_source("trail-insights").is_ok());
    }
}
