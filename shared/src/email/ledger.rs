//! The emails table: one item per dedupe key, which is what makes each email exactly once.
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

use chrono::{DateTime, Duration, Utc};

use super::policy::SkipReason;
use super::request::{EmailTemplate, RecipientRole};
use crate::storage::{Condition, Item, Storage, StoreError, Table, Write, WriteFailure, back_off, text};

const SENDING: &str = "sending";
const SENT: &str = "sent";
const SKIPPED: &str = "skipped";
/// Longer than the function's timeout (30 s), so a live attempt is never overtaken; shorter
/// than the email queue's visibility timeout (180 s), so a redelivery finds the key free.
const LEASE_SECS: i64 = 60;
const RETENTION_DAYS: i64 = 90;
/// Tries at recording a send (each after the SDK's own retries), a second or two in all.
const MARK_ATTEMPTS: u32 = 6;

/// One attempt at one email request: what the ledger records about it (never the address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub dedupe_key: String,
    /// Unique per delivery of the request: only the attempt that holds the lease completes it.
    pub attempt_id: String,
    pub template: EmailTemplate,
    pub role: RecipientRole,
    pub recipient_id: String,
    pub locale: String,
}

/// What the ledger says about a dedupe key when an attempt asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// This attempt owns the key: send now (or the skip was just recorded).
    Taken,
    Sent,
    Skipped,
    /// Another attempt holds a live lease on the key.
    InFlight,
}

impl Attempt {
    fn record(&self, state: &str, now: DateTime<Utc>) -> Item {
        let role = match self.role {
            RecipientRole::Buyer => "buyer",
            RecipientRole::Seller => "seller",
        };
        let mut item = Item::new();
        for (name, value) in [
            ("dedupe_key", self.dedupe_key.as_str()),
            ("state", state),
            ("attempt", self.attempt_id.as_str()),
            ("template", self.template.name()),
            ("role", role),
            ("recipient_id", self.recipient_id.as_str()),
            ("locale", self.locale.as_str()),
        ] {
            item.insert(name.to_owned(), value.into());
        }
        item.insert("updated_at".to_owned(), now.to_rfc3339().into());
        item.insert(
            "expires_at".to_owned(),
            (now + Duration::days(RETENTION_DAYS)).timestamp().into(),
        );
        item
    }

    /// Writes `item` for the key unless it was sent or skipped, or another attempt's lease on
    /// it is live; answers what stood in the way.
    async fn take(&self, store: &impl Storage, item: Item, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let free = Condition::ItemMissing
            .or(Condition::equals("state", SENDING).and(Condition::below("lease_until", now.timestamp())));
        match store
            .write(vec![Write::put(Table::Emails, item).when(free)].into())
            .await
        {
            Ok(()) => Ok(Entry::Taken),
            Err(WriteFailure::Store(error)) => Err(error),
            Err(WriteFailure::Cancelled(cancelled)) => {
                let existing = match cancelled.existing(0) {
                    Some(item) => Some(item.clone()),
                    None => store.get(Table::Emails, &self.dedupe_key).await?,
                };
                Ok(entry_of(existing.as_ref()))
            }
        }
    }

    /// Takes the key for sending, with a lease, unless it was sent or skipped, or another
    /// attempt's lease on it is still live.
    pub async fn begin(&self, store: &impl Storage, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let mut item = self.record(SENDING, now);
        item.insert(
            "lease_until".to_owned(),
            (now + Duration::seconds(LEASE_SECS)).timestamp().into(),
        );
        self.take(store, item, now).await
    }

    /// Records, once, that the key was not sent and why.
    pub async fn skip(
        &self,
        store: &impl Storage,
        reason: SkipReason,
        now: DateTime<Utc>,
    ) -> Result<Entry, StoreError> {
        let mut item = self.record(SKIPPED, now);
        item.insert("reason".to_owned(), reason.name().into());
        self.take(store, item, now).await
    }

    /// Records that SES accepted the email, if this attempt still holds the key. Tried again
    /// and again on a store failure: left `sending`, the key would be free once its lease ran
    /// out, and a follow-up delivered again then would send the email a second time. Trying
    /// again is safe: the mark only ever applies for this attempt, and applying it twice (an
    /// answer lost after it applied) changes nothing.
    pub async fn sent(&self, store: &impl Storage, message_id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mark = Write::update(Table::Emails, &self.dedupe_key)
            .set("state", SENT)
            .set("message_id", message_id)
            .set("updated_at", now.to_rfc3339())
            .remove("lease_until")
            .when(Condition::equals("attempt", self.attempt_id.as_str()));
        let mut attempt = 0;
        loop {
            match store.write(vec![mark.clone()].into()).await {
                Ok(()) => return Ok(()),
                Err(WriteFailure::Store(error)) if attempt + 1 >= MARK_ATTEMPTS => return Err(error),
                Err(WriteFailure::Store(_)) => {
                    back_off(attempt + 4).await;
                    attempt += 1;
                }
                Err(WriteFailure::Cancelled(_)) => {
                    // Our lease ran out and another attempt took the key: it records its own send.
                    tracing::warn!(dedupe_key = %self.dedupe_key, "email sent after its lease ran out");
                    return Ok(());
                }
            }
        }
    }

    /// Gives the key back after a send that failed, so that a retry can send it.
    pub async fn abandon(&self, store: &impl Storage) -> Result<(), StoreError> {
        let give_back = Write::delete(Table::Emails, &self.dedupe_key)
            .when(Condition::equals("state", SENDING).and(Condition::equals("attempt", self.attempt_id.as_str())));
        match store.write(vec![give_back].into()).await {
            // Not ours any more: nothing to give back.
            Ok(()) | Err(WriteFailure::Cancelled(_)) => Ok(()),
            Err(WriteFailure::Store(error)) => Err(error),
        }
    }
}

/// What an existing item (or its absence, when it vanished between write and read) means.
fn entry_of(item: Option<&Item>) -> Entry {
    match item.map(|item| text(item, "state")) {
        Some(SENT) => Entry::Sent,
        Some(SKIPPED) => Entry::Skipped,
        // Leased by another attempt, or given back a moment ago: either way, try again later.
        _ => Entry::InFlight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn attempt() -> Attempt {
        Attempt {
            dedupe_key: "order-intake#ord_1#accepted#email".into(),
            attempt_id: "m-1".into(),
            template: EmailTemplate::OrderConfirmation,
            role: RecipientRole::Buyer,
            recipient_id: "buy_1".into(),
            locale: "en".into(),
        }
    }

    /// SES took the email; the store then fails a few times (throttled, unreachable): the
    /// send is still recorded, so a follow-up delivered again later cannot send it twice.
    #[tokio::test]
    async fn a_send_is_recorded_through_a_few_store_failures() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        assert_eq!(attempt().begin(&store, now).await.unwrap(), Entry::Taken);
        store.fail_next(MARK_ATTEMPTS as usize - 1);
        attempt().sent(&store, "ses-1", now).await.unwrap();
        let item = store.item(Table::Emails, &attempt().dedupe_key).unwrap();
        assert_eq!((text(&item, "state"), text(&item, "message_id")), (SENT, "ses-1"));

        let later = now + Duration::minutes(5);
        let again = Attempt {
            attempt_id: "m-2".into(),
            ..attempt()
        };
        assert_eq!(
            again.begin(&store, later).await.unwrap(),
            Entry::Sent,
            "never sent twice"
        );
    }
}
