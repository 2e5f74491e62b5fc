//! A seller's closure (`seller.closed`): the seller's item keeps its contact and settings for
//! a retention period, marked as closing; a daily sweep finds the closures come due, and each
//! runs a page of the seller's orders at a time through the outbox. Every buyer of those
//! orders who holds no order with another seller is erased (their erasure, as if they had
//! asked, dated the closure's end); the last page deletes the seller's item.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::page::ErasurePage;
use super::validate::PrivacyError;
use crate::domains::email::suppressions::mark_erased;
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::{holding_buyer, order_from};
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::{self, Message, OutboxEntry, Relayed, hand_on};
use crate::storage::{
    Condition, Cursor, Index, ItemKey, Query, Storage, StoreError, Table, Write, WriteFailure, WriteSet, sortable, text,
};
use crate::values::ids::is_identifier;

/// How long a closed seller's contact and settings are kept when the template says nothing.
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// The value of `closing` on a closed seller's item: the sparse `Closing` index's partition.
pub const CLOSING: &str = "closed";
/// The attributes a closure writes to a seller's item, and the only ones buyer privacy's URL
/// may write there (with the key).
pub const CLOSURE_ATTRIBUTES: &[&str] = &["closed_at", "closing", "erase_after", "listed"];
/// Orders per page of a closure: each buyer among them costs a query of their orders.
pub const ORDERS_PER_PAGE: usize = 25;
/// Closures a sweep starts; the rest wait for the next day's.
const CLOSURES_PER_SWEEP: usize = 100;

/// `data` of `seller.closed`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerClosedData {
    pub seller_id: String,
    pub closed_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub seller_id: String,
    pub closed_at: DateTime<Utc>,
}

/// A closure sent at `sent_at`: it cannot be dated later.
pub fn closure(data: SellerClosedData, sent_at: DateTime<Utc>) -> Result<Closure, PrivacyError> {
    if !is_identifier(&data.seller_id) {
        return Err(PrivacyError::InvalidIdentifier {
            field: "data.seller_id",
        });
    }
    let closed_at = DateTime::parse_from_rfc3339(&data.closed_at)
        .map_err(|_| PrivacyError::InvalidClosedAt)?
        .with_timezone(&Utc);
    if closed_at > sent_at {
        return Err(PrivacyError::ClosedInFuture);
    }
    Ok(Closure {
        seller_id: data.seller_id,
        closed_at,
    })
}

/// The seller marked closing until `retention_days` after it closed, and out of the weekly
/// reports' list; only a seller the back office knows.
pub fn close_seller(closure: &Closure, retention_days: i64) -> Write {
    let erase_at = closure.closed_at + Duration::days(retention_days);
    Write::update(Table::Sellers, &closure.seller_id)
        .when(Condition::ItemExists)
        .set("closed_at", closure.closed_at.to_rfc3339())
        .set("closing", CLOSING)
        .set("erase_after", erase_after(erase_at, &closure.seller_id))
        .remove("listed")
}

fn erase_after(at: DateTime<Utc>, seller_id: &str) -> String {
    format!("{}#{seller_id}", sortable(at))
}

/// A page of a closure's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosurePage {
    pub dedupe_key: String,
    pub seller_id: String,
    /// The retention's end: the buyers' erasures are dated then.
    pub erase_at: DateTime<Utc>,
    pub page: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
}

impl ClosurePage {
    pub fn first(seller_id: &str, erase_at: DateTime<Utc>) -> Self {
        Self {
            dedupe_key: closure_key(seller_id, erase_at, 0),
            seller_id: seller_id.to_owned(),
            erase_at,
            page: 0,
            after: None,
        }
    }

    fn next(&self, after: Cursor) -> Self {
        Self {
            dedupe_key: closure_key(&self.seller_id, self.erase_at, self.page + 1),
            page: self.page + 1,
            after: Some(after),
            ..self.clone()
        }
    }
}

fn closure_key(seller_id: &str, erase_at: DateTime<Utc>, page: u32) -> String {
    Function::BuyerPrivacy.key(&[
        "closure",
        seller_id,
        &erase_at.timestamp().to_string(),
        &page.to_string(),
    ])
}

impl Relayed for ClosurePage {
    const KIND: &'static str = "closure_page";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}

/// What the daily sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClosureSweep {
    pub started: usize,
}

/// Starts every closure whose retention ended by `now` (at most [`CLOSURES_PER_SWEEP`]): its
/// first page handed on, then the seller out of the index, so the next sweep passes it.
pub async fn sweep_closures(store: &impl Storage, now: DateTime<Utc>) -> Result<ClosureSweep, StoreError> {
    let query = Query::new(Index::SellersClosing, CLOSING)
        .sort_at_most(format!("{}#~", sortable(now)))
        .first(CLOSURES_PER_SWEEP);
    let due = store.query(&query).await?;
    let mut sweep = ClosureSweep::default();
    for item in due.items {
        let seller_id = text(&item, "seller_id").to_owned();
        let Some(erase_at) = erase_at_of(text(&item, "erase_after")) else {
            continue;
        };
        hand_on(store, &ClosurePage::first(&seller_id, erase_at), now).await?;
        let started = Write::update(Table::Sellers, &seller_id)
            .when(Condition::ItemExists)
            .remove("closing");
        match store.write(WriteSet::from(vec![started])).await {
            Ok(()) | Err(WriteFailure::Cancelled(_)) => sweep.started += 1,
            Err(WriteFailure::Store(error)) => return Err(error),
        }
    }
    Ok(sweep)
}

fn erase_at_of(erase_after: &str) -> Option<DateTime<Utc>> {
    let (at, _) = erase_after.split_once('#')?;
    DateTime::parse_from_rfc3339(at).ok().map(|at| at.with_timezone(&Utc))
}

/// What a page of a closure did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClosureDone {
    pub page: u32,
    pub orders: usize,
    /// Buyers of the seller's whose erasure this page began.
    pub buyers_erased: usize,
    /// Buyers kept: another seller holds their data.
    pub buyers_kept: usize,
    /// Whether this was the last page, which deleted the seller's item.
    pub seller_erased: bool,
}

/// One page of the seller's orders: each buyer held by no other seller erased, then the next
/// page handed on, or, on the last, the seller's contact and settings deleted.
pub async fn closure_page(
    store: &impl Storage,
    page: &ClosurePage,
    now: DateTime<Utc>,
) -> Result<ClosureDone, StoreError> {
    let query =
        Query::new(Index::OrdersBySellerStatus, page.seller_id.as_str()).page(ORDERS_PER_PAGE, page.after.clone());
    let found = store.query(&query).await?;
    let orders: Vec<StoredOrder> = found.items.into_iter().map(order_from).collect::<Result<_, _>>()?;
    let mut done = ClosureDone {
        page: page.page,
        orders: orders.len(),
        ..ClosureDone::default()
    };
    let mut buyers: Vec<&str> = orders
        .iter()
        .filter(|order| order.holds_buyer_data())
        .map(|order| order.buyer.id.as_str())
        .collect();
    buyers.sort_unstable();
    buyers.dedup();
    for buyer_id in buyers {
        if held_by_another_seller(store, buyer_id, &page.seller_id).await? {
            done.buyers_kept += 1;
            continue;
        }
        begin_buyers_erasure(store, buyer_id, page, now).await?;
        done.buyers_erased += 1;
    }
    match found.next {
        Some(next) => hand_on(store, &page.next(next), now).await?,
        None => {
            let forget = Write::delete(Table::Sellers, &page.seller_id);
            store
                .write(WriteSet::from(vec![forget]))
                .await
                .map_err(|failure| StoreError::new("closure", failure.to_string()))?;
            done.seller_erased = true;
        }
    }
    Ok(done)
}

/// Whether an order of another seller still holds the buyer's data.
async fn held_by_another_seller(store: &impl Storage, buyer_id: &str, seller_id: &str) -> Result<bool, StoreError> {
    let mut after = None;
    loop {
        let keys = holding_buyer(store, buyer_id, 100, after).await?;
        let items = store
            .get_many(
                &keys
                    .items
                    .iter()
                    .map(|key| ItemKey::new(Table::Orders, key))
                    .collect::<Vec<_>>(),
            )
            .await?;
        for item in items.into_iter().flatten() {
            if order_from(item)?.seller_id != seller_id {
                return Ok(true);
            }
        }
        match keys.next {
            Some(next) => after = Some(next),
            None => return Ok(false),
        }
    }
}

/// The buyer's erasure, as a request would begin it: the mark, and its first page, dated the
/// closure's end (what they held until then goes; a later order is a new relationship).
async fn begin_buyers_erasure(
    store: &impl Storage,
    buyer_id: &str,
    page: &ClosurePage,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let first = ErasurePage::first(buyer_id, &format!("closure-{}", page.seller_id), page.erase_at);
    let entry = OutboxEntry {
        key: first.dedupe_key.clone(),
        follow_ups: vec![Message::of(&first)],
    };
    let writes = vec![mark_erased(buyer_id, now), outbox::put(&entry, now)];
    store
        .write(WriteSet::from(writes))
        .await
        .map_err(|failure| StoreError::new("closure's erasure", failure.to_string()))
}
