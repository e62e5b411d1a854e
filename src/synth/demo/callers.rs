//! Who calls in the demo trail: user agents, the instance fleet, buckets, and the principals
//! with how each reaches the API.

pub(super) const UA_CLI: &str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off";
pub(super) const UA_BOTO: &str = "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython Botocore/1.34.69";
pub(super) const UA_BOTO_LAMBDA: &str = "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12 Botocore/1.34.42";
pub(super) const UA_GO: &str = "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/cloudwatch#1.36.3 grafana/10.4.1";
pub(super) const UA_TF: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1";
pub(super) const UA_CONSOLE: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub(super) const UA_SSM: &str =
    "aws-sdk-go/1.44.302 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.131.0";
pub(super) const UA_LAMBDA_LOGS: &str = "awslambda-worker/1.0 rusage/0.01 0.00 0.02";
pub(super) const UA_ATTACKER: &str = "python-requests/2.31.0";

/// The fleet that sends SSM heartbeats every five minutes.
pub(super) const FLEET: [(&str, &str); 12] = [
    ("i-0a1f3c5e7b9d20461", "10.0.1.17"),
    ("i-0b2e4d6f8a0c31572", "10.0.1.42"),
    ("i-0c3d5e7f9b1a42683", "10.0.1.88"),
    ("i-0d4c6f8a0b2e53794", "10.0.2.11"),
    ("i-0e5b7a9c1d3f648a5", "10.0.2.57"),
    ("i-0f6a8b0d2e4c759b6", "10.0.2.93"),
    ("i-01798c1e3f5d86ac7", "10.0.3.24"),
    ("i-02889d2f4a6e97bd8", "10.0.3.61"),
    ("i-0397ae3b5c7fa8ce9", "10.0.3.105"),
    ("i-04a6bf4c6d8eb9dfa", "10.0.4.19"),
    ("i-05b5c05d7e9fcae0b", "10.0.4.77"),
    ("i-06c4d16e8fa0dbf1c", "10.0.4.130"),
];

pub(super) const APP_SESSIONS: [&str; 3] = ["i-0abc", "i-0def", "i-0fed"];
pub(super) const BUCKETS: [&str; 4] = [
    "acme-prod-assets",
    "acme-prod-logs",
    "acme-data-lake",
    "acme-terraform-state",
];

/// Who makes a call, in CloudTrail's terms.
#[derive(Clone, Copy)]
pub(super) enum Principal {
    /// An assumed role: role name and session name.
    Role(&'static str, &'static str),
    /// A long-lived IAM user.
    User(&'static str),
    /// An AWS service acting on its own behalf (named by `invokedBy`).
    Service,
}

/// A principal plus how it reaches the API.
#[derive(Clone, Copy)]
pub(super) struct Caller {
    pub(super) who: Principal,
    pub(super) invoked_by: Option<&'static str>,
    pub(super) agent: &'static str,
    pub(super) ip: &'static str,
    pub(super) console: bool,
}

impl Caller {
    pub(super) const fn new(who: Principal, agent: &'static str, ip: &'static str) -> Self {
        Caller {
            who,
            invoked_by: None,
            agent,
            ip,
            console: false,
        }
    }

    /// A call a service makes for a principal: IP and agent are the service name.
    pub(super) const fn via(who: Principal, service: &'static str) -> Self {
        Caller {
            who,
            invoked_by: Some(service),
            agent: service,
            ip: service,
            console: false,
        }
    }

    pub(super) const fn console(
        role: &'static str,
        session: &'static str,
        ip: &'static str,
    ) -> Self {
        Caller {
            who: Principal::Role(role, session),
            invoked_by: None,
            agent: UA_CONSOLE,
            ip,
            console: true,
        }
    }
}

pub(super) const MONITORING: Caller = Caller::new(
    Principal::Role("MonitoringRole", "grafana"),
    UA_GO,
    "54.210.17.33",
);
pub(super) const CI: Caller = Caller::new(
    Principal::Role("CIDeployRole", "gh-actions"),
    UA_TF,
    "192.0.2.140",
);
pub(super) const TF_USER: Caller =
    Caller::new(Principal::User("terraform-ci"), UA_TF, "192.0.2.141");
pub(super) const JANE: Caller = Caller::new(Principal::User("dev-jane"), UA_CLI, "203.0.113.24");
pub(super) const BACKUP: Caller = Caller::new(
    Principal::Role("BackupRole", "cron"),
    UA_BOTO_LAMBDA,
    "3.227.14.201",
);
pub(super) const AUDITOR: Caller = Caller::new(
    Principal::Role("SecurityAuditRole", "prowler"),
    UA_BOTO,
    "34.201.9.77",
);
pub(super) const AUTOSCALING: Caller = Caller::via(
    Principal::Role("AWSServiceRoleForAutoScaling", "AutoScaling"),
    "autoscaling.amazonaws.com",
);
pub(super) const LOGS_WORKER: Caller = Caller::new(
    Principal::Role("LambdaExecRole", "order-processor"),
    UA_LAMBDA_LOGS,
    "3.91.170.5",
);
pub(super) const ALICE: Caller = Caller::console("AdminRole", "alice", "203.0.113.10");
pub(super) const BOB: Caller = Caller::console("AdminRole", "bob", "198.51.100.35");
pub(super) const ATTACKER: Caller = Caller::new(
    Principal::Role("CompromisedRole", "x"),
    UA_ATTACKER,
    "198.51.100.201",
);
