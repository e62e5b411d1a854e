//! EventBridge PutEvents for [`crate::insight::publish::PublishingSink`].

use crate::insight::publish::{BusEntry, EntryError, EventPublisher};
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use tokio::runtime::Handle;

/// Puts entries on one bus (name or ARN), blocking on the function's runtime.
pub struct EventBridgePublisher {
    client: Client,
    handle: Handle,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(sdk: &aws_config::SdkConfig, handle: Handle, bus: &str) -> EventBridgePublisher {
        EventBridgePublisher {
            client: Client::new(sdk),
            handle,
            bus: bus.to_string(),
        }
    }
}

impl EventPublisher for EventBridgePublisher {
    fn put_events(&self, entries: &[BusEntry]) -> Result<Vec<Result<(), EntryError>>, String> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|e| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus)
                    .source(&e.source)
                    .detail_type(&e.detail_type)
                    .detail(&e.detail)
                    .set_time(DateTime::from_str(&e.time, Format::DateTime).ok())
                    .build()
            })
            .collect();
        let out = self
            .handle
            .block_on(self.client.put_events().set_entries(Some(request)).send())
            .map_err(|e| DisplayErrorContext(&e).to_string())?;
        Ok(out
            .entries()
            .iter()
            .map(|r| match (r.event_id(), r.error_code()) {
                (_, Some(code)) => Err(EntryError {
                    code: code.to_string(),
                    message: r.error_message().unwrap_or_default().to_string(),
                }),
                (Some(_), None) => Ok(()),
                (None, None) => Err(EntryError {
                    code: String::new(),
                    message: "no event ID and no error code in the answer".into(),
                }),
            })
            .collect())
    }

    fn bus(&self) -> &str {
        &self.bus
    }
}
