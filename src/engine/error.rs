//! What can end a file early: the errors callers see ([`ProcessError`]) and the engine's own
//! [`Abort`], which tells a lost race (retry the file) from a real failure.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Retry later: the object, the store or the sink was temporarily unavailable.
    #[error("{key}: {reason}")]
    Transient { key: String, reason: String },
    /// A fault of this installation (e.g. a corrupt state file) rather than of the object.
    #[error("{key}: {reason}")]
    Fatal { key: String, reason: String },
}

impl ProcessError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ProcessError::Transient { .. })
    }
}

/// Internal: a conflict restarts the file; anything else ends it.
pub(super) enum Abort {
    Conflict,
    Error(ProcessError),
}

/// A fault of this installation (encoding, a lost cache entry): no retry helps.
pub(super) fn fatal(key: &str, e: impl std::fmt::Display) -> Abort {
    Abort::Error(ProcessError::Fatal {
        key: key.into(),
        reason: e.to_string(),
    })
}

/// A store error inside a unit of work: a version conflict retries the file.
pub(super) fn abort(key: &str, e: StoreError) -> Abort {
    match e {
        StoreError::Conflict { .. } => Abort::Conflict,
        other => Abort::Error(store_error(key, other)),
    }
}

/// A store error as callers see it: a permanent one is this installation's fault, anything else
/// may pass.
pub(super) fn store_error(key: &str, e: StoreError) -> ProcessError {
    match e {
        StoreError::Permanent(reason) => ProcessError::Fatal {
            key: key.into(),
            reason,
        },
        other => ProcessError::Transient {
            key: key.into(),
            reason: other.to_string(),
        },
    }
}
