//! Insights as the console lists them: Start and End records paired by sharedEventID, read from
//! a directory of Insights files, and shown as a table.

use crate::base::time::Minute;
use crate::insight::record::{InsightRecord, parse_insight_file};
use anyhow::{Context, Result, bail};
use comfy_table::Table;
use std::collections::BTreeMap;
use std::path::Path;

/// Start and End of one insight, as found in Insights files.
#[derive(Debug, Clone)]
pub struct PairedInsight {
    pub start: Option<InsightRecord>,
    pub end: Option<InsightRecord>,
}

impl PairedInsight {
    /// The Start record, or the End when only the End was found.
    pub fn start_or_end(&self) -> Option<&InsightRecord> {
        self.start.as_ref().or(self.end.as_ref())
    }

    pub fn start_minute(&self) -> Minute {
        let Some(r) = self.start_or_end() else {
            return Minute(0);
        };
        let t = Minute::parse_event_time(&r.event_time).unwrap_or(Minute(0));
        match (&self.start, &self.end) {
            (None, Some(e)) => t.plus(
                -e.insight_details
                    .insight_context
                    .statistics
                    .insight_duration
                    .unwrap_or(0),
            ),
            _ => t,
        }
    }

    /// The insight as `lookup --json` prints it.
    pub fn to_json(&self) -> serde_json::Value {
        let d = self.start_or_end().map(|r| &r.insight_details);
        serde_json::json!({
            "sharedEventID": self.start_or_end().map(|r| &r.shared_event_id),
            "eventSource": d.map(|d| &d.event_source),
            "eventName": d.map(|d| &d.event_name),
            "insightType": d.map(|d| &d.insight_type),
            "errorCode": d.and_then(|d| d.error_code.as_ref()),
            "Start": self.start,
            "End": self.end,
        })
    }
}

/// Pair records by sharedEventID, newest Start first (as the console lists them).
pub fn pair(records: Vec<InsightRecord>) -> Vec<PairedInsight> {
    let mut by_id: BTreeMap<String, PairedInsight> = BTreeMap::new();
    for r in records {
        let e = by_id
            .entry(r.shared_event_id.clone())
            .or_insert(PairedInsight {
                start: None,
                end: None,
            });
        if r.insight_details.state == "Start" {
            e.start = Some(r);
        } else {
            e.end = Some(r);
        }
    }
    let mut v: Vec<PairedInsight> = by_id.into_values().collect();
    v.sort_by(|a, b| {
        b.start_minute().cmp(&a.start_minute()).then_with(|| {
            let id = |p: &PairedInsight| p.start_or_end().map(|r| r.shared_event_id.clone());
            id(a).cmp(&id(b))
        })
    });
    v
}

/// Read every Insights file under `dir`.
pub fn lookup(dir: &Path) -> Result<Vec<PairedInsight>> {
    if !dir.exists() {
        bail!("{} does not exist", dir.display());
    }
    let mut records = Vec::new();
    for entry in walkdir::WalkDir::new(dir) {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let name = path.to_string_lossy();
        if !entry.file_type().is_file()
            || !name.contains("CloudTrail-Insight")
            || !name.ends_with(".json.gz")
        {
            continue;
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let recs =
            parse_insight_file(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        records.extend(recs);
    }
    Ok(pair(records))
}

/// The insights as a table, one row per insight.
pub fn insights_table(found: &[PairedInsight]) -> String {
    let mut t = Table::new();
    t.set_header(vec![
        "Start",
        "End",
        "Event source",
        "Event name",
        "Insight type",
        "Error code",
        "Baseline avg",
        "Insight avg",
        "Rate change",
        "Top caller",
        "sharedEventID",
    ]);
    for p in found {
        let Some(r) = p.start_or_end() else {
            continue;
        };
        let stats = |x: &Option<InsightRecord>| {
            x.as_ref()
                .map(|r| r.insight_details.insight_context.statistics.clone())
        };
        let end_stats = stats(&p.end);
        let start_stats = stats(&p.start);
        let baseline = end_stats
            .as_ref()
            .or(start_stats.as_ref())
            .map_or(0.0, |s| s.baseline.average);
        let insight = end_stats
            .as_ref()
            .or(start_stats.as_ref())
            .map_or(0.0, |s| s.insight.average);
        let change = if baseline > 0.0 {
            format!("{:+.0}%", (insight - baseline) / baseline * 100.0)
        } else {
            "new".to_string()
        };
        let top_caller = r
            .insight_details
            .insight_context
            .attributions
            .as_ref()
            .and_then(|a| a.iter().find(|b| b.attribute == "userIdentityArn"))
            .and_then(|b| b.insight.first())
            .map(|v| v.value.clone())
            .unwrap_or_default();
        t.add_row(vec![
            p.start
                .as_ref()
                .map_or("-".into(), |s| s.event_time.clone()),
            p.end
                .as_ref()
                .map_or("(open)".into(), |e| e.event_time.clone()),
            r.insight_details.event_source.clone(),
            r.insight_details.event_name.clone(),
            insight_kind(r),
            r.insight_details.error_code.clone().unwrap_or_default(),
            format!("{baseline:.4}"),
            format!("{insight:.2}"),
            change,
            top_caller,
            r.shared_event_id.clone(),
        ]);
    }
    t.to_string()
}

/// The insight type, with what sets an extension or a data-event insight apart.
fn insight_kind(r: &InsightRecord) -> String {
    let mut kind = r.insight_details.insight_type.clone();
    if r.insight_details.source_event_category.as_deref() == Some("Data") {
        kind.push_str(" (data events)");
    }
    if let Some(x) = &r.extension {
        if x.calls.as_deref() == Some("Read") {
            kind.push_str(" (read calls)");
        }
        if x.direction.as_deref() == Some("Drop") {
            kind.push_str(" (drop)");
        }
    }
    kind
}
