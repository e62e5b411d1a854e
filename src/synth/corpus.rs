//! Large, realistic CloudTrail log files for benchmarks (`make bench`).
//!
//! The demo trail (`demo.rs`) is built for detection: a handful of callers with a daily rhythm and
//! injected incidents. Benchmarks need something else: files as large as CloudTrail ever delivers
//! (up to a million events), whose records have the shape and size of real ones (1–2 KB: a full
//! `userIdentity` with session context, TLS details, request parameters and response elements),
//! spread over many services, APIs, identities and user agents, so that parsing, counting and
//! state sizes are measured on what a busy account really sends. Output is deterministic for a
//! seed.

use crate::base::time::Minute;
use flate2::{Compression, write::GzEncoder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::fmt::Write as _;
use std::io::{self, Write};

/// One log file to generate.
#[derive(Debug, Clone)]
pub struct FileSpec {
    pub account: String,
    pub region: String,
    /// Delivery minute (in the file name); events fall in the five minutes before it.
    pub delivered: Minute,
    pub events: u64,
    pub seed: u64,
}

impl FileSpec {
    /// The object key CloudTrail would use for this file.
    pub fn key(&self) -> String {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ 0x5eed);
        let suffix: String = (0..16)
            .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
            .collect();
        crate::cloudtrail::writer::key(&self.account, &self.region, self.delivered, &suffix)
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Write the gzip-compressed log file for `spec` to `out`, one record at a time (memory stays
/// flat for a million events). Returns the uncompressed size.
pub fn write_gz(spec: &FileSpec, out: impl Write) -> io::Result<u64> {
    let mut gz = GzEncoder::new(out, Compression::default());
    let n = write_json(spec, &mut gz)?;
    gz.finish()?.flush()?;
    Ok(n)
}

/// Write the uncompressed log file (`{"Records":[...]}`). Returns its size.
pub fn write_json(spec: &FileSpec, out: impl Write) -> io::Result<u64> {
    let mut g = Generator::new(spec);
    let records = (0..spec.events).map(|_| {
        let mut record = String::with_capacity(2048);
        g.record(&mut record);
        record
    });
    crate::cloudtrail::writer::write_records(out, records)
}

/// A whole gzip log file in memory (for benchmarks of small files).
pub fn gz_bytes(spec: &FileSpec) -> Vec<u8> {
    let mut v = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = write_gz(spec, &mut v);
    v
}

/// An API in the catalogue: how often it is called relative to others, whether it writes, and
/// the shape of its parameters.
struct Api {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    weight: u32,
    params: Params,
}

#[derive(Clone, Copy)]
enum Params {
    None,
    Instance,
    Bucket,
    Object,
    Secret,
    Key,
    Role,
    LogStream,
    Metric,
    Table,
    Queue,
    Function,
    Filter,
}

const fn api(
    source: &'static str,
    name: &'static str,
    read_only: bool,
    weight: u32,
    params: Params,
) -> Api {
    Api {
        source,
        name,
        read_only,
        weight,
        params,
    }
}

/// Weights follow what busy accounts show: a few read APIs (role assumption, KMS, describe
/// calls from agents and monitoring) dominate; writes are a few per cent.
const APIS: &[Api] = &[
    api("sts.amazonaws.com", "AssumeRole", true, 900, Params::Role),
    api(
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        300,
        Params::None,
    ),
    api("kms.amazonaws.com", "Decrypt", true, 800, Params::Key),
    api(
        "kms.amazonaws.com",
        "GenerateDataKey",
        true,
        350,
        Params::Key,
    ),
    api("kms.amazonaws.com", "Encrypt", true, 60, Params::Key),
    api(
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        500,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeInstanceStatus",
        true,
        250,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        true,
        120,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeVolumes",
        true,
        100,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeNetworkInterfaces",
        true,
        90,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "DescribeSubnets",
        true,
        60,
        Params::Filter,
    ),
    api(
        "ec2.amazonaws.com",
        "RunInstances",
        false,
        12,
        Params::Instance,
    ),
    api(
        "ec2.amazonaws.com",
        "TerminateInstances",
        false,
        10,
        Params::Instance,
    ),
    api(
        "ec2.amazonaws.com",
        "CreateTags",
        false,
        40,
        Params::Instance,
    ),
    api(
        "ec2.amazonaws.com",
        "CreateNetworkInterface",
        false,
        15,
        Params::Instance,
    ),
    api(
        "ec2.amazonaws.com",
        "DeleteNetworkInterface",
        false,
        14,
        Params::Instance,
    ),
    api(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        false,
        3,
        Params::Instance,
    ),
    api("s3.amazonaws.com", "ListBuckets", true, 80, Params::None),
    api(
        "s3.amazonaws.com",
        "GetBucketAcl",
        true,
        150,
        Params::Bucket,
    ),
    api(
        "s3.amazonaws.com",
        "GetBucketLocation",
        true,
        140,
        Params::Bucket,
    ),
    api(
        "s3.amazonaws.com",
        "GetBucketPolicy",
        true,
        60,
        Params::Bucket,
    ),
    api(
        "s3.amazonaws.com",
        "PutBucketPolicy",
        false,
        2,
        Params::Bucket,
    ),
    api("s3.amazonaws.com", "PutObject", false, 30, Params::Object),
    api(
        "logs.amazonaws.com",
        "CreateLogStream",
        false,
        120,
        Params::LogStream,
    ),
    api(
        "logs.amazonaws.com",
        "DescribeLogGroups",
        true,
        70,
        Params::None,
    ),
    api(
        "logs.amazonaws.com",
        "PutRetentionPolicy",
        false,
        2,
        Params::LogStream,
    ),
    api(
        "monitoring.amazonaws.com",
        "GetMetricData",
        true,
        200,
        Params::Metric,
    ),
    api(
        "monitoring.amazonaws.com",
        "PutMetricAlarm",
        false,
        6,
        Params::Metric,
    ),
    api(
        "monitoring.amazonaws.com",
        "DescribeAlarms",
        true,
        90,
        Params::Metric,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        220,
        Params::Secret,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "DescribeSecret",
        true,
        40,
        Params::Secret,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "PutSecretValue",
        false,
        3,
        Params::Secret,
    ),
    api(
        "secretsmanager.amazonaws.com",
        "RotateSecret",
        false,
        1,
        Params::Secret,
    ),
    api(
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        false,
        150,
        Params::Instance,
    ),
    api(
        "ssm.amazonaws.com",
        "GetParameter",
        true,
        180,
        Params::Secret,
    ),
    api(
        "ssm.amazonaws.com",
        "GetParameters",
        true,
        90,
        Params::Secret,
    ),
    api(
        "ssm.amazonaws.com",
        "ListInstanceAssociations",
        true,
        100,
        Params::Instance,
    ),
    api(
        "ssm.amazonaws.com",
        "PutParameter",
        false,
        4,
        Params::Secret,
    ),
    api("iam.amazonaws.com", "GetRole", true, 50, Params::Role),
    api("iam.amazonaws.com", "ListRoles", true, 20, Params::None),
    api("iam.amazonaws.com", "CreateRole", false, 1, Params::Role),
    api(
        "iam.amazonaws.com",
        "AttachRolePolicy",
        false,
        1,
        Params::Role,
    ),
    api("iam.amazonaws.com", "PutRolePolicy", false, 1, Params::Role),
    api(
        "iam.amazonaws.com",
        "CreateAccessKey",
        false,
        1,
        Params::Role,
    ),
    api(
        "lambda.amazonaws.com",
        "GetFunction",
        true,
        40,
        Params::Function,
    ),
    api(
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        true,
        25,
        Params::None,
    ),
    api(
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        false,
        3,
        Params::Function,
    ),
    api(
        "lambda.amazonaws.com",
        "CreateFunction20150331",
        false,
        1,
        Params::Function,
    ),
    api(
        "dynamodb.amazonaws.com",
        "DescribeTable",
        true,
        110,
        Params::Table,
    ),
    api(
        "dynamodb.amazonaws.com",
        "ListTables",
        true,
        30,
        Params::None,
    ),
    api(
        "dynamodb.amazonaws.com",
        "UpdateTable",
        false,
        2,
        Params::Table,
    ),
    api(
        "dynamodb.amazonaws.com",
        "CreateBackup",
        false,
        2,
        Params::Table,
    ),
    api("sqs.amazonaws.com", "CreateQueue", false, 2, Params::Queue),
    api(
        "sqs.amazonaws.com",
        "SetQueueAttributes",
        false,
        3,
        Params::Queue,
    ),
    api(
        "sqs.amazonaws.com",
        "GetQueueAttributes",
        true,
        60,
        Params::Queue,
    ),
    api(
        "rds.amazonaws.com",
        "DescribeDBInstances",
        true,
        70,
        Params::Filter,
    ),
    api(
        "rds.amazonaws.com",
        "CreateDBSnapshot",
        false,
        2,
        Params::Table,
    ),
    api(
        "rds.amazonaws.com",
        "ModifyDBInstance",
        false,
        1,
        Params::Table,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DescribeTargetHealth",
        true,
        130,
        Params::Filter,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "RegisterTargets",
        false,
        8,
        Params::Instance,
    ),
    api(
        "elasticloadbalancing.amazonaws.com",
        "DeregisterTargets",
        false,
        8,
        Params::Instance,
    ),
    api(
        "autoscaling.amazonaws.com",
        "DescribeAutoScalingGroups",
        true,
        90,
        Params::Filter,
    ),
    api(
        "autoscaling.amazonaws.com",
        "SetDesiredCapacity",
        false,
        4,
        Params::Instance,
    ),
    api(
        "ecr.amazonaws.com",
        "GetAuthorizationToken",
        true,
        70,
        Params::None,
    ),
    api(
        "ecr.amazonaws.com",
        "BatchGetImage",
        true,
        60,
        Params::Function,
    ),
    api(
        "ecs.amazonaws.com",
        "DescribeServices",
        true,
        60,
        Params::Filter,
    ),
    api(
        "ecs.amazonaws.com",
        "UpdateService",
        false,
        3,
        Params::Function,
    ),
    api("ecs.amazonaws.com", "RunTask", false, 10, Params::Function),
    api("events.amazonaws.com", "PutEvents", false, 25, Params::None),
    api(
        "events.amazonaws.com",
        "PutRule",
        false,
        1,
        Params::Function,
    ),
    api("sns.amazonaws.com", "Publish", false, 20, Params::Queue),
    api(
        "sns.amazonaws.com",
        "ListSubscriptionsByTopic",
        true,
        15,
        Params::Queue,
    ),
    api(
        "cloudformation.amazonaws.com",
        "DescribeStacks",
        true,
        50,
        Params::Filter,
    ),
    api(
        "cloudformation.amazonaws.com",
        "UpdateStack",
        false,
        1,
        Params::Function,
    ),
    api(
        "route53.amazonaws.com",
        "ChangeResourceRecordSets",
        false,
        2,
        Params::None,
    ),
    api(
        "route53.amazonaws.com",
        "ListHostedZones",
        true,
        15,
        Params::None,
    ),
    api(
        "config.amazonaws.com",
        "PutEvaluations",
        false,
        40,
        Params::Instance,
    ),
    api(
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        true,
        10,
        Params::None,
    ),
    api(
        "signin.amazonaws.com",
        "ConsoleLogin",
        false,
        1,
        Params::None,
    ),
];

/// Error codes and their messages, with a share of calls failing per API.
const ERRORS: &[(&str, &str)] = &[
    (
        "AccessDenied",
        "User is not authorized to perform this operation",
    ),
    (
        "AccessDeniedException",
        "The caller is not authorized to perform this action on the resource because no identity-based policy allows it",
    ),
    ("ThrottlingException", "Rate exceeded"),
    (
        "Client.UnauthorizedOperation",
        "You are not authorized to perform this operation.",
    ),
    (
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret.",
    ),
    ("NoSuchBucketPolicy", "The bucket policy does not exist"),
    (
        "ValidationException",
        "1 validation error detected: Value at 'name' failed to satisfy constraint",
    ),
    (
        "Client.InvalidParameterValue",
        "Value (sg-0) for parameter groupId is invalid.",
    ),
];

const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.79-99.167.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
    "aws-cli/2.17.20 Python/3.11.9 Darwin/23.5.0 exe/x86_64 prompt/off command/sts.get-caller-identity",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython Botocore/1.34.69",
    "Boto3/1.34.42 md/Botocore#1.34.42 ua/2.0 os/linux#5.10.209 md/arch#x86_64 lang/python#3.12.2 exec-env/AWS_Lambda_python3.12 Botocore/1.34.42",
    "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/cloudwatch#1.36.3 grafana/10.4.1",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "aws-sdk-go/1.44.302 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.131.0",
    "aws-sdk-java/2.25.16 Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/legacy",
    "aws-sdk-js/3.540.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.12.0 api/dynamodb#3.540.0",
    "aws-sdk-rust/1.3.0 os/linux lang/rust/1.78.0",
    "aws-internal/3 aws-sdk-java/1.12.680 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/25.402-b08 java/1.8.0_402 vendor/Oracle_Corporation cfg/retry-mode/standard",
    "AWS Internal",
    "eks.amazonaws.com",
    "autoscaling.amazonaws.com",
    "kubernetes/v1.29.3-eks-adc7111 aws-sdk-go/1.50.8 (go1.21.8; linux; amd64)",
    "S3Console/0.4, aws-internal/3 aws-sdk-java/1.12.488",
    "python-requests/2.31.0",
];

/// An identity: an IAM role (with sessions), an IAM user, or a service.
#[derive(Clone, Copy)]
enum Who {
    Role(&'static str),
    User(&'static str),
    Service(&'static str),
}

const ROLES: &[&str] = &[
    "AdminRole",
    "ReadOnlyRole",
    "DeployRole",
    "eks-node-group-NodeInstanceRole-1ABCDEF",
    "ecsTaskExecutionRole",
    "lambda-orders-processor-role",
    "lambda-thumbnailer-role",
    "AmazonSSMRoleForInstancesQuickSetup",
    "AWSServiceRoleForAutoScaling",
    "AWSServiceRoleForECS",
    "AWSServiceRoleForConfig",
    "datadog-integration-role",
    "OrganizationAccountAccessRole",
    "github-actions-deploy",
    "backup-service-role",
    "grafana-cloudwatch-reader",
    "karpenter-controller",
    "external-dns",
    "aws-load-balancer-controller",
    "SecurityAuditRole",
    "data-pipeline-glue-role",
    "api-gateway-cloudwatch-role",
    "rds-monitoring-role",
    "cost-explorer-reader",
];

const USERS: &[&str] = &[
    "terraform-ci",
    "dev-jane",
    "dev-omar",
    "legacy-backup",
    "monitoring-bot",
    "ses-smtp-user",
    "jenkins",
    "auditor",
];

const SERVICES: &[&str] = &[
    "autoscaling.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "config.amazonaws.com",
    "ecs.amazonaws.com",
    "lambda.amazonaws.com",
    "cloudformation.amazonaws.com",
];

struct Generator<'a> {
    spec: &'a FileSpec,
    rng: ChaCha8Rng,
    cumulative: Vec<u32>,
    total_weight: u32,
    first_second: i64,
}

impl<'a> Generator<'a> {
    fn new(spec: &'a FileSpec) -> Self {
        let mut acc = 0;
        let cumulative = APIS
            .iter()
            .map(|a| {
                acc += a.weight;
                acc
            })
            .collect();
        Generator {
            spec,
            rng: ChaCha8Rng::seed_from_u64(spec.seed),
            cumulative,
            total_weight: acc,
            first_second: spec.delivered.plus(-5).0 * 60,
        }
    }

    fn api(&mut self) -> &'static Api {
        let x = self.rng.random_range(0..self.total_weight);
        let i = self.cumulative.partition_point(|&c| c <= x);
        &APIS[i.min(APIS.len() - 1)]
    }

    fn who(&mut self) -> Who {
        // Skewed: low indices are the busy principals.
        let r: f64 = self.rng.random();
        match self.rng.random_range(0..20) {
            0..=14 => Who::Role(ROLES[((r * r) * ROLES.len() as f64) as usize]),
            15..=17 => Who::User(USERS[((r * r) * USERS.len() as f64) as usize]),
            _ => Who::Service(SERVICES[(r * SERVICES.len() as f64) as usize]),
        }
    }

    fn hex(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            let d = self.rng.random_range(0..16u8);
            out.push(char::from_digit(u32::from(d), 16).unwrap_or('0'));
        }
    }

    fn uuid(&mut self, out: &mut String) {
        for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            self.hex(out, n);
        }
    }

    fn upper(&mut self, out: &mut String, n: usize) {
        for _ in 0..n {
            out.push(ALNUM[self.rng.random_range(0..26)] as char);
        }
    }

    fn record(&mut self, s: &mut String) {
        let api = self.api();
        let who = self.who();
        let acct = self.spec.account.as_str();
        let region = self.spec.region.as_str();
        let t = self.first_second + self.rng.random_range(0..300);
        let time =
            Minute(t.div_euclid(60)).to_datetime() + chrono::Duration::seconds(t.rem_euclid(60));
        let time = time.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let error = (self.rng.random_range(0..100) < 3)
            .then(|| ERRORS[self.rng.random_range(0..ERRORS.len())]);
        let agent = match who {
            Who::Service(svc) => svc,
            _ => AGENTS[self.rng.random_range(0..AGENTS.len())],
        };
        let session = self.rng.random_range(0..40u32);
        let _ = write!(s, "{{\"eventVersion\":\"1.09\",\"userIdentity\":");
        match who {
            Who::Role(role) => {
                let _ = write!(
                    s,
                    "{{\"type\":\"AssumedRole\",\"principalId\":\"AROA{id}:session-{session}\",\
                     \"arn\":\"arn:aws:sts::{acct}:assumed-role/{role}/session-{session}\",\
                     \"accountId\":\"{acct}\",\"accessKeyId\":\"ASIA",
                    id = role.len() * 7919 + 100_000_000_000
                );
                self.upper(s, 16);
                let _ = write!(
                    s,
                    "\",\"sessionContext\":{{\"sessionIssuer\":{{\"type\":\"Role\",\
                     \"principalId\":\"AROA{id}\",\"arn\":\"arn:aws:iam::{acct}:role/{role}\",\
                     \"accountId\":\"{acct}\",\"userName\":\"{role}\"}},\"webIdFederationData\":{{}},\
                     \"attributes\":{{\"creationDate\":\"{date}T00:00:00Z\",\"mfaAuthenticated\":\"false\"}}}}}}",
                    id = role.len() * 7919 + 100_000_000_000,
                    date = &time[..10],
                );
            }
            Who::User(user) => {
                let _ = write!(
                    s,
                    "{{\"type\":\"IAMUser\",\"principalId\":\"AIDA{id}\",\
                     \"arn\":\"arn:aws:iam::{acct}:user/{user}\",\"accountId\":\"{acct}\",\
                     \"accessKeyId\":\"AKIA",
                    id = user.len() * 104_729 + 200_000_000_000
                );
                self.upper(s, 16);
                let _ = write!(s, "\",\"userName\":\"{user}\"}}");
            }
            Who::Service(svc) => {
                let _ = write!(s, "{{\"type\":\"AWSService\",\"invokedBy\":\"{svc}\"}}");
            }
        }
        let ip = match who {
            Who::Service(svc) => svc.to_string(),
            _ => format!(
                "{}.{}.{}.{}",
                [198, 203, 192, 10][session as usize % 4],
                self.rng.random_range(0..255),
                self.rng.random_range(0..255),
                self.rng.random_range(1..255)
            ),
        };
        let _ = write!(
            s,
            ",\"eventTime\":\"{time}\",\"eventSource\":\"{src}\",\"eventName\":\"{name}\",\
             \"awsRegion\":\"{region}\",\"sourceIPAddress\":\"{ip}\",\"userAgent\":\"{agent}\"",
            src = api.source,
            name = api.name,
        );
        if let Some((code, msg)) = error {
            let _ = write!(s, ",\"errorCode\":\"{code}\",\"errorMessage\":\"{msg}\"");
        }
        s.push_str(",\"requestParameters\":");
        self.params(s, api.params, acct, region);
        s.push_str(",\"responseElements\":");
        if error.is_some() || api.read_only {
            s.push_str("null");
        } else {
            self.response(s, api.params, acct, region);
        }
        s.push_str(",\"requestID\":\"");
        self.uuid(s);
        s.push_str("\",\"eventID\":\"");
        self.uuid(s);
        let _ = write!(
            s,
            "\",\"readOnly\":{ro},\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\
             \"recipientAccountId\":\"{acct}\",\"eventCategory\":\"Management\"",
            ro = api.read_only,
        );
        if !matches!(who, Who::Service(_)) {
            let _ = write!(
                s,
                ",\"tlsDetails\":{{\"tlsVersion\":\"TLSv1.3\",\"cipherSuite\":\"TLS_AES_128_GCM_SHA256\",\
                 \"clientProvidedHostHeader\":\"{host}.{region}.amazonaws.com\"}}",
                host = api.source.trim_end_matches(".amazonaws.com"),
            );
        }
        s.push('}');
    }

    fn params(&mut self, s: &mut String, p: Params, acct: &str, region: &str) {
        match p {
            Params::None => s.push_str("null"),
            Params::Instance => {
                s.push_str("{\"instancesSet\":{\"items\":[");
                for i in 0..self.rng.random_range(1..4) {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str("{\"instanceId\":\"i-0");
                    self.hex(s, 16);
                    s.push_str("\"}");
                }
                s.push_str("]},\"tagSpecificationSet\":{\"items\":[{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"team\",\"value\":\"platform\"},{\"key\":\"env\",\"value\":\"prod\"}]}]}}");
            }
            Params::Bucket => {
                let _ = write!(
                    s,
                    "{{\"bucketName\":\"app-assets-{acct}-{n}\",\"Host\":\"app-assets-{acct}-{n}.s3.{region}.amazonaws.com\",\"acl\":\"\"}}",
                    n = self.rng.random_range(0..12)
                );
            }
            Params::Object => {
                let _ = write!(
                    s,
                    "{{\"bucketName\":\"app-uploads-{acct}\",\"Host\":\"app-uploads-{acct}.s3.{region}.amazonaws.com\",\"key\":\"uploads/2026/01/"
                );
                self.uuid(s);
                s.push_str(".jpg\",\"x-amz-server-side-encryption\":\"aws:kms\"}");
            }
            Params::Secret => {
                let _ = write!(
                    s,
                    "{{\"secretId\":\"arn:aws:secretsmanager:{region}:{acct}:secret:prod/service-{n}/db-credentials-",
                    n = self.rng.random_range(0..30)
                );
                self.upper(s, 6);
                s.push_str("\",\"versionStage\":\"AWSCURRENT\"}");
            }
            Params::Key => {
                let _ = write!(s, "{{\"keyId\":\"arn:aws:kms:{region}:{acct}:key/");
                self.uuid(s);
                s.push_str("\",\"encryptionAlgorithm\":\"SYMMETRIC_DEFAULT\",\"encryptionContext\":{\"aws:lambda:FunctionArn\":\"arn:aws:lambda:");
                let _ = write!(
                    s,
                    "{region}:{acct}:function:orders-processor-{n}\"}}}}",
                    n = self.rng.random_range(0..20)
                );
            }
            Params::Role => {
                let _ = write!(
                    s,
                    "{{\"roleArn\":\"arn:aws:iam::{acct}:role/{role}\",\"roleSessionName\":\"session-",
                    role = ROLES[self.rng.random_range(0..ROLES.len())]
                );
                self.hex(s, 12);
                s.push_str("\",\"durationSeconds\":3600}");
            }
            Params::LogStream => {
                let _ = write!(
                    s,
                    "{{\"logGroupName\":\"/aws/lambda/orders-processor-{n}\",\"logStreamName\":\"2026/01/05/[$LATEST]",
                    n = self.rng.random_range(0..20)
                );
                self.hex(s, 32);
                s.push_str("\"}");
            }
            Params::Metric => {
                s.push_str("{\"metricDataQueries\":[");
                for i in 0..self.rng.random_range(1..4) {
                    if i > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "{{\"id\":\"q{i}\",\"metricStat\":{{\"metric\":{{\"namespace\":\"AWS/EC2\",\"metricName\":\"CPUUtilization\",\"dimensions\":[{{\"name\":\"InstanceId\",\"value\":\"i-0"
                    );
                    self.hex(s, 16);
                    s.push_str("\"}]},\"period\":60,\"stat\":\"Average\"},\"returnData\":true}");
                }
                s.push_str("],\"startTime\":\"Jan 5, 2026, 9:00:00 AM\",\"endTime\":\"Jan 5, 2026, 10:00:00 AM\"}");
            }
            Params::Table => {
                let _ = write!(
                    s,
                    "{{\"tableName\":\"orders-{n}\"}}",
                    n = self.rng.random_range(0..15)
                );
            }
            Params::Queue => {
                let _ = write!(
                    s,
                    "{{\"queueUrl\":\"https://sqs.{region}.amazonaws.com/{acct}/jobs-{n}\",\"attributeNames\":[\"All\"]}}",
                    n = self.rng.random_range(0..10)
                );
            }
            Params::Function => {
                let _ = write!(
                    s,
                    "{{\"functionName\":\"arn:aws:lambda:{region}:{acct}:function:orders-processor-{n}\",\"qualifier\":\"$LATEST\"}}",
                    n = self.rng.random_range(0..20)
                );
            }
            Params::Filter => {
                s.push_str("{\"filterSet\":{\"items\":[{\"name\":\"tag:team\",\"valueSet\":{\"items\":[{\"value\":\"platform\"}]}},{\"name\":\"instance-state-name\",\"valueSet\":{\"items\":[{\"value\":\"running\"},{\"value\":\"pending\"}]}}]},\"maxResults\":1000}");
            }
        }
    }

    fn response(&mut self, s: &mut String, p: Params, acct: &str, region: &str) {
        match p {
            Params::Instance => {
                s.push_str("{\"requestId\":\"");
                self.uuid(s);
                s.push_str("\",\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0");
                self.hex(s, 16);
                let _ = write!(
                    s,
                    "\",\"imageId\":\"ami-0a1b2c3d4e5f67890\",\"instanceState\":{{\"code\":0,\"name\":\"pending\"}},\
                     \"privateDnsName\":\"ip-10-0-{a}-{b}.{region}.compute.internal\",\"instanceType\":\"m6i.large\",\
                     \"placement\":{{\"availabilityZone\":\"{region}a\",\"tenancy\":\"default\"}},\
                     \"subnetId\":\"subnet-0123456789abcdef0\",\"vpcId\":\"vpc-0123456789abcdef0\",\
                     \"privateIpAddress\":\"10.0.{a}.{b}\",\"ownerId\":\"{acct}\"}}]}}}}",
                    a = self.rng.random_range(0..255),
                    b = self.rng.random_range(1..255),
                );
            }
            Params::Role => {
                s.push_str("{\"credentials\":{\"accessKeyId\":\"ASIA");
                self.upper(s, 16);
                s.push_str("\",\"sessionToken\":\"IQoJb3JpZ2luX2VjE");
                self.upper(s, 120);
                let _ = write!(
                    s,
                    "\",\"expiration\":\"Jan 5, 2026, 11:00:00 AM\"}},\"assumedRoleUser\":{{\"assumedRoleId\":\"AROA{acct}:session\",\"arn\":\"arn:aws:sts::{acct}:assumed-role/Role/session\"}}}}"
                );
            }
            Params::LogStream | Params::Table | Params::Bucket | Params::None => s.push_str("null"),
            _ => {
                let _ = write!(s, "{{\"arn\":\"arn:aws:service:{region}:{acct}:resource/");
                self.uuid(s);
                s.push_str("\",\"version\":\"");
                self.uuid(s);
                s.push_str("\"}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudtrail::key::classify_key;
    use crate::cloudtrail::reader::{ReadLimits, read_records};
    use crate::cloudtrail::record::classify_record;

    fn spec(events: u64) -> FileSpec {
        FileSpec {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
            delivered: Minute::parse_event_time("2026-01-05T10:05:00Z").unwrap_or(Minute(0)),
            events,
            seed: 7,
        }
    }

    #[test]
    fn records_are_realistic_and_readable() {
        let s = spec(2000);
        let mut json = Vec::new();
        let size = write_json(&s, &mut json).unwrap();
        assert_eq!(size, json.len() as u64);
        let per_record = size / s.events;
        assert!(
            (900..=2200).contains(&per_record),
            "{per_record} bytes per record"
        );
        let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(parsed["Records"].as_array().unwrap().len(), 2000);

        let gz = gz_bytes(&s);
        let mut sources = std::collections::BTreeSet::new();
        let (mut writes, mut errors, mut records) = (0, 0, 0);
        read_records(gz.as_slice(), ReadLimits::default(), |raw, _| {
            records += 1;
            if let Ok(e) = classify_record(raw, Default::default(), || 0) {
                sources.insert(e.event_source.clone());
                writes += u32::from(e.call_rate.is_some());
                errors += u32::from(e.error_code.is_some());
            }
        })
        .unwrap();
        assert_eq!(records, 2000);
        assert!(sources.len() >= 15, "{} services", sources.len());
        assert!((20..400).contains(&writes), "{writes} writes");
        assert!((20..150).contains(&errors), "{errors} errors");
        assert!(classify_key(&s.key()).is_ok(), "{}", s.key());
        assert_eq!(gz_bytes(&s), gz, "deterministic for a seed");
    }
}
