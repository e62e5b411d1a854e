//! Organization trails (`AWSLogs/o-…/<account>/…`): each member account has its own baselines
//! and its own Insights folder. Two accounts see the same AccessDenied burst at 10:00 on day 9;
//! for one it is new, for the other it happens every day at that time, so only the first gets
//! an insight.

mod common;

use common::{event, gz};
use serde_json::{Value, json};
use std::path::Path;
use trail_insights::app::cli::metrics::metrics;
use trail_insights::app::cli::replay::replay;
use trail_insights::base::series::SeriesKey;
use trail_insights::base::time::Minute;
use trail_insights::cloudtrail::key::TrailScope;
use trail_insights::config::Config;
use trail_insights::insight::pairs::lookup;

const ORG: &str = "o-abc123def4";
const NEW: &str = "111111111111";
const USUAL: &str = "222222222222";

fn write(root: &Path, account: &str, stamp: &str, unique: &str, records: &[Value]) {
    let dir = root.join(format!(
        "AWSLogs/{ORG}/{account}/CloudTrail/us-east-1/{}/{}/{}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let body = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    std::fs::write(
        dir.join(format!(
            "{account}_CloudTrail_us-east-1_{stamp}_{unique}.json.gz"
        )),
        gz(&body),
    )
    .unwrap();
}

fn denied(account: &str, time: &str, id: &str) -> Value {
    let mut e = event(
        time,
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        Some("AccessDenied"),
        &format!("arn:aws:sts::{account}:assumed-role/App/i-1"),
        id,
    );
    e["recipientAccountId"] = json!(account);
    e["userIdentity"]["accountId"] = json!(account);
    e
}

fn burst(account: &str, day: u32, tag: &str) -> Vec<Value> {
    (0..20)
        .map(|i| {
            denied(
                account,
                &format!("2026-01-{day:02}T10:00:{:02}Z", i * 2),
                &format!("{account}-{tag}-{i}"),
            )
        })
        .collect()
}

#[test]
fn member_accounts_have_their_own_baselines_and_insights_folders() {
    let work = tempfile::tempdir().unwrap();
    let logs = work.path().join("logs");
    for account in [NEW, USUAL] {
        // A week and more of history: one event on day 1, and for USUAL the 10:00 burst daily.
        write(
            &logs,
            account,
            "20260101T0005Z",
            "ORGORGORGORGORG1",
            &[denied(
                account,
                "2026-01-01T00:00:00Z",
                &format!("{account}-first"),
            )],
        );
        if account == USUAL {
            for day in 2..9 {
                write(
                    &logs,
                    account,
                    &format!("202601{day:02}T1005Z"),
                    "ORGORGORGORGORG2",
                    &burst(account, day, &format!("d{day}")),
                );
            }
        }
        write(
            &logs,
            account,
            "20260109T1005Z",
            "ORGORGORGORGORG3",
            &burst(account, 9, "d9"),
        );
        write(
            &logs,
            account,
            "20260109T1040Z",
            "ORGORGORGORGORG4",
            &[denied(
                account,
                "2026-01-09T10:35:00Z",
                &format!("{account}-last"),
            )],
        );
    }
    let (state, out) = (work.path().join("state"), work.path().join("out"));
    let s = replay(
        std::slice::from_ref(&logs),
        &state,
        &out,
        Config::default(),
        true,
        false,
    )
    .unwrap();
    assert_eq!(s.processed, 2 * 3 + 7, "{s:?}");

    let found = lookup(&out).unwrap();
    assert_eq!(
        found.len(),
        1,
        "only the account for which the burst is new"
    );
    let start = found[0].start.as_ref().unwrap();
    assert!(found[0].end.is_some());
    assert_eq!(start.recipient_account_id.as_deref(), Some(NEW));
    assert_eq!(start.event_time, "2026-01-09T10:00:00Z");
    let files: Vec<String> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(&out)
                .unwrap()
                .to_string_lossy()
                .to_string()
        })
        .collect();
    assert_eq!(files.len(), 2);
    for f in &files {
        assert!(
            f.starts_with(&format!(
                "AWSLogs/{ORG}/{NEW}/CloudTrail-Insight/us-east-1/2026/01/09/"
            )),
            "{f}"
        );
    }

    // Per-account counts: the same minute holds each account's own 20 events.
    let series = SeriesKey::error_rate(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        "AccessDenied",
    );
    let at = Minute::parse_event_time("2026-01-09T10:00:00Z").unwrap();
    for account in [NEW, USUAL] {
        let scope = TrailScope {
            org: Some(ORG.into()),
            account: account.into(),
            region: "us-east-1".into(),
        };
        let m = metrics(&state, &scope, &series, at, at.plus(1), 60, false).unwrap();
        assert_eq!(m["Values"], json!([20.0]), "{account}: {m}");
    }
    // Without the organization ID it is another trail, with nothing in it.
    let plain = TrailScope {
        org: None,
        account: NEW.into(),
        region: "us-east-1".into(),
    };
    let m = metrics(&state, &plain, &series, at, at.plus(1), 60, false).unwrap();
    assert_eq!(m["Values"], json!([]));
}
