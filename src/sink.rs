//! Where Insights files go. The command line writes a directory; the Lambda writes S3.

use crate::insight::InsightFile;
use std::path::PathBuf;

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
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &file.body).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
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
