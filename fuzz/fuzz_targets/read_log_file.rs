//! Fuzz the log-file reader: any bytes through `reader::read_records` and every record through
//! `record::classify_record`, as the engine does for each object.
//!
//! Beyond "no panic, no hang, no stack overflow, bounded memory", it checks two properties:
//! - the reader reports as many records as it handed over, and never more than the caps allow;
//! - a plain JSON input that reads successfully reads to the same records when gzip-compressed
//!   (the gzip path and the plain path are the same parser behind a different byte source).
#![no_main]

use flate2::{Compression, write::GzEncoder};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use trail_insights::cloudtrail::reader::{ReadLimits, read_records};
use trail_insights::cloudtrail::record::{Coverage, classify_record};

/// Small caps so the fuzzer reaches the limit paths (and memory stays small).
const LIMITS: ReadLimits = ReadLimits {
    max_decompressed_bytes: 4 << 20,
    max_record_bytes: 64 << 10,
};

fn summarise(data: &[u8]) -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    let stats = read_records(data, LIMITS, |raw, index| {
        assert_eq!(index, seen.len() as u64, "records are numbered in order");
        let outcome = match classify_record(raw, Coverage { read_calls: true, data_events: true }, || index) {
            Ok(e) => format!("{e:?}"),
            Err(reason) => reason.label().to_string(),
        };
        seen.push(outcome);
    })
    .map_err(|e| e.to_string())?;
    assert_eq!(stats.records, seen.len() as u64);
    assert!(stats.decompressed_bytes <= LIMITS.max_decompressed_bytes);
    Ok(seen)
}

fuzz_target!(|data: &[u8]| {
    let plain = summarise(data);
    if let Ok(records) = &plain
        && !data.starts_with(&[0x1f, 0x8b])
    {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).expect("writing to a Vec cannot fail");
        let gz = e.finish().expect("writing to a Vec cannot fail");
        assert_eq!(
            summarise(&gz).as_ref(),
            Ok(records),
            "the same records from the gzip-compressed input"
        );
    }
});
