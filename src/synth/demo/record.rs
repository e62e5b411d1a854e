//! Rendering a call as one CloudTrail record (hand-assembled JSON) and the helpers it needs.

use super::callers::{Caller, Principal};
use super::calls::Call;
use super::{Ev, Gen, OLD_STYLE_P, truncate_minute};
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use rand::Rng;
use std::fmt::Write as _;

impl Gen<'_> {
    /// Renders a call as one CloudTrail record.
    ///
    /// Assembled by hand rather than through serde: in a debug build the
    /// per-byte escaping of ~1 KB records dominated generation time. Only
    /// strings this module controls (constants, ids, times, the pre-escaped
    /// account and region) are pushed unescaped; free text goes through serde.
    pub(super) fn emit(&mut self, call: Call) -> Ev {
        let old = call.read_only && !call.injected && self.rng.random_bool(OLD_STYLE_P);
        let request_id = if call.source == "s3.amazonaws.com" {
            self.alnum(16, true)
        } else {
            self.uuid()
        };
        let event_id = self.uuid();
        let acct = self.acct.as_str();
        let region = self.region.as_str();
        let c = call.caller;
        let mut s = String::with_capacity(1536);
        s.push_str("{\"eventVersion\":\"");
        s.push_str(if old { "1.05" } else { "1.09" });
        s.push_str("\",\"userIdentity\":");
        push_identity(&mut s, acct, &c, call.time);
        push_field(&mut s, "eventTime", &format_time(call.time));
        push_field(&mut s, "eventSource", call.source);
        push_field(&mut s, "eventName", call.name);
        push_field(&mut s, "awsRegion", region);
        push_field(&mut s, "sourceIPAddress", c.ip);
        push_field(&mut s, "userAgent", c.agent);
        if let Some((code, msg)) = &call.error {
            push_field(&mut s, "errorCode", code);
            push_field(&mut s, "errorMessage", &json_inner(msg));
        }
        s.push_str(",\"requestParameters\":");
        s.push_str(&call.params);
        s.push_str(",\"responseElements\":");
        s.push_str(&call.response);
        if let Some(extra) = &call.extra {
            s.push_str(",\"additionalEventData\":");
            s.push_str(extra);
        }
        push_field(&mut s, "requestID", &request_id);
        push_field(&mut s, "eventID", &event_id);
        if !old {
            s.push_str(if call.read_only {
                ",\"readOnly\":true"
            } else {
                ",\"readOnly\":false"
            });
        }
        if let Some(res) = &call.resources {
            s.push_str(",\"resources\":");
            s.push_str(res);
        }
        push_field(&mut s, "eventType", "AwsApiCall");
        if !old {
            s.push_str(",\"managementEvent\":true");
        }
        push_field(&mut s, "recipientAccountId", acct);
        if !old {
            push_field(&mut s, "eventCategory", "Management");
            let service_call = c.invoked_by.is_some() || matches!(c.who, Principal::Service);
            if !service_call {
                s.push_str(",\"tlsDetails\":{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\"");
                push_field(
                    &mut s,
                    "clientProvidedHostHeader",
                    &host_header(call.source, region),
                );
                s.push('}');
            }
        }
        if c.console {
            push_field(&mut s, "sessionCredentialFromConsole", "true");
        }
        s.push('}');
        Ev {
            time: call.time,
            json: s,
            injected: call.injected,
        }
    }
}

/// Writes `userIdentity`. Sessions start on the hour, as role credentials rotate hourly.
fn push_identity(s: &mut String, acct: &str, c: &Caller, time: DateTime<Utc>) {
    match c.who {
        Principal::Role(role, session) => {
            let role_id = stable_id("AROA", role);
            let created = format_time(truncate_hour(time));
            let key = stable_id("ASIA", &format!("{role}/{session}/{created}"));
            let mfa = if c.console { "true" } else { "false" };
            let _ = write!(
                s,
                "{{\"type\":\"AssumedRole\",\"principalId\":\"{role_id}:{session}\",\
                 \"arn\":\"arn:aws:sts::{acct}:assumed-role/{role}/{session}\",\
                 \"accountId\":\"{acct}\",\"accessKeyId\":\"{key}\",\
                 \"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\
                 \"principalId\":\"{role_id}\",\"arn\":\"arn:aws:iam::{acct}:role/{role}\",\
                 \"accountId\":\"{acct}\",\"userName\":\"{role}\"}},\
                 \"webIdFederationData\":{{}},\"attributes\":{{\
                 \"creationDate\":\"{created}\",\"mfaAuthenticated\":\"{mfa}\"}}}}"
            );
        }
        Principal::User(name) => {
            let _ = write!(
                s,
                "{{\"type\":\"IAMUser\",\"principalId\":\"{}\",\
                 \"arn\":\"arn:aws:iam::{acct}:user/{name}\",\"accountId\":\"{acct}\",\
                 \"accessKeyId\":\"{}\",\"userName\":\"{name}\"",
                stable_id("AIDA", name),
                stable_id("AKIA", name)
            );
        }
        Principal::Service => s.push_str("{\"type\":\"AWSService\""),
    }
    if let Some(by) = c.invoked_by {
        push_field(s, "invokedBy", by);
    }
    s.push('}');
}

/// Appends `,"key":"value"`; `value` must not need JSON escaping.
fn push_field(s: &mut String, key: &str, value: &str) {
    s.push_str(",\"");
    s.push_str(key);
    s.push_str("\":\"");
    s.push_str(value);
    s.push('"');
}

/// JSON-escaped contents of a string, without the surrounding quotes.
pub(super) fn json_inner(raw: &str) -> String {
    // Serialising a str cannot fail; an empty string keeps the record valid regardless.
    let quoted = serde_json::to_string(raw).unwrap_or_else(|_| "\"\"".to_string());
    quoted[1..quoted.len() - 1].to_string()
}

/// The `Jan 5, 2026, 3:00:00 PM` style AWS uses for dates inside API payloads.
pub(super) fn aws_date(t: DateTime<Utc>) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[t.month0() as usize];
    let (pm, hour) = t.hour12();
    let ampm = if pm { "PM" } else { "AM" };
    format!(
        "{month} {}, {}, {hour}:{:02}:{:02} {ampm}",
        t.day(),
        t.year(),
        t.minute(),
        t.second()
    )
}

fn truncate_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    truncate_minute(t) - Duration::minutes(i64::from(t.minute()))
}

fn format_time(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn host_header(source: &str, region: &str) -> String {
    match source {
        "s3.amazonaws.com" | "sts.amazonaws.com" => source.to_string(),
        _ => {
            let svc = source.trim_end_matches(".amazonaws.com");
            format!("{svc}.{region}.amazonaws.com")
        }
    }
}

/// AWS-looking id (`AROA…`, `ASIA…`) derived from a name, so a principal keeps one id.
pub(super) fn stable_id(prefix: &str, name: &str) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in prefix.bytes().chain(name.bytes()) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let len = if prefix == "AROA" || prefix == "AIDA" {
        17
    } else {
        16
    };
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    for _ in 0..len {
        // splitmix64 step: cheap, well-mixed stream from the hash.
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        out.push(char::from(CHARS[(z % 32) as usize]));
    }
    out
}
