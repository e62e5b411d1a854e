//! Recognising CloudTrail object keys.
//!
//! Only `CloudTrail` log files are analysed. Everything else that CloudTrail writes into the same
//! bucket (digests, Insights, aggregated and network-activity files), and our own output, must be
//! skipped with a reason, so that the function never re-ingests what it wrote.

use crate::base::time::Minute;

/// The account/region a log file belongs to: the unit of analysis.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TrailScope {
    /// Organization ID (`o-…`) for organization trails.
    pub org: Option<String>,
    pub account: String,
    pub region: String,
}

/// A key recognised as a CloudTrail management/data log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileKey {
    /// Everything before `AWSLogs/` (without the trailing slash), if any.
    pub prefix: Option<String>,
    pub scope: TrailScope,
    /// Delivery minute from the file name (`YYYYMMDDTHHmmZ`).
    pub delivered: Minute,
    pub file_name: String,
}

/// Why a key is not analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A CloudTrail output that is not a log of API calls (digest, Insight, aggregated, …).
    NotAnalysed { folder: String },
    /// Not laid out like a CloudTrail key at all.
    Unrecognised { why: &'static str },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NotAnalysed { folder } => {
                write!(
                    f,
                    "{folder} files are not analysed (only CloudTrail log files are)"
                )
            }
            SkipReason::Unrecognised { why } => write!(f, "not a CloudTrail log file key: {why}"),
        }
    }
}

/// Folders CloudTrail writes besides `CloudTrail`; named so the skip reason is specific.
const OTHER_FOLDERS: &[&str] = &[
    "CloudTrail-Digest",
    "CloudTrail-Insight",
    "CloudTrail-Aggregated",
    "CloudTrail-NetworkActivity",
];

/// Classify a key or a path (anything containing an `AWSLogs/` segment).
pub fn classify_key(key: &str) -> Result<LogFileKey, SkipReason> {
    let key = key.replace('\\', "/");
    let segments: Vec<&str> = key.split('/').collect();
    let Some(pos) = segments.iter().rposition(|s| *s == "AWSLogs") else {
        return Err(SkipReason::Unrecognised {
            why: "no AWSLogs/ segment",
        });
    };
    let prefix = if pos == 0 {
        None
    } else {
        Some(segments[..pos].join("/")).filter(|p| !p.is_empty())
    };
    let mut rest = &segments[pos + 1..];
    let org = match rest.first() {
        Some(s) if is_org_id(s) => {
            let org = s.to_string();
            rest = &rest[1..];
            Some(org)
        }
        _ => None,
    };
    let [account, folder, region, yyyy, mm, dd, file_name] = rest else {
        return Err(SkipReason::Unrecognised {
            why: "expected <account>/<folder>/<region>/YYYY/MM/DD/<file> after AWSLogs/",
        });
    };
    if !is_account_id(account) {
        return Err(SkipReason::Unrecognised {
            why: "account is not 12 digits",
        });
    }
    if *folder != "CloudTrail" {
        if OTHER_FOLDERS.contains(folder) {
            return Err(SkipReason::NotAnalysed {
                folder: folder.to_string(),
            });
        }
        return Err(SkipReason::Unrecognised {
            why: "unknown folder after the account",
        });
    }
    if !is_region(region) {
        return Err(SkipReason::Unrecognised {
            why: "region is not a region name",
        });
    }
    if !(is_digits(yyyy, 4) && is_digits(mm, 2) && is_digits(dd, 2)) {
        return Err(SkipReason::Unrecognised {
            why: "date folders are not YYYY/MM/DD",
        });
    }
    let delivered = parse_log_file_name(file_name, account, region)?;
    Ok(LogFileKey {
        prefix,
        scope: TrailScope {
            org,
            account: account.to_string(),
            region: region.to_string(),
        },
        delivered,
        file_name: file_name.to_string(),
    })
}

/// `<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json[.gz]`; returns the delivery minute.
fn parse_log_file_name(name: &str, account: &str, region: &str) -> Result<Minute, SkipReason> {
    let stem = name
        .strip_suffix(".json.gz")
        .or_else(|| name.strip_suffix(".json"))
        .ok_or(SkipReason::Unrecognised {
            why: "file name does not end in .json.gz or .json",
        })?;
    let expected_head = format!("{account}_CloudTrail_{region}_");
    let tail = stem
        .strip_prefix(&expected_head)
        .ok_or(SkipReason::Unrecognised {
            why: "file name does not start with <account>_CloudTrail_<region>_",
        })?;
    let (stamp, unique) = tail.split_once('_').ok_or(SkipReason::Unrecognised {
        why: "file name lacks the _<unique> part",
    })?;
    if unique.is_empty() || !unique.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(SkipReason::Unrecognised {
            why: "file name's unique part is not alphanumeric",
        });
    }
    Minute::parse_compact(stamp).ok_or(SkipReason::Unrecognised {
        why: "file name stamp is not YYYYMMDDTHHmmZ",
    })
}

/// Whether a path's file name looks like a CloudTrail log file (used to pick files in `replay`).
pub fn looks_like_log_file(path: &str) -> bool {
    classify_key(path).is_ok()
}

fn is_org_id(s: &str) -> bool {
    s.len() > 2
        && s.starts_with("o-")
        && s[2..]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn is_account_id(s: &str) -> bool {
    is_digits(s, 12)
}

fn is_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.contains('-')
}

/// Decode an S3 notification key: form encoding, so `+` is a space, then percent-decoding.
pub fn decode_notification_key(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";

    #[test]
    fn plain_log_key() {
        let k = classify_key(LOG).unwrap();
        assert_eq!(k.prefix, None);
        assert_eq!(k.scope.account, "111122223333");
        assert_eq!(k.scope.region, "us-east-2");
        assert_eq!(k.scope.org, None);
        assert_eq!(k.delivered.to_rfc3339(), "2015-08-01T02:10:00Z");
    }

    #[test]
    fn prefixed_org_key() {
        let key = format!(
            "o-fxozgwu6rc/AWSLogs/o-fxozgwu6rc/{}",
            &LOG["AWSLogs/".len()..]
        );
        let k = classify_key(&key).unwrap();
        assert_eq!(k.prefix.as_deref(), Some("o-fxozgwu6rc"));
        assert_eq!(k.scope.org.as_deref(), Some("o-fxozgwu6rc"));
        let deep = format!("a/b c/AWSLogs/{}", &LOG["AWSLogs/".len()..]);
        assert_eq!(
            classify_key(&deep).unwrap().prefix.as_deref(),
            Some("a/b c")
        );
    }

    #[test]
    fn plain_json_is_accepted() {
        let key = LOG.replace(".json.gz", ".json");
        assert!(classify_key(&key).is_ok());
    }

    #[test]
    fn other_cloudtrail_outputs_are_skipped_with_their_folder() {
        for folder in OTHER_FOLDERS {
            let key = format!(
                "AWSLogs/123456789015/{folder}/ca-central-1/2020/09/23/123456789015_{folder}_ca-central-1_20200923T0516Z_KL5e9VCV2SS7IqzB.json.gz"
            );
            assert_eq!(
                classify_key(&key),
                Err(SkipReason::NotAnalysed {
                    folder: folder.to_string()
                }),
                "{key}"
            );
        }
    }

    #[test]
    fn unrecognised_layouts() {
        for key in [
            "",
            "random/object.txt",
            "AWSLogs/12345/CloudTrail/us-east-1/2020/01/01/x.json.gz",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/x.json.gz",
            "AWSLogs/123456789012/Other/us-east-1/2020/01/01/x.json.gz",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/01/123456789012_CloudTrail_us-east-1_20200101T0000Z_abc.txt",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/01/999999999999_CloudTrail_us-east-1_20200101T0000Z_abc.json.gz",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/01/123456789012_CloudTrail_us-east-1_2020010T0000Z_abc.json.gz",
            "AWSLogs/123456789012/CloudTrail/us-east-1/2020/01/01/123456789012_CloudTrail_us-east-1_20200101T0000Z_.json.gz",
        ] {
            assert!(
                matches!(classify_key(key), Err(SkipReason::Unrecognised { .. })),
                "{key}"
            );
        }
    }

    #[test]
    fn notification_keys_are_form_decoded() {
        assert_eq!(decode_notification_key("red+flower.jpg"), "red flower.jpg");
        assert_eq!(decode_notification_key("a%2Bb%20c"), "a+b c");
        assert_eq!(decode_notification_key("caf%C3%A9"), "café");
        assert_eq!(decode_notification_key("100%"), "100%");
        assert_eq!(decode_notification_key("%zz"), "%zz");
        assert_eq!(decode_notification_key("%4"), "%4");
    }
}
