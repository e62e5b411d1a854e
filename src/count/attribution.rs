//! Who contributed: bounded top-value counters for callers, user agents and error codes.
//!
//! Counts are kept with the Space-Saving rule (Metwally et al., 2005): at most `capacity` values
//! are tracked; a new value evicts the smallest and inherits its count, so any value with more
//! than `total / capacity` occurrences is always retained and counts never under-estimate.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;

/// One copy of each attribution value seen while counting a log file. A busy file names the same
/// few dozen callers and user agents in thousands of series-minutes; sharing them keeps the
/// file's counts small (for a million-event file, ~100,000 strings become a few hundred).
#[derive(Debug, Default)]
pub struct Strings(HashSet<Arc<str>>);

impl Strings {
    pub fn get(&mut self, value: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(value) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(value);
        self.0.insert(shared.clone());
        shared
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopCounts {
    /// (value, count), unordered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<(Arc<str>, u64)>,
}

impl TopCounts {
    pub fn add(&mut self, value: &str, count: u64, capacity: usize) {
        self.add_with(value, count, capacity, || Arc::from(value));
    }

    /// As [`Self::add`], taking a new value's copy from `strings`.
    pub fn add_shared(&mut self, value: &str, count: u64, capacity: usize, strings: &mut Strings) {
        self.add_with(value, count, capacity, || strings.get(value));
    }

    fn add_with(
        &mut self,
        value: &str,
        count: u64,
        capacity: usize,
        copy: impl FnOnce() -> Arc<str>,
    ) {
        if count == 0 {
            return;
        }
        if let Some(e) = self.entries.iter_mut().find(|(v, _)| &**v == value) {
            e.1 += count;
            return;
        }
        if self.entries.len() < capacity {
            self.entries.push((copy(), count));
            return;
        }
        if let Some(min) = self
            .entries
            .iter_mut()
            .min_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        {
            *min = (copy(), min.1 + count);
        }
    }

    /// Replace each value by its copy in `strings` (values read back from the store are each
    /// their own allocation).
    pub fn share(&mut self, strings: &mut Strings) {
        for (v, _) in &mut self.entries {
            *v = strings.get(v);
        }
    }

    pub fn merge(&mut self, other: &TopCounts, capacity: usize) {
        for (v, c) in &other.entries {
            self.add_with(v, *c, capacity, || v.clone());
        }
    }

    /// The `n` largest, by count descending then value ascending (stable across runs).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut v = self.entries.clone();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v.into_iter().map(|(s, c)| (s.to_string(), c)).collect()
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

    /// As [`Self::add`], sharing values through `strings`.
    pub fn add_shared(
        &mut self,
        caller: &str,
        agent: &str,
        error: Option<&str>,
        capacity: usize,
        strings: &mut Strings,
    ) {
        self.callers.add_shared(caller, 1, capacity, strings);
        self.agents.add_shared(agent, 1, capacity, strings);
        if let Some(e) = error {
            self.errors.add_shared(e, 1, capacity, strings);
        }
    }

    /// See [`TopCounts::share`].
    pub fn share(&mut self, strings: &mut Strings) {
        self.callers.share(strings);
        self.agents.share(strings);
        self.errors.share(strings);
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

    #[test]
    fn shared_values_are_one_allocation_and_compare_as_before() {
        let mut strings = Strings::default();
        let (mut a, mut b) = (TopCounts::default(), TopCounts::default());
        a.add_shared("arn:aws:iam::1:role/Deploy", 2, 4, &mut strings);
        b.add_shared("arn:aws:iam::1:role/Deploy", 1, 4, &mut strings);
        assert!(Arc::ptr_eq(&a.entries[0].0, &b.entries[0].0));
        let mut c = TopCounts::default();
        c.add("arn:aws:iam::1:role/Deploy", 2, 4);
        assert_eq!(a, c, "sharing changes no value");
        let mut read_back: TopCounts =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert!(!Arc::ptr_eq(&read_back.entries[0].0, &a.entries[0].0));
        read_back.share(&mut strings);
        assert!(Arc::ptr_eq(&read_back.entries[0].0, &a.entries[0].0));
    }
}
