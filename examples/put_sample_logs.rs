//! Upload small CloudTrail log files under the keys the `events/` files name, so that
//! `make invoke-local` has real objects to read. Uses the environment's S3 endpoint.
//!
//! Usage: cargo run --example put_sample_logs [BUCKET]   (default trail-bucket)

use flate2::{Compression, write::GzEncoder};
use serde_json::json;
use std::io::Write;

const KEYS: [(&str, &str); 2] = [
    (
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/123456789012_CloudTrail_us-east-1_20260105T0010Z_AbCdEfGhIjKlMnOp.json.gz",
        "2026-01-05T00:0",
    ),
    (
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/123456789012_CloudTrail_us-east-1_20260105T0015Z_QrStUvWxYz012345.json.gz",
        "2026-01-05T00:1",
    ),
];

fn log_file(time_prefix: &str, n: usize) -> std::io::Result<Vec<u8>> {
    let records: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/Deployer/ci"},
                "eventTime": format!("{time_prefix}{}:{:02}Z", i % 5, i % 60),
                "eventSource": "ec2.amazonaws.com",
                "eventName": "RunInstances",
                "awsRegion": "us-east-1",
                "userAgent": "aws-cli/2.13.5",
                "eventID": format!("sample-{time_prefix}-{i}"),
                "readOnly": false,
                "eventType": "AwsApiCall",
                "managementEvent": true,
                "recipientAccountId": "123456789012",
                "eventCategory": "Management"
            })
        })
        .collect();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&serde_json::to_vec(&json!({ "Records": records }))?)?;
    gz.finish()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bucket = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "trail-bucket".into());
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = trail_insights::aws::s3::client(&sdk);
    for (key, time_prefix) in KEYS {
        let body = log_file(time_prefix, 12)?;
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "uploading s3://{bucket}/{key}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                )
            })?;
        println!("uploaded s3://{bucket}/{key}");
    }
    Ok(())
}
