//! Streaming a log file: gzip (possibly multi-member) or plain JSON, one record at a time.
//!
//! Memory stays flat whatever the file size: records are handed to the caller as they are parsed
//! and never collected. Decompressed bytes and the size of any one record are capped so a
//! decompression bomb or a pathological record is refused with a clear reason.

use crate::cloudtrail::record::RawRecord;
use flate2::read::MultiGzDecoder;
use serde::de::IgnoredAny;
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
///
/// Decompressed bytes go into one buffer (256 KiB, grown only for a record that does not fit,
/// up to the record cap) and each record is parsed from that buffer with `serde_json::from_slice`
/// semantics: strings the record needs are borrowed rather than copied, and every other field is
/// skipped without being built. The array and object punctuation between records is read by hand,
/// so no parse ever needs the whole file in memory.
pub fn read_records<R: Read>(
    source: R,
    limits: ReadLimits,
    mut on_record: impl FnMut(RawRecord<'_>, u64),
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
    let (result, stats) = if gzip {
        let mut chunks = Chunks::new(MultiGzDecoder::new(buffered), limits);
        let result = chunks.file(&mut on_record);
        (result, chunks.stats(gzip))
    } else {
        let first = head.iter().find(|b| !b.is_ascii_whitespace()).copied();
        if first != Some(b'{') {
            return Err(ReadError::BadFormat(
                "neither gzip nor a JSON object".into(),
            ));
        }
        let mut chunks = Chunks::new(buffered, limits);
        let result = chunks.file(&mut on_record);
        (result, chunks.stats(gzip))
    };
    match result {
        Ok(()) => Ok(stats),
        Err(Fail::TooLarge) => Err(ReadError::TooLarge {
            limit: limits.max_decompressed_bytes,
        }),
        Err(Fail::RecordTooLarge) => Err(ReadError::RecordTooLarge {
            index: stats.records,
            limit: limits.max_record_bytes,
        }),
        Err(Fail::Io(e)) if source_failed.get() => Err(ReadError::Transient(e)),
        Err(Fail::Io(e)) if gzip => Err(ReadError::BadFormat(format!(
            "corrupt or truncated gzip data ({e})"
        ))),
        Err(Fail::Io(e)) => Err(ReadError::BadFormat(e.to_string())),
        Err(Fail::Eof(at)) => Err(ReadError::BadFormat(format!(
            "JSON ends early (at byte {at})"
        ))),
        Err(Fail::Json(msg, at)) => Err(ReadError::BadFormat(format!(
            "invalid JSON ({msg} near byte {at})"
        ))),
        Err(Fail::Shape(msg)) => Err(ReadError::BadFormat(msg)),
    }
}

/// Why reading stopped, before it is described as a [`ReadError`].
enum Fail {
    Io(io::Error),
    TooLarge,
    RecordTooLarge,
    /// The input ended inside the JSON (at this decompressed offset).
    Eof(u64),
    /// Not valid CloudTrail JSON: the reason and the decompressed offset near which it was found.
    Json(String, u64),
    /// Valid JSON of the wrong shape: what was found (its type, never its content).
    Shape(String),
}

/// The JSON type a value starting with `b` has, for messages that must not quote content.
fn json_type(b: u8) -> Option<&'static str> {
    Some(match b {
        b'[' => "an array",
        b'{' => "an object",
        b'"' => "a string",
        b'0'..=b'9' | b'-' => "a number",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => return None,
    })
}

/// Initial buffer size: large enough that refills (and the partial record each one moves to the
/// front) are rare, small enough that memory stays flat.
const CHUNK: usize = 256 << 10;

/// Decompressed bytes in one reusable buffer: `buf[start..end]` is not consumed yet.
struct Chunks<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    /// Bytes read from `inner` so far; `total - (end - start)` is the offset of `start`.
    total: u64,
    records: u64,
    limits: ReadLimits,
}

impl<R: Read> Chunks<R> {
    fn new(inner: R, limits: ReadLimits) -> Self {
        Chunks {
            inner,
            buf: vec![0; CHUNK],
            start: 0,
            end: 0,
            eof: false,
            total: 0,
            records: 0,
            limits,
        }
    }

    fn stats(&self, gzip: bool) -> ReadStats {
        ReadStats {
            records: self.records,
            decompressed_bytes: self.total,
            gzip,
        }
    }

    /// Decompressed offset of the next unconsumed byte (for error messages).
    fn offset(&self) -> u64 {
        self.total - (self.end - self.start) as u64
    }

    fn json_error(&self, msg: impl Into<String>) -> Fail {
        Fail::Json(msg.into(), self.offset())
    }

    /// Read more input after the unconsumed bytes; `false` at the end of the input. The buffer
    /// grows only when one unfinished value fills it, and never past the record cap.
    fn fill(&mut self) -> Result<bool, Fail> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            if self.end as u64 > self.limits.max_record_bytes {
                return Err(Fail::RecordTooLarge);
            }
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    self.total += n as u64;
                    if self.total > self.limits.max_decompressed_bytes {
                        return Err(Fail::TooLarge);
                    }
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Fail::Io(e)),
            }
        }
    }

    /// The next byte that is not JSON whitespace, without consuming it; `None` at the end.
    fn peek(&mut self) -> Result<Option<u8>, Fail> {
        loop {
            while self.start < self.end {
                let b = self.buf[self.start];
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.start += 1;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Consume `want` (after whitespace), or fail naming the type found instead (`what` is the
    /// value's name, `want_type` what it should be), or, for bytes that start no JSON value,
    /// as invalid JSON.
    fn expect_type(&mut self, want: u8, what: &str, want_type: &str) -> Result<(), Fail> {
        match self.peek()? {
            Some(b) if b == want => {
                self.start += 1;
                Ok(())
            }
            Some(b) => Err(match json_type(b) {
                Some(found) => Fail::Shape(format!("{what} is {found}, not {want_type}")),
                None => self.json_error(format!("expected {want_type}")),
            }),
            None => Err(Fail::Eof(self.offset())),
        }
    }

    /// Consume `want` (after whitespace) or fail naming what was expected.
    fn expect(&mut self, want: u8, what: &str) -> Result<(), Fail> {
        match self.peek()? {
            Some(b) if b == want => {
                self.start += 1;
                Ok(())
            }
            Some(_) => Err(self.json_error(format!("expected {what}"))),
            None => Err(Fail::Eof(self.offset())),
        }
    }

    /// Parse one JSON value at the front of the unconsumed bytes with `parse`, refilling and
    /// retrying while the bytes end inside it. `parse` gets the bytes and whether more may come,
    /// and returns how many bytes the value used (`None`: incomplete).
    fn value(
        &mut self,
        mut parse: impl FnMut(&[u8], bool) -> Result<Option<usize>, serde_json::Error>,
    ) -> Result<usize, Fail> {
        loop {
            let more = !self.eof;
            match parse(&self.buf[self.start..self.end], more) {
                Ok(Some(used)) => {
                    self.start += used;
                    return Ok(used);
                }
                Ok(None) => {
                    self.fill()?;
                }
                Err(e) if e.is_eof() => return Err(Fail::Eof(self.total)),
                Err(e) => {
                    let msg = e.to_string();
                    let msg = msg.rsplit_once(" at line ").map_or(msg.as_str(), |m| m.0);
                    return Err(self.json_error(msg));
                }
            }
        }
    }

    /// `{ ... "Records": [ ... ] ... }` and nothing after it.
    fn file(&mut self, on_record: &mut dyn FnMut(RawRecord<'_>, u64)) -> Result<(), Fail> {
        self.expect_type(b'{', "the top-level value", "an object")?;
        let mut found = false;
        if self.peek()? == Some(b'}') {
            self.start += 1;
        } else {
            loop {
                let mut is_records = false;
                self.value(|bytes, more| {
                    Ok(front::<String>(bytes, more)?.map(|(key, used)| {
                        is_records = key == "Records";
                        used
                    }))
                })?;
                self.expect(b':', "`:` after an object key")?;
                if is_records && !found {
                    self.records(on_record)?;
                    found = true;
                } else {
                    self.value(|bytes, more| Ok(front::<IgnoredAny>(bytes, more)?.map(|v| v.1)))?;
                }
                match self.peek()? {
                    Some(b',') => self.start += 1,
                    Some(b'}') => {
                        self.start += 1;
                        break;
                    }
                    Some(_) => return Err(self.json_error("expected `,` or `}` after a value")),
                    None => return Err(Fail::Eof(self.offset())),
                }
            }
        }
        if self.peek()?.is_some() {
            return Err(self.json_error("trailing characters after the top-level object"));
        }
        if !found {
            return Err(self.json_error("the top-level object has no \"Records\" array"));
        }
        Ok(())
    }

    /// The `Records` array. An element that is not an object is passed on as an empty
    /// (invalid) record.
    fn records(&mut self, on_record: &mut dyn FnMut(RawRecord<'_>, u64)) -> Result<(), Fail> {
        self.expect_type(b'[', "\"Records\"", "an array")?;
        if self.peek()? == Some(b']') {
            self.start += 1;
            return Ok(());
        }
        let cap = self.limits.max_record_bytes;
        loop {
            let index = self.records;
            let is_object = self.peek()? == Some(b'{');
            let used = self.value(|bytes, more| {
                if !is_object {
                    return Ok(front::<IgnoredAny>(bytes, more)?.map(|(_, used)| {
                        on_record(RawRecord::default(), index);
                        used
                    }));
                }
                Ok(match front::<RawRecord>(bytes, more)? {
                    // Too large: refused below, before the record is used.
                    Some((_, used)) if used as u64 > cap => Some(used),
                    Some((record, used)) => {
                        on_record(record, index);
                        Some(used)
                    }
                    None => None,
                })
            })?;
            if used as u64 > cap {
                return Err(Fail::RecordTooLarge);
            }
            self.records += 1;
            match self.peek()? {
                Some(b',') => self.start += 1,
                Some(b']') => {
                    self.start += 1;
                    return Ok(());
                }
                Some(_) => return Err(self.json_error("expected `,` or `]` after a record")),
                None => return Err(Fail::Eof(self.offset())),
            }
        }
    }
}

/// Deserialize one value from the front of `bytes`: the value and the bytes it used. `None` when
/// more input may complete it: the bytes end inside it, or right after it (a number could go on).
fn front<'b, T: serde::Deserialize<'b>>(
    bytes: &'b [u8],
    more: bool,
) -> Result<Option<(T, usize)>, serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<T>();
    match stream.next() {
        Some(Ok(v)) => {
            let used = stream.byte_offset();
            Ok((used < bytes.len() || !more).then_some((v, used)))
        }
        Some(Err(e)) if more && (e.is_eof() || raised_at_end(bytes, &e)) => Ok(None),
        Some(Err(e)) => Err(e),
        None if more => Ok(None),
        None => Err(serde::de::Error::custom(
            "the input ends where a value should be",
        )),
    }
}

/// Whether `e` was raised at the last byte of `bytes`: a number cut short by the end of the
/// buffer (`1.`, `-`, `2e`) is reported as an invalid number rather than as the end of input.
fn raised_at_end(bytes: &[u8], e: &serde_json::Error) -> bool {
    let line_start = match e.line() {
        0 | 1 => 0,
        line => match bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line - 2)
        {
            Some((i, _)) => i + 1,
            None => return false,
        },
    };
    line_start + e.column() >= bytes.len()
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

#[cfg(test)]
mod tests {
    use super::*;

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
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn names(data: &[u8], limits: ReadLimits) -> Result<Vec<Option<String>>, ReadError> {
        let mut out = Vec::new();
        read_records(data, limits, |r, _| {
            out.push(r.event_name.map(|n| n.into_owned()))
        })
        .map(|_| out)
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
            (
                b"{\"Records\":{}}",
                "\"Records\" is an object, not an array",
            ),
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
    fn invalid_utf8_inside_user_identity_does_not_fail_the_file() {
        let data = b"{\"Records\":[{\"eventName\":\"A\",\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"ab\xFF\"}},{\"eventName\":\"B\"}]}";
        let got = names(data, ReadLimits::default()).unwrap();
        assert_eq!(got, vec![Some("A".into()), Some("B".into())]);
        // Read a byte at a time too: the identity straddles every refill.
        let mut seen = Vec::new();
        read_records(Trickle(data), ReadLimits::default(), |r, _| {
            seen.push(r.event_name.map(|n| n.into_owned()));
        })
        .unwrap();
        assert_eq!(seen, got);
    }

    /// Hands out one byte per read, so every value straddles a refill of the buffer.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn values_split_across_reads_parse_the_same() {
        let data = br#"{ "x" : 12345 , "Records" : [ 12345 , "a\"b" , {"eventName":"A\u00e9","eventTime":"2026-01-05T10:00:00Z","n":-1.5e3} , [ 1 , 2 ] , null , {"eventName":"B"} ] , "y" : [ 67890 ] } "#;
        let whole = names(data, ReadLimits::default()).unwrap();
        let mut split = Vec::new();
        read_records(Trickle(data), ReadLimits::default(), |r, _| {
            split.push(r.event_name.map(|n| n.into_owned()))
        })
        .unwrap();
        assert_eq!(whole, split);
        assert_eq!(
            split,
            vec![
                None,
                None,
                Some("A\u{e9}".into()),
                None,
                None,
                Some("B".into())
            ]
        );
        let lines = b"{\"Records\":[\n1.5,\n{\"eventName\":\"C\",\"n\":\n-2.5e-3}\n]}";
        let mut got = Vec::new();
        read_records(Trickle(lines), ReadLimits::default(), |r, _| {
            got.push(r.event_name.map(|n| n.into_owned()))
        })
        .unwrap();
        assert_eq!(got, vec![None, Some("C".into())]);
        let err = read_records(
            Trickle(&data[..data.len() - 8]),
            ReadLimits::default(),
            |_, _| {},
        )
        .unwrap_err();
        assert!(err.to_string().contains("ends early"), "{err}");
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
