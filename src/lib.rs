//! trail-insights: CloudTrail Insights, open and tunable.
//!
//! The core (parsing, counting, baselines, the Start/End decision, record rendering) is pure;
//! storage and output sit behind the traits in [`store`] and [`sink`].

pub mod attribution;
pub mod aws {
    //! The AWS shells: DynamoDB state, S3 objects and output.
    pub mod dynamo;
    pub mod events;
    pub mod s3;
}
pub mod backfill;
pub mod cli;
pub mod config;
pub mod counting;
pub mod demo;
pub mod detector;
pub mod engine;
pub mod events;
pub mod insight;
pub mod key;
pub mod lambda;
pub mod notification;
pub mod plot;
pub mod reader;
pub mod record;
pub mod series;
pub mod sink;
pub mod store;
pub mod suppression;
pub mod time;
