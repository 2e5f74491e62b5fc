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
use serde_json::Value;
use sha2::{Digest, Sha256};

mod message;
mod publish;

pub use message::{Message, Relayed};
pub use publish::{
    FollowUpPublisher, KIND_ATTRIBUTE, MAX_PUBLISH_BYTES, MAX_PUBLISH_COUNT, PublishBatch, publish_batches,
};

use crate::mechanisms::metrics;
use crate::storage::{Condition, Storage, StoreError, Table, Write, WriteFailure, WriteSet};

/// How long an outbox entry is kept after the stream relayed it; for investigations only.
const RETENTION_DAYS: i64 = 7;
/// How long an entry set aside is kept for an operator to republish: as long as a dead
/// letter, and no longer, since it may hold a buyer's words and address.
pub const SET_ASIDE_DAYS: i64 = 14;

/// Follow-ups waiting in the outbox: one entry per change, keyed by the change.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// `<function>#<subject>#<change>`, e.g. `order-intake#ord_1#accepted`: a change happens
    /// once, so its entry is written once.
    pub key: String,
    pub follow_ups: Vec<Message>,
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
    /// When the entry was written, in unix seconds (DynamoDB rounds it to the second).
    #[serde(
        rename = "ApproximateCreationDateTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub written: Option<f64>,
    #[serde(rename = "NewImage", default, skip_serializing_if = "Option::is_none")]
    pub new_image: Option<OutboxImage>,
}

/// An outbox item as the stream shows it, in DynamoDB's JSON: `{"S": "…"}` per attribute.
/// Each attribute is read as whatever it is, so that an item of another shape (no
/// `follow_ups`, a number where text belongs) is one record set aside, not a batch that
/// cannot be parsed and fails whole.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OutboxImage {
    #[serde(default)]
    pub key: Value,
    #[serde(default)]
    pub follow_ups: Value,
}

impl OutboxImage {
    fn text(attribute: &Value) -> Option<&str> {
        attribute["S"].as_str()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the outbox record has no new image")]
    NoImage,
    #[error("the outbox record's image has no text key")]
    NoKey,
    #[error("outbox entry {key} has no follow-ups as text")]
    NoFollowUps { key: String },
    #[error(
        "the follow-ups of outbox entry {key} cannot be read: {}",
        crate::values::pii::Unquoted(source)
    )]
    Unreadable { key: String, source: serde_json::Error },
}

/// An outbox entry as the write that puts it in the outbox table, whose stream relays it.
///
/// A key is written once. The same entry again (a retried evaluation that made the same
/// follow-ups) passes and changes nothing the stream relays; another entry under a taken key
/// cancels the write set. Overwriting would lose the first entry's follow-ups without a
/// trace: the stream relays only an `INSERT`, and every dedupe key downstream would take the
/// second's for the first's. A key must therefore name everything that makes its cause
/// unique (a question's names its thread and its message; a refund's its seller).
pub fn put(entry: &OutboxEntry, now: chrono::DateTime<chrono::Utc>) -> Write {
    let expires_at = now + chrono::Duration::days(RETENTION_DAYS);
    let follow_ups = entry.follow_ups_json();
    let digest = hex::encode(Sha256::digest(follow_ups.as_bytes()));
    let mut item = crate::storage::Item::new();
    item.insert("key".to_owned(), entry.key.clone().into());
    item.insert("follow_ups".to_owned(), follow_ups.into());
    item.insert(DIGEST.to_owned(), digest.clone().into());
    item.insert("expires_at".to_owned(), expires_at.timestamp().into());
    // An entry is one change's, which concerns one buyer at most.
    if let Some(buyer_id) = entry.follow_ups.iter().find_map(Message::data_subject) {
        item.insert("buyer_id".to_owned(), buyer_id.into());
    }
    Write::put(Table::Outbox, item).when(Condition::Any(vec![
        Condition::ItemMissing,
        Condition::equals(DIGEST, digest),
    ]))
}

/// The SHA-256 of an entry's follow-ups: what tells the same entry from another under its key.
const DIGEST: &str = "digest";

/// Puts a follow-up that is the whole change (a page handed on to the next message) in the
/// outbox under its own key, once: a retry of the work that handed it on finds it there and
/// hands on nothing new.
pub async fn hand_on(
    store: &impl Storage,
    follow_up: &impl Relayed,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let entry = OutboxEntry {
        key: follow_up.dedupe_key().to_owned(),
        follow_ups: vec![Message::of(follow_up)],
    };
    let write = put(&entry, now).when(Condition::ItemMissing);
    match store.write(WriteSet::from(vec![write])).await {
        Ok(()) | Err(WriteFailure::Cancelled(_)) => Ok(()),
        Err(WriteFailure::Store(error)) => Err(error),
    }
}

impl OutboxEntry {
    /// The entry, indexed by the buyer whose words or name its follow-ups quote, so their
    /// erasure finds it though it is addressed to someone else.
    pub fn about(mut self, buyer_id: &str) -> Self {
        self.follow_ups = self
            .follow_ups
            .into_iter()
            .map(|message| message.about(buyer_id))
            .collect();
        self
    }

    /// The follow-ups as the outbox item stores them: one JSON text, read back whole.
    pub fn follow_ups_json(&self) -> String {
        serde_json::to_string(&self.follow_ups).expect("follow-ups are plain data")
    }

    fn from_record(record: &StreamRecord) -> Result<Self, OutboxError> {
        let image = record.dynamodb.new_image.as_ref().ok_or(OutboxError::NoImage)?;
        let key = OutboxImage::text(&image.key).ok_or(OutboxError::NoKey)?.to_owned();
        let Some(follow_ups) = OutboxImage::text(&image.follow_ups) else {
            return Err(OutboxError::NoFollowUps { key });
        };
        match serde_json::from_str(follow_ups) {
            Ok(follow_ups) => Ok(Self { key, follow_ups }),
            Err(source) => Err(OutboxError::Unreadable { key, source }),
        }
    }
}

/// Why an outbox entry went aside instead of to the topic: retrying could never publish it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// Its follow-ups are not a JSON list of objects, each naming its kind and dedupe key.
    Unreadable,
    /// One of its follow-ups is larger than SNS takes in a message.
    TooLarge,
}

impl SetAside {
    pub fn as_str(self) -> &'static str {
        match self {
            SetAside::Unreadable => "unreadable",
            SetAside::TooLarge => "too_large",
        }
    }
}

/// Keeps an outbox entry written at `written` that cannot be published, with why, for
/// [`SET_ASIDE_DAYS`]: found by `set_aside` for an operator. Only an entry still there (it is
/// never recreated).
pub fn set_aside(key: &str, why: SetAside, written: chrono::DateTime<chrono::Utc>) -> Write {
    Write::update(Table::Outbox, key)
        .when(Condition::ItemExists)
        .set("set_aside", why.as_str())
        .set(
            "expires_at",
            (written + chrono::Duration::days(SET_ASIDE_DAYS)).timestamp(),
        )
}

/// Publishes the follow-ups of every new outbox entry in `batch`, in stream order, in as few
/// publishes as SNS takes (ten follow-ups, 256 KiB). Stops at the first failure and reports
/// that record, which makes Lambda retry from it (everything before it is checkpointed) and,
/// after the event source's retry limit, hand the batch to its on-failure destination.
///
/// An entry that no retry could publish (unreadable, or a follow-up over SNS's limit) is
/// [`set_aside`] in the outbox table and the others go on: held, it would stall the shard for
/// every seller behind it. What of it fits is still published. Removals (the TTL's cleanup)
/// and modifications are not new follow-ups and are skipped.
pub async fn relay<P: FollowUpPublisher, S: Storage>(
    batch: StreamBatch,
    publisher: &P,
    store: &S,
) -> DynamoDbEventResponse {
    let mut relay = Relay {
        publisher,
        pending: PublishBatch::default(),
        pending_from: None,
    };
    let mut response = DynamoDbEventResponse::default();
    for record in batch.records.iter().filter(|record| record.event_name == "INSERT") {
        if let Err(sequence) = relay.take(record, store).await {
            response.batch_item_failures.push(failure(sequence));
            return response;
        }
    }
    if let Err(sequence) = relay.flush().await {
        response.batch_item_failures.push(failure(sequence));
    }
    response
}

/// The relay's progress through one batch of stream records.
struct Relay<'a, P> {
    publisher: &'a P,
    pending: PublishBatch,
    /// The sequence number of the first record whose follow-ups are pending.
    pending_from: Option<String>,
}

impl<P: FollowUpPublisher> Relay<'_, P> {
    /// Gathers one record's follow-ups, publishing what is pending whenever the next does not
    /// fit; on failure, the sequence number to retry from.
    async fn take<S: Storage>(&mut self, record: &StreamRecord, store: &S) -> Result<(), String> {
        let sequence = &record.dynamodb.sequence_number;
        let entry = match OutboxEntry::from_record(record) {
            Ok(entry) => entry,
            Err(OutboxError::Unreadable { key, source }) => {
                // The error's category and place only: serde's message quotes the text it
                // failed on, which may be a buyer's words.
                let error = crate::values::pii::Unquoted(&source);
                tracing::error!(%error, key, sequence, "outbox entry unreadable");
                return self.put_aside(&key, SetAside::Unreadable, record, store).await;
            }
            Err(OutboxError::NoFollowUps { key }) => {
                tracing::error!(key, sequence, "outbox entry has no follow-ups as text");
                return self.put_aside(&key, SetAside::Unreadable, record, store).await;
            }
            Err(error @ OutboxError::NoKey) => {
                // Nothing to set aside by: counted and passed, so the shard moves on.
                tracing::error!(%error, sequence, "outbox record skipped");
                metrics::count("FollowUpsSetAside", 1, &[]);
                return Ok(());
            }
            Err(error @ OutboxError::NoImage) => {
                // The stream shows keys only: a misconfigured table, which skipping would hide.
                tracing::error!(%error, sequence, "outbox record has no new image");
                return Err(self.flush().await.err().unwrap_or_else(|| sequence.clone()));
            }
        };
        let (fitting, too_large): (Vec<_>, Vec<_>) = entry
            .follow_ups
            .into_iter()
            .map(|follow_up| {
                let bytes = follow_up.published_bytes();
                (follow_up, bytes)
            })
            .partition(|(_, bytes)| *bytes <= MAX_PUBLISH_BYTES);
        if let Some((follow_up, bytes)) = too_large.first() {
            tracing::error!(
                key = entry.key,
                kind = follow_up.kind(),
                bytes,
                sequence,
                "follow-up larger than SNS takes"
            );
            self.put_aside(&entry.key, SetAside::TooLarge, record, store).await?;
        }
        for (follow_up, bytes) in fitting {
            if !self.pending.has_room_for(bytes) {
                self.flush().await?;
            }
            self.pending_from.get_or_insert_with(|| sequence.clone());
            self.pending.push(follow_up, bytes);
        }
        Ok(())
    }

    /// Sets an entry aside; if that cannot be recorded, the record is retried (after what came
    /// before it is published).
    async fn put_aside<S: Storage>(
        &mut self,
        key: &str,
        why: SetAside,
        record: &StreamRecord,
        store: &S,
    ) -> Result<(), String> {
        let sequence = &record.dynamodb.sequence_number;
        // A record without its time (none Lambda delivers) is taken as written now.
        let written = record
            .dynamodb
            .written
            .and_then(|seconds| chrono::DateTime::from_timestamp(seconds as i64, 0))
            .unwrap_or_else(chrono::Utc::now);
        match store.write(WriteSet::from(vec![set_aside(key, why, written)])).await {
            Ok(()) | Err(WriteFailure::Cancelled(_)) => {
                metrics::count("FollowUpsSetAside", 1, &[]);
                Ok(())
            }
            Err(error) => {
                tracing::warn!(%error, key, "outbox entry not set aside; the stream retries it");
                Err(self.flush().await.err().unwrap_or_else(|| sequence.to_owned()))
            }
        }
    }

    /// Publishes what is pending; on failure, the sequence number to retry from.
    async fn flush(&mut self) -> Result<(), String> {
        let Some(from) = self.pending_from.take() else {
            return Ok(());
        };
        let follow_ups = self.pending.take();
        match self.publisher.publish(&follow_ups).await {
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
}

fn failure(sequence_number: String) -> DynamoDbBatchItemFailure {
    let mut failure = DynamoDbBatchItemFailure::default();
    failure.item_identifier = Some(sequence_number);
    failure
}

#[cfg(test)]
mod tests;
