//! EMIT: the Insights files of the Starts and Ends decided, written before the state that
//! records them. Their keys and IDs derive from the insight, so a retry rewrites the same files;
//! a Start moved earlier replaces its file.

use super::error::{Abort, ProcessError};
use super::{Engine, LOG_TARGET};
use crate::base::series::SeriesKey;
use crate::cloudtrail::key::TrailScope;
use crate::detect::detector::{Phase, Transition};
use crate::insight::record::{
    InsightRecord, insight_file, render, shared_event_id, start_file_key,
};

impl Engine<'_> {
    /// Render and write the Insights files for `transitions`.
    pub(super) fn emit(
        &self,
        scope: &TrailScope,
        transitions: &[(String, Transition)],
        key: &str,
    ) -> Result<Vec<InsightRecord>, Abort> {
        let mut records = Vec::new();
        for (sid, t) in transitions {
            let Some(series) = SeriesKey::from_id(sid) else {
                continue;
            };
            if t.withheld {
                continue; // a deploy session's: logged when it was withheld
            }
            if let Some(old) = t.replaces {
                let old_key = start_file_key(scope, &series, old);
                self.sink.delete(&old_key).map_err(|e| {
                    Abort::Error(ProcessError::Transient {
                        key: key.into(),
                        reason: e.to_string(),
                    })
                })?;
                records.retain(|r: &InsightRecord| {
                    r.shared_event_id != shared_event_id(scope, &series, old).to_string()
                });
                tracing::info!(target: LOG_TARGET, key, series = %series.label(), moved_from = %old.to_rfc3339(), to = %t.start.to_rfc3339(), "insight start moved earlier");
            }
            let record = render(scope, &series, t);
            let file = insight_file(scope, record.clone()).map_err(|e| {
                Abort::Error(ProcessError::Fatal {
                    key: key.into(),
                    reason: format!("cannot encode an Insights file: {e}"),
                })
            })?;
            self.sink.put(&file).map_err(|e| {
                Abort::Error(ProcessError::Transient {
                    key: key.into(),
                    reason: e.to_string(),
                })
            })?;
            tracing::info!(
                target: LOG_TARGET,
                key,
                insight = %record.shared_event_id,
                state = match t.phase { Phase::Start => "Start", Phase::End => "End" },
                series = %series.label(),
                event_time = %record.event_time,
                file = %file.key,
                "insight"
            );
            records.push(record);
        }
        self.sink.flush().map_err(|e| {
            Abort::Error(ProcessError::Transient {
                key: key.into(),
                reason: e.to_string(),
            })
        })?;
        Ok(records)
    }
}
