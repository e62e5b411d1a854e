//! Least privilege: the function's IAM role in `template.yaml` grants exactly what the code
//! calls, on exactly its own resources, and nothing else.
//!
//! Two checks that meet in the middle:
//! 1. every AWS SDK operation in `src/` is listed below, either as used by the function (its IAM
//!    action must be granted) or as used only by the command line with the user's own
//!    credentials (`setup`, `backfill`, `lookup`: it must *not* be granted to the function);
//! 2. the role's statements, with every `!If` branch, equal the expected set of
//!    (actions, resource, condition) exactly: one more action, a broader resource, a wildcard,
//!    a managed policy or an inline `Policies` on the function fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use yaml_serde::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

/// SDK operations (the fluent builder method) → the IAM action they need, for the function.
const FUNCTION_OPERATIONS: &[(&str, &str)] = &[
    ("get_object", "s3:GetObject"),
    ("put_object", "s3:PutObject"),
    ("delete_object", "s3:DeleteObject"),
    ("get_item", "dynamodb:GetItem"),
    ("put_item", "dynamodb:PutItem"),
    ("delete_item", "dynamodb:DeleteItem"),
    ("query", "dynamodb:Query"),
    // The one-off backfill invocation lists the trail's log files.
    ("list_objects_v2", "s3:ListBucket"),
    // Insights records on EventBridge, when EVENT_BUS_NAME is set.
    ("put_events", "events:PutEvents"),
];

/// Operations only the command line performs, never the function.
const CLI_ONLY_OPERATIONS: &[(&str, &str)] = &[
    ("create_table", "dynamodb:CreateTable"),
    ("create_bucket", "s3:CreateBucket"),
    ("update_time_to_live", "dynamodb:UpdateTimeToLive"),
    ("describe_table", "dynamodb:DescribeTable"),
];

/// Zero-argument calls named like AWS API operations (`.get_object()`, `.query()`) in the source
/// files that use the AWS SDK: the SDK's fluent builders start with exactly such a call.
fn sdk_operations_in_src() -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for entry in walkdir::WalkDir::new(root().join("src")) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        if !text.contains("aws_sdk") {
            continue;
        }
        for (i, _) in text.match_indices("()") {
            let before = &text[..i];
            let start = before
                .rfind(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
                .unwrap_or(0);
            if before.as_bytes().get(start) != Some(&b'.') {
                continue;
            }
            let name = &before[start + 1..];
            if is_api_name(name) {
                found.insert(name.to_string());
            }
        }
    }
    found
}

/// AWS API operation names as the SDK spells them: verb_noun.
fn is_api_name(s: &str) -> bool {
    const VERBS: &[&str] = &[
        "get_",
        "put_",
        "delete_",
        "list_",
        "create_",
        "update_",
        "describe_",
        "batch_",
        "transact_",
        "scan",
        "query",
        "copy_",
        "head_",
        "send_",
        "receive_",
        "publish",
    ];
    VERBS.iter().any(|v| s.starts_with(v))
        && !matches!(s, "get" | "put" | "delete")
        && !s.ends_with("_mut")
}

#[test]
fn every_sdk_operation_in_src_is_accounted_for() {
    let found = sdk_operations_in_src();
    let known: BTreeSet<String> = FUNCTION_OPERATIONS
        .iter()
        .chain(CLI_ONLY_OPERATIONS)
        .map(|(op, _)| op.to_string())
        .collect();
    let unknown: Vec<&String> = found.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "SDK operations not classified as function or CLI-only (add them to this test and, \
         if the function calls them, to the role in template.yaml): {unknown:?}"
    );
    for (op, _) in FUNCTION_OPERATIONS {
        assert!(
            found.contains(*op),
            "{op} is granted to the function but no longer called: remove the grant ({found:?})"
        );
    }
}

/// A CloudFormation value rendered to a canonical string: `!Sub`, `!GetAtt`, `!Ref`, `!If`.
fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => "null".into(),
        Value::Sequence(items) => {
            let parts: Vec<String> = items.iter().map(render).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Mapping(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", render(k), render(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Tagged(t) => format!("{}({})", t.tag, render(&t.value)),
    }
}

fn is_tag(v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Tagged(t) if t.tag == name => Some(t.value.clone()),
        _ => None,
    }
}

/// One Allow statement of the role, under the condition(s) of the `!If`s around it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    when: String,
    actions: BTreeSet<String>,
    resources: BTreeSet<String>,
    condition: String,
}

fn statements(list: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for item in list.as_sequence().expect("Statement is a list") {
        if let Some(args) = is_tag(item, "If") {
            let args = args.as_sequence().expect("!If takes a list").clone();
            let cond = args[0].as_str().unwrap().to_string();
            for (branch, when) in [(&args[1], cond.clone()), (&args[2], format!("!{cond}"))] {
                if render(branch) == "!Ref(AWS::NoValue)" {
                    continue;
                }
                out.push((when, branch.clone()));
            }
        } else {
            out.push((String::new(), item.clone()));
        }
    }
    out
}

fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::Sequence(items) => items.iter().map(render).collect(),
        other => BTreeSet::from([render(other)]),
    }
}

fn role_grants(t: &Value) -> (Vec<Grant>, Vec<String>) {
    let role = &t["Resources"]["FunctionRole"];
    assert_eq!(role["Type"], Value::from("AWS::IAM::Role"));
    let mut grants = Vec::new();
    let mut sids = Vec::new();
    let policies = role["Properties"]["Policies"].as_sequence().unwrap();
    for p in policies {
        for (when, s) in statements(&p["PolicyDocument"]["Statement"]) {
            assert_eq!(s["Effect"], Value::from("Allow"), "{}", render(&s));
            assert!(
                s.get("NotAction").is_none() && s.get("NotResource").is_none(),
                "NotAction/NotResource grant everything else: {}",
                render(&s)
            );
            sids.push(render(&s["Sid"]));
            grants.push(Grant {
                when,
                actions: strings(&s["Action"]),
                resources: strings(&s["Resource"]),
                condition: s.get("Condition").map(render).unwrap_or_default(),
            });
        }
    }
    (grants, sids)
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// Exactly what the function needs (see `FUNCTION_OPERATIONS` and the template's wiring).
fn expected() -> Vec<Grant> {
    let destination = "!Sub([arn:${AWS::Partition}:s3:::${Bucket}/${DestinationPrefix}AWSLogs/*/CloudTrail-Insight/*, \
                       {Bucket: !If([HasDestinationBucket, !Ref(DestinationBucketName), !Ref(TrailBucketName)])}])";
    let destination = destination.split_whitespace().collect::<Vec<_>>().join(" ");
    let g = |when: &str, actions: &[&str], resource: &str, condition: &str| Grant {
        when: when.into(),
        actions: set(actions),
        resources: set(&[resource]),
        condition: condition.into(),
    };
    let mut v = vec![
        // The function's own log group (the role cannot create groups or write elsewhere).
        g(
            "",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            "!GetAtt(FunctionLogGroup.Arn)",
            "",
        ),
        // Read CloudTrail log files under the trail prefix only.
        g(
            "",
            &["s3:GetObject"],
            "!Sub(arn:${AWS::Partition}:s3:::${TrailBucketName}/${TrailPrefix}AWSLogs/*)",
            "",
        ),
        // List the trail's log files (the backfill invocation), under the trail prefix only.
        g(
            "",
            &["s3:ListBucket"],
            "!Sub(arn:${AWS::Partition}:s3:::${TrailBucketName})",
            "{StringLike: {s3:prefix: !Sub(${TrailPrefix}AWSLogs/*)}}",
        ),
        // Write (and replace) Insights files under the destination's CloudTrail-Insight folders.
        g("", &["s3:PutObject", "s3:DeleteObject"], &destination, ""),
        // The state table's items; no scans, no table management, no indexes.
        g(
            "",
            &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            "!GetAtt(StateTable.Arn)",
            "",
        ),
        // existing mode: the event source mapping polls this queue with the function's role.
        g(
            "UseExistingBucket",
            &[
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ],
            "!GetAtt(NotificationQueue.Arn)",
            "",
        ),
        // new mode: Lambda's on-failure destination sends with the function's role.
        g(
            "CreateTrailBucket",
            &["sqs:SendMessage"],
            "!GetAtt(DeadLetterQueue.Arn)",
            "",
        ),
        // SSE-KMS log files: decrypt (and encrypt Insights files) through S3 only.
        g(
            "HasKmsKey",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            "!Ref(KmsKeyArn)",
            "{StringEquals: {kms:ViaService: !Sub(s3.${AWS::Region}.amazonaws.com)}}",
        ),
        // Publishing Insights records on EventBridge (EVENT_BUS_NAME), on that bus only.
        g(
            "HasEventBus",
            &["events:PutEvents"],
            "!Sub(arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/${EventBusName})",
            "",
        ),
    ];
    v.sort();
    v
}

#[test]
fn the_function_role_grants_exactly_what_the_function_needs() {
    let t = template();
    let (mut grants, sids) = role_grants(&t);
    grants.sort();
    let want = expected();
    let extra: Vec<&Grant> = grants.iter().filter(|g| !want.contains(g)).collect();
    let missing: Vec<&Grant> = want.iter().filter(|g| !grants.contains(g)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "template.yaml's FunctionRole differs from the least-privilege set.\n\
         granted but not expected: {extra:#?}\nexpected but not granted: {missing:#?}"
    );
    let unique: BTreeSet<&String> = sids.iter().collect();
    assert_eq!(
        unique.len(),
        sids.len(),
        "statement Sids are unique: {sids:?}"
    );

    // Every action the function's code needs is granted; nothing the CLI alone uses is.
    let granted: BTreeSet<String> = grants.iter().flat_map(|g| g.actions.clone()).collect();
    for (op, action) in FUNCTION_OPERATIONS {
        assert!(granted.contains(*action), "{op} needs {action}");
    }
    for (op, action) in CLI_ONLY_OPERATIONS {
        assert!(
            !granted.contains(*action),
            "{action} ({op}) is for the command line only"
        );
    }
}

#[test]
fn no_wildcards_no_managed_policies_no_other_grants() {
    let t = template();
    let (grants, _) = role_grants(&t);
    for g in &grants {
        for a in &g.actions {
            assert!(!a.contains('*') && !a.contains('?'), "wildcard action {a}");
        }
        for r in &g.resources {
            assert!(r != "*" && !r.ends_with(":*"), "wildcard resource {r}");
            // Object wildcards only below a fixed AWSLogs/ prefix.
            if let Some(pos) = r.find('*') {
                assert!(
                    r[..pos].contains("AWSLogs/"),
                    "wildcard before a fixed AWSLogs/ prefix in {r}"
                );
            }
        }
    }
    let role = &t["Resources"]["FunctionRole"]["Properties"];
    assert!(
        role.get("ManagedPolicyArns").is_none() && role.get("PermissionsBoundary").is_none(),
        "no managed policies on the function role"
    );
    let trust = render(&role["AssumeRolePolicyDocument"]);
    assert_eq!(
        trust,
        "{Version: 2012-10-17, Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]}",
        "only Lambda assumes the role"
    );

    let resources = t["Resources"].as_mapping().unwrap();
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, r) in resources {
        let ty = render(&r["Type"]);
        by_type.entry(ty.clone()).or_default().push(render(name));
        if ty == "AWS::Serverless::Function" {
            let p = &r["Properties"];
            assert!(
                p.get("Policies").is_none(),
                "SAM Policies on {} would add grants beside FunctionRole",
                render(name)
            );
            assert_eq!(render(&p["Role"]), "!GetAtt(FunctionRole.Arn)");
        }
        // Resource policies: only named service principals are allowed, never "*" (a Deny on
        // "*" is a guard, e.g. insecure transport).
        for key in ["PolicyDocument"] {
            if let Some(doc) = r["Properties"].get(key) {
                for (_, s) in statements(&doc["Statement"]) {
                    let principal = render(&s["Principal"]);
                    if render(&s["Effect"]) == "Allow" {
                        assert!(
                            principal.starts_with("{Service: "),
                            "{}: Allow to {principal}",
                            render(name)
                        );
                        for a in strings(&s["Action"]) {
                            assert!(!a.contains('*'), "{}: wildcard action {a}", render(name));
                        }
                        assert!(
                            s.get("Condition").is_some(),
                            "{}: a service principal is confined by a source condition",
                            render(name)
                        );
                    }
                }
            }
        }
    }
    for forbidden in [
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::User",
    ] {
        assert!(
            !by_type.contains_key(forbidden),
            "{forbidden} in the template: {:?}",
            by_type[forbidden]
        );
    }
    assert_eq!(by_type["AWS::IAM::Role"], vec!["FunctionRole".to_string()]);
}
