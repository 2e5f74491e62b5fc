//! Idempotency claims as one DynamoDB item per key.
//!
//! | attribute     | meaning                                                         |
//! |---------------|-----------------------------------------------------------------|
//! | `pk`          | `<function>#<kind>#<id>`, e.g. `order-intake#webhook#evt_…`      |
//! | `fingerprint` | hash of the payload that claimed it                             |
//! | `state`       | `in_progress` or `completed`                                    |
//! | `lease_until` | unix seconds after which an `in_progress` claim may be retaken  |
//! | `outcome`     | the first answer, as JSON text, once completed                  |
//! | `expires_at`  | unix seconds; the table's TTL attribute                         |
//!
//! The claim is a single conditional `PutItem`, so of any number of concurrent claims exactly
//! one succeeds; the losers read why from the item the failed condition returns.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{number, store_error, string};
use crate::idempotency::{Claim, ClaimWrite, IdempotencyStore};
use crate::store::StoreError;

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";

#[derive(Debug, Clone)]
pub struct DynamoIdempotencyStore {
    client: Client,
    table: String,
    /// Longer than the function's timeout, so a live invocation never loses its claim.
    lease: Duration,
    /// How long a completed key answers duplicates: longer than the marketplace retries.
    retention: Duration,
}

impl DynamoIdempotencyStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            lease: Duration::seconds(120),
            retention: Duration::days(7),
        }
    }

    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The conditional put that claims a key for the length of a lease: a key that is free,
    /// expired by TTL but not yet swept, or an abandoned claim of the same payload.
    fn claim_put(&self, claim: &ClaimWrite) -> Put {
        self.conditional_put(claim, Put::builder())
            .item("state", string(IN_PROGRESS))
            .item("lease_until", number((claim.now + self.lease).timestamp()))
            .build()
            .expect("table, item and condition are all set")
    }

    /// Claims a key (on the same condition) and completes it with `outcome` at once, for a
    /// caller's transaction that does the whole work: the key is taken exactly when the work is
    /// done.
    pub fn completed_put(&self, claim: &ClaimWrite, outcome: &Value) -> Put {
        self.conditional_put(claim, Put::builder())
            .item("state", string(COMPLETED))
            .item("outcome", string(outcome.to_string()))
            .build()
            .expect("table, item and condition are all set")
    }

    fn conditional_put(&self, claim: &ClaimWrite, put: PutBuilder) -> PutBuilder {
        put.table_name(&self.table)
            .item("pk", string(&claim.key))
            .item("fingerprint", string(&claim.fingerprint))
            .item("expires_at", number((claim.now + self.retention).timestamp()))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at < :now \
                 OR (#state = :in_progress AND lease_until < :now AND fingerprint = :fingerprint)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":now", number(claim.now.timestamp()))
            .expression_attribute_values(":in_progress", string(IN_PROGRESS))
            .expression_attribute_values(":fingerprint", string(&claim.fingerprint))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    async fn try_claim(&self, key: &str, fingerprint: &str, now: DateTime<Utc>) -> Result<Option<Claim>, StoreError> {
        let claim = self.claim_put(&ClaimWrite {
            key: key.to_owned(),
            fingerprint: fingerprint.to_owned(),
            now,
        });
        let put = self
            .client
            .put_item()
            .table_name(claim.table_name)
            .set_item(Some(claim.item))
            .set_condition_expression(claim.condition_expression)
            .set_expression_attribute_names(claim.expression_attribute_names)
            .set_expression_attribute_values(claim.expression_attribute_values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let existing = match put {
            Ok(_) => return Ok(Some(Claim::Acquired)),
            Err(error) => match error.into_service_error() {
                PutItemError::ConditionalCheckFailedException(failed) => match failed.item {
                    Some(item) => Some(item),
                    None => self.read(key).await?,
                },
                other => return Err(store_error("DynamoDB PutItem (idempotency claim)", other)),
            },
        };
        // `None`: the holder released the key between our write and our read; claim again.
        Ok(existing.map(|item| claim_lost_to(&item, fingerprint)))
    }

    async fn read(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", string(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB GetItem (idempotency claim)", error))?;
        Ok(output.item)
    }
}

fn claim_lost_to(item: &HashMap<String, AttributeValue>, fingerprint: &str) -> Claim {
    let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str);
    if text("fingerprint") != Some(fingerprint) {
        return Claim::Mismatch;
    }
    match (text("state"), text("outcome")) {
        (Some(COMPLETED), Some(outcome)) => Claim::Completed(serde_json::from_str(outcome).unwrap_or(Value::Null)),
        _ => Claim::InProgress,
    }
}

impl IdempotencyStore for DynamoIdempotencyStore {
    async fn claim(&self, key: &str, fingerprint: &str, now: DateTime<Utc>) -> Result<Claim, StoreError> {
        // Two rounds are enough: a key can be released only once between our put and read.
        for _ in 0..3 {
            if let Some(claim) = self.try_claim(key, fingerprint, now).await? {
                return Ok(claim);
            }
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        outcome: &Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(key))
            .item("fingerprint", string(fingerprint))
            .item("state", string(COMPLETED))
            .item("outcome", string(outcome.to_string()))
            .item("expires_at", number((now + self.retention).timestamp()))
            .send()
            .await
            .map_err(|error| store_error("DynamoDB PutItem (idempotency complete)", error))?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", string(key))
            .condition_expression("#state = :in_progress")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":in_progress", string(IN_PROGRESS))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Already gone or completed: nothing of ours to release.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(store_error("DynamoDB DeleteItem (idempotency release)", error)),
        }
    }
}
