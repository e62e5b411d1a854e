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
//! - `ONLY_EVENT_SOURCES`, `ONLY_EVENT_NAMES`, `ONLY_PRINCIPALS`, `ONLY_USER_AGENTS`: allow
//!   lists, written like the matching `SUPPRESS_` list: when one is set, only events it names
//!   are counted (when several are set, only events every one of them names).
//!
//! A suppressed event is not counted at all (metrics leave it out too). Changing the lists
//! changes what is counted from then on; stored minutes are not recounted.

use crate::cloudtrail::record::CountedEvent;

/// Events named by source, name, caller pattern or user-agent pattern.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLists {
    pub event_sources: Vec<String>,
    /// `(Some(source), name)` or `(None, name)`.
    pub event_names: Vec<(Option<String>, String)>,
    pub principals: Vec<String>,
    pub user_agents: Vec<String>,
}

impl EventLists {
    /// Whether any list names `e`.
    fn any_names(&self, e: &CountedEvent) -> bool {
        self.event_sources.contains(&e.event_source)
            || self.names_by_name(e)
            || self.principals.iter().any(|p| glob(p, &e.caller))
            || self.user_agents.iter().any(|p| glob(p, &e.user_agent))
    }

    /// Whether every list that is set names `e` (true when none is set).
    fn each_set_names(&self, e: &CountedEvent) -> bool {
        (self.event_sources.is_empty() || self.event_sources.contains(&e.event_source))
            && (self.event_names.is_empty() || self.names_by_name(e))
            && (self.principals.is_empty() || self.principals.iter().any(|p| glob(p, &e.caller)))
            && (self.user_agents.is_empty()
                || self.user_agents.iter().any(|p| glob(p, &e.user_agent)))
    }

    fn names_by_name(&self, e: &CountedEvent) -> bool {
        self.event_names
            .iter()
            .any(|(s, n)| *n == e.event_name && s.as_ref().is_none_or(|s| *s == e.event_source))
    }

    /// Set the list `dimension` names (`EVENT_SOURCES`, `EVENT_NAMES`, `PRINCIPALS`,
    /// `USER_AGENTS`); false for another name.
    fn set(&mut self, dimension: &str, raw: &str) -> bool {
        match dimension {
            "EVENT_SOURCES" => self.event_sources = list(raw),
            "EVENT_NAMES" => {
                self.event_names = list(raw)
                    .into_iter()
                    .map(|n| match n.split_once(':') {
                        Some((s, n)) => (Some(s.to_string()), n.to_string()),
                        None => (None, n),
                    })
                    .collect()
            }
            "PRINCIPALS" => self.principals = list(raw),
            "USER_AGENTS" => self.user_agents = list(raw),
            _ => return false,
        }
        true
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Suppression {
    /// `SUPPRESS_*`: events any of these lists names are left out.
    pub deny: EventLists,
    pub aws_service_callers: bool,
    /// `ONLY_*`: when set, events these lists do not name are left out.
    pub allow: EventLists,
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
    (
        "ONLY_EVENT_NAMES",
        "comma-separated eventName or eventSource:eventName: only these are counted (default all)",
    ),
    (
        "ONLY_PRINCIPALS",
        "comma-separated caller patterns (* wildcard): only these are counted (default all)",
    ),
    (
        "ONLY_USER_AGENTS",
        "comma-separated user-agent patterns (* wildcard): only these are counted (default all)",
    ),
];

/// A comma-separated list's non-empty items, trimmed.
pub(crate) fn list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl Suppression {
    /// Apply one setting (`name` is one of [`SUPPRESSION_KNOBS`]).
    pub fn set(&mut self, name: &str, raw: &str, origin: &str) -> Result<(), String> {
        if name == "SUPPRESS_AWS_SERVICE_CALLERS" {
            self.aws_service_callers = crate::base::knob::parse_flag(name, raw, origin)?;
            return Ok(());
        }
        let known = match (name.strip_prefix("SUPPRESS_"), name.strip_prefix("ONLY_")) {
            (Some(dimension), _) => self.deny.set(dimension, raw),
            (_, Some(dimension)) => self.allow.set(dimension, raw),
            _ => false,
        };
        if known {
            Ok(())
        } else {
            Err(format!("{name} is not a suppression setting"))
        }
    }

    /// Whether `e` is left out.
    pub fn suppresses(&self, e: &CountedEvent) -> bool {
        self.deny.any_names(e)
            || (self.aws_service_callers && (e.via_aws_service || is_aws_service(&e.caller)))
            || !self.allow.each_set_names(e)
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
    use crate::base::time::Minute;

    fn ev(source: &str, name: &str, caller: &str, agent: &str) -> CountedEvent {
        CountedEvent {
            minute: Minute(0),
            event_source: source.into(),
            event_name: name.into(),
            population: crate::base::series::Population::Management,
            call_rate: Some(crate::base::series::Population::Management),
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
        // Allow lists: each one set must name the event.
        let mut s = Suppression::default();
        s.set("ONLY_EVENT_NAMES", "ec2.amazonaws.com:RunInstances", "t")
            .unwrap();
        assert!(!s.suppresses(&e));
        s.set("ONLY_PRINCIPALS", "arn:aws:sts::*:assumed-role/Admin*", "t")
            .unwrap();
        assert!(s.suppresses(&e), "RunInstances, but not by an admin");
        s.set("ONLY_PRINCIPALS", "*/Deploy", "t").unwrap();
        assert!(!s.suppresses(&e));
        s.set("ONLY_USER_AGENTS", "aws-cli/*", "t").unwrap();
        assert!(s.suppresses(&e), "not the CLI's user agent");
        s.set("ONLY_USER_AGENTS", "", "t").unwrap();
        assert!(!s.suppresses(&e), "an empty list is no list");
        let mut s = Suppression::default();
        s.set("ONLY_EVENT_NAMES", "CreateUser", "t").unwrap();
        assert!(s.suppresses(&e));
        assert!(s.set("ONLY_ERROR_CODES", "x", "t").is_err());
        assert!(s.set("SUPPRESS_NOTHING", "x", "t").is_err());
        let mut s = Suppression::default();
        s.set("SUPPRESS_AWS_SERVICE_CALLERS", "true", "t").unwrap();
        assert!(
            s.set("SUPPRESS_AWS_SERVICE_CALLERS", "maybe", "env")
                .unwrap_err()
                .contains("true or false")
        );
    }
}
