//! Idempotency: an event's claim commits with its effect.
//!
//! Every webhook event is applied by one write set that holds its *claim*, an item keyed by
//! the event id and already completed with the answer the webhook gives, next to the effect
//! itself. The claim's condition (no claim yet, or only one expired) makes a second delivery's
//! write set fail whole: the event's effect exists exactly when its claim does, a duplicate is
//! answered from the claim, and a refused or failed event leaves nothing behind to release.
//!
//! | attribute     | meaning                                                         |
//! |---------------|-----------------------------------------------------------------|
//! | `pk`          | `<function>#webhook#<event id>`, e.g. `order-intake#webhook#evt_…` |
//! | `fingerprint` | hash of the event's body                                        |
//! | `state`       | `completed`                                                     |
//! | `outcome`     | the answer, as JSON text                                        |
//! | `expires_at`  | unix seconds; the table's TTL attribute                         |

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::mechanisms::function::Function;
use crate::storage::{
    Cancelled, Condition, Item, Storage, StoreError, Table, Write, WriteFailure, WriteSet, back_off, text,
};

/// How long a claim answers duplicates: longer than the marketplace retries.
const RETENTION_DAYS: i64 = 7;
/// How long an event's record in its subject's history is kept: far past any redelivery, and
/// it holds ids and counts only.
const RECORD_RETENTION_DAYS: i64 = 400;
/// Write sets that collide with a concurrent one on the same items are tried this often.
const ATTEMPTS: u32 = 8;

/// An event's claim, to be written completed in the same write set as the event's effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub key: String,
    pub fingerprint: String,
    pub now: DateTime<Utc>,
}

/// What an earlier claim of the same key says about this event.
#[derive(Debug, Clone, PartialEq)]
pub enum Earlier {
    /// Applied before, with the same body: this was its answer.
    Answered(Value),
    /// The key was used before with another body.
    OtherBody,
}

impl Claim {
    /// The claim of a webhook event received by `function`.
    pub fn webhook(function: Function, event_id: &str, fingerprint: &str, now: DateTime<Utc>) -> Self {
        Self {
            key: function.key(&["webhook", event_id]),
            fingerprint: fingerprint.to_owned(),
            now,
        }
    }

    /// The claim, completed with `answer`: written only if the key is free (or its claim
    /// expired but the TTL has not swept it yet).
    pub fn completed(&self, answer: &Value) -> Write {
        let expires_at = (self.now + Duration::days(RETENTION_DAYS)).timestamp();
        let item = json!({
            "pk": self.key,
            "fingerprint": self.fingerprint,
            "state": "completed",
            "outcome": answer.to_string(),
            "expires_at": expires_at,
        });
        Write::put(Table::Idempotency, item.as_object().cloned().unwrap_or_default())
            .when(Condition::ItemMissing.or(Condition::below("expires_at", self.now.timestamp())))
    }

    /// The event's entry in its subject's own history (`key` in `table`), which outlives the
    /// claim: written once, like the claim, and read back like it. For an effect that a
    /// redelivery after the claim expired must not apply again (a restock adds to stock).
    pub fn recorded_in(&self, table: Table, key: String, answer: &Value) -> Write {
        let mut item = Item::new();
        item.insert(table.key_attribute().to_owned(), key.into());
        item.insert("fingerprint".to_owned(), self.fingerprint.clone().into());
        item.insert("outcome".to_owned(), answer.to_string().into());
        item.insert("recorded_at".to_owned(), self.now.to_rfc3339().into());
        item.insert(
            "expires_at".to_owned(),
            (self.now + Duration::days(RECORD_RETENTION_DAYS)).timestamp().into(),
        );
        Write::put(table, item).when(Condition::ItemMissing)
    }

    /// What the claim found in the way of this one says.
    pub fn earlier(&self, existing: &Item) -> Earlier {
        if text(existing, "fingerprint") != self.fingerprint {
            return Earlier::OtherBody;
        }
        Earlier::Answered(serde_json::from_str(text(existing, "outcome")).unwrap_or(Value::Null))
    }
}

/// Why an effect committed with its claim did not apply.
#[derive(Debug, thiserror::Error)]
pub enum CommitFailure {
    /// Another delivery of the event committed first; the claim in its way, when known.
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    /// A condition of the effect failed; positions are the effect's own.
    #[error("a condition of the event's effect failed")]
    Refused(Cancelled),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes `effect` together with `claim`, completed with `answer`, as one write set; a set
/// that collided with a concurrent one is tried again after a jittered wait.
pub async fn commit_with_claim(
    store: &impl Storage,
    claim: &Claim,
    answer: &Value,
    effect: Vec<Write>,
) -> Result<(), CommitFailure> {
    for attempt in 0..ATTEMPTS {
        let mut writes = WriteSet::new();
        let at = writes.push(claim.completed(answer));
        writes.extend(effect.iter().cloned());
        match store.write(writes).await {
            Ok(()) => return Ok(()),
            Err(WriteFailure::Store(error)) => return Err(error.into()),
            Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(at) => {
                return Err(CommitFailure::ClaimTaken(cancelled.existing(at).cloned()));
            }
            Err(WriteFailure::Cancelled(cancelled)) if cancelled.collided() => back_off(attempt).await,
            Err(WriteFailure::Cancelled(mut cancelled)) => {
                cancelled.reasons.remove(at);
                return Err(CommitFailure::Refused(cancelled));
            }
        }
    }
    Err(StoreError::new("commit with claim", "kept colliding with concurrent writes").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn claim(fingerprint: &str, now: &str) -> Claim {
        Claim::webhook(Function::BuyerMessaging, "evt_1", fingerprint, now.parse().unwrap())
    }

    #[tokio::test]
    async fn a_claim_commits_once_and_then_answers_for_its_event() {
        let store = MemoryStorage::new();
        let first = claim("f1", "2026-11-22T10:00:00Z");
        let answer = json!({"buyer_id": "b1"});
        commit_with_claim(&store, &first, &answer, vec![]).await.unwrap();
        let Err(CommitFailure::ClaimTaken(existing)) = commit_with_claim(&store, &first, &answer, vec![]).await else {
            panic!("the second commit finds the claim")
        };
        assert_eq!(first.earlier(existing.as_ref().unwrap()), Earlier::Answered(answer));
        let reused = claim("f2", "2026-11-22T10:00:01Z");
        assert_eq!(reused.earlier(existing.as_ref().unwrap()), Earlier::OtherBody);
    }

    #[tokio::test]
    async fn an_expired_claim_can_be_taken_again() {
        let store = MemoryStorage::new();
        commit_with_claim(&store, &claim("f1", "2026-11-01T10:00:00Z"), &json!({}), vec![])
            .await
            .unwrap();
        let later = claim("f1", "2026-11-09T10:00:00Z");
        commit_with_claim(&store, &later, &json!({"again": true}), vec![])
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_events_record_outlives_its_claim_for_a_bounded_time() {
        let store = MemoryStorage::new();
        let first = claim("f1", "2026-11-22T10:00:00Z");
        let record = first.recorded_in(Table::Inventory, "sel#SKU#restock#evt_1".to_owned(), &json!({}));
        commit_with_claim(&store, &first, &json!({}), vec![record])
            .await
            .unwrap();
        let kept = store.item(Table::Inventory, "sel#SKU#restock#evt_1").unwrap();
        let claimed = store.item(Table::Idempotency, &first.key).unwrap();
        let at = first.now.timestamp();
        assert_eq!(kept["expires_at"], json!(at + 400 * 86_400));
        assert_eq!(claimed["expires_at"], json!(at + 7 * 86_400));
    }

    #[tokio::test]
    async fn an_effect_that_fails_its_condition_leaves_no_claim() {
        let store = MemoryStorage::new();
        let first = claim("f1", "2026-11-22T10:00:00Z");
        let effect = Write::update(Table::Orders, "o1")
            .set("x", 1)
            .when(Condition::ItemExists);
        let Err(CommitFailure::Refused(cancelled)) = commit_with_claim(&store, &first, &json!({}), vec![effect]).await
        else {
            panic!("there is no order o1")
        };
        assert!(cancelled.failed(0), "positions are the effect's own");
        assert!(store.item(Table::Idempotency, &first.key).is_none());
    }
}
