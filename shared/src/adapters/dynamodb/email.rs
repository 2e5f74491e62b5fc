//! Buyer messaging's two tables.
//!
//! **Emails table**, one item per dedupe key, which is what makes each email exactly once:
//!
//! | attribute      | meaning                                                        |
//! |----------------|----------------------------------------------------------------|
//! | `dedupe_key`   | the request's key, e.g. `order-intake#ord_1#accepted#email`     |
//! | `state`        | `sending` (leased), `sent` or `skipped`                        |
//! | `attempt`      | the delivery that holds or held the key                        |
//! | `lease_until`  | unix seconds after which a `sending` key may be retaken         |
//! | `message_id`   | SES's id, once sent                                            |
//! | `reason`       | why it was skipped                                             |
//! | `template`, `role`, `recipient_id`, `locale`, `updated_at` | what and to whom (no address) |
//! | `expires_at`   | unix seconds; the table's TTL attribute (90 days)              |
//!
//! **Suppression table**: `buyer#<id>` holds the buyer's choice about optional email;
//! `address#<sha256 of the lower-cased address>` holds a hard bounce or complaint, so the
//! address itself is never stored.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::{number, store_error, string, written};
use crate::email::feedback::BlockedAddress;
use crate::email::policy::{AddressBlock, OptionalEmail, SkipReason, Standing};
use crate::email::request::{Recipient, RecipientRole};
use crate::email::store::{Attempt, EmailLedger, Entry, PreferenceChange, Suppressions};
use crate::pii::EmailAddress;
use crate::store::StoreError;

type Item = HashMap<String, AttributeValue>;

const SENDING: &str = "sending";
const SENT: &str = "sent";
const SKIPPED: &str = "skipped";

#[derive(Debug, Clone)]
pub struct DynamoEmailLedger {
    client: Client,
    table: String,
    /// Longer than the function's timeout, shorter than the email queue's visibility timeout.
    lease: Duration,
    retention: Duration,
}

impl DynamoEmailLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            lease: Duration::seconds(60),
            retention: Duration::days(90),
        }
    }

    /// Writes `state` for the key unless it was sent or skipped, or another attempt's lease on
    /// it is live; answers what stood in the way.
    async fn take(&self, attempt: &Attempt, state: &str, extra: Item, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let mut item = self.record(attempt, now);
        item.insert("state".to_owned(), string(state));
        item.extend(extra);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(dedupe_key) OR (#state = :sending AND lease_until < :now)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", string(SENDING))
            .expression_attribute_values(":now", number(now.timestamp()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Entry::Taken),
            Err(error) => {
                let error = error.into_service_error();
                if !error.is_conditional_check_failed_exception() {
                    return Err(store_error("DynamoDB PutItem (email ledger)", error));
                }
                let existing = match error {
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(failed) => {
                        failed.item
                    }
                    _ => None,
                };
                let existing = match existing {
                    Some(item) => Some(item),
                    None => self.read(&attempt.dedupe_key).await?,
                };
                Ok(entry_of(existing.as_ref()))
            }
        }
    }

    fn record(&self, attempt: &Attempt, now: DateTime<Utc>) -> Item {
        HashMap::from([
            ("dedupe_key".to_owned(), string(&attempt.dedupe_key)),
            ("attempt".to_owned(), string(&attempt.attempt_id)),
            ("template".to_owned(), string(attempt.template.name())),
            ("role".to_owned(), string(role_name(attempt.role))),
            ("recipient_id".to_owned(), string(&attempt.recipient_id)),
            ("locale".to_owned(), string(&attempt.locale)),
            ("updated_at".to_owned(), string(now.to_rfc3339())),
            ("expires_at".to_owned(), number((now + self.retention).timestamp())),
        ])
    }

    async fn read(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("dedupe_key", string(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB GetItem (email ledger)", error))?;
        Ok(output.item)
    }
}

/// What an existing item (or its absence, when it vanished between write and read) means.
fn entry_of(item: Option<&Item>) -> Entry {
    match item
        .and_then(|item| item.get("state"))
        .and_then(|state| state.as_s().ok())
        .map(String::as_str)
    {
        Some(SENT) => Entry::Sent,
        Some(SKIPPED) => Entry::Skipped,
        // Leased by another attempt, or given back a moment ago: either way, try again later.
        _ => Entry::InFlight,
    }
}

fn role_name(role: RecipientRole) -> &'static str {
    match role {
        RecipientRole::Buyer => "buyer",
        RecipientRole::Seller => "seller",
    }
}

impl EmailLedger for DynamoEmailLedger {
    async fn begin(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let lease = HashMap::from([("lease_until".to_owned(), number((now + self.lease).timestamp()))]);
        self.take(attempt, SENDING, lease, now).await
    }

    async fn sent(&self, attempt: &Attempt, message_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("dedupe_key", string(&attempt.dedupe_key))
            .update_expression("SET #state = :sent, message_id = :message_id, updated_at = :now REMOVE lease_until")
            .condition_expression("attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sent", string(SENT))
            .expression_attribute_values(":message_id", string(message_id))
            .expression_attribute_values(":now", string(now.to_rfc3339()))
            .expression_attribute_values(":attempt", string(&attempt.attempt_id))
            .send()
            .await;
        if !written(updated, "DynamoDB UpdateItem (email sent)")? {
            // Our lease ran out and another attempt took the key: it records its own send.
            tracing::warn!(dedupe_key = %attempt.dedupe_key, "email sent after its lease ran out");
        }
        Ok(())
    }

    async fn skipped(&self, attempt: &Attempt, reason: SkipReason, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let reason = HashMap::from([("reason".to_owned(), string(reason.name()))]);
        self.take(attempt, SKIPPED, reason, now).await
    }

    async fn abandon(&self, attempt: &Attempt) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("dedupe_key", string(&attempt.dedupe_key))
            .condition_expression("#state = :sending AND attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":sending", string(SENDING))
            .expression_attribute_values(":attempt", string(&attempt.attempt_id))
            .send()
            .await;
        // Not written: the key is no longer ours to give back.
        written(deleted, "DynamoDB DeleteItem (email abandon)")?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct DynamoSuppressions {
    client: Client,
    table: String,
}

impl DynamoSuppressions {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn buyer_key(buyer_id: &str) -> String {
    format!("buyer#{buyer_id}")
}

/// Case is ignored: mailbox providers treat `Li.Wei@` and `li.wei@` as one mailbox.
fn address_key(address: &EmailAddress) -> String {
    let digest = Sha256::digest(address.expose().to_lowercase().as_bytes());
    format!("address#{}", hex::encode(digest))
}

fn block_name(block: AddressBlock) -> &'static str {
    match block {
        AddressBlock::HardBounce => "hard_bounce",
        AddressBlock::Complaint => "complaint",
    }
}

impl Suppressions for DynamoSuppressions {
    async fn standing(&self, recipient: &Recipient) -> Result<Standing, StoreError> {
        let address = address_key(&recipient.email);
        let mut keys = vec![HashMap::from([("pk".to_owned(), string(&address))])];
        let buyer = (recipient.role == RecipientRole::Buyer).then(|| buyer_key(&recipient.id));
        if let Some(buyer) = &buyer {
            keys.push(HashMap::from([("pk".to_owned(), string(buyer))]));
        }
        let request = KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .map_err(|error| StoreError::new("DynamoDB BatchGetItem request", error))?;
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, request)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB BatchGetItem (suppressions)", error))?;
        if output.unprocessed_keys.as_ref().is_some_and(|keys| !keys.is_empty()) {
            return Err(StoreError::new(
                "DynamoDB BatchGetItem (suppressions)",
                "keys left unprocessed",
            ));
        }
        let items = output
            .responses
            .and_then(|mut tables| tables.remove(&self.table))
            .unwrap_or_default();
        let mut standing = Standing::default();
        for item in &items {
            let text = |name: &str| item.get(name).and_then(|value| value.as_s().ok()).map(String::as_str);
            match (text("pk"), text("optional_email"), text("block")) {
                (Some(pk), Some("opted_out"), _) if Some(pk) == buyer.as_deref() => standing.opted_out = true,
                (Some(pk), _, Some("hard_bounce")) if pk == address => {
                    standing.blocked = Some(AddressBlock::HardBounce)
                }
                (Some(pk), _, Some("complaint")) if pk == address => standing.blocked = Some(AddressBlock::Complaint),
                _ => {}
            }
        }
        Ok(standing)
    }

    async fn set_preference(
        &self,
        buyer_id: &str,
        choice: OptionalEmail,
        decided_at: DateTime<Utc>,
        event_id: &str,
    ) -> Result<PreferenceChange, StoreError> {
        let choice = match choice {
            OptionalEmail::OptedIn => "opted_in",
            OptionalEmail::OptedOut => "opted_out",
        };
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", string(buyer_key(buyer_id)))
            .update_expression("SET optional_email = :choice, decided_at_ms = :at, event_id = :event")
            // Events can arrive out of order: an older choice never overwrites a newer one.
            .condition_expression("attribute_not_exists(decided_at_ms) OR decided_at_ms <= :at")
            .expression_attribute_values(":choice", string(choice))
            .expression_attribute_values(":at", number(decided_at.timestamp_millis()))
            .expression_attribute_values(":event", string(event_id))
            .send()
            .await;
        Ok(if written(updated, "DynamoDB UpdateItem (buyer preference)")? {
            PreferenceChange::Applied
        } else {
            PreferenceChange::Superseded
        })
    }

    async fn block(&self, blocked: &BlockedAddress, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", string(address_key(&blocked.address)))
            .item("block", string(block_name(blocked.block)))
            .item("feedback_id", string(&blocked.feedback_id))
            .item("blocked_at", string(at.to_rfc3339()))
            .send()
            .await
            .map_err(|error| store_error("DynamoDB PutItem (address block)", error))?;
        Ok(())
    }
}
