//! trail-insights: CloudTrail Insights, open and tunable.
//!
//! A log file goes through the stages in order: [`cloudtrail`] reads it, [`count`] counts its
//! records per series and minute, [`detect`] decides Start and End per series, [`insight`]
//! renders and writes the records; [`engine`] runs these stages for one file against the state
//! [`store`]. [`app`] holds the entry points (the Lambda and the command line), [`aws`] the AWS
//! shells, [`synth`] the generated traffic and [`evaluation`] the benchmarks. Imports point from
//! the entry points down to [`base`], never back (`tests/layout.rs`). The stages are pure;
//! storage and output sit behind the traits in [`store`] and [`insight::sink`].

pub mod app {
    //! Entry points: the Lambda handler and its notifications, backfill, the command line.
    pub mod backfill;
    pub mod cli;
    pub mod lambda;
    pub mod notification;
    pub mod progress;
}
pub mod aws {
    //! The AWS shells: DynamoDB state, S3 objects and output.
    pub mod dynamo;
    pub mod error;
    pub mod events;
    pub mod s3;

    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;
    use std::time::Duration;

    /// Attempts per request. The SDK's default of 3 gives up on a throttled or busy service
    /// within a few seconds and fails the whole invocation, which S3 notifications get only
    /// two retries of; the other AWS SDKs retry DynamoDB up to 10 times. With the backoff
    /// capped at [`MAX_BACKOFF`] and each attempt at [`ATTEMPT_TIMEOUT`], a request gives up
    /// within about two minutes, well inside the function's timeout (300 s).
    pub const MAX_ATTEMPTS: u32 = 8;

    /// Longest pause between attempts (exponential from 1 s with jitter, as the SDK does).
    pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

    /// Longest wait for one attempt before it is abandoned and retried (a streamed body is read
    /// after the attempt). Without it the SDK waits for ever on a connection that stopped
    /// answering, and the function hangs until its own timeout.
    pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

    pub fn retries() -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_max_backoff(MAX_BACKOFF)
    }

    pub fn timeouts() -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(3100))
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .build()
    }
}
pub mod base {
    //! Values every stage shares: minutes, series keys, setting parsers.
    pub mod knob;
    pub mod series;
    pub mod time;
}
pub mod cloudtrail {
    //! READ: log-file keys, the streaming reader, CloudTrail records, and writing log files.
    pub mod files;
    pub mod key;
    pub mod reader;
    pub mod record;
    pub mod writer;
}
pub mod config;
pub mod count {
    //! COUNT: which events count (suppression), per-minute counts of a file, attribution.
    pub mod attribution;
    pub mod minutes;
    pub mod suppression;
}
pub mod detect {
    //! DECIDE: the per-series Start/End rule, drops to silence, deploy sessions.
    pub mod detector;
    pub mod drop;
    pub mod session;
    pub mod settings;
}
pub mod engine;
pub mod evaluation;
pub mod insight {
    //! EMIT: Insights records, where they are written, EventBridge, graphs.
    pub mod pairs;
    pub mod plot;
    pub mod publish;
    pub mod record;
    pub mod sink;
}
pub mod store;
pub mod synth {
    //! Generated traffic: the demo trail, the benchmark corpus, the evaluation's labelled traffic.
    pub mod corpus;
    pub mod delivery;
    pub mod demo;
    pub mod traffic;
}
