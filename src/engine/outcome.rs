//! What happened to one object, as callers see it.

use crate::base::time::Minute;
use crate::insight::record::InsightRecord;
use std::collections::BTreeMap;

/// What happened to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Processed,
    /// Processed before (marker found): nothing done.
    AlreadyProcessed,
    /// Not a CloudTrail log file; not read.
    Skipped(String),
    /// A CloudTrail log file that cannot be read (corrupt, too large, not CloudTrail JSON):
    /// permanently refused and remembered, so re-deliveries are not retried forever.
    Rejected(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub key: String,
    pub status: Status,
    pub records: u64,
    pub counted: u64,
    pub ignored: BTreeMap<&'static str, u64>,
    /// Events whose ID was already counted (in this file or another).
    pub duplicates: u64,
    /// Counted after their minute had closed: in metrics and baselines, never in a decision.
    pub late: u64,
    pub minutes_touched: usize,
    pub series_touched: usize,
    pub insights: Vec<InsightRecord>,
    /// Starts withheld as part of a deploy session (see [`crate::detect::session`]): series ID and the
    /// Start's minute.
    pub withheld: Vec<(String, Minute)>,
    /// New Starts made through a deploy tool, held until their session window has been
    /// delivered (written or withheld by a later file, the sweep or the flush).
    pub held: Vec<(String, Minute)>,
}

impl Outcome {
    pub(super) fn new(key: &str, status: Status) -> Outcome {
        Outcome {
            key: key.to_string(),
            status,
            records: 0,
            counted: 0,
            ignored: BTreeMap::new(),
            duplicates: 0,
            late: 0,
            minutes_touched: 0,
            series_touched: 0,
            insights: Vec::new(),
            withheld: Vec::new(),
            held: Vec::new(),
        }
    }
}
