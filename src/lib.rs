//! trail-insights: CloudTrail Insights, open and tunable.
//!
//! The core (parsing, counting, baselines, the Start/End decision, record rendering) is pure;
//! storage and output sit behind the traits in [`store`] and [`sink`].

pub mod attribution;
pub mod cli;
pub mod config;
pub mod counting;
pub mod demo;
pub mod detector;
pub mod engine;
pub mod insight;
pub mod key;
pub mod reader;
pub mod record;
pub mod series;
pub mod sink;
pub mod store;
pub mod time;
