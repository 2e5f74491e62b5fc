//! The transactional outbox: a change's follow-ups are written in the same DynamoDB
//! transaction as the change itself, and a stream relays them to the follow-up topic.
//!
//! Publishing after the commit instead leaves a window where the change is recorded and its
//! follow-ups are not (a crash, a timeout, a topic outage), which only a second write after
//! the publish could close. With the outbox the webhook makes no publish and no second write:
//! the follow-ups exist exactly when the change does, and the relay is retried by Lambda's
//! stream polling until they are out.
//!
//! The relay is at least once: a batch that fails after some of its publishes is retried from
//! the first record that failed, and a crash mid-batch repeats the batch. Every follow-up
//! carries a dedupe key so that its consumer applies it once.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::{Deserialize, Serialize};

use crate::email::{EmailContent, EmailRequest, Recipient};
use crate::follow_ups::{FollowUp, FollowUpPublisher};
use crate::metrics;
use crate::storage::{Table, Write};

/// How long an outbox entry is kept after the stream relayed it; for investigations only.
const RETENTION_DAYS: i64 = 7;

/// How many follow-ups one publish takes (SNS `PublishBatch` holds ten).
const PUBLISH_BATCH: usize = 10;

/// Follow-ups waiting in the outbox: one entry per change, keyed by the change.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// `<function>#<subject>#<change>`, e.g. `order-intake#ord_1#accepted`: a change happens
    /// once, so its entry is written once.
    pub key: String,
    pub follow_ups: Vec<FollowUp>,
}

/// A batch of DynamoDB stream records, as Lambda delivers the outbox table's stream. Only
/// what the relay reads is parsed; the images are never logged (they hold buyer addresses).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamBatch {
    #[serde(rename = "Records")]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName")]
    pub event_name: String,
    pub dynamodb: StreamChange,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StreamChange {
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    #[serde(rename = "NewImage", default, skip_serializing_if = "Option::is_none")]
    pub new_image: Option<OutboxImage>,
}

/// An outbox item as the stream shows it, in DynamoDB's JSON: `{"S": "…"}` per attribute.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OutboxImage {
    pub key: StringAttribute,
    pub follow_ups: StringAttribute,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct StringAttribute {
    #[serde(rename = "S")]
    pub s: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the outbox record has no new image")]
    NoImage,
    #[error("the follow-ups of outbox entry {key} cannot be read: {source}")]
    Unreadable { key: String, source: serde_json::Error },
}

/// An outbox entry as the write that puts it in the outbox table, whose stream relays it.
/// Unconditional: a change happens once, so its entry is written once, and it never explains
/// why a write set was cancelled.
pub fn put(entry: &OutboxEntry, now: chrono::DateTime<chrono::Utc>) -> Write {
    let expires_at = now + chrono::Duration::days(RETENTION_DAYS);
    let mut item = crate::storage::Item::new();
    item.insert("key".to_owned(), entry.key.clone().into());
    item.insert("follow_ups".to_owned(), entry.follow_ups_json().into());
    item.insert("expires_at".to_owned(), expires_at.timestamp().into());
    Write::put(Table::Outbox, item)
}

impl OutboxEntry {
    /// An entry of one email, deduplicated by the entry's own key.
    pub fn email(key: String, recipient: Recipient, locale: &str, content: EmailContent) -> Self {
        Self {
            key: key.clone(),
            follow_ups: vec![FollowUp::Email(EmailRequest {
                dedupe_key: key,
                recipient,
                locale: locale.to_owned(),
                content,
            })],
        }
    }

    /// The follow-ups as the outbox item stores them: one JSON text, read back whole.
    pub fn follow_ups_json(&self) -> String {
        serde_json::to_string(&self.follow_ups).expect("follow-ups are plain data")
    }

    fn from_record(record: &StreamRecord) -> Result<Self, OutboxError> {
        let image = record.dynamodb.new_image.as_ref().ok_or(OutboxError::NoImage)?;
        let key = image.key.s.clone();
        match serde_json::from_str(&image.follow_ups.s) {
            Ok(follow_ups) => Ok(Self { key, follow_ups }),
            Err(source) => Err(OutboxError::Unreadable { key, source }),
        }
    }
}

/// Publishes the follow-ups of every new outbox entry in `batch`, in stream order, as few
/// publishes as fit. Stops at the first failure and reports that record, which makes Lambda
/// retry from it (everything before it is checkpointed) and, after the event source's retry
/// limit, hand the batch to its on-failure destination. Removals (the TTL's cleanup) and
/// modifications are not new follow-ups and are skipped.
pub async fn relay<P: FollowUpPublisher>(batch: StreamBatch, publisher: &P) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut pending: Vec<FollowUp> = Vec::new();
    // The sequence number of the first record whose follow-ups are in `pending`.
    let mut pending_from: Option<String> = None;
    for record in batch.records.iter().filter(|record| record.event_name == "INSERT") {
        let sequence = &record.dynamodb.sequence_number;
        let entry = match OutboxEntry::from_record(record) {
            Ok(entry) => entry,
            Err(error) => {
                tracing::error!(%error, sequence, "outbox record unreadable");
                let first_failed = flush(&mut pending, &mut pending_from, publisher).await.err();
                response
                    .batch_item_failures
                    .push(failure(first_failed.unwrap_or_else(|| sequence.clone())));
                return response;
            }
        };
        if pending.len() + entry.follow_ups.len() > PUBLISH_BATCH
            && let Err(sequence) = flush(&mut pending, &mut pending_from, publisher).await
        {
            response.batch_item_failures.push(failure(sequence));
            return response;
        }
        pending_from.get_or_insert_with(|| sequence.clone());
        pending.extend(entry.follow_ups);
    }
    if let Err(sequence) = flush(&mut pending, &mut pending_from, publisher).await {
        response.batch_item_failures.push(failure(sequence));
    }
    response
}

/// Publishes what is pending; on failure, the sequence number to retry from.
async fn flush<P: FollowUpPublisher>(
    pending: &mut Vec<FollowUp>,
    pending_from: &mut Option<String>,
    publisher: &P,
) -> Result<(), String> {
    let Some(from) = pending_from.take() else {
        return Ok(());
    };
    let follow_ups = std::mem::take(pending);
    match publisher.publish(&follow_ups).await {
        Ok(()) => {
            metrics::count("FollowUpsRelayed", follow_ups.len() as u64, &[]);
            Ok(())
        }
        Err(error) => {
            tracing::warn!(%error, from, "follow-ups not relayed; the stream retries from this record");
            Err(from)
        }
    }
}

fn failure(sequence_number: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    failure
}

#[cfg(test)]
mod tests;
