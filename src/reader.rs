//! Streaming a log file: gzip (possibly multi-member) or plain JSON, one record at a time.
//!
//! Memory stays flat whatever the file size: records are handed to the caller as they are parsed
//! and never collected. Decompressed bytes and the size of any one record are capped so a
//! decompression bomb or a pathological record is refused with a clear reason.

use crate::record::RawRecord;
use flate2::read::MultiGzDecoder;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

/// Size limits for one log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    pub max_decompressed_bytes: u64,
    pub max_record_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_decompressed_bytes: 2 << 30,
            max_record_bytes: 512 << 10,
        }
    }
}

/// Why a log file could not be read. `Transient` errors are worth retrying; the rest are
/// properties of the object itself and will fail the same way every time.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading the object failed: {0}")]
    Transient(io::Error),
    #[error("decompressed size exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("record {index} exceeds the limit of {limit} bytes")]
    RecordTooLarge { index: u64, limit: u64 },
    #[error("not a CloudTrail log file: {0}")]
    BadFormat(String),
    /// The object was deleted before it could be read; it will not come back.
    #[error("{0}")]
    Missing(String),
}

impl ReadError {
    pub fn is_transient(&self) -> bool {
        matches!(self, ReadError::Transient(_))
    }
}

/// What was read, for the per-object summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadStats {
    pub records: u64,
    pub decompressed_bytes: u64,
    pub gzip: bool,
}

/// Stream the records of one log file into `on_record`.
pub fn read_records<R: Read>(
    source: R,
    limits: ReadLimits,
    mut on_record: impl FnMut(RawRecord, u64),
) -> Result<ReadStats, ReadError> {
    let source_failed = Rc::new(Cell::new(false));
    let tagged = TagErrors {
        inner: source,
        failed: source_failed.clone(),
    };
    let mut buffered = BufReader::with_capacity(64 << 10, tagged);
    let head = match buffered.fill_buf() {
        Ok(h) => h,
        Err(e) => return Err(ReadError::Transient(e)),
    };
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    if head.is_empty() {
        return Err(ReadError::BadFormat("the object is empty".into()));
    }
    let state = Rc::new(CapState::default());
    let result = if gzip {
        let decoder = BufReader::with_capacity(64 << 10, MultiGzDecoder::new(buffered));
        parse(
            Capped::new(decoder, limits, state.clone()),
            &state,
            limits,
            &mut on_record,
        )
    } else {
        let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first != Some(b'{') {
            return Err(ReadError::BadFormat(
                "neither gzip nor a JSON object".into(),
            ));
        }
        parse(
            Capped::new(buffered, limits, state.clone()),
            &state,
            limits,
            &mut on_record,
        )
    };
    let records = state.records.get();
    match result {
        Ok(()) => Ok(ReadStats {
            records,
            decompressed_bytes: state.total.get(),
            gzip,
        }),
        Err(e) => Err(match state.exceeded.get() {
            Some(Exceeded::Total) => ReadError::TooLarge {
                limit: limits.max_decompressed_bytes,
            },
            Some(Exceeded::Record) => ReadError::RecordTooLarge {
                index: records,
                limit: limits.max_record_bytes,
            },
            None if source_failed.get() => ReadError::Transient(io::Error::other(e.to_string())),
            None => ReadError::BadFormat(describe_parse_error(&e, gzip)),
        }),
    }
}

fn describe_parse_error(e: &serde_json::Error, gzip: bool) -> String {
    let msg = e.to_string();
    if e.is_io() {
        if gzip {
            return format!("corrupt or truncated gzip data ({msg})");
        }
        return msg;
    }
    if e.is_eof() {
        return format!("JSON ends early ({msg})");
    }
    format!("invalid JSON ({msg})")
}

fn parse<R: Read>(
    reader: Capped<R>,
    state: &Rc<CapState>,
    limits: ReadLimits,
    on_record: &mut dyn FnMut(RawRecord, u64),
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    // `deserialize_any`, not `deserialize_map`: serde_json's type errors for a specific
    // `deserialize_*` quote a mistyped string in full, which would copy object content (up to
    // the record cap) into the rejection reason and the logs. The visitors below name the type only.
    let found = de.deserialize_any(TopLevel {
        state,
        limits,
        on_record,
    })?;
    de.end()?;
    if !found {
        return Err(de::Error::custom(
            "the top-level object has no \"Records\" array",
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Exceeded {
    Total,
    Record,
}

#[derive(Default)]
struct CapState {
    total: Cell<u64>,
    record_start: Cell<Option<u64>>,
    records: Cell<u64>,
    exceeded: Cell<Option<Exceeded>>,
}

/// Counts decompressed bytes and refuses to go past either cap.
struct Capped<R> {
    inner: R,
    limits: ReadLimits,
    state: Rc<CapState>,
}

impl<R> Capped<R> {
    fn new(inner: R, limits: ReadLimits, state: Rc<CapState>) -> Self {
        Capped {
            inner,
            limits,
            state,
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let total = self.state.total.get() + n as u64;
        self.state.total.set(total);
        if total > self.limits.max_decompressed_bytes {
            self.state.exceeded.set(Some(Exceeded::Total));
            return Err(io::Error::other("decompressed size limit"));
        }
        if let Some(start) = self.state.record_start.get()
            && total - start > self.limits.max_record_bytes
        {
            self.state.exceeded.set(Some(Exceeded::Record));
            return Err(io::Error::other("record size limit"));
        }
        Ok(n)
    }
}

/// Remembers whether an error came from the object source (network) rather than the decoder.
struct TagErrors<R> {
    inner: R,
    failed: Rc<Cell<bool>>,
}

impl<R: Read> Read for TagErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|_| self.failed.set(true))
    }
}

struct TopLevel<'a> {
    state: &'a Rc<CapState>,
    limits: ReadLimits,
    on_record: &'a mut dyn FnMut(RawRecord, u64),
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object with a \"Records\" array")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "Records" && !found {
                map.next_value_seed(RecordsSeed {
                    state: self.state,
                    limits: self.limits,
                    on_record: &mut *self.on_record,
                })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<bool, E> {
        Err(wrong_type("the top-level value", "a string, not an object"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<bool, A::Error> {
        Err(wrong_type("the top-level value", "an array, not an object"))
    }
}

struct RecordsSeed<'a> {
    state: &'a Rc<CapState>,
    limits: ReadLimits,
    on_record: &'a mut dyn FnMut(RawRecord, u64),
}

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The error for a value of the wrong type, naming the type but never quoting the value.
fn wrong_type<E: de::Error>(what: &str, found: &str) -> E {
    E::custom(format_args!("{what} is {found}"))
}

impl<'de> Visitor<'de> for RecordsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("\"Records\" to be an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let _ = self.limits;
        loop {
            self.state.record_start.set(Some(self.state.total.get()));
            let Some(record) = seq.next_element::<RecordOrJunk>()? else {
                break;
            };
            self.state.record_start.set(None);
            let index = self.state.records.get();
            self.state.records.set(index + 1);
            if let RecordOrJunk::Record(r) = record {
                (self.on_record)(*r, index);
            } else {
                (self.on_record)(RawRecord::default(), index);
            }
        }
        self.state.record_start.set(None);
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(wrong_type("\"Records\"", "a string, not an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(wrong_type("\"Records\"", "an object, not an array"))
    }
}

/// An element of `Records` that is not an object is passed on as an empty (invalid) record.
enum RecordOrJunk {
    Record(Box<RawRecord>),
    Junk,
}

impl<'de> serde::Deserialize<'de> for RecordOrJunk {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RecordOrJunk;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a record")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RecordOrJunk, A::Error> {
                let r = <RawRecord as serde::Deserialize>::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?;
                Ok(RecordOrJunk::Record(Box::new(r)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RecordOrJunk, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RecordOrJunk::Junk)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
            fn visit_unit<E: de::Error>(self) -> Result<RecordOrJunk, E> {
                Ok(RecordOrJunk::Junk)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn names(data: &[u8], limits: ReadLimits) -> Result<Vec<Option<String>>, ReadError> {
        let mut out = Vec::new();
        read_records(data, limits, |r, _| out.push(r.event_name)).map(|_| out)
    }

    const TWO: &[u8] = br#"{"Records":[{"eventName":"A","requestParameters":{"x":[1,2,{"y":null}]}},{"eventName":"B"}]}"#;

    #[test]
    fn reads_plain_and_gzip() {
        let want = vec![Some("A".to_string()), Some("B".to_string())];
        assert_eq!(names(TWO, ReadLimits::default()).unwrap(), want);
        assert_eq!(names(&gz(TWO), ReadLimits::default()).unwrap(), want);
    }

    #[test]
    fn reads_multi_member_gzip() {
        let mut two = gz(&TWO[..20]);
        two.extend(gz(&TWO[20..]));
        assert_eq!(names(&two, ReadLimits::default()).unwrap().len(), 2);
    }

    #[test]
    fn records_key_may_come_after_other_keys() {
        let data = br#"{"other":{"a":[1]},"Records":[{"eventName":"A"}]}"#;
        assert_eq!(names(data, ReadLimits::default()).unwrap().len(), 1);
    }

    #[test]
    fn bad_inputs_are_named() {
        let limits = ReadLimits::default();
        let cases: &[(&[u8], &str)] = &[
            (b"", "empty"),
            (b"PK\x03\x04", "neither gzip nor a JSON object"),
            (b"{\"NoRecords\":[]}", "no \"Records\""),
            (b"{\"Records\":{}}", "invalid JSON"),
            (b"{\"Records\":[{\"eventName\":\"A\"}", "ends early"),
        ];
        for (data, want) in cases {
            let err = names(data, limits).unwrap_err();
            assert!(!err.is_transient());
            assert!(
                err.to_string().contains(want),
                "{err} should contain {want}"
            );
        }
        let truncated = gz(TWO);
        let err = names(&truncated[..truncated.len() / 2], limits).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
        let err = names(&gz(b"hello world"), limits).unwrap_err();
        assert!(matches!(err, ReadError::BadFormat(_)), "{err}");
    }

    #[test]
    fn rejection_reasons_never_quote_the_content() {
        let secret = "AKIAIOSFODNN7EXAMPLE-wJalrXUtnFEMI";
        for data in [
            format!(r#"{{"Records":"{secret}"}}"#),
            format!(r#"{{"Records":{{"k":"{secret}"}}}}"#),
            format!(r#"{{"Records":[{{"eventName":"A"}}], "x": "{secret}" }} "{secret}""#),
        ] {
            for bytes in [data.as_bytes().to_vec(), gz(data.as_bytes())] {
                let err = names(&bytes, ReadLimits::default()).unwrap_err();
                assert!(matches!(err, ReadError::BadFormat(_)), "{err}");
                assert!(!err.to_string().contains("AKIA"), "{err}");
            }
        }
        let top_string = gz(format!(r#""{secret}""#).as_bytes());
        let err = names(&top_string, ReadLimits::default()).unwrap_err();
        assert!(
            err.to_string().contains("top-level value is a string"),
            "{err}"
        );
        assert!(!err.to_string().contains("AKIA"), "{err}");
        let err = names(br#"{"Records":"x"}"#, ReadLimits::default()).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"Records\" is a string, not an array"),
            "{err}"
        );
    }

    #[test]
    fn caps_are_enforced() {
        let limits = ReadLimits {
            max_decompressed_bytes: 50,
            max_record_bytes: 1000,
        };
        let err = names(&gz(TWO), limits).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 50 }), "{err}");
        let big = format!(
            r#"{{"Records":[{{"eventName":"A"}},{{"userAgent":"{}"}}]}}"#,
            "x".repeat(5000)
        );
        let limits = ReadLimits {
            max_decompressed_bytes: 1 << 20,
            max_record_bytes: 1000,
        };
        let err = names(big.as_bytes(), limits).unwrap_err();
        assert!(
            matches!(
                err,
                ReadError::RecordTooLarge {
                    index: 1,
                    limit: 1000
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn non_object_elements_become_invalid_records() {
        let data = br#"{"Records":[1,"x",[2],null,{"eventName":"A"}]}"#;
        let got = names(data, ReadLimits::default()).unwrap();
        assert_eq!(got, vec![None, None, None, None, Some("A".into())]);
    }

    #[test]
    fn source_errors_are_transient() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"))
            }
        }
        let err = read_records(Broken, ReadLimits::default(), |_, _| {}).unwrap_err();
        assert!(err.is_transient());
        let half = gz(TWO);
        let failing = half[..10].chain(Broken);
        let err = read_records(failing, ReadLimits::default(), |_, _| {}).unwrap_err();
        assert!(err.is_transient(), "{err}");
    }
}
