//! Stock alerts' reads of the inventory and sellers tables, and the write that records an
//! assessment (the inventory items' layout is [`super::inventory`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::alerts::{Evaluated, Transition};
use super::assess::{AlertState, Level, StockItem, window_start};
use super::inventory::{SOLD_PREFIX, WATCHLIST, sku_key, sold_attribute};
use crate::storage::{Condition, Cursor, Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, number, text};

/// The SKUs the sweep reads, and how many items that cost.
#[derive(Debug, Clone, Default)]
pub struct Watchlist {
    pub items: Vec<StockItem>,
    pub items_read: usize,
    /// Where the next page starts, when this was a page that may not be the last.
    pub next: Option<Cursor>,
}

pub fn stock_item(item: &Item) -> StockItem {
    let daily_sales: BTreeMap<NaiveDate, i64> = item
        .iter()
        .filter_map(|(name, value)| {
            let day = NaiveDate::parse_from_str(name.strip_prefix(SOLD_PREFIX)?, "%Y-%m-%d").ok()?;
            Some((day, value.as_i64()?))
        })
        .collect();
    StockItem {
        seller_id: text(item, "seller_id").to_owned(),
        sku: text(item, "sku").to_owned(),
        on_hand: number(item, "on_hand"),
        reserved: number(item, "reserved"),
        available: number(item, "available"),
        safety_stock: number(item, "safety_stock"),
        lead_time_days: number(item, "lead_time_days"),
        daily_sales,
        alert: AlertState {
            level: Level::parse(text(item, "alert_level")).unwrap_or(Level::Healthy),
            episode: u32::try_from(number(item, "alert_episode")).unwrap_or(0),
        },
        watched: item.contains_key("watch"),
    }
}

/// The items under these inventory keys, read consistently; unknown ones are left out.
async fn items_by_key(store: &impl Storage, keys: Vec<String>) -> Result<Vec<StockItem>, StoreError> {
    let keys: Vec<ItemKey> = keys
        .into_iter()
        .map(|key| ItemKey::new(Table::Inventory, key))
        .collect();
    Ok(store.get_many(&keys).await?.iter().flatten().map(stock_item).collect())
}

/// The seller's SKUs among `skus`, as stored (unknown SKUs are left out).
pub async fn stock_items(store: &impl Storage, seller_id: &str, skus: &[String]) -> Result<Vec<StockItem>, StoreError> {
    items_by_key(store, skus.iter().map(|sku| sku_key(seller_id, sku)).collect()).await
}

/// Every SKU on the watchlist: those with a problem, and those stock moved on since. The index
/// holds keys only (an order's write then changes nothing in it); the items themselves are
/// read consistently, so the sweep never assesses stale stock.
pub async fn watchlist(store: &impl Storage) -> Result<Watchlist, StoreError> {
    watched(store, Query::new(Index::Watchlist, WATCHLIST)).await
}

/// A page of the watchlist, in key order: at most `size` SKUs after `after`.
pub async fn watchlist_page(store: &impl Storage, size: usize, after: Option<Cursor>) -> Result<Watchlist, StoreError> {
    watched(store, Query::new(Index::Watchlist, WATCHLIST).page(size, after)).await
}

/// The first `size` of one seller's SKUs on the watchlist, in key order (its keys start with
/// `<seller>#`): what the seller's week lists as stock at risk, bounded whatever its catalogue.
pub async fn seller_watchlist(store: &impl Storage, seller_id: &str, size: usize) -> Result<Watchlist, StoreError> {
    let query = Query::new(Index::Watchlist, WATCHLIST)
        .sort_starting_with(format!("{seller_id}#"))
        .first(size);
    watched(store, query).await
}

async fn watched(store: &impl Storage, query: Query) -> Result<Watchlist, StoreError> {
    let found = store.query(&query).await?;
    let keys = found
        .items
        .iter()
        .map(|item| text(item, "sku_key").to_owned())
        .collect();
    let items = items_by_key(store, keys).await?;
    Ok(Watchlist {
        items_read: found.read + items.len(),
        items,
        next: found.next,
    })
}

/// One SKU's changes after an evaluation, only over the stock and alert state it was assessed
/// from: an order or a restock since then means the assessment is stale, to be read again.
pub fn record_evaluation(evaluated: &Evaluated, now: DateTime<Utc>) -> Write {
    let item = &evaluated.item;
    let mut write = Write::update(Table::Inventory, sku_key(&item.seller_id, &item.sku)).when(
        Condition::ItemExists
            .and(Condition::equals("available", item.available))
            .and(Condition::unchanged("safety_stock", item.safety_stock))
            .and(Condition::unchanged("lead_time_days", item.lead_time_days))
            .and(Condition::unchanged("alert_episode", i64::from(item.alert.episode)))
            .and(Condition::unchanged("alert_level", item.alert.level.as_str())),
    );
    let new_state = match evaluated.transition {
        Transition::Raise(state) | Transition::Ease(state) | Transition::Clear(state) => Some(state),
        Transition::Keep => None,
    };
    if let Some(state) = new_state {
        write = write
            .set("alert_level", state.level.as_str())
            .set("alert_episode", i64::from(state.episode))
            .set("alert_changed_at", now.to_rfc3339());
    }
    if matches!(evaluated.transition, Transition::Clear(_)) {
        write = write.set("alert_cleared_at", now.to_rfc3339());
    }
    write = if evaluated.watch() {
        write.set("watch", WATCHLIST)
    } else {
        write.remove("watch")
    };
    // Days that left the sales window go, so the item does not grow a day at a time.
    let oldest = window_start(now.date_naive());
    for day in item.daily_sales.keys().filter(|day| **day < oldest) {
        write = write.remove(sold_attribute(*day));
    }
    write
}

/// Helps tests and tools build an inventory item as a count would.
pub fn new_stock_item(seller_id: &str, sku: &str, on_hand: i64, safety_stock: i64, lead_time_days: i64) -> Item {
    let mut item = Item::new();
    for (name, value) in [
        ("sku_key", Value::from(sku_key(seller_id, sku))),
        ("seller_id", seller_id.into()),
        ("sku", sku.into()),
        ("on_hand", on_hand.into()),
        ("reserved", 0.into()),
        ("available", on_hand.into()),
        ("safety_stock", safety_stock.into()),
        ("lead_time_days", lead_time_days.into()),
        ("watch", WATCHLIST.into()),
    ] {
        item.insert(name.to_owned(), value);
    }
    item
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Done,
    /// Another evaluation, an order or a restock changed one of the SKUs first: read them again.
    Conflict,
}

/// Stock alerts' count of the alerts an evaluation raises, per seller, on the day raised.
fn raised(evaluated: &[Evaluated], now: DateTime<Utc>) -> Vec<crate::storage::Write> {
    let mut per_seller = std::collections::BTreeMap::<&str, i64>::new();
    for evaluation in evaluated {
        if matches!(evaluation.transition, super::alerts::Transition::Raise(_)) {
            *per_seller.entry(&evaluation.item.seller_id).or_default() += 1;
        }
    }
    per_seller
        .into_iter()
        .filter_map(|(seller_id, alerts)| {
            crate::domains::figures::tally::Tally::new(
                crate::mechanisms::function::Function::StockAlerts,
                seller_id,
                now,
            )
            .add(crate::domains::figures::tally::counter::STOCK_ALERTS, alerts)
            .write()
        })
        .collect()
}

/// Writes what an evaluation changed, each SKU only over the state it was evaluated from,
/// together with the digest's outbox entry: all or nothing.
pub async fn record_evaluations(
    store: &impl Storage,
    evaluated: &[Evaluated],
    digest: Option<&crate::mechanisms::outbox::OutboxEntry>,
    now: DateTime<Utc>,
) -> Result<Recorded, StoreError> {
    let mut writes: crate::storage::WriteSet = evaluated
        .iter()
        .filter(|e| e.needs_write())
        .map(|e| record_evaluation(e, now))
        .collect::<Vec<_>>()
        .into();
    writes.extend(digest.map(|entry| crate::mechanisms::outbox::put(entry, now)));
    writes.extend(raised(evaluated, now));
    if writes.is_empty() {
        return Ok(Recorded::Done);
    }
    match store.write(writes).await {
        Ok(()) => Ok(Recorded::Done),
        Err(crate::storage::WriteFailure::Cancelled(_)) => Ok(Recorded::Conflict),
        Err(crate::storage::WriteFailure::Store(error)) => Err(error),
    }
}
