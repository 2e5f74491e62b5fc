//! The suppression table: whom not to email.
//!
//! `buyer#<id>` holds the buyer's choice about optional email (`buyer.preferences`);
//! `address#<sha256 of the lower-cased address>` holds a hard bounce or complaint from SES, so
//! the address itself is never stored; `erased#<id>` marks a buyer whose personal data was
//! erased, which the mailer checks in the transaction that begins a send.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::feedback::BlockedAddress;
use super::policy::{AddressBlock, OptionalEmail, Standing};
use super::request::{Recipient, RecipientRole};
use crate::storage::{Condition, Item, ItemKey, Storage, StoreError, Table, Write, text};
use crate::values::pii::EmailAddress;

fn buyer_key(buyer_id: &str) -> String {
    format!("buyer#{buyer_id}")
}

/// The mark of a buyer's erasure: while it stands, no email is sent to the buyer.
pub fn erased_key(buyer_id: &str) -> String {
    format!("erased#{buyer_id}")
}

/// How long an erasure's mark stands: past the last moment an email request from before the
/// erasure could still be delivered (four days in its queue, then fourteen as a dead letter
/// an operator might replay), and no longer, so a buyer who comes back is emailed again.
pub const ERASURE_MARK_DAYS: i64 = 19;

/// Marks the buyer erased at `at`, by the erasure's request: a later request marks again.
pub fn mark_erased(buyer_id: &str, at: DateTime<Utc>) -> Write {
    let mut item = Item::new();
    item.insert("pk".to_owned(), erased_key(buyer_id).into());
    item.insert("erased_at".to_owned(), at.to_rfc3339().into());
    item.insert(
        "expires_at".to_owned(),
        (at + chrono::Duration::days(ERASURE_MARK_DAYS)).timestamp().into(),
    );
    Write::put(Table::Suppression, item)
}

/// Forgets the buyer's choice about optional email, if it was made by `before`: a choice
/// made since belongs to the buyer's new relationship.
pub fn forget_preference(buyer_id: &str, before: DateTime<Utc>) -> Write {
    Write::delete(Table::Suppression, buyer_key(buyer_id))
        .when(Condition::at_most("decided_at_ms", before.timestamp_millis()))
}

/// The buyer's choice about optional email, as stored (for an export).
pub async fn preference_item(store: &impl Storage, buyer_id: &str) -> Result<Option<Item>, StoreError> {
    store.get(Table::Suppression, &buyer_key(buyer_id)).await
}

/// Holds a send to the buyer to the buyer's not being erased, in the transaction that begins
/// it: an erasure committed while the email waited in its queue stops it there.
pub fn not_erased(buyer_id: &str) -> Write {
    Write::check(Table::Suppression, erased_key(buyer_id), Condition::ItemMissing)
}

/// Case is ignored: mailbox providers treat `Li.Wei@` and `li.wei@` as one mailbox.
fn address_key(address: &EmailAddress) -> String {
    let digest = Sha256::digest(address.expose().to_lowercase().as_bytes());
    format!("address#{}", hex::encode(digest))
}

/// The buyer's opt-out (sellers have none) and any block on the address: one read.
pub async fn standing(store: &impl Storage, recipient: &Recipient) -> Result<Standing, StoreError> {
    let mut keys = vec![ItemKey::new(Table::Suppression, address_key(&recipient.email))];
    if recipient.role == RecipientRole::Buyer {
        keys.push(ItemKey::new(Table::Suppression, buyer_key(&recipient.id)));
        keys.push(ItemKey::new(Table::Suppression, erased_key(&recipient.id)));
    }
    let found = store.get_many(&keys).await?;
    let mut standing = Standing::default();
    if let Some(Some(address)) = found.first() {
        standing.blocked = match text(address, "block") {
            "hard_bounce" => Some(AddressBlock::HardBounce),
            "complaint" => Some(AddressBlock::Complaint),
            _ => None,
        };
    }
    if let Some(Some(buyer)) = found.get(1) {
        standing.opted_out = text(buyer, "optional_email") == "opted_out";
    }
    standing.erased = matches!(found.get(2), Some(Some(_)));
    Ok(standing)
}

/// The buyer's choice as decided at `decided_at`. Events can arrive out of order: the write
/// applies only over an older choice, and a newer one already stored fails its condition.
pub fn set_preference(buyer_id: &str, choice: OptionalEmail, decided_at: DateTime<Utc>, event_id: &str) -> Write {
    let choice = match choice {
        OptionalEmail::OptedIn => "opted_in",
        OptionalEmail::OptedOut => "opted_out",
    };
    let at = decided_at.timestamp_millis();
    Write::update(Table::Suppression, buyer_key(buyer_id))
        .set("optional_email", choice)
        .set("decided_at_ms", at)
        .set("event_id", event_id)
        .when(Condition::lacks("decided_at_ms").or(Condition::at_most("decided_at_ms", at)))
}

/// Never email this address again.
pub async fn block(store: &impl Storage, blocked: &BlockedAddress, at: DateTime<Utc>) -> Result<(), StoreError> {
    let block = match blocked.block {
        AddressBlock::HardBounce => "hard_bounce",
        AddressBlock::Complaint => "complaint",
    };
    let mut item = Item::new();
    item.insert("pk".to_owned(), address_key(&blocked.address).into());
    item.insert("block".to_owned(), block.into());
    item.insert("feedback_id".to_owned(), blocked.feedback_id.clone().into());
    item.insert("blocked_at".to_owned(), at.to_rfc3339().into());
    store
        .write(vec![Write::put(Table::Suppression, item)].into())
        .await
        .map_err(|failure| match failure {
            crate::storage::WriteFailure::Store(error) => error,
            cancelled => StoreError::new("address block", cancelled.to_string()),
        })
}
