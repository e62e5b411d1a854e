//! The progress of one account and region (its trail item): which minutes are closed and
//! folded, what is open, held or watched, and where its series states are stored.

use crate::base::time::Minute;
use crate::detect::detector::{TrailContext, Unlearned};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Per account/region progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailState {
    pub observed_since: Option<Minute>,
    /// Every minute up to and including this one is closed.
    pub closed_through: Option<Minute>,
    pub newest_delivery: Option<Minute>,
    pub newest_event: Option<Minute>,
    /// Series with an insight open (they need End checks even when silent).
    #[serde(default)]
    pub open_insights: BTreeSet<String>,
    /// Busy series the drop detector checks on minutes without events (`DROP_INSIGHTS`), at
    /// most [`MAX_DROP_WATCH`].
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub drop_watch: BTreeSet<String>,
    /// Every series has learned every closed minute up to here; later closed minutes of quiet
    /// series are learned when their hour completes (see `Engine::close_through` in `close.rs`).
    /// Absent in state written before this existed: then it is `closed_through`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folded_through: Option<Minute>,
    /// Each quiet series' closed minutes it has not learned yet (all after `folded_through`, in
    /// one clock hour), as the sustained Start rule needs them before the hour is folded. Late
    /// events are left out, so a crash and retry gives the same sums.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unlearned: BTreeMap<String, Unlearned>,
    /// How many pages hold the series states (see `SeriesCache` in `series_cache.rs`); 0 until
    /// the first is written.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pages: u32,
    /// Series whose current state is in their own item rather than their page, until the next
    /// fold takes them back.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub loose: BTreeSet<String>,
    /// Series states of this trail have only ever been stored in pages and loose items. False
    /// for state from before pages (one item per series), whose own items are then looked for.
    #[serde(default)]
    pub paged: bool,
    /// Series holding a Start made through a deploy tool (see `Engine::judge_sessions` in
    /// `sessions.rs`), with the earliest minute one of their holds waits for. Derived from the
    /// series states when they are saved, so a retry after a lost race finds it again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub held: BTreeMap<String, Minute>,
}

/// Series a trail's index of holds lists at most (~70 bytes each in its item). Beyond it, a new
/// Start made through a deploy tool is judged at once, on the minutes stored so far.
pub const MAX_HELD_SERIES: usize = 500;

/// Holds one series carries at most (each ~2–9 KB in its item), with the same fallback.
pub const MAX_HELD_PER_SERIES: usize = 4;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Quiet series whose unlearned minutes the trail item carries, at most: ~75 bytes each (about
/// 150 KB in all), so the item stays below DynamoDB's 400 KB. Beyond it, a series judges the
/// sustained rule on its learned minutes only: a later Start at worst, never a false one.
pub const MAX_UNLEARNED: usize = 2_000;

impl TrailState {
    /// Add a minute of `count` events (`winsorised`) to `sid`'s unlearned ones (a new series
    /// only while fewer than [`MAX_UNLEARNED`] are carried).
    pub(super) fn add_unlearned(&mut self, sid: &str, count: u64, winsorised: u64) {
        if let Some(u) = self.unlearned.get_mut(sid) {
            u.add(count, winsorised);
        } else if self.unlearned.len() < MAX_UNLEARNED {
            let u = Unlearned::minute(count, winsorised);
            self.unlearned.insert(sid.to_string(), u);
        }
    }

    /// `sid`'s unlearned events that count towards the sustained rule at minute `t` (those in
    /// the previous or current clock hour of `t`).
    pub(super) fn unlearned_near(&self, sid: &str, t: Minute) -> Unlearned {
        let hour = self.folded_through.map(|f| f.plus(1).hour());
        match self.unlearned.get(sid) {
            Some(&u) if hour.is_some_and(|h| h == t.hour() || h == t.hour() - 1) => u,
            _ => Unlearned::default(),
        }
    }
}

/// Series per account and region the drop detector follows through silence; each costs a state
/// read per processed file. Further busy series are checked only on minutes with events.
pub const MAX_DROP_WATCH: usize = 100;

/// The trail's context for the detector, once it has seen an event.
pub(super) fn context(trail: &TrailState) -> Option<TrailContext> {
    trail
        .observed_since
        .map(|observed_since| TrailContext { observed_since })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlearned_sums_are_bounded() {
        let mut trail = TrailState::default();
        for i in 0..MAX_UNLEARNED + 10 {
            trail.add_unlearned(&format!("call#s{i}#Api"), 5, 3);
        }
        assert_eq!(trail.unlearned.len(), MAX_UNLEARNED);
        trail.add_unlearned("call#s0#Api", 9, 4);
        assert_eq!(
            trail.unlearned["call#s0#Api"],
            Unlearned { events: 7, peak: 9 },
            "a carried series still adds up"
        );
        let absent = format!("call#s{}#Api", MAX_UNLEARNED + 1);
        assert!(!trail.unlearned.contains_key(&absent));
        let bytes = serde_json::to_vec(&trail).unwrap().len();
        assert!(bytes < 100 * 1024, "{bytes} bytes");
    }

    #[test]
    fn unlearned_minutes_stored_before_peaks_still_read() {
        let old: TrailState = serde_json::from_str(r#"{"unlearned":{"call#s#Api":7}}"#).unwrap();
        assert_eq!(
            old.unlearned["call#s#Api"],
            Unlearned { events: 7, peak: 0 }
        );
        let now = serde_json::to_string(&old).unwrap();
        assert!(now.contains(r#""call#s#Api":[7,0]"#), "{now}");
        let back: TrailState = serde_json::from_str(&now).unwrap();
        assert_eq!(back.unlearned, old.unlearned);
    }
}
