//! Suppression: events a team knows are noise (a deploy robot, a scanner's user agent, AWS
//! services acting on the account's behalf) are left out before counting, so they never move a
//! baseline or raise an insight. Off by default: with no setting, everything is counted as AWS
//! counts it.
//!
//! Settings (config file or environment, comma-separated lists):
//! - `SUPPRESS_EVENT_SOURCES`: `eventSource` values (`s3.amazonaws.com`);
//! - `SUPPRESS_EVENT_NAMES`: `eventName` (`GetObject`) or `eventSource:eventName`;
//! - `SUPPRESS_PRINCIPALS`: caller patterns (`*` matches any run of characters) against the
//!   caller as attributed (an assumed role without its session name, else `invokedBy`);
//! - `SUPPRESS_USER_AGENTS`: user-agent patterns (`*` wildcards; `Terraform/*`);
//! - `SUPPRESS_AWS_SERVICE_CALLERS`: `true` leaves out calls made by AWS services (the caller is
//!   a service principal such as `ec2.amazonaws.com`, an `AWSService` identity, or a
//!   service-linked role `…:assumed-role/AWSServiceRoleFor…`; or the record names the service
//!   that made the call on the caller's behalf in `invokedBy`);
//! - `ONLY_EVENT_SOURCES`: the allow list: when set, only these `eventSource`s are counted.
//!
//! A suppressed event is not counted at all (metrics leave it out too). Changing the lists
//! changes what is counted from then on; stored minutes are not recounted.

use crate::record::CountedEvent;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppression {
    pub event_sources: Vec<String>,
    /// `(Some(source), name)` or `(None, name)`.
    pub event_names: Vec<(Option<String>, String)>,
    pub principals: Vec<String>,
    pub user_agents: Vec<String>,
    pub aws_service_callers: bool,
    /// Empty = every source.
    pub only_event_sources: Vec<String>,
}

/// The knob names, for the config's list of known settings.
pub const SUPPRESSION_KNOBS: &[(&str, &str)] = &[
    (
        "SUPPRESS_EVENT_SOURCES",
        "comma-separated eventSources not counted (default none)",
    ),
    (
        "SUPPRESS_EVENT_NAMES",
        "comma-separated eventName or eventSource:eventName not counted (default none)",
    ),
    (
        "SUPPRESS_PRINCIPALS",
        "comma-separated caller patterns (* wildcard) not counted (default none)",
    ),
    (
        "SUPPRESS_USER_AGENTS",
        "comma-separated user-agent patterns (* wildcard) not counted (default none)",
    ),
    (
        "SUPPRESS_AWS_SERVICE_CALLERS",
        "true: calls made by AWS services are not counted (default false)",
    ),
    (
        "ONLY_EVENT_SOURCES",
        "comma-separated eventSources: only these are counted (default all)",
    ),
];

fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Suppression {
    /// Apply one setting (`name` is one of [`SUPPRESSION_KNOBS`]).
    pub fn set(&mut self, name: &str, raw: &str, origin: &str) -> Result<(), String> {
        match name {
            "SUPPRESS_EVENT_SOURCES" => self.event_sources = list(raw),
            "ONLY_EVENT_SOURCES" => self.only_event_sources = list(raw),
            "SUPPRESS_EVENT_NAMES" => {
                self.event_names = list(raw)
                    .into_iter()
                    .map(|n| match n.split_once(':') {
                        Some((s, n)) => (Some(s.to_string()), n.to_string()),
                        None => (None, n),
                    })
                    .collect()
            }
            "SUPPRESS_PRINCIPALS" => self.principals = list(raw),
            "SUPPRESS_USER_AGENTS" => self.user_agents = list(raw),
            "SUPPRESS_AWS_SERVICE_CALLERS" => {
                self.aws_service_callers = crate::config::parse_flag(name, raw, origin)?
            }
            _ => return Err(format!("{name} is not a suppression setting")),
        }
        Ok(())
    }

    /// Whether `e` is left out.
    pub fn suppresses(&self, e: &CountedEvent) -> bool {
        (!self.only_event_sources.is_empty() && !self.only_event_sources.contains(&e.event_source))
            || self.event_sources.contains(&e.event_source)
            || self
                .event_names
                .iter()
                .any(|(s, n)| *n == e.event_name && s.as_ref().is_none_or(|s| *s == e.event_source))
            || self.principals.iter().any(|p| glob(p, &e.caller))
            || self.user_agents.iter().any(|p| glob(p, &e.user_agent))
            || (self.aws_service_callers && (e.via_aws_service || is_aws_service(&e.caller)))
    }
}

/// A call made by an AWS service on the account's behalf, judged from the attributed caller.
pub fn is_aws_service(caller: &str) -> bool {
    caller.ends_with(".amazonaws.com")
        || caller == "AWSService"
        || caller == "AWS Internal"
        || caller.contains(":assumed-role/AWSServiceRoleFor")
        || caller.contains(":role/aws-service-role/")
}

/// `*` matches any run of characters (including none); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Minute;

    fn ev(source: &str, name: &str, caller: &str, agent: &str) -> CountedEvent {
        CountedEvent {
            minute: Minute(0),
            event_source: source.into(),
            event_name: name.into(),
            population: crate::series::Population::Management,
            call_rate: Some(crate::series::Population::Management),
            error_code: None,
            caller: caller.into(),
            user_agent: agent.into(),
            via_aws_service: false,
            id_hash: 1,
        }
    }

    #[test]
    fn globs() {
        assert!(glob(
            "arn:aws:sts::*:assumed-role/Deploy",
            "arn:aws:sts::1:assumed-role/Deploy"
        ));
        assert!(!glob(
            "arn:aws:sts::*:assumed-role/Deploy",
            "arn:aws:sts::1:assumed-role/Deployer"
        ));
        assert!(glob(
            "Terraform/*",
            "Terraform/1.7.5 (+https://www.terraform.io)"
        ));
        assert!(glob("*scanner*", "my-scanner/1"));
        assert!(glob("a*b*c", "abc") && glob("a*b*c", "axxbyyc") && !glob("a*b*c", "acb"));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
        assert!(glob("*", ""));
    }

    #[test]
    fn each_list_suppresses_what_it_names_and_nothing_else() {
        let e = ev(
            "ec2.amazonaws.com",
            "RunInstances",
            "arn:aws:sts::1:assumed-role/Deploy",
            "Terraform/1.7",
        );
        let none = Suppression::default();
        assert!(!none.suppresses(&e));
        let mut s = Suppression::default();
        s.set(
            "SUPPRESS_EVENT_NAMES",
            "iam.amazonaws.com:RunInstances, X",
            "t",
        )
        .unwrap();
        assert!(!s.suppresses(&e), "another source's RunInstances");
        s.set(
            "SUPPRESS_EVENT_NAMES",
            "ec2.amazonaws.com:RunInstances",
            "t",
        )
        .unwrap();
        assert!(s.suppresses(&e));
        let mut s = Suppression::default();
        s.set("SUPPRESS_USER_AGENTS", "Terraform/*", "t").unwrap();
        assert!(s.suppresses(&e));
        let mut s = Suppression::default();
        s.set("ONLY_EVENT_SOURCES", "iam.amazonaws.com", "t")
            .unwrap();
        assert!(s.suppresses(&e));
        s.set(
            "ONLY_EVENT_SOURCES",
            "iam.amazonaws.com,ec2.amazonaws.com",
            "t",
        )
        .unwrap();
        assert!(!s.suppresses(&e));
        let mut s = Suppression::default();
        s.set("SUPPRESS_AWS_SERVICE_CALLERS", "true", "t").unwrap();
        assert!(!s.suppresses(&e));
        assert!(s.suppresses(&ev(
            "kms.amazonaws.com",
            "Decrypt",
            "s3.amazonaws.com",
            "s3.amazonaws.com"
        )));
        assert!(s.suppresses(&ev(
            "ec2.amazonaws.com",
            "CreateTags",
            "arn:aws:sts::1:assumed-role/AWSServiceRoleForAutoScaling",
            "autoscaling.amazonaws.com"
        )));
        // A user's role whose call a service made for it (`invokedBy`): the ARN is the user's.
        let on_behalf = CountedEvent {
            via_aws_service: true,
            ..e.clone()
        };
        assert!(s.suppresses(&on_behalf));
        assert!(!Suppression::default().suppresses(&on_behalf));
        assert!(
            s.set("SUPPRESS_AWS_SERVICE_CALLERS", "maybe", "env")
                .unwrap_err()
                .contains("true or false")
        );
    }
}
