//! What the demo trail's callers do: one constructor per API call (parameters, responses,
//! errors), drawing from the generator's single RNG stream.

use super::Gen;
use super::callers::*;
use super::record::{aws_date, stable_id};
use super::truncate_minute;
use chrono::{DateTime, Datelike, Duration, Utc};
use rand::Rng;

/// One API call before it is rendered.
pub(super) struct Call {
    pub(super) time: DateTime<Utc>,
    pub(super) source: &'static str,
    pub(super) name: &'static str,
    pub(super) read_only: bool,
    pub(super) caller: Caller,
    /// Raw JSON for requestParameters, responseElements, resources, additionalEventData.
    pub(super) params: String,
    pub(super) response: String,
    pub(super) resources: Option<String>,
    pub(super) extra: Option<String>,
    /// Error code and free-text message (escaped when rendered).
    pub(super) error: Option<(&'static str, String)>,
    /// Injected incident calls are never old-style or duplicated, so counts stay exact.
    pub(super) injected: bool,
}

impl Call {
    pub(super) fn new(
        time: DateTime<Utc>,
        source: &'static str,
        name: &'static str,
        read_only: bool,
        caller: Caller,
    ) -> Self {
        Call {
            time,
            source,
            name,
            read_only,
            caller,
            params: "null".to_string(),
            response: "null".to_string(),
            error: None,
            resources: None,
            extra: None,
            injected: false,
        }
    }

    pub(super) fn params(mut self, v: String) -> Self {
        self.params = v;
        self
    }

    pub(super) fn response(mut self, v: String) -> Self {
        self.response = v;
        self
    }

    pub(super) fn error(mut self, code: &'static str, message: String) -> Self {
        self.error = Some((code, message));
        self
    }
}

impl<'g> Gen<'g> {
    pub(super) fn describe_instances(&mut self, t: DateTime<Utc>) -> Call {
        let caller = if self.rng.random_bool(0.8) {
            MONITORING
        } else {
            self.pick(&[CI, TF_USER, JANE, ALICE])
        };
        let params = if self.rng.random_bool(0.5) {
            let id = self.pick(&FLEET).0;
            format!(r#"{{"instancesSet":{{"items":[{{"instanceId":"{id}"}}]}},"filterSet":{{}}}}"#)
        } else {
            r#"{"maxResults":1000,"instancesSet":{},"filterSet":{"items":[{"name":"tag:Environment","valueSet":{"items":[{"value":"prod"}]}}]}}"#.to_string()
        };
        Call::new(t, "ec2.amazonaws.com", "DescribeInstances", true, caller).params(params)
    }

    pub(super) fn assume_role(&mut self, t: DateTime<Utc>) -> Call {
        let acct = self.acct.clone();
        let fails = self.rng.random_bool(0.005);
        let (caller, role, session) = if fails {
            (self.pick(&[JANE, TF_USER]), "ProdAdminRole", "break-glass")
        } else {
            let r: f64 = self.rng.random();
            if r < 0.5 {
                let svc = self.pick(&[
                    "lambda.amazonaws.com",
                    "ecs-tasks.amazonaws.com",
                    "ec2.amazonaws.com",
                ]);
                (Caller::via(Principal::Service, svc), "AppRole", "i-0abc")
            } else if r < 0.8 {
                (CI, "CIDeployRole", "gh-actions")
            } else {
                (self.pick(&[JANE, TF_USER]), "ReadOnlyRole", "dev-jane")
            }
        };
        let role_arn = format!("arn:aws:iam::{acct}:role/{role}");
        let params = format!(
            r#"{{"roleArn":"{role_arn}","roleSessionName":"{session}","durationSeconds":3600}}"#
        );
        let mut call =
            Call::new(t, "sts.amazonaws.com", "AssumeRole", false, caller).params(params);
        call.resources = Some(format!(
            r#"[{{"accountId":"{acct}","type":"AWS::IAM::Role","ARN":"{role_arn}"}}]"#
        ));
        if fails {
            let who = match caller.who {
                Principal::User(u) => format!("arn:aws:iam::{}:user/{u}", self.spec.account),
                _ => String::new(),
            };
            let role_arn = format!("arn:aws:iam::{}:role/{role}", self.spec.account);
            let msg = format!(
                "User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            );
            return call.error("AccessDenied", msg);
        }
        let expiration = aws_date(t + Duration::hours(1));
        let key = format!("ASIA{}", self.alnum(16, true));
        let role_id = stable_id("AROA", role);
        call.response(format!(
            r#"{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEHwaCXVzLWVhc3QtMSJHMEUCIQD","expiration":"{expiration}"}},"assumedRoleUser":{{"assumedRoleId":"{role_id}:{session}","arn":"arn:aws:sts::{acct}:assumed-role/{role}/{session}"}}}}"#
        ))
    }

    pub(super) fn list_buckets(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[TF_USER, JANE, CI, ALICE]);
        let call = Call::new(t, "s3.amazonaws.com", "ListBuckets", true, caller)
            .params(r#"{"Host":"s3.amazonaws.com"}"#.to_string());
        self.s3_extra(call)
    }

    pub(super) fn get_secret(&mut self, t: DateTime<Utc>, session: &'static str) -> Call {
        let caller = Caller::new(Principal::Role("AppRole", session), UA_BOTO, "3.218.44.10");
        Call::new(
            t,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            true,
            caller,
        )
        .params(r#"{"secretId":"prod/orders/db"}"#.to_string())
    }

    pub(super) fn get_secret_ok(&mut self, t: DateTime<Utc>) -> Call {
        let session = self.pick(&APP_SESSIONS);
        self.get_secret(t, session)
    }

    /// The storm: one app instance loses its secret access.
    pub(super) fn get_secret_denied(&mut self, t: DateTime<Utc>) -> Call {
        let (acct, region) = (&self.spec.account, &self.spec.region);
        let msg = format!(
            "User: arn:aws:sts::{acct}:assumed-role/AppRole/i-0abc is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:{region}:{acct}:secret:prod/orders/db-Xk2p9Q because no identity-based policy allows the secretsmanager:GetSecretValue action"
        );
        self.get_secret(t, "i-0abc")
            .error("AccessDeniedException", msg)
    }

    /// KMS decrypts made by Secrets Manager on behalf of the app.
    pub(super) fn decrypt(&mut self, t: DateTime<Utc>) -> Call {
        let (acct, region) = (self.acct.clone(), self.region.clone());
        let session = self.pick(&APP_SESSIONS);
        let caller = Caller::via(
            Principal::Role("AppRole", session),
            "secretsmanager.amazonaws.com",
        );
        let mut call = Call::new(t, "kms.amazonaws.com", "Decrypt", true, caller).params(format!(
            r#"{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"SecretARN":"arn:aws:secretsmanager:{region}:{acct}:secret:prod/orders/db-Xk2p9Q"}}}}"#
        ));
        call.resources = Some(format!(
            r#"[{{"accountId":"{acct}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{acct}:key/5d2f8c1e-7a4b-4e9d-b3c6-1f0a9e8d7c65"}}]"#
        ));
        call
    }

    pub(super) fn get_metric_data(&mut self, t: DateTime<Utc>) -> Call {
        let end = aws_date(truncate_minute(t));
        let begin = aws_date(truncate_minute(t) - Duration::hours(3));
        let metric = self.pick(&["CPUUtilization", "NetworkIn", "StatusCheckFailed"]);
        Call::new(t, "monitoring.amazonaws.com", "GetMetricData", true, MONITORING).params(format!(
            r#"{{"metricDataQueries":[{{"id":"a","metricStat":{{"metric":{{"namespace":"AWS/EC2","metricName":"{metric}"}},"period":60,"stat":"Average"}}}}],"startTime":"{begin}","endTime":"{end}"}}"#
        ))
    }

    pub(super) fn describe_instance_status(&mut self, t: DateTime<Utc>) -> Call {
        let id = self.pick(&FLEET).0;
        Call::new(t, "ec2.amazonaws.com", "DescribeInstanceStatus", true, AUTOSCALING).params(
            format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"{id}"}}]}},"filterSet":{{}},"includeAllInstances":true}}"#
            ),
        )
    }

    pub(super) fn get_caller_identity(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[CI, TF_USER, JANE]);
        Call::new(t, "sts.amazonaws.com", "GetCallerIdentity", true, caller)
    }

    pub(super) fn create_log_stream(&mut self, t: DateTime<Utc>) -> Call {
        let (y, m, d) = (t.year(), t.month(), t.day());
        let hex = self.hex(32);
        Call::new(t, "logs.amazonaws.com", "CreateLogStream", false, LOGS_WORKER).params(format!(
            r#"{{"logGroupName":"/aws/lambda/order-processor","logStreamName":"{y:04}/{m:02}/{d:02}/[$LATEST]{hex}"}}"#
        ))
    }

    pub(super) fn get_bucket_acl_ok(&mut self, t: DateTime<Utc>) -> Call {
        let bucket = self.pick(&BUCKETS);
        self.get_bucket_acl(t, bucket)
    }

    /// The scanner is routinely refused on a partner bucket: normal AccessDenied noise.
    pub(super) fn get_bucket_acl_denied(&mut self, t: DateTime<Utc>) -> Call {
        self.get_bucket_acl(t, "acme-partner-exchange")
            .error("AccessDenied", "Access Denied".to_string())
    }

    pub(super) fn get_bucket_acl(&mut self, t: DateTime<Utc>, bucket: &str) -> Call {
        let region = &self.region;
        let call = Call::new(t, "s3.amazonaws.com", "GetBucketAcl", true, AUDITOR).params(format!(
            r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{region}.amazonaws.com","acl":""}}"#
        ));
        self.s3_extra(call)
    }

    /// S3 records carry additionalEventData in real trails.
    pub(super) fn s3_extra(&mut self, mut call: Call) -> Call {
        let amz_id = self.alnum(56, false);
        let out: u32 = self.rng.random_range(300..2400);
        call.extra = Some(format!(
            r#"{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{amz_id}","bytesTransferredOut":{out}}}"#
        ));
        call
    }

    pub(super) fn run_instances_ci(&mut self, t: DateTime<Utc>) -> Call {
        self.run_instances(t, CI, "t3.medium")
    }

    /// The burst: a stolen role launching GPU instances from a script.
    pub(super) fn run_instances_attacker(&mut self, t: DateTime<Utc>) -> Call {
        self.run_instances(t, ATTACKER, "g4dn.12xlarge")
    }

    pub(super) fn run_instances(&mut self, t: DateTime<Utc>, caller: Caller, itype: &str) -> Call {
        let acct = self.acct.clone();
        let id = format!("i-0{}", self.hex(16));
        let reservation = format!("r-0{}", self.hex(16));
        let request = self.uuid();
        let token = self.uuid();
        let ami = "ami-0c7217cdde317cfec";
        let subnet = "subnet-0f3a9b1c2d4e5f607";
        Call::new(t, "ec2.amazonaws.com", "RunInstances", false, caller)
            .params(format!(
                r#"{{"instancesSet":{{"items":[{{"imageId":"{ami}","minCount":1,"maxCount":1}}]}},"instanceType":"{itype}","blockDeviceMapping":{{}},"subnetId":"{subnet}","disableApiTermination":false,"clientToken":"{token}"}}"#
            ))
            .response(format!(
                r#"{{"requestId":"{request}","reservationId":"{reservation}","ownerId":"{acct}","groupSet":{{}},"instancesSet":{{"items":[{{"instanceId":"{id}","imageId":"{ami}","instanceState":{{"code":0,"name":"pending"}},"instanceType":"{itype}","subnetId":"{subnet}"}}]}}}}"#
            ))
    }

    pub(super) fn create_tags(&mut self, t: DateTime<Utc>) -> Call {
        let (caller, owner) = if self.rng.random_bool(0.5) {
            (ALICE, "alice")
        } else {
            (BOB, "bob")
        };
        let id = self.pick(&FLEET).0;
        let request = self.uuid();
        Call::new(t, "ec2.amazonaws.com", "CreateTags", false, caller)
            .params(format!(
                r#"{{"resourcesSet":{{"items":[{{"resourceId":"{id}"}}]}},"tagSet":{{"items":[{{"key":"Owner","value":"{owner}"}}]}}}}"#
            ))
            .response(format!(r#"{{"requestId":"{request}","_return":true}}"#))
    }

    pub(super) fn describe_security_groups(&mut self, t: DateTime<Utc>) -> Call {
        let caller = self.pick(&[ALICE, BOB]);
        Call::new(
            t,
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            true,
            caller,
        )
        .params(r#"{"securityGroupSet":{},"securityGroupIdSet":{},"filterSet":{}}"#.to_string())
    }

    pub(super) fn create_snapshot(&mut self, t: DateTime<Utc>, k: u32) -> Call {
        let db = format!("orders-db-{k}");
        let (y, m, d) = (t.year(), t.month(), t.day());
        let snap = format!("nightly-{db}-{y:04}-{m:02}-{d:02}");
        Call::new(t, "rds.amazonaws.com", "CreateDBSnapshot", false, BACKUP)
            .params(format!(
                r#"{{"dBSnapshotIdentifier":"{snap}","dBInstanceIdentifier":"{db}"}}"#
            ))
            .response(format!(
                r#"{{"dBSnapshotIdentifier":"{snap}","dBInstanceIdentifier":"{db}","engine":"postgres","allocatedStorage":200,"status":"creating","port":5432,"snapshotType":"manual","encrypted":true}}"#
            ))
    }
}
