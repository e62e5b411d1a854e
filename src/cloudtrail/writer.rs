//! Writing CloudTrail log files the way CloudTrail delivers them: the object key (which
//! [`crate::cloudtrail::key::classify_key`] reads back) and the gzip body `{"Records":[...]}`. For the
//! generators: the demo trail, the evaluation's labelled traffic and the benchmark corpus.

use crate::base::time::Minute;
use flate2::{Compression, write::GzEncoder};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The key CloudTrail gives a log file of `account` and `region` delivered in minute
/// `delivered`: `AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_
/// <YYYYMMDDTHHmmZ>_<unique>.json.gz`.
pub fn key(account: &str, region: &str, delivered: Minute, unique: &str) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
        delivered.date_path(),
        delivered.to_compact(),
    )
}

/// Write `{"Records":[...]}` of `records` (each one JSON object) to `out`. Returns the
/// uncompressed size.
pub fn write_records<R: AsRef<[u8]>>(
    mut out: impl Write,
    records: impl IntoIterator<Item = R>,
) -> io::Result<u64> {
    out.write_all(b"{\"Records\":[")?;
    let mut written = 12;
    for (i, r) in records.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
            written += 1;
        }
        out.write_all(r.as_ref())?;
        written += r.as_ref().len() as u64;
    }
    out.write_all(b"]}")?;
    Ok(written + 2)
}

/// Write the gzip log file `key` under `root` (creating its folders). Returns its path.
pub fn write<R: AsRef<[u8]>>(
    root: &Path,
    key: &str,
    records: impl IntoIterator<Item = R>,
    level: Compression,
) -> io::Result<PathBuf> {
    let path = root.join(key);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let file = std::fs::File::create(&path)?;
    // Small writes are gathered before the encoder: its per-call cost is high in debug builds.
    let mut out = BufWriter::with_capacity(64 << 10, GzEncoder::new(file, level));
    write_records(&mut out, records)?;
    out.into_inner()
        .map_err(|e| e.into_error())?
        .finish()?
        .flush()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::key::classify_key;
    use std::io::Read;

    #[test]
    fn keys_read_back_and_files_hold_the_records() {
        let delivered = Minute::parse_compact("20260105T0810Z").unwrap();
        let key = key("123456789012", "eu-west-1", delivered, "AbC123");
        assert_eq!(
            key,
            "AWSLogs/123456789012/CloudTrail/eu-west-1/2026/01/05/\
             123456789012_CloudTrail_eu-west-1_20260105T0810Z_AbC123.json.gz"
        );
        let log = classify_key(&key).unwrap();
        assert_eq!(log.delivered, delivered);
        assert_eq!(
            (log.scope.account.as_str(), log.scope.region.as_str()),
            ("123456789012", "eu-west-1")
        );

        let dir = tempfile::tempdir().unwrap();
        let records = [r#"{"eventName":"A"}"#, r#"{"eventName":"B"}"#];
        let path = write(dir.path(), &key, records, Compression::fast()).unwrap();
        assert_eq!(path, dir.path().join(&key));
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, r#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#);
        let mut empty = Vec::new();
        assert_eq!(write_records(&mut empty, Vec::<&str>::new()).unwrap(), 14);
        assert_eq!(empty, br#"{"Records":[]}"#);
    }
}
