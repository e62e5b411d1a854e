//! Property tests: the key decoder, key classification, the record reader and counting, on
//! generated inputs.

mod common;

use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use trail_insights::cloudtrail::key::{classify_key, decode_notification_key};
use trail_insights::cloudtrail::reader::{ReadLimits, read_records};
use trail_insights::cloudtrail::record::{Coverage, classify_record};
use trail_insights::count::attribution::Strings;
use trail_insights::count::minutes::MinuteCounts;

/// S3's form encoding of a key: space → `+`, unreserved bytes as they are, the rest `%XX`.
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[ -~]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn notification_keys_decode_to_what_was_encoded(s in "\\PC{0,40}") {
        prop_assert_eq!(decode_notification_key(&form_encode(&s)), s);
    }

    #[test]
    fn classification_never_panics(s in "\\PC{0,120}") {
        let _ = classify_key(&s);
    }

    #[test]
    fn generated_log_keys_are_recognised(
        prefix in prop::option::of("[a-z0-9-]{1,10}(/[a-z0-9 -]{1,10}){0,2}"),
        org in prop::option::of("o-[a-z0-9]{4,10}"),
        account in "[0-9]{12}",
        region in "[a-z]{2}-[a-z]{4,9}-[1-3]",
        (y, mo, d, h, mi) in (2015u32..2030, 1u32..13, 1u32..29, 0u32..24, 0u32..60),
        unique in "[A-Za-z0-9]{16}",
    ) {
        let org_part = org.as_ref().map(|o| format!("{o}/")).unwrap_or_default();
        let key = format!(
            "{}AWSLogs/{org_part}{account}/CloudTrail/{region}/{y:04}/{mo:02}/{d:02}/{account}_CloudTrail_{region}_{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z_{unique}.json.gz",
            prefix.as_ref().map(|p| format!("{p}/")).unwrap_or_default()
        );
        let k = classify_key(&key).unwrap();
        prop_assert_eq!(k.scope.account, account);
        prop_assert_eq!(k.scope.region, region.clone());
        prop_assert_eq!(k.scope.org, org);
        prop_assert_eq!(k.prefix, prefix);
        prop_assert_eq!(k.delivered.to_compact(), format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z"));
        let insight = key.replace("/CloudTrail/", "/CloudTrail-Insight/").replace("_CloudTrail_", "_CloudTrail-Insight_");
        prop_assert!(classify_key(&insight).is_err(), "our own output is never a log file");
    }

    /// Any JSON in any field of a record never fails the file: the record is counted or ignored.
    #[test]
    fn odd_field_values_never_fail_a_file(
        fields in prop::collection::btree_map(
            prop_oneof![Just("eventTime"), Just("eventSource"), Just("eventName"), Just("eventID"), Just("readOnly"),
                Just("errorCode"), Just("userAgent"), Just("userIdentity"), Just("eventCategory"), Just("eventType"),
                Just("managementEvent"), Just("requestParameters")],
            json_value(),
            0..12,
        )
    ) {
        let record: serde_json::Map<String, Value> = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let file = serde_json::to_vec(&json!({ "Records": [record, {"eventName": "X"}] })).unwrap();
        let mut seen = 0;
        let stats = read_records(file.as_slice(), ReadLimits::default(), |raw, i| {
            seen += 1;
            let _ = classify_record(raw, Coverage { read_calls: true, data_events: true }, || i);
        });
        prop_assert!(stats.is_ok(), "{:?}", stats);
        prop_assert_eq!(seen, 2);
    }

    /// Counting with duplicates equals an independent model: distinct IDs per series.
    #[test]
    fn counting_matches_a_model(events in prop::collection::vec((0u64..30, 0u8..3, prop::option::of(0u8..2), any::<bool>()), 0..80), read_calls in any::<bool>()) {
        let coverage = Coverage { read_calls, data_events: false };
        let mut counts = MinuteCounts::default();
        let mut strings = Strings::default();
        let mut seen = HashSet::new();
        let mut model: BTreeMap<String, u64> = BTreeMap::new();
        for (id, api, err, write) in &events {
            let name = format!("Api{api}");
            let code = err.map(|e| format!("Err{e}"));
            let raw = json!({
                "eventTime": "2026-01-05T10:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": name,
                "eventID": format!("id-{id}-{api}-{err:?}-{write}"), "readOnly": !write, "errorCode": code,
            });
            let text = raw.to_string();
            let Ok(e) = classify_record(serde_json::from_str(&text).unwrap(), coverage, || 0) else { continue };
            if !seen.insert(e.id_hash) {
                continue;
            }
            counts.add(&e, &mut strings);
            if *write {
                *model.entry(format!("call#ec2.amazonaws.com#{name}")).or_default() += 1;
            } else if read_calls {
                *model.entry(format!("read-call#ec2.amazonaws.com#{name}")).or_default() += 1;
            }
            if let Some(c) = &code {
                *model.entry(format!("error#ec2.amazonaws.com#{name}#{c}")).or_default() += 1;
            }
        }
        let got: BTreeMap<String, u64> = counts.series.iter().map(|(k, v)| (k.clone(), v.count)).collect();
        prop_assert_eq!(got, model);
        prop_assert!(!counts.seal(), "no duplicate IDs were added");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// The engine counts each distinct eventID once per series, wherever its copies are: twice
    /// in one file, in several files, in any minute, files processed in any order.
    #[test]
    fn the_engine_counts_each_event_once(
        copies in prop::collection::vec((0u64..25, 0usize..3), 1..60),
        order in Just([0usize, 1, 2]).prop_shuffle(),
    ) {
        use common::spike::{counts_of, scope, state};
        use trail_insights::engine::Engine;
        use trail_insights::insight::sink::DirectorySink;
        use trail_insights::store::EmbeddedStore;
        use trail_insights::base::time::Minute;

        // An event's content follows from its ID, as a duplicate's does.
        let time = |id: u64| format!("2026-01-05T10:0{}:00Z", id % 3);
        let name = |id: u64| format!("Api{}", id % 2);
        let error = |id: u64| id.is_multiple_of(4).then_some("AccessDenied");
        let record = |id: u64| {
            common::event(&time(id), "ec2.amazonaws.com", &name(id), false, error(id),
                "arn:aws:iam::123456789012:user/a", &format!("id-{id}"))
        };
        let mut model: BTreeMap<(i64, String), u64> = BTreeMap::new();
        for id in copies.iter().map(|(id, _)| *id).collect::<std::collections::BTreeSet<_>>() {
            let minute = Minute::parse_event_time(&time(id)).unwrap().0;
            *model.entry((minute, format!("call#ec2.amazonaws.com#{}", name(id)))).or_default() += 1;
            if let Some(code) = error(id) {
                *model.entry((minute, format!("error#ec2.amazonaws.com#{}#{code}", name(id)))).or_default() += 1;
            }
        }

        let work = tempfile::tempdir().unwrap();
        let logs = work.path().join("logs");
        let sc = scope();
        let files: Vec<_> = (0..3).map(|f| {
            let records: Vec<Value> = copies.iter().filter(|(_, file)| *file == f).map(|(id, _)| record(*id)).collect();
            common::write_log(&logs, &sc.account, &sc.region, "20260105T1010Z", &format!("FILE{f}AAAAAAAAAAA"), &records)
        }).collect();
        let store = EmbeddedStore::open(&work.path().join("state")).unwrap();
        let sink = DirectorySink { root: work.path().join("out") };
        let engine = Engine::new(common::spike::config(), &store, &sink);
        for f in order {
            common::process_path(&engine, &logs, &files[f]).unwrap();
        }
        prop_assert_eq!(counts_of(&state(&store)), model);
    }
}
