//! The suppression table: whom not to email.
//!
//! `buyer#<id>` holds the buyer's choice about optional email (`buyer.preferences`);
//! `address#<HMAC-SHA256 of the lower-cased address under the stack's salt>` holds a hard
//! bounce or complaint from SES, so the address itself is never stored, and the table cannot
//! be checked against a list of candidate addresses without the salt (a secret of its own);
//! `erased#<id>` marks a buyer whose personal data was erased, which the mailer checks in the
//! transaction that begins a send.
//!
//! Blocks written before the salt were keyed by a plain SHA-256. Those cannot be rehashed
//! (the address is not stored), so each is moved to its salted key the first time the mailer
//! reads it, and read under both keys until then.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::feedback::BlockedAddress;
use super::policy::{AddressBlock, OptionalEmail, Standing};
use super::request::{Recipient, RecipientRole};
use crate::storage::{Condition, Item, ItemKey, Storage, StoreError, Table, Write, WriteFailure, text};
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

/// The stack's salt for blocked addresses' keys, read from Secrets Manager at init. Never
/// shown: its `Debug` prints a placeholder.
#[derive(Clone)]
pub struct AddressSalt(Vec<u8>);

impl AddressSalt {
    pub fn new(salt: impl Into<Vec<u8>>) -> Self {
        Self(salt.into())
    }
}

impl std::fmt::Debug for AddressSalt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AddressSalt(<secret>)")
    }
}

/// Case is ignored: mailbox providers treat `Li.Wei@` and `li.wei@` as one mailbox.
fn address_key(salt: &AddressSalt, address: &EmailAddress) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&salt.0).expect("HMAC accepts keys of any length");
    mac.update(address.expose().to_lowercase().as_bytes());
    format!("address#{}", hex::encode(mac.finalize().into_bytes()))
}

/// The key of a block written before the salt.
fn unsalted_address_key(address: &EmailAddress) -> String {
    let digest = Sha256::digest(address.expose().to_lowercase().as_bytes());
    format!("address#{}", hex::encode(digest))
}

/// The buyer's opt-out (sellers have none) and any block on the address: one read. A block
/// found only under its unsalted key is moved to its salted one.
pub async fn standing(store: &impl Storage, salt: &AddressSalt, recipient: &Recipient) -> Result<Standing, StoreError> {
    let salted = address_key(salt, &recipient.email);
    let unsalted = unsalted_address_key(&recipient.email);
    let mut keys = vec![
        ItemKey::new(Table::Suppression, salted.clone()),
        ItemKey::new(Table::Suppression, unsalted.clone()),
    ];
    if recipient.role == RecipientRole::Buyer {
        keys.push(ItemKey::new(Table::Suppression, buyer_key(&recipient.id)));
        keys.push(ItemKey::new(Table::Suppression, erased_key(&recipient.id)));
    }
    let found = store.get_many(&keys).await?;
    let mut standing = Standing::default();
    let address = match (found.first(), found.get(1)) {
        (Some(Some(address)), _) => Some(address),
        (_, Some(Some(old))) => {
            move_to_salted_key(store, old, &salted, &unsalted).await?;
            Some(old)
        }
        _ => None,
    };
    if let Some(address) = address {
        standing.blocked = match text(address, "block") {
            "hard_bounce" => Some(AddressBlock::HardBounce),
            "complaint" => Some(AddressBlock::Complaint),
            _ => None,
        };
    }
    if let Some(Some(buyer)) = found.get(2) {
        standing.opted_out = text(buyer, "optional_email") == "opted_out";
    }
    standing.erased = matches!(found.get(3), Some(Some(_)));
    Ok(standing)
}

/// An unsalted block, put under its salted key and deleted, in one transaction; a concurrent
/// move that got there first is as good.
async fn move_to_salted_key(store: &impl Storage, old: &Item, salted: &str, unsalted: &str) -> Result<(), StoreError> {
    let mut item = old.clone();
    item.insert("pk".to_owned(), salted.into());
    let moved = vec![
        Write::put(Table::Suppression, item),
        Write::delete(Table::Suppression, unsalted).when(Condition::ItemExists),
    ];
    match store.write(moved.into()).await {
        Ok(()) | Err(WriteFailure::Cancelled(_)) => Ok(()),
        Err(WriteFailure::Store(error)) => Err(error),
    }
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
pub async fn block(
    store: &impl Storage,
    salt: &AddressSalt,
    blocked: &BlockedAddress,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let block = match blocked.block {
        AddressBlock::HardBounce => "hard_bounce",
        AddressBlock::Complaint => "complaint",
    };
    let mut item = Item::new();
    item.insert("pk".to_owned(), address_key(salt, &blocked.address).into());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryStorage;

    fn buyer(address: &str) -> Recipient {
        Recipient {
            role: RecipientRole::Buyer,
            id: "buy_1".into(),
            name: "Li Wei".into(),
            email: EmailAddress::parse(address).unwrap(),
        }
    }

    fn bounced(address: &str) -> BlockedAddress {
        BlockedAddress {
            address: EmailAddress::parse(address).unwrap(),
            block: AddressBlock::HardBounce,
            feedback_id: "fb_1".into(),
        }
    }

    #[tokio::test]
    async fn a_blocked_address_is_kept_under_a_salted_key_only() {
        let store = MemoryStorage::new();
        let (salt, other) = (AddressSalt::new("salt_a"), AddressSalt::new("salt_b"));
        block(&store, &salt, &bounced("Li.Wei@example.cn"), Utc::now())
            .await
            .unwrap();
        let keys: Vec<String> = store
            .items(Table::Suppression)
            .iter()
            .map(|item| text(item, "pk").to_owned())
            .collect();
        let address = EmailAddress::parse("li.wei@example.cn").unwrap();
        assert_eq!(keys, vec![address_key(&salt, &address)]);
        assert_ne!(
            address_key(&salt, &address),
            unsalted_address_key(&address),
            "the plain hash is not the key"
        );
        assert_ne!(address_key(&salt, &address), address_key(&other, &address));
        let standing = standing(&store, &salt, &buyer("li.wei@example.cn")).await.unwrap();
        assert_eq!(standing.blocked, Some(AddressBlock::HardBounce), "case is ignored");
        let elsewhere = standing_of(&store, &other, "li.wei@example.cn").await;
        assert_eq!(elsewhere, None, "another salt finds nothing");
    }

    async fn standing_of(store: &MemoryStorage, salt: &AddressSalt, address: &str) -> Option<AddressBlock> {
        standing(store, salt, &buyer(address)).await.unwrap().blocked
    }

    #[tokio::test]
    async fn a_block_from_before_the_salt_still_holds_and_moves_to_its_salted_key() {
        let store = MemoryStorage::new();
        let salt = AddressSalt::new("salt_a");
        let address = EmailAddress::parse("li.wei@example.cn").unwrap();
        let mut old = Item::new();
        old.insert("pk".to_owned(), unsalted_address_key(&address).into());
        old.insert("block".to_owned(), "complaint".into());
        store.insert(Table::Suppression, old);
        assert_eq!(
            standing_of(&store, &salt, "li.wei@example.cn").await,
            Some(AddressBlock::Complaint)
        );
        let keys: Vec<String> = store
            .items(Table::Suppression)
            .iter()
            .map(|item| text(item, "pk").to_owned())
            .collect();
        assert_eq!(
            keys,
            vec![address_key(&salt, &address)],
            "moved, and the unsalted key is gone"
        );
        assert_eq!(
            standing_of(&store, &salt, "li.wei@example.cn").await,
            Some(AddressBlock::Complaint)
        );
    }
}
