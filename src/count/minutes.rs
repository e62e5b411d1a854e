//! Per-minute counts of one log file, per series, with attribution and the event IDs seen.

use crate::base::series::SeriesKey;
use crate::base::time::Minute;
use crate::cloudtrail::record::CountedEvent;
use crate::count::attribution::{Attribution, Strings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct values kept per attribution dimension for one series in one minute.
pub const MINUTE_ATTRIBUTION_CAPACITY: usize = 16;

/// One series in one minute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesMinute {
    pub count: u64,
    #[serde(default)]
    pub attribution: Attribution,
}

impl SeriesMinute {
    pub fn merge(&mut self, other: &SeriesMinute) {
        self.count += other.count;
        self.attribution
            .merge(&other.attribution, MINUTE_ATTRIBUTION_CAPACITY);
    }
}

/// Everything one file (or one stored minute) says about one minute.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MinuteCounts {
    /// Series ID → counts.
    pub series: BTreeMap<String, SeriesMinute>,
    /// Hashes of the event IDs counted, sorted: what makes re-applying a file a no-op.
    /// Stored packed (8 bytes each, base64) to keep busy minutes far below DynamoDB's 400 KB.
    #[serde(default, with = "packed_ids")]
    pub ids: Vec<u64>,
    /// Sort keys of the items holding the rest of the minute's event-ID hashes, once it grew past
    /// what one item holds (see `Engine::save_minute`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_chunks: Vec<String>,
    /// The IDs of `id_chunks`, sorted, once read back (never stored in this item).
    #[serde(skip)]
    pub chunked_ids: Vec<u64>,
}

/// One item of a busy minute's event-ID hashes (see [`MinuteCounts::id_chunks`]).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct IdChunk {
    #[serde(default, with = "packed_ids")]
    pub ids: Vec<u64>,
}

impl MinuteCounts {
    /// Count `e`, taking attribution values' copies from `strings`.
    pub fn add(&mut self, e: &CountedEvent, strings: &mut Strings) {
        self.ids.push(e.id_hash);
        if let Some(population) = e.call_rate {
            let id = SeriesKey::call_rate(&e.event_source, &e.event_name)
                .in_population(population)
                .id();
            let s = self.series.entry(id).or_default();
            s.count += 1;
            let code = e.error_code.as_deref().unwrap_or("null");
            s.attribution.add_shared(
                &e.caller,
                &e.user_agent,
                Some(code),
                MINUTE_ATTRIBUTION_CAPACITY,
                strings,
            );
        }
        if let Some(code) = &e.error_code {
            let id = SeriesKey::error_rate(&e.event_source, &e.event_name, code)
                .in_population(e.population)
                .id();
            let s = self.series.entry(id).or_default();
            s.count += 1;
            s.attribution.add_shared(
                &e.caller,
                &e.user_agent,
                None,
                MINUTE_ATTRIBUTION_CAPACITY,
                strings,
            );
        }
    }

    /// Fold another minute's counts in (IDs are assumed disjoint).
    pub fn merge(&mut self, other: &MinuteCounts) {
        for (id, s) in &other.series {
            self.series.entry(id.clone()).or_default().merge(s);
        }
        self.ids.extend_from_slice(&other.ids);
        self.ids.sort_unstable();
        self.ids.dedup();
    }

    /// As [`Self::merge`], taking `other` by value: into an empty minute it is moved, not copied.
    pub fn absorb(&mut self, other: MinuteCounts) {
        if self.series.is_empty() && self.ids.is_empty() && self.id_chunks.is_empty() {
            *self = other;
        } else {
            self.merge(&other);
        }
    }

    /// Sort IDs; returns whether any ID occurred more than once.
    pub fn seal(&mut self) -> bool {
        self.ids.sort_unstable();
        let before = self.ids.len();
        self.ids.dedup();
        self.ids.len() != before
    }

    /// How many of `ids` (sorted) are already in this minute.
    pub fn overlap(&self, ids: &[u64]) -> usize {
        ids.iter()
            .filter(|id| {
                self.ids.binary_search(id).is_ok() || self.chunked_ids.binary_search(id).is_ok()
            })
            .count()
    }

    /// Every event-ID hash the minute holds, in its item and in its chunks.
    pub fn all_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.ids.iter().chain(&self.chunked_ids).copied()
    }

    pub fn count_of(&self, series_id: &str) -> u64 {
        self.series.get(series_id).map_or(0, |s| s.count)
    }
}

/// Counts of one log file, by minute.
#[derive(Debug, Default)]
pub struct FileCounts {
    pub minutes: BTreeMap<Minute, MinuteCounts>,
    strings: Strings,
}

impl FileCounts {
    pub fn add(&mut self, e: &CountedEvent) {
        self.minutes
            .entry(e.minute)
            .or_default()
            .add(e, &mut self.strings);
    }
}

/// `Vec<u64>` as base64 of little-endian 8-byte values: about 11 characters per ID instead of
/// up to 21 as decimal JSON numbers.
mod packed_ids {
    use base64::prelude::{BASE64_STANDARD_NO_PAD, Engine as _};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(ids: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
        s.serialize_str(&BASE64_STANDARD_NO_PAD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = BASE64_STANDARD_NO_PAD
            .decode(text)
            .map_err(D::Error::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(D::Error::custom(
                "packed event IDs are not a multiple of 8 bytes",
            ));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::series::Population;

    fn event(id: u64, call: bool, err: Option<&str>) -> CountedEvent {
        CountedEvent {
            minute: Minute(10),
            event_source: "ec2.amazonaws.com".into(),
            event_name: "RunInstances".into(),
            population: Population::Management,
            call_rate: call.then_some(Population::Management),
            error_code: err.map(String::from),
            caller: "arn".into(),
            user_agent: "ua".into(),
            via_aws_service: false,
            id_hash: id,
        }
    }

    #[test]
    fn failed_write_counts_in_both_series() {
        let mut m = MinuteCounts::default();
        m.add(
            &event(1, true, Some("AccessDenied")),
            &mut Strings::default(),
        );
        m.add(&event(2, true, None), &mut Strings::default());
        m.add(
            &event(3, false, Some("AccessDenied")),
            &mut Strings::default(),
        );
        assert_eq!(m.count_of("call#ec2.amazonaws.com#RunInstances"), 2);
        assert_eq!(
            m.count_of("error#ec2.amazonaws.com#RunInstances#AccessDenied"),
            2
        );
        let call = &m.series["call#ec2.amazonaws.com#RunInstances"]
            .attribution
            .errors;
        assert_eq!(
            call.top(5),
            vec![("AccessDenied".into(), 1), ("null".into(), 1)]
        );
        assert!(
            m.series["error#ec2.amazonaws.com#RunInstances#AccessDenied"]
                .attribution
                .errors
                .is_empty()
        );
    }

    #[test]
    fn ids_are_stored_packed_and_read_back() {
        let mut m = MinuteCounts::default();
        for id in [u64::MAX, 0, 42, 1 << 63] {
            m.add(&event(id, true, None), &mut Strings::default());
        }
        m.seal();
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains("\"ids\":\""), "{json}");
        let back: MinuteCounts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
        let big = MinuteCounts {
            ids: (0..10_000u64)
                .map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .collect(),
            ..Default::default()
        };
        let size = serde_json::to_vec(&big).unwrap().len();
        assert!(size < 10_000 * 11 + 100, "{size} bytes for 10,000 IDs");
        assert!(serde_json::from_str::<MinuteCounts>(r#"{"series":{},"ids":"AAAA"}"#).is_err());
    }

    #[test]
    fn absorb_moves_into_an_empty_minute_and_merges_otherwise() {
        let mut file = MinuteCounts::default();
        file.add(&event(2, true, None), &mut Strings::default());
        file.add(
            &event(1, true, Some("AccessDenied")),
            &mut Strings::default(),
        );
        file.seal();
        let mut stored = MinuteCounts::default();
        stored.absorb(file.clone());
        assert_eq!(stored, file);
        let mut more = MinuteCounts::default();
        more.add(&event(3, true, None), &mut Strings::default());
        more.seal();
        stored.absorb(more.clone());
        let mut expected = file.clone();
        expected.merge(&more);
        assert_eq!(stored, expected);
        assert_eq!(stored.ids, vec![1, 2, 3]);
        assert_eq!(stored.count_of("call#ec2.amazonaws.com#RunInstances"), 3);
    }

    #[test]
    fn seal_reports_duplicates_and_overlap_counts() {
        let mut m = MinuteCounts::default();
        for id in [3, 1, 2, 3] {
            m.add(&event(id, true, None), &mut Strings::default());
        }
        assert!(m.seal());
        assert_eq!(m.ids, vec![1, 2, 3]);
        assert_eq!(m.overlap(&[0, 2, 3, 9]), 2);
    }
}
