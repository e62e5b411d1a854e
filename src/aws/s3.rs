//! S3 as the object source (streaming GetObject), as the Insights sink, and where Insights records
//! are read back from (`lookup`, `plot`).

use super::error::describe;
use crate::insight::record::{InsightFile, InsightRecord, parse_insight_file};
use crate::insight::sink::{InsightSink, SinkError};
use anyhow::Context as _;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::runtime::Handle;

/// Open an object for streaming. A missing object is `NotFound` (it will not come back); every
/// other failure is a plain I/O error, which the engine treats as transient.
pub fn open_object(
    client: &Client,
    handle: &Handle,
    bucket: &str,
    key: &str,
) -> io::Result<S3Reader> {
    let req = client.get_object().bucket(bucket).key(key).send();
    match handle.block_on(req) {
        Ok(out) => Ok(S3Reader {
            body: out.body,
            handle: handle.clone(),
            chunk: Bytes::new(),
        }),
        Err(e)
            if e.code() == Some("NoSuchKey")
                || e.raw_response().is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("s3://{bucket}/{key} no longer exists"),
            ))
        }
        Err(e) => Err(io::Error::other(format!(
            "GetObject s3://{bucket}/{key}: {}",
            describe(&e)
        ))),
    }
}

/// A blocking reader over an S3 body: one network chunk in memory at a time.
pub struct S3Reader {
    body: ByteStream,
    handle: Handle,
    chunk: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.body.next()) {
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => return Err(io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

/// Writes Insights files to `s3://bucket/prefix<key>`.
pub struct S3Sink {
    pub client: Client,
    pub handle: Handle,
    pub bucket: String,
    pub prefix: String,
    pub requests: AtomicU64,
}

impl S3Sink {
    pub fn new(client: Client, handle: Handle, bucket: &str, prefix: &str) -> S3Sink {
        S3Sink {
            client,
            handle,
            bucket: bucket.into(),
            prefix: prefix.into(),
            requests: AtomicU64::new(0),
        }
    }
}

impl InsightSink for S3Sink {
    fn put(&self, file: &InsightFile) -> Result<(), SinkError> {
        let key = format!("{}{}", self.prefix, file.key);
        self.requests.fetch_add(1, Ordering::Relaxed);
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(file.body.clone()))
            .content_type("application/x-gzip")
            .send();
        self.handle
            .block_on(req)
            .map(|_| ())
            .map_err(|e| SinkError {
                key: format!("s3://{}/{key}", self.bucket),
                reason: describe(&e),
            })
    }

    fn delete(&self, key: &str) -> Result<(), SinkError> {
        let key = format!("{}{}", self.prefix, key);
        self.requests.fetch_add(1, Ordering::Relaxed);
        let req = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send();
        self.handle
            .block_on(req)
            .map(|_| ())
            .map_err(|e| SinkError {
                key: format!("s3://{}/{key}", self.bucket),
                reason: describe(&e),
            })
    }
}

/// An `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl std::str::FromStr for S3Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{s}` is not an s3://bucket/prefix location"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("`{s}` has no bucket name"));
        }
        Ok(S3Location {
            bucket: bucket.into(),
            prefix: prefix.into(),
        })
    }
}

/// Keys under `location` (paginated), with their sizes.
pub async fn list_keys(
    client: &Client,
    location: &S3Location,
) -> anyhow::Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(&location.prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            anyhow::anyhow!(
                "listing s3://{}/{}: {}",
                location.bucket,
                location.prefix,
                DisplayErrorContext(&e)
            )
        })?;
        for o in page.contents() {
            if let Some(k) = o.key() {
                out.push((k.to_string(), o.size().unwrap_or(0)));
            }
        }
    }
    Ok(out)
}

/// Every Insights record under `location` (objects under `CloudTrail-Insight/` named
/// `*.json.gz`).
pub async fn insight_records(
    client: &Client,
    location: &S3Location,
) -> anyhow::Result<Vec<InsightRecord>> {
    let mut out = Vec::new();
    for (key, _) in list_keys(client, location).await? {
        if !key.contains("/CloudTrail-Insight/") || !key.ends_with(".json.gz") {
            continue;
        }
        let obj = client
            .get_object()
            .bucket(&location.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "s3://{}/{key}: {}",
                    location.bucket,
                    DisplayErrorContext(&e)
                )
            })?;
        let bytes = obj
            .body
            .collect()
            .await
            .with_context(|| format!("reading s3://{}/{key}", location.bucket))?;
        out.extend(
            parse_insight_file(&bytes.into_bytes())
                .map_err(|e| anyhow::anyhow!("s3://{}/{key}: {e}", location.bucket))?,
        );
    }
    Ok(out)
}

/// An S3 client honouring `AWS_ENDPOINT_URL_S3` (path-style addressing for local servers), with
/// the retries and timeouts of [`crate::aws::retries`] and [`crate::aws::timeouts`].
pub fn client(config: &aws_config::SdkConfig) -> Client {
    let mut b = aws_sdk_s3::config::Builder::from(config)
        .retry_config(crate::aws::retries())
        .timeout_config(crate::aws::timeouts());
    if std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some()
    {
        b = b.force_path_style(true);
    }
    Client::from_conf(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse() {
        assert_eq!(
            "s3://b/p/q".parse(),
            Ok(S3Location {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert_eq!(
            "s3://b".parse(),
            Ok(S3Location {
                bucket: "b".into(),
                prefix: "".into()
            })
        );
        assert!("b/p".parse::<S3Location>().is_err());
        assert!("s3:///p".parse::<S3Location>().is_err());
    }
}
