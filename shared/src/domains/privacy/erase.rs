//! A buyer's erasure: the request marks the buyer erased and hands the first page on, in the
//! transaction that claims the event; each page then erases a bounded part of what the buyer
//! left, and hands the next on.
//!
//! Racing: the mark is written first, so no email to the buyer begins after the request
//! commits (the mailer checks it in the transaction that takes its lease). Each record is
//! erased over the version it was read at, so a change racing the erasure from an earlier
//! reading fails and reads the erased record; an erased record leaves the `ByBuyer` index,
//! and a record of a new relationship (after `requested_at`) is passed by the page's cursor
//! and kept.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::page::{ErasurePage, ITEMS_PER_PAGE, Stage, export_prefix};
use super::places::{DeadLetters, ExportShelf};
use super::validate::Erasure;
use crate::domains::claims::erasure::put_erased_claim;
use crate::domains::claims::records::StoredClaim;
use crate::domains::email::suppressions::{forget_preference, mark_erased};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::erasure::update_erased;
use crate::domains::questions::erasure::{put_erased_message, put_erased_thread};
use crate::domains::questions::records::{StoredThread, THREAD_OPENED_AT, ThreadMessage};
use crate::domains::refunds::erasure::put_erased_refund;
use crate::domains::refunds::records::StoredRefund;
use crate::domains::reviews::erasure::put_erased_review;
use crate::domains::reviews::records::{StoredReview, TOLD_IN, forget_teller};
use crate::mechanisms::outbox::{self, Message, OutboxEntry, hand_on};
use crate::storage::{
    Cursor, Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, WriteFailure, WriteSet, from_item,
    keys_page, text,
};

/// What a request commits with its claim.
pub struct Begun {
    /// The mark: no email to the buyer begins once it stands.
    pub mark: Write,
    /// The first page's outbox entry, written once per erasure.
    pub first_page: Write,
    pub answer: Value,
}

/// The erasure a request begins. It is named by its buyer and time, not by its event: the
/// marketplace sends one request per seller the buyer bought from, and those hand on the same
/// first page once. (A request for the same erasure that gives another `email` finds the
/// first page taken: it marks the buyer again and hands nothing on.)
pub fn begin_erasure(erasure: &Erasure, now: DateTime<Utc>) -> Begun {
    let erasure_id = erasure.requested_at.timestamp().to_string();
    let first =
        ErasurePage::first(&erasure.buyer_id, &erasure_id, erasure.requested_at).with_email(erasure.email.as_ref());
    let entry = OutboxEntry {
        key: first.dedupe_key.clone(),
        follow_ups: vec![Message::of(&first)],
    };
    let answer = json!({
        "buyer_id": erasure.buyer_id,
        "erasure_id": erasure_id,
        "requested_at": erasure.requested_at.to_rfc3339(),
    });
    Begun {
        mark: mark_erased(&erasure.buyer_id, now),
        first_page: outbox::put(&entry, now),
        answer,
    }
}

/// What one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub stage: &'static str,
    pub page: u32,
    /// Items, objects or messages erased (or taken out).
    pub erased: usize,
    /// Items of the buyer's new relationship (after the request), or already erased.
    pub kept: usize,
    /// Whether a page followed.
    pub continues: bool,
}

/// One page: its stage's part of the buyer's data erased, then the next page handed on. A
/// record whose write failed (a change raced it) fails the page after the others are done,
/// and its redelivery finds only what is left.
pub async fn erase_page(
    store: &impl Storage,
    exports: &impl ExportShelf,
    dead_letters: &impl DeadLetters,
    page: &ErasurePage,
    now: DateTime<Utc>,
) -> Result<Erased, StoreError> {
    let mut erased = Erased {
        stage: page.stage.as_str(),
        page: page.page,
        ..Erased::default()
    };
    let next = match page.stage {
        Stage::Orders => erase_indexed(store, page, Index::OrdersByBuyer, now, &mut erased, order_write).await?,
        Stage::Threads => erase_indexed(store, page, Index::ThreadsByBuyer, now, &mut erased, thread_write).await?,
        Stage::Reviews => erase_indexed(store, page, Index::ReviewsByBuyer, now, &mut erased, review_write).await?,
        Stage::Refunds => erase_indexed(store, page, Index::RefundsByBuyer, now, &mut erased, refund_write).await?,
        Stage::Outbox => erase_indexed(store, page, Index::OutboxByBuyer, now, &mut erased, outbox_write).await?,
        Stage::Preferences => {
            let forget = forget_preference(&page.buyer_id, page.requested_at);
            // Cancelled: no choice stored, or one made since the request.
            match store.write(WriteSet::from(vec![forget])).await {
                Ok(()) => erased.erased += 1,
                Err(WriteFailure::Cancelled(_)) => {}
                Err(WriteFailure::Store(error)) => return Err(error),
            }
            None
        }
        Stage::Exports => {
            erased.erased = exports.delete_under(&export_prefix(&page.buyer_id)).await?;
            None
        }
        Stage::DeadLetters => {
            erased.erased = dead_letters.remove_naming(&page.named()).await?;
            None
        }
    };
    if let Some(next) = page.next(next) {
        hand_on(store, &next, now).await?;
        erased.continues = true;
    }
    Ok(erased)
}

/// What erasing one item takes, written together: none when it is kept (a new relationship,
/// or erased before).
type ItemWrite = fn(&ErasurePage, &str, Item, DateTime<Utc>) -> Result<Vec<Write>, StoreError>;

/// A page of `index` under the buyer, read by key, each item's erasure written alone; where
/// the stage's next page starts.
async fn erase_indexed(
    store: &impl Storage,
    page: &ErasurePage,
    index: Index,
    now: DateTime<Utc>,
    erased: &mut Erased,
    write_for: ItemWrite,
) -> Result<Option<Cursor>, StoreError> {
    let query = Query::new(index, page.buyer_id.as_str()).page(ITEMS_PER_PAGE, page.after.clone());
    let keys = keys_page(store, &query).await?;
    let table = index.table();
    let items = store
        .get_many(
            &keys
                .items
                .iter()
                .map(|key| ItemKey::new(table, key))
                .collect::<Vec<_>>(),
        )
        .await?;
    let mut failed = None;
    for (key, item) in keys.items.iter().zip(items) {
        // Gone since the index was read: nothing of it is left to erase.
        let Some(item) = item else { continue };
        let writes = write_for(page, key, item, now)?;
        if writes.is_empty() {
            erased.kept += 1;
            continue;
        }
        match store.write(WriteSet::from(writes)).await {
            Ok(()) => erased.erased += 1,
            Err(failure) => {
                failed = Some(StoreError::new(
                    "erasure",
                    format!("{table} item not erased: {failure}"),
                ))
            }
        }
    }
    match failed {
        Some(error) => Err(error),
        None => Ok(keys.next),
    }
}

fn order_write(page: &ErasurePage, _: &str, item: Item, now: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    let order: StoredOrder = from_item(item)?;
    if !order.holds_buyer_data() || order.placed_at > page.requested_at {
        return Ok(vec![]);
    }
    Ok(vec![update_erased(&order, now)?])
}

fn thread_write(page: &ErasurePage, key: &str, item: Item, now: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    if key.contains("#message#") {
        // A message goes with its thread, whenever it came: kept only if the thread itself is
        // a new relationship (marketplace times on both sides, as for the head).
        let thread_id = text(&item, "thread_id").to_owned();
        let opened_after = DateTime::parse_from_rfc3339(text(&item, THREAD_OPENED_AT))
            .is_ok_and(|opened| opened.with_timezone(&Utc) > page.requested_at);
        if opened_after {
            return Ok(vec![]);
        }
        let message: ThreadMessage = from_item(item)?;
        return Ok(vec![put_erased_message(&thread_id, &message)?]);
    }
    let thread: StoredThread = from_item(item)?;
    if !thread.holds_buyer_data() || thread.opened_after(page.requested_at) {
        return Ok(vec![]);
    }
    Ok(vec![put_erased_thread(&thread, now)?])
}

/// A review, or the mark of a digest that quoted it: the digest's outbox entry goes (it may
/// quote other buyers too; it was relayed, and is kept only for investigations), and the
/// mark stays, out of the index, so the alert is still never told twice.
fn review_write(page: &ErasurePage, key: &str, item: Item, now: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    if key.starts_with("told#") {
        let mut writes = vec![forget_teller(key)];
        if let Some(digest) = item.get(TOLD_IN).and_then(Value::as_str) {
            writes.push(Write::delete(Table::Outbox, digest));
        }
        return Ok(writes);
    }
    let review: StoredReview = from_item(item)?;
    if !review.holds_buyer_data() || review.created_at > page.requested_at {
        return Ok(vec![]);
    }
    Ok(vec![put_erased_review(&review, now)?])
}

/// The buyer's refunds and, beside them in the same index, the buyer's claims.
fn refund_write(page: &ErasurePage, key: &str, item: Item, now: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    if key.starts_with("claim#") {
        let claim: StoredClaim = from_item(item)?;
        if !claim.holds_buyer_data() || claim.opened_at > page.requested_at {
            return Ok(vec![]);
        }
        return Ok(vec![put_erased_claim(&claim, now)?]);
    }
    let refund: StoredRefund = from_item(item)?;
    if !refund.holds_buyer_data() || refund.requested_at > page.requested_at {
        return Ok(vec![]);
    }
    Ok(vec![put_erased_refund(&refund, now)?])
}

/// An outbox entry is kept only for investigations once its stream record exists (the relay
/// reads the stream, not the table), so the buyer's go whole.
fn outbox_write(_: &ErasurePage, key: &str, _: Item, _: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    Ok(vec![Write::delete(Table::Outbox, key)])
}
