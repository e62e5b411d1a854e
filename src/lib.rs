//! trail-insights: CloudTrail Insights, open and tunable.
//!
//! The core (parsing, counting, baselines, the Start/End decision, record rendering) is pure;
//! storage and output sit behind the traits in [`store`] and [`sink`].

pub mod key;
pub mod reader;
pub mod record;
pub mod time;
pub mod attribution;
pub mod config;
pub mod detector;
pub mod series;
