//! Who contributed: bounded top-value counters for callers, user agents and error codes.
//!
//! Counts are kept with the Space-Saving rule (Metwally et al., 2005): at most `capacity` values
//! are tracked; a new value evicts the smallest and inherits its count, so any value with more
//! than `total / capacity` occurrences is always retained and counts never under-estimate.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopCounts {
    /// (value, count), unordered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<(String, u64)>,
}

impl TopCounts {
    pub fn add(&mut self, value: &str, count: u64, capacity: usize) {
        if count == 0 {
            return;
        }
        if let Some(e) = self.entries.iter_mut().find(|(v, _)| v == value) {
            e.1 += count;
            return;
        }
        if self.entries.len() < capacity {
            self.entries.push((value.to_string(), count));
            return;
        }
        if let Some(min) = self
            .entries
            .iter_mut()
            .min_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            *min = (value.to_string(), min.1 + count);
        }
    }

    pub fn merge(&mut self, other: &TopCounts, capacity: usize) {
        for (v, c) in &other.entries {
            self.add(v, *c, capacity);
        }
    }

    /// The `n` largest, by count descending then value ascending (stable across runs).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v = self.entries.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The three attribution dimensions Insights reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    #[serde(default, skip_serializing_if = "TopCounts::is_empty")]
    pub callers: TopCounts,
    #[serde(default, skip_serializing_if = "TopCounts::is_empty")]
    pub agents: TopCounts,
    /// Error codes of call-rate series (`"null"` for calls without error).
    #[serde(default, skip_serializing_if = "TopCounts::is_empty")]
    pub errors: TopCounts,
}

impl Attribution {
    pub fn add(&mut self, caller: &str, agent: &str, error: Option<&str>, capacity: usize) {
        self.callers.add(caller, 1, capacity);
        self.agents.add(agent, 1, capacity);
        if let Some(e) = error {
            self.errors.add(e, 1, capacity);
        }
    }

    pub fn merge(&mut self, other: &Attribution, capacity: usize) {
        self.callers.merge(&other.callers, capacity);
        self.agents.merge(&other.agents, capacity);
        self.errors.merge(&other.errors, capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_heavy_hitters_within_capacity() {
        let mut t = TopCounts::default();
        for i in 0..1000u64 {
            t.add("heavy", 1, 4);
            t.add(&format!("noise{}", i % 50), 1, 4);
        }
        assert!(t.entries.len() <= 4);
        let top = t.top(1);
        assert_eq!(top[0].0, "heavy");
        assert!(top[0].1 >= 1000, "never under-estimates");
    }

    #[test]
    fn top_is_sorted_and_truncated() {
        let mut t = TopCounts::default();
        for (v, c) in [("b", 2), ("a", 2), ("c", 5), ("d", 1)] {
            t.add(v, c, 10);
        }
        assert_eq!(
            t.top(3),
            vec![("c".into(), 5), ("a".into(), 2), ("b".into(), 2)]
        );
    }
}
