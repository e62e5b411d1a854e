//! Where Insights files go. The command line writes a directory; the Lambda writes S3.

use crate::insight::record::InsightFile;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, thiserror::Error)]
#[error("writing {key} failed: {reason}")]
pub struct SinkError {
    pub key: String,
    pub reason: String,
}

pub trait InsightSink {
    /// Store one file at `file.key` (relative to the sink's root or prefix), replacing any
    /// earlier copy: keys are deterministic, so a retry overwrites.
    fn put(&self, file: &InsightFile) -> Result<(), SinkError>;
    /// Withdraw a file written earlier (a Start moved back in time); absent files are fine.
    fn delete(&self, key: &str) -> Result<(), SinkError>;
    /// Called once after the files of one step (a log file, a flush, a sweep) are written and
    /// before the state that records them: a sink that batches (EventBridge) sends here, so a
    /// failure makes the step retry rather than lose the batch.
    fn flush(&self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Writes Insights files under a local directory, in the S3 layout.
pub struct DirectorySink {
    pub root: PathBuf,
}

impl InsightSink for DirectorySink {
    fn put(&self, file: &InsightFile) -> Result<(), SinkError> {
        let err = |e: std::io::Error| SinkError {
            key: file.key.clone(),
            reason: e.to_string(),
        };
        let path = self.root.join(&file.key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        // A temporary name of this writer's own, so concurrent writers of the same key (a
        // retry racing the original) each rename a complete file into place.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let n = WRITES.fetch_add(1, Ordering::Relaxed);
        let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
        std::fs::write(&tmp, &file.body).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
    }

    fn delete(&self, key: &str) -> Result<(), SinkError> {
        match std::fs::remove_file(self.root.join(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SinkError {
                key: key.to_string(),
                reason: e.to_string(),
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writes_of_one_key_all_succeed_and_leave_one_complete_file() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirectorySink {
            root: dir.path().to_path_buf(),
        };
        let record = serde_json::from_value(serde_json::json!({
            "eventVersion": "1.09", "eventTime": "2026-01-01T00:00:00Z", "awsRegion": "us-east-1",
            "eventID": "e", "eventType": "AwsCloudTrailInsight", "sharedEventID": "s",
            "eventCategory": "Insight",
            "insightDetails": {
                "state": "Start", "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
                "insightType": "ApiCallRateInsight",
                "insightContext": { "statistics": { "baseline": { "average": 0.0 }, "insight": { "average": 5.0 } } }
            }
        }))
        .unwrap();
        let file = InsightFile {
            key: "AWSLogs/1/CloudTrail-Insight/us-east-1/2026/01/01/f.json.gz".into(),
            body: vec![7u8; 64 * 1024],
            record,
        };
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        sink.put(&file).unwrap();
                    }
                });
            }
        });
        let folder = dir
            .path()
            .join("AWSLogs/1/CloudTrail-Insight/us-east-1/2026/01/01");
        let names: Vec<_> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f.json.gz"], "no temporary files left");
        assert_eq!(std::fs::read(folder.join("f.json.gz")).unwrap(), file.body);
    }
}
