//! Deploy sessions: one identity driving several APIs above their usual rate at the same time,
//! as a Terraform or Pulumi run does when it creates, reads and tags resources. By each API's own
//! counts such a burst is a spike, and every API it touches would get an insight; but its cause is
//! a single, routine activity. A Start whose top user agent is a deploy tool's
//! (`DEPLOY_SESSION_AGENTS`) and whose top caller drove at least `DEPLOY_SESSION_APIS` APIs (its
//! own included) far above their usual rate within [`SESSION_WINDOW_MINUTES`] of its run is
//! withheld: logged with the evidence, not written.
//!
//! A runaway script on one API is still reported (one API is not a session), and so is a burst on
//! many APIs by anything but a deploy tool: an intruder enumerating with stolen credentials and
//! the CLI or an SDK, a multi-API incident. The cost: such a burst made through a deploy tool is
//! withheld too. `DEPLOY_SESSION_APIS=0` reports every one.
//!
//! A run reaches its APIs one after another, in files delivered apart, so the engine holds a Start
//! made through a deploy tool until its window has been delivered and judges it then (see
//! `Engine::judge_sessions`). A reported Start is never withdrawn: APIs that arrive after the
//! hold do not change the verdict on the ones judged before.

use crate::base::series::SeriesKey;
use crate::base::time::Minute;
use crate::detect::detector::{Phase, Transition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// User agents of tools that deploy infrastructure (matched in any case, `*` wildcards):
/// Terraform and OpenTofu (their AWS provider), Pulumi, CloudFormation (and so CDK, SAM and the
/// Serverless Framework, which deploy through it), Crossplane.
pub const DEPLOY_AGENTS: &[&str] = &[
    "*terraform*",
    "*pulumi*",
    "*cloudformation*",
    "*crossplane*",
];

/// Whether `agent` is a deploy tool's by `patterns`.
pub fn is_deploy_agent(agent: &str, patterns: &[String]) -> bool {
    let agent = agent.to_ascii_lowercase();
    patterns
        .iter()
        .any(|p| crate::count::suppression::glob(&p.to_ascii_lowercase(), &agent))
}

/// How far before the run's first minute and after its proving minute other APIs' minutes count
/// as the same session.
pub const SESSION_WINDOW_MINUTES: i64 = 5;

/// How long after a held Start's session window ends it waits for the files that carry the
/// window's last minutes: CloudTrail delivers most within about five minutes, a few take longer.
pub const SESSION_HOLD_MINUTES: i64 = 10;

/// A Start made through a deploy tool, held until its session window has been delivered, with
/// whatever was decided for its insight since. Kept in the series' state, so it is stored with
/// the decision that made it, as a written Start's file is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldStart {
    /// The insight's first minute (as its Start now says).
    pub start: Minute,
    /// The session window's last minute: judged once files up to [`SESSION_HOLD_MINUTES`]
    /// after it have been delivered, or once it is closed.
    pub until: Minute,
    /// The Start first, then its End, in order.
    pub transitions: Vec<Transition>,
}

impl HeldStart {
    /// Whether `t` is of this held insight: its End, or a Start that moves it.
    pub fn holds(&self, t: &Transition) -> bool {
        t.start == self.start || t.replaces == Some(self.start)
    }

    /// Keep `t` with the held Start. A Start that moves it replaces it (the first was never
    /// written), and the wait covers the moved Start's window too.
    pub fn hold(&mut self, mut t: Transition) {
        if let Some(old) = t.replaces.take() {
            self.transitions
                .retain(|h| !(h.phase == Phase::Start && h.start == old));
            let (_, until) = window_of(&t);
            self.start = t.start;
            self.until = self.until.max(until);
            self.transitions.insert(0, t);
        } else {
            self.transitions.push(t);
        }
    }
}

/// What another series did in the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation<'a> {
    pub series: &'a SeriesKey,
    /// The caller with the most events in that series and minute.
    pub top_caller: Option<&'a str>,
    /// Its events in the window were as unlikely under its own baseline as a Start needs.
    pub unusual: bool,
}

/// Why a Start is withheld: the caller and the other APIs it drove in the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploySession {
    pub caller: String,
    /// `eventSource:eventName` of the other APIs, sorted.
    pub other_apis: Vec<String>,
}

/// The minutes, around a run from `start` to `proving`, that the session rule reads.
pub fn window(start: Minute, proving: Minute) -> (Minute, Minute) {
    (
        start.plus(-SESSION_WINDOW_MINUTES),
        proving.plus(SESSION_WINDOW_MINUTES),
    )
}

/// The window around a Start's run as far as it is known (its first minute to its proving one).
pub fn window_of(t: &Transition) -> (Minute, Minute) {
    window(t.start, t.start.plus(t.insight_duration - 1))
}

/// Whether a Start of `series`, whose top caller is `caller`, is part of a deploy session, given
/// what the account's other series did in the window. `min_apis` counts APIs (an API's call-rate
/// and error-rate series are one API), the Start's own included; 0 turns the rule off.
pub fn deploy_session<'a>(
    series: &SeriesKey,
    caller: &str,
    others: impl IntoIterator<Item = Observation<'a>>,
    min_apis: usize,
) -> Option<DeploySession> {
    if min_apis == 0 {
        return None;
    }
    let api = |k: &SeriesKey| format!("{}:{}", k.event_source, k.event_name);
    let own = api(series);
    let other_apis: BTreeSet<String> = others
        .into_iter()
        .filter(|o| o.unusual && o.top_caller == Some(caller))
        .map(|o| api(o.series))
        .filter(|a| *a != own)
        .collect();
    (other_apis.len() + 1 >= min_apis).then(|| DeploySession {
        caller: caller.to_string(),
        other_apis: other_apis.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transition(phase: Phase, start: i64, replaces: Option<i64>) -> Transition {
        Transition {
            phase,
            start: Minute(start),
            event_time: Minute(start),
            insight_average: 20.0,
            insight_duration: 2,
            baseline_average: 0.01,
            baseline_duration: 10_080,
            insight_attribution: Default::default(),
            baseline_attribution: Default::default(),
            accepted_as_normal: false,
            replaces: replaces.map(Minute),
            drop: false,
            withheld: false,
        }
    }

    #[test]
    fn a_held_start_keeps_its_end_and_is_replaced_by_a_start_that_moves_it() {
        let start = transition(Phase::Start, 100, None);
        let mut held = HeldStart {
            start: Minute(100),
            until: Minute(106),
            transitions: vec![start],
        };
        let moved = transition(Phase::Start, 97, Some(100));
        let other = transition(Phase::Start, 300, None);
        assert!(held.holds(&moved));
        assert!(!held.holds(&other), "another insight of the series");
        held.hold(moved);
        assert_eq!(held.start, Minute(97));
        assert_eq!(held.until, Minute(106), "the later window end stays");
        let end = transition(Phase::End, 97, None);
        assert!(held.holds(&end));
        held.hold(end);
        let kept: Vec<(Phase, i64, Option<Minute>)> = held
            .transitions
            .iter()
            .map(|t| (t.phase, t.start.0, t.replaces))
            .collect();
        assert_eq!(
            kept,
            vec![(Phase::Start, 97, None), (Phase::End, 97, None)],
            "the first Start was never written: the moved one replaces it, not a record"
        );
        let back: HeldStart = serde_json::from_str(&serde_json::to_string(&held).unwrap()).unwrap();
        assert_eq!(back, held, "it round-trips through the trail item");
    }

    fn seen<'a>(series: &'a SeriesKey, caller: &'a str, unusual: bool) -> Observation<'a> {
        Observation {
            series,
            top_caller: Some(caller),
            unusual,
        }
    }

    #[test]
    fn deploy_tools_are_known_by_their_user_agent() {
        let tools: Vec<String> = DEPLOY_AGENTS.iter().map(|a| a.to_string()).collect();
        for agent in [
            "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) \
             terraform-provider-aws/5.42.0",
            "cloudformation.amazonaws.com",
            "APN/1.0 Pulumi/1.0 pulumi-aws/v6.0.0",
        ] {
            assert!(is_deploy_agent(agent, &tools), "{agent}");
        }
        for agent in [
            "aws-cli/2.15.30 Python/3.11.8",
            "Boto3/1.34.69",
            "console.amazonaws.com",
        ] {
            assert!(!is_deploy_agent(agent, &tools), "{agent}");
        }
        assert!(is_deploy_agent("Boto3/1.34.69", &["*".to_string()]));
    }

    #[test]
    fn many_apis_from_one_caller_are_a_session() {
        let own = SeriesKey::call_rate("ec2.amazonaws.com", "CreateTags");
        let keys: Vec<SeriesKey> = ["CreateVpc", "CreateSubnet", "CreateRouteTable"]
            .iter()
            .map(|n| SeriesKey::call_rate("ec2.amazonaws.com", n))
            .collect();
        let tf = "arn:aws:sts::1:assumed-role/Deploy/ci";
        let found = deploy_session(&own, tf, keys.iter().map(|k| seen(k, tf, true)), 4);
        assert_eq!(
            found.map(|s| s.other_apis.len()),
            Some(3),
            "three other APIs plus its own make four"
        );
        assert!(deploy_session(&own, tf, keys.iter().map(|k| seen(k, tf, true)), 5).is_none());
        assert!(deploy_session(&own, tf, keys.iter().map(|k| seen(k, tf, true)), 0).is_none());
    }

    #[test]
    fn usual_minutes_other_callers_and_the_same_api_do_not_count() {
        let own = SeriesKey::call_rate("ec2.amazonaws.com", "CreateTags");
        let own_errors = SeriesKey::error_rate("ec2.amazonaws.com", "CreateTags", "AccessDenied");
        let a = SeriesKey::call_rate("ec2.amazonaws.com", "CreateVpc");
        let b = SeriesKey::call_rate("ec2.amazonaws.com", "CreateSubnet");
        let c = SeriesKey::call_rate("iam.amazonaws.com", "PassRole");
        let tf = "arn:aws:sts::1:assumed-role/Deploy/ci";
        let others = [
            seen(&own_errors, tf, true),
            seen(&a, tf, false),
            seen(&b, "arn:aws:sts::1:assumed-role/Admin/x", true),
            seen(&c, tf, true),
            seen(&c, tf, true),
        ];
        let found = deploy_session(&own, tf, others, 2);
        assert_eq!(
            found.map(|s| s.other_apis),
            Some(vec!["iam.amazonaws.com:PassRole".to_string()])
        );
        assert!(deploy_session(&own, tf, others, 3).is_none());
    }
}
