//! Stock alerts' view of the inventory table, and its sellers table.
//!
//! Inventory items (`sku_key` = `<seller_id>#<sku>`) carry, besides the stock order intake
//! moves: `safety_stock`, `lead_time_days`; `sold_<day>`, the units reserved that day (written
//! by every reservation); `alert_level`, `alert_episode` and `alert_changed_at` /
//! `alert_cleared_at`, the problem the seller last heard of; and `watch`, present only while
//! the SKU is on the sweep's watchlist (the sparse `Watchlist` index: a SKU with a problem,
//! or one whose stock moved since it was last assessed).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::orders::{SOLD_PREFIX, WATCHLIST, sku_key};
use super::{DynamoIdempotencyStore, number, outbox_put, store_error, string};
use crate::idempotency::ClaimWrite;
use crate::outbox::OutboxEntry;
use crate::pii::EmailAddress;
use crate::stock::adjustment::{Adjustment, OnHand, SellerContact, StockError};
use crate::stock::alerts::{Evaluated, Transition};
use crate::stock::assess::{AlertState, Level, StockItem, window_start};
use crate::stock::store::{AdjustRefusal, Recorded, StockStore, Watchlist};
use crate::store::{StoreError, back_off};

type Item = HashMap<String, AttributeValue>;

const CLAIM: usize = 0;
const STOCK: usize = 1;
/// Rounds of a BatchGetItem's unprocessed keys (throttling) before the read fails.
const UNPROCESSED_ATTEMPTS: u32 = 8;

#[derive(Debug, Clone)]
pub struct DynamoStock {
    client: Client,
    inventory_table: String,
    sellers_table: String,
    outbox_table: String,
    claims: DynamoIdempotencyStore,
}

/// The tables stock alerts writes besides the orders its restocks fill.
#[derive(Debug, Clone)]
pub struct StockTables {
    pub inventory: String,
    pub sellers: String,
    pub outbox: String,
}

fn number_of(item: &Item, name: &str) -> i64 {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn text_of<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map_or("", String::as_str)
}

fn stock_item(item: &Item) -> StockItem {
    let daily_sales: BTreeMap<NaiveDate, i64> = item
        .iter()
        .filter_map(|(name, value)| {
            let day = NaiveDate::parse_from_str(name.strip_prefix(SOLD_PREFIX)?, "%Y-%m-%d").ok()?;
            Some((day, value.as_n().ok()?.parse().ok()?))
        })
        .collect();
    StockItem {
        seller_id: text_of(item, "seller_id").to_owned(),
        sku: text_of(item, "sku").to_owned(),
        on_hand: number_of(item, "on_hand"),
        reserved: number_of(item, "reserved"),
        available: number_of(item, "available"),
        safety_stock: number_of(item, "safety_stock"),
        lead_time_days: number_of(item, "lead_time_days"),
        daily_sales,
        alert: AlertState {
            level: Level::parse(text_of(item, "alert_level")).unwrap_or(Level::Healthy),
            episode: u32::try_from(number_of(item, "alert_episode")).unwrap_or(0),
        },
        watched: item.contains_key("watch"),
    }
}

fn is_condition_failure(reason: Option<&CancellationReason>) -> bool {
    reason.is_some_and(|reason| reason.code() == Some("ConditionalCheckFailed"))
}

impl DynamoStock {
    pub fn new(client: Client, tables: StockTables, claims: DynamoIdempotencyStore) -> Self {
        Self {
            client,
            inventory_table: tables.inventory,
            sellers_table: tables.sellers,
            outbox_table: tables.outbox,
            claims,
        }
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Result<Vec<CancellationReason>, StoreError>> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    Err(Ok(cancelled.cancellation_reasons.unwrap_or_default()))
                }
                other => Err(Err(store_error("DynamoDB TransactWriteItems (stock)", other))),
            },
        }
    }

    /// The count or restock of a SKU the seller has.
    fn change_stock(&self, adjustment: &Adjustment) -> TransactWriteItem {
        let mut set = vec!["watch = :watch"];
        let (change, condition, units) = match adjustment.on_hand {
            OnHand::Set(count) => (
                "on_hand = :units, available = :units - reserved",
                "attribute_exists(sku_key) AND reserved <= :units",
                count,
            ),
            OnHand::Add(units) => (
                "on_hand = on_hand + :units, available = available + :units",
                "attribute_exists(sku_key)",
                units,
            ),
        };
        set.push(change);
        let mut update = Update::builder()
            .table_name(&self.inventory_table)
            .key("sku_key", string(sku_key(&adjustment.seller_id, &adjustment.sku)))
            .condition_expression(condition)
            .expression_attribute_values(":units", number(units))
            .expression_attribute_values(":watch", string(WATCHLIST))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(safety_stock) = adjustment.safety_stock {
            set.push("safety_stock = :safety");
            update = update.expression_attribute_values(":safety", number(safety_stock));
        }
        if let Some(days) = adjustment.lead_time_days {
            set.push("lead_time_days = :lead");
            update = update.expression_attribute_values(":lead", number(days));
        }
        let update = update
            .update_expression(format!("SET {}", set.join(", ")))
            .build()
            .expect("table, key and expression are all set");
        TransactWriteItem::builder().update(update).build()
    }

    /// A SKU the seller did not have, created by a count.
    fn new_stock(&self, adjustment: &Adjustment, count: i64) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.inventory_table)
            .item("sku_key", string(sku_key(&adjustment.seller_id, &adjustment.sku)))
            .item("seller_id", string(&adjustment.seller_id))
            .item("sku", string(&adjustment.sku))
            .item("on_hand", number(count))
            .item("reserved", number(0))
            .item("available", number(count))
            .item("safety_stock", number(adjustment.safety_stock.unwrap_or(0)))
            .item("lead_time_days", number(adjustment.lead_time_days.unwrap_or(0)))
            .item("watch", string(WATCHLIST))
            .condition_expression("attribute_not_exists(sku_key)")
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    fn contact_put(&self, contact: &SellerContact) -> TransactWriteItem {
        let put = Put::builder()
            .table_name(&self.sellers_table)
            .item("seller_id", string(&contact.seller_id))
            .item("name", string(&contact.name))
            .item("email", string(contact.email.expose()))
            .item("locale", string(&contact.locale))
            .build()
            .expect("table and item are set");
        TransactWriteItem::builder().put(put).build()
    }

    /// One SKU's changes after an evaluation, conditional on the alert state it was read with.
    fn alert_update(&self, evaluated: &Evaluated, now: DateTime<Utc>) -> TransactWriteItem {
        let item = &evaluated.item;
        let mut set = vec![];
        let mut remove = vec![];
        let mut update = Update::builder()
            .table_name(&self.inventory_table)
            .key("sku_key", string(sku_key(&item.seller_id, &item.sku)))
            // As assessed: the alert state and the stock it was assessed on. An order or a
            // restock since then means the assessment is stale: read and assess again.
            .condition_expression(
                "attribute_exists(sku_key) AND available = :was_available \
                 AND (attribute_not_exists(safety_stock) OR safety_stock = :was_safety) \
                 AND (attribute_not_exists(lead_time_days) OR lead_time_days = :was_lead) \
                 AND (attribute_not_exists(alert_episode) OR alert_episode = :was_episode) \
                 AND (attribute_not_exists(alert_level) OR alert_level = :was_level)",
            )
            .expression_attribute_values(":was_available", number(item.available))
            .expression_attribute_values(":was_safety", number(item.safety_stock))
            .expression_attribute_values(":was_lead", number(item.lead_time_days))
            .expression_attribute_values(":was_episode", number(i64::from(item.alert.episode)))
            .expression_attribute_values(":was_level", string(item.alert.level.as_str()));
        let new_state = match evaluated.transition {
            Transition::Raise(state) | Transition::Ease(state) | Transition::Clear(state) => Some(state),
            Transition::Keep => None,
        };
        if let Some(state) = new_state {
            set.extend([
                "alert_level = :level",
                "alert_episode = :episode",
                "alert_changed_at = :now",
            ]);
            update = update
                .expression_attribute_values(":level", string(state.level.as_str()))
                .expression_attribute_values(":episode", number(i64::from(state.episode)))
                .expression_attribute_values(":now", string(now.to_rfc3339()));
        }
        if matches!(evaluated.transition, Transition::Clear(_)) {
            set.push("alert_cleared_at = :now");
        }
        if evaluated.watch() {
            set.push("watch = :watch");
            update = update.expression_attribute_values(":watch", string(WATCHLIST));
        } else {
            remove.push("watch".to_owned());
        }
        // Days that left the sales window go, so the item does not grow a day at a time.
        let oldest = window_start(now.date_naive());
        let stale: Vec<&NaiveDate> = item.daily_sales.keys().filter(|day| **day < oldest).collect();
        for (index, day) in stale.into_iter().enumerate() {
            let name = format!("#stale{index}");
            update = update.expression_attribute_names(&name, format!("{SOLD_PREFIX}{}", day.format("%Y-%m-%d")));
            remove.push(name);
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {}", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
        }
        let update = update
            .update_expression(expression.trim())
            .build()
            .expect("table, key and expression are all set");
        TransactWriteItem::builder().update(update).build()
    }
}

impl DynamoStock {
    /// The items under these keys (missing ones left out), 100 to a request, read consistently.
    async fn items_by_key(&self, keys: &[String]) -> Result<Vec<StockItem>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let keys = chunk
                .iter()
                .map(|key| HashMap::from([("sku_key".to_owned(), string(key))]))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|error| StoreError::new("DynamoDB BatchGetItem request", error))?,
            );
            for attempt in 0.. {
                let Some(keys) = request.take() else { break };
                if attempt >= UNPROCESSED_ATTEMPTS {
                    return Err(StoreError::new(
                        "DynamoDB BatchGetItem (stock)",
                        "keys left unprocessed: throttled",
                    ));
                }
                if attempt > 0 {
                    back_off(attempt).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.inventory_table, keys)
                    .send()
                    .await
                    .map_err(|error| store_error("DynamoDB BatchGetItem (stock)", error))?;
                let items = output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.inventory_table));
                found.extend(items.unwrap_or_default().iter().map(stock_item));
                request = output
                    .unprocessed_keys
                    .and_then(|mut tables| tables.remove(&self.inventory_table));
            }
        }
        Ok(found)
    }
}

impl StockStore for DynamoStock {
    async fn adjust(
        &self,
        adjustment: &Adjustment,
        claim: &ClaimWrite,
        follow_ups: &OutboxEntry,
    ) -> Result<(), AdjustRefusal> {
        let answer = Value::Object(adjustment_receipt(adjustment));
        let mut create = false;
        for _ in 0..3 {
            let stock = match (create, adjustment.on_hand) {
                (true, OnHand::Set(count)) => self.new_stock(adjustment, count),
                _ => self.change_stock(adjustment),
            };
            let mut items = vec![
                TransactWriteItem::builder()
                    .put(self.claims.completed_put(claim, &answer))
                    .build(),
                stock,
                outbox_put(&self.outbox_table, follow_ups, claim.now),
            ];
            items.extend(adjustment.seller.as_ref().map(|contact| self.contact_put(contact)));
            let reasons = match self.transact(items).await {
                Ok(()) => return Ok(()),
                Err(Err(error)) => return Err(error.into()),
                Err(Ok(reasons)) => reasons,
            };
            if is_condition_failure(reasons.get(CLAIM)) {
                return Err(AdjustRefusal::ClaimTaken);
            }
            if !is_condition_failure(reasons.get(STOCK)) {
                let codes: Vec<&str> = reasons.iter().filter_map(CancellationReason::code).collect();
                return Err(
                    StoreError::new("DynamoDB TransactWriteItems (stock)", format!("cancelled: {codes:?}")).into(),
                );
            }
            match (reasons[STOCK].item(), adjustment.on_hand) {
                (Some(existing), OnHand::Set(count)) => {
                    return Err(StockError::CountBelowReserved {
                        sku: adjustment.sku.clone(),
                        reserved: number_of(existing, "reserved"),
                        count,
                    }
                    .into());
                }
                (None, OnHand::Set(_)) if !create => create = true,
                (None, OnHand::Add(_)) => {
                    return Err(StockError::UnknownSku {
                        sku: adjustment.sku.clone(),
                        seller_id: adjustment.seller_id.clone(),
                    }
                    .into());
                }
                // Created by another count between our two writes: apply ours to it.
                _ => create = false,
            }
        }
        Err(StoreError::new("stock transaction", "the SKU kept appearing and disappearing").into())
    }

    async fn items(&self, seller_id: &str, skus: &[String]) -> Result<Vec<StockItem>, StoreError> {
        let keys: Vec<String> = skus.iter().map(|sku| sku_key(seller_id, sku)).collect();
        self.items_by_key(&keys).await
    }

    async fn watchlist(&self) -> Result<Watchlist, StoreError> {
        let mut keys = Vec::new();
        let mut index_items_read = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.inventory_table)
                .index_name("Watchlist")
                .key_condition_expression("watch = :watch")
                .expression_attribute_values(":watch", string(WATCHLIST))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| store_error("DynamoDB Query (watchlist)", error))?;
            index_items_read += usize::try_from(page.scanned_count).unwrap_or(0);
            keys.extend(
                page.items
                    .unwrap_or_default()
                    .iter()
                    .map(|item| text_of(item, "sku_key").to_owned()),
            );
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        // The index holds keys only (an order's write then changes nothing in it); the items
        // themselves are read consistently, so the sweep never assesses stale stock.
        let items = self.items_by_key(&keys).await?;
        Ok(Watchlist {
            items_read: index_items_read + items.len(),
            items,
        })
    }

    async fn seller(&self, seller_id: &str) -> Result<Option<SellerContact>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.sellers_table)
            .key("seller_id", string(seller_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB GetItem (seller)", error))?;
        Ok(output.item.and_then(|item| {
            Some(SellerContact {
                seller_id: seller_id.to_owned(),
                name: text_of(&item, "name").to_owned(),
                email: EmailAddress::parse(text_of(&item, "email")).ok()?,
                locale: text_of(&item, "locale").to_owned(),
            })
        }))
    }

    async fn record(
        &self,
        evaluated: &[Evaluated],
        digest: Option<&OutboxEntry>,
        now: DateTime<Utc>,
    ) -> Result<Recorded, StoreError> {
        let mut items: Vec<TransactWriteItem> = evaluated
            .iter()
            .filter(|e| e.needs_write())
            .map(|e| self.alert_update(e, now))
            .collect();
        items.extend(digest.map(|entry| outbox_put(&self.outbox_table, entry, now)));
        if items.is_empty() {
            return Ok(Recorded::Done);
        }
        match self.transact(items).await {
            Ok(()) => Ok(Recorded::Done),
            Err(Err(error)) => Err(error),
            Err(Ok(reasons))
                if reasons
                    .iter()
                    .any(|reason| matches!(reason.code(), Some("ConditionalCheckFailed" | "TransactionConflict"))) =>
            {
                Ok(Recorded::Conflict)
            }
            Err(Ok(reasons)) => {
                let codes: Vec<&str> = reasons.iter().filter_map(CancellationReason::code).collect();
                Err(StoreError::new(
                    "DynamoDB TransactWriteItems (alerts)",
                    format!("cancelled: {codes:?}"),
                ))
            }
        }
    }
}

/// What the webhook answers for an adjustment.
pub fn adjustment_receipt(adjustment: &Adjustment) -> serde_json::Map<String, Value> {
    let mut receipt = serde_json::Map::new();
    receipt.insert("seller_id".to_owned(), adjustment.seller_id.clone().into());
    receipt.insert("sku".to_owned(), adjustment.sku.clone().into());
    let (how, units) = match adjustment.on_hand {
        OnHand::Set(count) => ("set", count),
        OnHand::Add(units) => ("add", units),
    };
    receipt.insert("on_hand".to_owned(), serde_json::json!({ how: units }));
    receipt
}
