//! The DynamoDB state store: the same versioned items as the embedded store, one table.
//!
//! Table design (see README, "DynamoDB table"): partition key `pk` (S), sort key `sk` (S);
//! attributes `v` (N, the item version for optimistic concurrency), `b` (B, the JSON body) and
//! `ttl` (N, epoch seconds) on items that expire: per-minute counts after the metrics retention
//! (plus a day), processed-object markers after `MARKER_TTL_DAYS`.
//!
//! The engine is synchronous; each call here blocks the calling thread on the SDK future, so the
//! engine must run on a blocking thread (`spawn_blocking`) or outside the runtime.

use super::error::describe;
use crate::store::{EachItem, Item, StateStore, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnConsumedCapacity};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::runtime::Handle;

/// A client for the state table, with the retries and timeouts of [`crate::aws::retries`] and
/// [`crate::aws::timeouts`].
pub fn client(sdk: &aws_config::SdkConfig) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
        .retry_config(crate::aws::retries())
        .timeout_config(crate::aws::timeouts())
        .build();
    Client::from_conf(conf)
}

/// Markers outlive any redelivery: S3 retries for hours, CloudTrail redelivers for up to 30 days.
pub const MARKER_TTL_DAYS: i64 = 90;

/// Capacity units consumed since the last [`StateStore::take_consumed_capacity`].
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Capacity {
    pub read: f64,
    pub write: f64,
    pub requests: u64,
}

pub struct DynamoStore {
    client: Client,
    table: String,
    handle: Handle,
    retention_days: i64,
    consumed: Mutex<Capacity>,
}

impl DynamoStore {
    pub fn new(
        client: Client,
        table: &str,
        handle: Handle,
        metrics_retention_days: u32,
    ) -> DynamoStore {
        DynamoStore {
            client,
            table: table.to_string(),
            handle,
            retention_days: i64::from(metrics_retention_days),
            consumed: Mutex::new(Capacity::default()),
        }
    }

    /// Add one request's consumed capacity; `read` says which kind the operation is (GetItem
    /// and Query read, PutItem and DeleteItem write).
    fn record(&self, c: Option<&aws_sdk_dynamodb::types::ConsumedCapacity>, read: bool) {
        let mut total = self.consumed.lock().unwrap_or_else(|p| p.into_inner());
        total.requests += 1;
        if let Some(c) = c {
            total.read += c.read_capacity_units().unwrap_or(0.0);
            total.write += c.write_capacity_units().unwrap_or(0.0);
            // DynamoDB (Local included) reports only the total unless asked for indexes: it
            // belongs to the operation's kind.
            if c.read_capacity_units().is_none() && c.write_capacity_units().is_none() {
                let units = c.capacity_units().unwrap_or(0.0);
                if read {
                    total.read += units;
                } else {
                    total.write += units;
                }
            }
        }
    }

    /// When an item should expire, by what it is: per-minute counts and object markers do.
    fn expiry(&self, pk: &str, sk: &str) -> Option<i64> {
        let minute_of = |rest: &str| rest.split('#').next().and_then(|m| m.parse::<i64>().ok());
        let minute = sk
            .strip_prefix("MIN#")
            .and_then(minute_of)
            .or_else(|| sk.strip_prefix("IDS#").and_then(minute_of));
        if let Some(minute) = minute {
            // Never before the retention has run from now: a replay or backfill of old logs
            // writes minutes that are already past their event-time expiry, and DynamoDB would
            // delete them before the engine closes them. The engine drops old minutes itself as
            // event time advances; TTL only tidies up after trails that went silent.
            let from = (minute * 60).max(chrono::Utc::now().timestamp());
            return Some(from + (self.retention_days + 1) * 86_400);
        }
        if pk.starts_with("OBJ#") {
            return Some(chrono::Utc::now().timestamp() + MARKER_TTL_DAYS * 86_400);
        }
        None
    }

    fn key(pk: &str, sk: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_string(), AttributeValue::S(pk.to_string())),
            ("sk".to_string(), AttributeValue::S(sk.to_string())),
        ])
    }
}

fn item_of(map: &HashMap<String, AttributeValue>) -> Result<Item, StoreError> {
    let version = match map.get("v") {
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Permanent(format!("bad version `{n}`")))?,
        _ => return Err(StoreError::Permanent("item without a version".into())),
    };
    let body = match map.get("b") {
        Some(AttributeValue::B(b)) => b.clone().into_inner(),
        _ => return Err(StoreError::Permanent("item without a body".into())),
    };
    Ok(Item { version, body })
}

/// Throttling, timeouts and service errors are worth retrying; a missing table is not.
fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    table: &str,
    e: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
) -> StoreError {
    let code = e.code().unwrap_or_default().to_string();
    if code == "ResourceNotFoundException" {
        return StoreError::Permanent(format!("DynamoDB table {table} does not exist"));
    }
    if matches!(
        code.as_str(),
        "AccessDeniedException" | "UnrecognizedClientException" | "ValidationException"
    ) {
        return StoreError::Permanent(format!("DynamoDB: {}", describe(&e)));
    }
    StoreError::Transient(format!("DynamoDB: {}", describe(&e)))
}

impl StateStore for DynamoStore {
    fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let req = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send();
        let out = self
            .handle
            .block_on(req)
            .map_err(|e| classify(&self.table, e))?;
        self.record(out.consumed_capacity(), true);
        out.item().map(item_of).transpose()
    }

    fn put(
        &self,
        pk: &str,
        sk: &str,
        body: &[u8],
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut item = Self::key(pk, sk);
        let version = expected.unwrap_or(0) + 1;
        item.insert("v".into(), AttributeValue::N(version.to_string()));
        item.insert(
            "b".into(),
            AttributeValue::B(aws_sdk_dynamodb::primitives::Blob::new(body.to_vec())),
        );
        if let Some(ttl) = self.expiry(pk, sk) {
            item.insert("ttl".into(), AttributeValue::N(ttl.to_string()));
        }
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        req = match expected {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(v) => req
                .condition_expression("v = :v")
                .expression_attribute_values(":v", AttributeValue::N(v.to_string())),
        };
        match self.handle.block_on(req.send()) {
            Ok(out) => {
                self.record(out.consumed_capacity(), false);
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                self.record(None, false);
                Err(StoreError::Conflict {
                    pk: pk.into(),
                    sk: sk.into(),
                })
            }
            Err(e) => Err(classify(&self.table, e)),
        }
    }

    fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        let req = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send();
        let out = self
            .handle
            .block_on(req)
            .map_err(|e| classify(&self.table, e))?;
        self.record(out.consumed_capacity(), false);
        Ok(())
    }

    fn query_each(
        &self,
        pk: &str,
        from: &str,
        to: &str,
        each: EachItem<'_>,
    ) -> Result<(), StoreError> {
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let req = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
                .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
                .expression_attribute_values(":a", AttributeValue::S(from.into()))
                .expression_attribute_values(":b", AttributeValue::S(to.into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send();
            let page = self
                .handle
                .block_on(req)
                .map_err(|e| classify(&self.table, e))?;
            self.record(page.consumed_capacity(), true);
            for map in page.items() {
                let sk = match map.get("sk") {
                    Some(AttributeValue::S(s)) => s.clone(),
                    _ => continue,
                };
                each(sk, item_of(map)?)?;
            }
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => break,
            }
        }
        Ok(())
    }

    fn commit(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn rollback(&self) {}

    fn take_consumed_capacity(&self) -> (f64, f64, u64) {
        let c = std::mem::take(&mut *self.consumed.lock().unwrap_or_else(|p| p.into_inner()));
        (c.read, c.write, c.requests)
    }
}

/// Create the table with the template's schema (on-demand, TTL on `ttl`); fine if it exists.
/// Point-in-time recovery, which the template turns on, is left to the user here.
pub async fn create_table(client: &Client, table: &str) -> anyhow::Result<bool> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
    };
    let created = client
        .create_table()
        .table_name(table)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    let fresh = match created {
        Ok(_) => true,
        Err(e) if e.code() == Some("ResourceInUseException") => false,
        Err(e) => anyhow::bail!("cannot create table {table}: {}", DisplayErrorContext(&e)),
    };
    // DynamoDB refuses to change a table's TTL while the table is still being created.
    let mut waited = 0;
    loop {
        let described = client.describe_table().table_name(table).send().await;
        let status = described
            .map_err(|e| {
                anyhow::anyhow!("cannot describe table {table}: {}", DisplayErrorContext(&e))
            })?
            .table
            .and_then(|t| t.table_status);
        if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
            break;
        }
        anyhow::ensure!(
            waited < 120,
            "table {table} is not active after 2 minutes: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        waited += 1;
    }
    let ttl = TimeToLiveSpecification::builder()
        .attribute_name("ttl")
        .enabled(true)
        .build()?;
    if let Err(e) = client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
    {
        // Already enabled (a second `setup`) is fine; anything else is reported.
        if !format!("{}", DisplayErrorContext(&e)).contains("already enabled") && fresh {
            anyhow::bail!("cannot enable TTL on {table}: {}", DisplayErrorContext(&e));
        }
    }
    Ok(fresh)
}
