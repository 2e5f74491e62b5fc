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
//!
//! Beside them, one item per email SES reported taking (`ses-send#<reference>`, with its
//! `message_id`): SES's `Send` event, which its configuration set publishes for every email it
//! accepts, tagged with the email's [`send_reference`]. It closes the one window the lease
//! leaves (see `postman`): an attempt that dies after SES took the email, or never hears SES's
//! answer, leaves its lease; the attempt that takes the key over afterwards first asks whether
//! SES reported the earlier send, in the same transaction, and if it did records the key sent
//! instead of sending again.

use chrono::{DateTime, Duration, Utc};

use super::policy::SkipReason;
use super::request::{EmailTemplate, RecipientRole};
use crate::mechanisms::metrics;
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
/// The key prefix of the items recording SES's `Send` events.
const SEND_EVENT: &str = "ses-send#";

/// What an email carries to SES as a message tag and SES hands back in its `Send` event: a
/// digest of its dedupe key, because a tag takes only letters, digits, `_` and `-`, at most
/// 256 of them, and a dedupe key may hold `#` and two 128-character ids.
pub fn send_reference(dedupe_key: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(dedupe_key.as_bytes()))
}

/// Whether `text` is a reference [`send_reference`] could have made.
fn is_send_reference(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn send_event_key(reference: &str) -> String {
    format!("{SEND_EVENT}{reference}")
}

/// Records SES's word that it took the email with `reference`, as `message_id`. Idempotent:
/// an event delivered twice sets the same id. A reference no email of ours could carry is
/// refused, so the table holds nothing else.
pub async fn record_send_event(
    store: &impl Storage,
    reference: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !is_send_reference(reference) {
        return Err(StoreError::new("SES send event", "its reference is not one of ours"));
    }
    let record = Write::update(Table::Emails, send_event_key(reference))
        .set("message_id", message_id)
        .set("expires_at", (now + Duration::days(RETENTION_DAYS)).timestamp());
    match store.write(vec![record].into()).await {
        Ok(()) => Ok(()),
        Err(WriteFailure::Store(error)) => Err(error),
        Err(WriteFailure::Cancelled(_)) => Err(StoreError::new(
            "SES send event",
            "an unconditional write was cancelled",
        )),
    }
}

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
    /// The buyer was erased before the send could begin.
    Erased,
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
        // For the sparse `ByBuyer` index a buyer's export reads: which emails they were sent.
        if self.role == RecipientRole::Buyer {
            item.insert("buyer_id".to_owned(), self.recipient_id.clone().into());
        }
        item.insert(
            "expires_at".to_owned(),
            (now + Duration::days(RETENTION_DAYS)).timestamp().into(),
        );
        item
    }

    /// Puts `item` for the key if `condition` holds; otherwise answers the item that stood in
    /// the way (`None` when it vanished between the write and the read).
    async fn put_if(&self, store: &impl Storage, item: Item, condition: Condition) -> Result<Put, StoreError> {
        let guard = self.erasure_guard(&item);
        let mut writes = vec![Write::put(Table::Emails, item).when(condition)];
        writes.extend(guard);
        match store.write(writes.into()).await {
            Ok(()) => Ok(Put::Applied),
            Err(WriteFailure::Store(error)) => Err(error),
            Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(1) => Ok(Put::Erased),
            Err(WriteFailure::Cancelled(cancelled)) => Ok(Put::Refused(match cancelled.existing(0) {
                Some(item) => Some(item.clone()),
                None => store.get(Table::Emails, &self.dedupe_key).await?,
            })),
        }
    }

    /// What holds a lease on a buyer's email to the buyer's not being erased: a send begins
    /// only in the transaction that finds no erasure mark. A skip needs no guard.
    fn erasure_guard(&self, item: &Item) -> Option<Write> {
        (self.role == RecipientRole::Buyer && text(item, "state") == SENDING)
            .then(|| super::suppressions::not_erased(&self.recipient_id))
    }

    /// Takes the key for sending, with a lease, unless it was sent or skipped, or another
    /// attempt's lease on it is still live. A lease that ran out is taken over only if SES
    /// reported no send of the email: if it did, the key is recorded sent instead.
    pub async fn begin(&self, store: &impl Storage, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let mut item = self.record(SENDING, now);
        item.insert(
            "lease_until".to_owned(),
            (now + Duration::seconds(LEASE_SECS)).timestamp().into(),
        );
        self.take(store, item, now).await
    }

    /// Writes `item` (a lease, or the record of a skip) over a free key: one never written, or
    /// one whose lease ran out without SES reporting the send. If SES did report it, the key
    /// is recorded sent instead: a skip must not overwrite an email the buyer has.
    async fn take(&self, store: &impl Storage, item: Item, now: DateTime<Utc>) -> Result<Entry, StoreError> {
        let existing = match self.put_if(store, item.clone(), Condition::ItemMissing).await? {
            Put::Applied => return Ok(Entry::Taken),
            Put::Erased => return Ok(Entry::Erased),
            Put::Refused(Some(existing)) => existing,
            // Given back a moment ago: the queue's retry takes it.
            Put::Refused(None) => return Ok(Entry::InFlight),
        };
        let lapsed = text(&existing, "state") == SENDING
            && existing
                .get("lease_until")
                .and_then(serde_json::Value::as_i64)
                .is_some_and(|until| until < now.timestamp());
        if lapsed {
            self.take_over(store, item, text(&existing, "attempt"), now).await
        } else {
            Ok(entry_of(Some(&existing)))
        }
    }

    /// Takes over the lease `earlier` let run out, in one transaction with the question
    /// whether SES reported taking the email: a placeholder for its send event is written
    /// only where none arrived, so an event arriving later finds this attempt's send.
    async fn take_over(
        &self,
        store: &impl Storage,
        item: Item,
        earlier: &str,
        now: DateTime<Utc>,
    ) -> Result<Entry, StoreError> {
        let reference = send_reference(&self.dedupe_key);
        let lapsed = Condition::equals("state", SENDING)
            .and(Condition::equals("attempt", earlier))
            .and(Condition::below("lease_until", now.timestamp()));
        let no_send_reported = Write::update(Table::Emails, send_event_key(&reference))
            .set("expires_at", (now + Duration::days(RETENTION_DAYS)).timestamp())
            .when(Condition::lacks("message_id"));
        let guard = self.erasure_guard(&item);
        let mut writes = vec![Write::put(Table::Emails, item).when(lapsed), no_send_reported];
        writes.extend(guard);
        match store.write(writes.into()).await {
            Ok(()) => Ok(Entry::Taken),
            Err(WriteFailure::Store(error)) => Err(error),
            Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(1) => {
                let message_id = cancelled
                    .existing(1)
                    .map(|event| text(event, "message_id").to_owned())
                    .unwrap_or_default();
                self.record_reported_send(store, earlier, &message_id, now).await?;
                Ok(Entry::Sent)
            }
            Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(2) => Ok(Entry::Erased),
            // Another attempt took it over first, or it changed: the queue's retry looks again.
            Err(WriteFailure::Cancelled(_)) => Ok(Entry::InFlight),
        }
    }

    /// Records the key sent by the `earlier` attempt, as SES reported: that attempt died or
    /// never heard SES's answer.
    async fn record_reported_send(
        &self,
        store: &impl Storage,
        earlier: &str,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        tracing::warn!(dedupe_key = %self.dedupe_key, %message_id, "an earlier attempt's send, reported by SES, recorded; nothing sent again");
        metrics::count("EmailSendsRecovered", 1, &[("Template", self.template.name())]);
        let mark = Write::update(Table::Emails, &self.dedupe_key)
            .set("state", SENT)
            .set("message_id", message_id)
            .set("updated_at", now.to_rfc3339())
            .remove("lease_until")
            .when(Condition::equals("state", SENDING).and(Condition::equals("attempt", earlier)));
        match store.write(vec![mark].into()).await {
            // Recorded by another, or this very mark applied before: either way it stands.
            Ok(()) | Err(WriteFailure::Cancelled(_)) => Ok(()),
            Err(WriteFailure::Store(error)) => Err(error),
        }
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

/// What a conditional put of the key did.
enum Put {
    Applied,
    Refused(Option<Item>),
    Erased,
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

    /// The erasure may commit after the mailer read the buyer's standing: the send's lease is
    /// taken in one transaction with the question whether it did, so no send begins after
    /// it, whether the key is new or a lapsed lease is taken over. A seller's email is not
    /// held by a buyer's erasure.
    #[tokio::test]
    async fn no_send_to_a_buyer_begins_once_the_erasure_committed() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        let lapsed = attempt();
        assert_eq!(lapsed.begin(&store, now).await.unwrap(), Entry::Taken);
        store
            .write(vec![super::super::suppressions::mark_erased("buy_1", now)].into())
            .await
            .unwrap();
        let later = now + Duration::seconds(LEASE_SECS + 1);
        let again = Attempt {
            attempt_id: "m-2".into(),
            ..attempt()
        };
        assert_eq!(again.begin(&store, later).await.unwrap(), Entry::Erased);
        let fresh = Attempt {
            dedupe_key: "order-intake#ord_2#accepted#email".into(),
            ..attempt()
        };
        assert_eq!(fresh.begin(&store, later).await.unwrap(), Entry::Erased);
        assert!(store.item(Table::Emails, &fresh.dedupe_key).is_none());
        let seller = Attempt {
            dedupe_key: "stock-alerts#digest#email".into(),
            role: RecipientRole::Seller,
            recipient_id: "buy_1".into(),
            ..attempt()
        };
        assert_eq!(seller.begin(&store, later).await.unwrap(), Entry::Taken);
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

    /// The attempt that held the key died after SES took the email (or never heard SES's
    /// answer); SES's `Send` event arrived. The attempt that takes the key over once the lease
    /// ran out records the send and sends nothing.
    #[tokio::test]
    async fn a_lapsed_lease_whose_send_ses_reported_is_recorded_sent_not_sent_again() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        assert_eq!(attempt().begin(&store, now).await.unwrap(), Entry::Taken);
        let reference = send_reference(&attempt().dedupe_key);
        record_send_event(&store, &reference, "ses-1", now).await.unwrap();
        record_send_event(&store, &reference, "ses-1", now).await.unwrap();

        let later = now + Duration::seconds(LEASE_SECS + 1);
        let again = Attempt {
            attempt_id: "m-2".into(),
            ..attempt()
        };
        assert_eq!(again.begin(&store, later).await.unwrap(), Entry::Sent);
        let item = store.item(Table::Emails, &attempt().dedupe_key).unwrap();
        assert_eq!((text(&item, "state"), text(&item, "message_id")), (SENT, "ses-1"));
        assert!(!item.contains_key("lease_until"));
    }

    /// No `Send` event: SES never took the email, so the next attempt sends it; an event for
    /// that send, arriving after, changes nothing the ledger decides.
    #[tokio::test]
    async fn a_lapsed_lease_without_a_reported_send_is_taken_over() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        assert_eq!(attempt().begin(&store, now).await.unwrap(), Entry::Taken);
        let again = Attempt {
            attempt_id: "m-2".into(),
            ..attempt()
        };
        let during = now + Duration::seconds(LEASE_SECS - 1);
        assert_eq!(
            again.begin(&store, during).await.unwrap(),
            Entry::InFlight,
            "the lease is live"
        );
        let later = now + Duration::seconds(LEASE_SECS + 1);
        assert_eq!(again.begin(&store, later).await.unwrap(), Entry::Taken);
        let reference = send_reference(&attempt().dedupe_key);
        record_send_event(&store, &reference, "ses-2", later).await.unwrap();
        again.sent(&store, "ses-2", later).await.unwrap();
        let third = Attempt {
            attempt_id: "m-3".into(),
            ..attempt()
        };
        assert_eq!(
            third.begin(&store, later + Duration::hours(1)).await.unwrap(),
            Entry::Sent
        );
    }

    /// The buyer opted out after the first attempt took the key, and SES sent that attempt's
    /// email before it died: the skip that comes once the lease ran out must say sent, not
    /// overwrite it with a skip (before, it took any lapsed lease over without asking).
    #[tokio::test]
    async fn a_skip_after_a_lapsed_lease_whose_send_ses_reported_records_it_sent() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        assert_eq!(attempt().begin(&store, now).await.unwrap(), Entry::Taken);
        record_send_event(&store, &send_reference(&attempt().dedupe_key), "ses-1", now)
            .await
            .unwrap();
        let later = now + Duration::seconds(LEASE_SECS + 1);
        let again = Attempt {
            attempt_id: "m-2".into(),
            ..attempt()
        };
        assert_eq!(
            again.skip(&store, SkipReason::OptedOut, later).await.unwrap(),
            Entry::Sent
        );
        let item = store.item(Table::Emails, &attempt().dedupe_key).unwrap();
        assert_eq!((text(&item, "state"), text(&item, "message_id")), (SENT, "ses-1"));
    }

    #[tokio::test]
    async fn a_send_event_with_a_reference_not_ours_is_refused() {
        let store = MemoryStorage::new();
        let now: DateTime<Utc> = "2026-11-26T10:00:00Z".parse().unwrap();
        for reference in ["", "order-intake#ord_1", &"g".repeat(64)] {
            assert!(record_send_event(&store, reference, "ses-1", now).await.is_err());
        }
        assert!(store.items(Table::Emails).is_empty());
    }
}
