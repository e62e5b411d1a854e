//! One-line descriptions of AWS SDK errors for logs and rejection reasons.
//!
//! The SDK's own `DisplayErrorContext` ends with the `Debug` form of the raw HTTP response: its
//! headers and body. A real S3 `SignatureDoesNotMatch` body carries the canonical request, which
//! contains the `x-amz-security-token` header, i.e. the function's session token. So only the
//! service's error code and message, the HTTP status and the request ID are kept.

use aws_sdk_s3::config::http::HttpResponse as Response;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// `HTTP 503 SlowDown: Please reduce your request rate. (request 4F2A...)`, `timed out`, ...
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, Response>,
) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let mut out = format!(
                "HTTP {} {}",
                s.raw().status().as_u16(),
                err.code().unwrap_or("(no error code)")
            );
            if let Some(m) = err.message().filter(|m| !m.is_empty()) {
                out.push_str(": ");
                out.push_str(&m.chars().take(300).collect::<String>());
            }
            if let Some(id) = err.meta().extra("aws_request_id") {
                out.push_str(&format!(" (request {id})"));
            }
            out
        }
        SdkError::ResponseError(r) => {
            format!(
                "HTTP {}: the response could not be read",
                r.raw().status().as_u16()
            )
        }
        SdkError::TimeoutError(_) => "the request timed out".into(),
        // No response: the causes are local (connection refused, DNS, TLS, a request that could
        // not be built) and their messages carry no request content.
        other => {
            let mut out = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                out.push_str(": ");
                out.push_str(&s.to_string());
                source = s.source();
            }
            out
        }
    }
}
