//! Orders and their stock, in DynamoDB transactions.
//!
//! `order.created` is one `TransactWriteItems`: the event's idempotency claim (completed, with
//! the answer), the order (only if its id is new), one reservation per line, each conditional
//! on `available >= quantity`, and the change's follow-ups in the outbox. Either every line is
//! reserved or nothing is written, so concurrent orders can never take a SKU below zero. When
//! the transaction fails, its cancellation reasons say why without a read: the claim is taken
//! (a duplicate), the order exists (a late retry of this event, or a reused id), or which
//! lines were short (with their stock and lead time) or unknown.
//!
//! Inventory items are keyed `<seller_id>#<sku>` and carry `on_hand`, `reserved` and
//! `available` (= on_hand − reserved, kept alongside because a condition cannot subtract).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use super::{DynamoIdempotencyStore, number, outbox_put, store_error, string};
use crate::idempotency::ClaimWrite;
use crate::orders::{
    Applied, Backorders, ChangeRequest, EventContext, Fill, NewOrder, OrderChange, OrderError, OrderStatus, OrderStore,
    ShortLine, StoreRefusal, StoredOrder, follow_ups,
};
use crate::outbox::OutboxEntry;
use crate::store::{StoreError, back_off};

/// Transactions that collide with another on the same items are retried this often, with
/// full jitter: under a burst on one SKU (64 orders at once in the tests) five was too few.
const ATTEMPTS: u32 = 8;

/// Where each item sits in an order transaction: the claim, the order, then one stock move per
/// line, then the outbox entry (unconditional, so it never explains a cancellation).
const CLAIM: usize = 0;
const ORDER: usize = 1;
const FIRST_LINE: usize = 2;

#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    orders_table: String,
    inventory_table: String,
    outbox_table: String,
    claims: DynamoIdempotencyStore,
}

/// The tables order intake writes.
#[derive(Debug, Clone)]
pub struct OrderTables {
    pub orders: String,
    pub inventory: String,
    pub outbox: String,
}

pub fn sku_key(seller_id: &str, sku: &str) -> String {
    format!("{seller_id}#{sku}")
}

/// The inventory attribute counting a day's units sold: `sold_2026-11-22`.
pub fn sold_attribute(day: NaiveDate) -> String {
    format!("{SOLD_PREFIX}{}", day.format("%Y-%m-%d"))
}

pub const SOLD_PREFIX: &str = "sold_";

/// The value of `watch` on every SKU on the sweep's watchlist (the sparse `Watchlist` index).
pub const WATCHLIST: &str = "sweep";

/// Why a transaction did not commit.
enum Failed {
    /// One reason per item, in the order the items were sent.
    Cancelled(Vec<CancellationReason>),
    Store(StoreError),
}

fn is_condition_failure(reason: Option<&CancellationReason>) -> bool {
    reason.is_some_and(|reason| reason.code() == Some("ConditionalCheckFailed"))
}

fn collided(reasons: &[CancellationReason]) -> bool {
    reasons
        .iter()
        .any(|reason| reason.code() == Some("TransactionConflict"))
}

/// A reason that is neither success, a failed condition nor a collision (throttling, a
/// validation error): the outcome says nothing about stock, so the event must be retried.
fn unexpected(reasons: &[CancellationReason]) -> Option<StoreError> {
    let odd = reasons.iter().find(|reason| {
        !matches!(
            reason.code(),
            None | Some("None") | Some("ConditionalCheckFailed") | Some("TransactionConflict")
        )
    })?;
    Some(StoreError::new(
        "DynamoDB TransactWriteItems",
        format!(
            "cancelled: {} {}",
            odd.code().unwrap_or_default(),
            odd.message().unwrap_or_default()
        ),
    ))
}

fn attribute_i64(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Names one transaction of one invocation, so that the SDK's own retry of a request whose
/// answer was lost is recognised by DynamoDB as the same transaction (and succeeds) instead of
/// failing on its own claim. Another invocation, or another attempt, gets another token.
fn request_token(claim: &ClaimWrite, purpose: &str, attempt: u32) -> String {
    let seed = format!("{}|{}|{purpose}|{attempt}", claim.key, claim.now.timestamp_micros());
    hex::encode(Sha256::digest(seed))[..36].to_owned()
}

impl DynamoOrders {
    pub fn new(client: Client, tables: OrderTables, claims: DynamoIdempotencyStore) -> Self {
        Self {
            client,
            orders_table: tables.orders,
            inventory_table: tables.inventory,
            outbox_table: tables.outbox,
            claims,
        }
    }

    async fn transact(&self, items: Vec<TransactWriteItem>, token: String) -> Result<(), Failed> {
        let request = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token);
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    Err(Failed::Cancelled(cancelled.cancellation_reasons.unwrap_or_default()))
                }
                other => Err(Failed::Store(store_error("DynamoDB TransactWriteItems", other))),
            },
        }
    }

    /// The event's claim, completed with the answer for `order` as the event leaves it.
    fn claim_item(&self, claim: &ClaimWrite, order: &StoredOrder) -> TransactWriteItem {
        let put = self
            .claims
            .completed_put(claim, &serde_json::Value::Object(order.receipt(order.status)));
        TransactWriteItem::builder().put(put).build()
    }

    /// The follow-ups of the change that left `order` as it is, for the stream to relay; none
    /// for a change that needs none.
    fn outbox_item(&self, order: &StoredOrder, claim: &ClaimWrite) -> Option<TransactWriteItem> {
        let entry: OutboxEntry = follow_ups::outbox_entry(order)?;
        Some(outbox_put(&self.outbox_table, &entry, claim.now))
    }

    /// Every item of an order transaction, in the positions the constants above name.
    fn transaction(
        &self,
        claim: &ClaimWrite,
        order: &StoredOrder,
        order_put: TransactWriteItem,
        stock: Vec<TransactWriteItem>,
    ) -> Vec<TransactWriteItem> {
        let mut items = vec![self.claim_item(claim, order), order_put];
        items.extend(stock);
        items.extend(self.outbox_item(order, claim));
        items
    }

    /// The whole order item, with the attributes its indexes read.
    fn order_item(&self, order: &StoredOrder) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let mut item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(order).map_err(|error| StoreError::new("order serialisation", error))?;
        item.insert(
            "status_placed".to_owned(),
            string(format!("{}#{}", order.status, order.placed_at.to_rfc3339())),
        );
        if order.status.awaits_shipment() {
            // Only orders still to ship are in the sparse ByShipDue index.
            item.insert(
                "ship_due_day".to_owned(),
                string(order.ship_by.format("%Y-%m-%d").to_string()),
            );
        }
        Ok(item)
    }

    fn put_new_order(&self, order: &StoredOrder) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(self.order_item(order)?))
            .condition_expression("attribute_not_exists(order_id)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(|error| StoreError::new("order put", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Replaces the order, only if nobody changed it since it was read as `from`.
    fn put_changed_order(
        &self,
        order: &StoredOrder,
        from: OrderStatus,
        event_id: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.orders_table)
            .set_item(Some(self.order_item(order)?))
            .condition_expression("#status = :from AND NOT contains(events, :event)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", string(from.as_str()))
            .expression_attribute_values(":event", string(event_id))
            .build()
            .map_err(|error| StoreError::new("order put", error))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn stock_update(
        &self,
        seller_id: &str,
        sku: &str,
        expression: &str,
        condition: &str,
        quantity: u32,
    ) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .key("sku_key", string(sku_key(seller_id, sku)))
            .update_expression(expression)
            .condition_expression(condition)
            .expression_attribute_values(":q", number(i64::from(quantity)))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expression are all set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Takes `quantity` of the SKU's available stock, counts it as sold on `day` (for stock
    /// alerts' sales rate) and puts the SKU on the sweep's watchlist.
    fn reserve(&self, seller_id: &str, sku: &str, quantity: u32, day: NaiveDate) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .key("sku_key", string(sku_key(seller_id, sku)))
            .update_expression(
                "SET available = available - :q, reserved = reserved + :q, \
                 #sold = if_not_exists(#sold, :zero) + :q, watch = :watch",
            )
            .condition_expression("available >= :q")
            .expression_attribute_names("#sold", sold_attribute(day))
            .expression_attribute_values(":q", number(i64::from(quantity)))
            .expression_attribute_values(":zero", number(0))
            .expression_attribute_values(":watch", string(WATCHLIST))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .expect("table, key and expression are all set");
        TransactWriteItem::builder().update(update).build()
    }

    /// The stock moves a change makes: a cancelled reservation goes back, a shipped one leaves.
    fn stock_moves(&self, order: &StoredOrder, change: OrderChange) -> Vec<TransactWriteItem> {
        let (expression, condition) = match (order.status, change) {
            (OrderStatus::Accepted, OrderChange::Cancel) => (
                "SET available = available + :q, reserved = reserved - :q",
                "attribute_exists(sku_key)",
            ),
            (OrderStatus::Accepted, OrderChange::Ship) => (
                "SET on_hand = on_hand - :q, reserved = reserved - :q",
                "attribute_exists(sku_key)",
            ),
            // Nothing was reserved: shipping takes what is available, and never below zero.
            (OrderStatus::Backordered, OrderChange::Ship) => (
                "SET on_hand = on_hand - :q, available = available - :q",
                "available >= :q",
            ),
            _ => return Vec::new(),
        };
        order
            .lines
            .iter()
            .map(|line| self.stock_update(&order.seller_id, &line.sku, expression, condition, line.quantity))
            .collect()
    }

    async fn read(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.orders_table)
            .key("order_id", string(order_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB GetItem (order)", error))?;
        output.item.map(from_item).transpose()
    }

    /// The order whose id is taken: this event's own earlier write, or another order.
    async fn existing(
        &self,
        reason: Option<&CancellationReason>,
        event: &EventContext,
    ) -> Result<Applied, StoreRefusal> {
        let order = reason
            .and_then(CancellationReason::item)
            .cloned()
            .map(from_item)
            .transpose()?;
        let Some(order) = order else {
            return Err(StoreError::new("order transaction", "order condition failed without the order").into());
        };
        match order.earlier(event) {
            Some(status) => Ok(Applied::Before { order, status: status? }),
            // The caller is the marketplace, which knows its orders: naming the conflict
            // reveals nothing to a seller.
            None => Err(OrderError::OrderExists {
                order_id: order.order_id,
            }
            .into()),
        }
    }

    /// Stores the order as backordered, nothing reserved, after `short` lines failed; `None`
    /// when the transaction collided and the whole placement should be tried again.
    async fn backorder(
        &self,
        order: &NewOrder,
        short: Vec<ShortLine>,
        event: &EventContext,
        claim: &ClaimWrite,
        attempt: u32,
    ) -> Result<Option<Applied>, StoreRefusal> {
        let backordered = StoredOrder::backordered(order, short, event);
        let items = self.transaction(claim, &backordered, self.put_new_order(&backordered)?, Vec::new());
        let reasons = match self.transact(items, request_token(claim, "backorder", attempt)).await {
            Ok(()) => return Ok(Some(Applied::Now(backordered))),
            Err(Failed::Store(error)) => return Err(error.into()),
            Err(Failed::Cancelled(reasons)) => reasons,
        };
        if let Some(error) = unexpected(&reasons) {
            return Err(error.into());
        }
        if collided(&reasons) {
            return Ok(None);
        }
        if is_condition_failure(reasons.get(CLAIM)) {
            return Err(StoreRefusal::ClaimTaken);
        }
        self.existing(reasons.get(ORDER), event).await.map(Some)
    }

    /// The short lines of a placement whose reservations failed, or the first unknown SKU.
    fn short_lines(&self, order: &NewOrder, reasons: &[CancellationReason]) -> Result<Vec<ShortLine>, StoreRefusal> {
        let mut short = Vec::new();
        for (index, (line, reason)) in order.lines.iter().zip(reasons.iter().skip(FIRST_LINE)).enumerate() {
            if !is_condition_failure(Some(reason)) {
                continue;
            }
            let Some(stock) = reason.item() else {
                return Err(OrderError::UnknownSku {
                    field: format!("data.lines[{index}].sku"),
                    sku: line.sku.clone(),
                    seller_id: order.seller_id.clone(),
                }
                .into());
            };
            short.push(ShortLine {
                sku: line.sku.clone(),
                requested: line.quantity,
                available: attribute_i64(stock, "available"),
                lead_time_days: attribute_i64(stock, "lead_time_days").clamp(0, 365) as u32,
            });
        }
        if short.is_empty() {
            return Err(StoreError::new("order transaction", "cancelled, but no line was short").into());
        }
        Ok(short)
    }
}

fn from_item(item: HashMap<String, AttributeValue>) -> Result<StoredOrder, StoreError> {
    serde_dynamo::from_item(item).map_err(|error| StoreError::new("order deserialisation", error))
}

impl OrderStore for DynamoOrders {
    async fn place(&self, order: &NewOrder, event: &EventContext, claim: &ClaimWrite) -> Result<Applied, StoreRefusal> {
        for attempt in 0..ATTEMPTS {
            let accepted = StoredOrder::accepted(order, event);
            let reservations = order
                .lines
                .iter()
                .map(|line| self.reserve(&order.seller_id, &line.sku, line.quantity, event.at.date_naive()))
                .collect();
            let items = self.transaction(claim, &accepted, self.put_new_order(&accepted)?, reservations);
            let reasons = match self.transact(items, request_token(claim, "place", attempt)).await {
                Ok(()) => return Ok(Applied::Now(accepted)),
                Err(Failed::Store(error)) => return Err(error.into()),
                Err(Failed::Cancelled(reasons)) => reasons,
            };
            if let Some(error) = unexpected(&reasons) {
                return Err(error.into());
            }
            if collided(&reasons) {
                back_off(attempt).await;
                continue;
            }
            if is_condition_failure(reasons.get(CLAIM)) {
                return Err(StoreRefusal::ClaimTaken);
            }
            if is_condition_failure(reasons.get(ORDER)) {
                return self.existing(reasons.get(ORDER), event).await;
            }
            let short = self.short_lines(order, &reasons)?;
            match self.backorder(order, short, event, claim, attempt).await? {
                Some(applied) => return Ok(applied),
                None => back_off(attempt).await,
            }
        }
        Err(StoreError::new("order transaction", "kept colliding with concurrent transactions").into())
    }

    async fn change(
        &self,
        request: &ChangeRequest,
        event: &EventContext,
        claim: &ClaimWrite,
    ) -> Result<Applied, StoreRefusal> {
        let not_found = || OrderError::OrderNotFound {
            order_id: request.order.order_id.clone(),
        };
        for attempt in 0..ATTEMPTS {
            let current = self.read(&request.order.order_id).await?.ok_or_else(not_found)?;
            // Another seller's order is not found, not forbidden: its existence is not ours to know.
            if current.seller_id != request.order.seller_id {
                return Err(not_found().into());
            }
            if let Some(status) = current.earlier(event) {
                return Ok(Applied::Before {
                    order: current,
                    status: status?,
                });
            }
            let next = current.changed(request, event)?;
            let moves = self.stock_moves(&current, request.change);
            let move_count = moves.len();
            let items = self.transaction(
                claim,
                &next,
                self.put_changed_order(&next, current.status, &event.id)?,
                moves,
            );
            let reasons = match self.transact(items, request_token(claim, "change", attempt)).await {
                Ok(()) => return Ok(Applied::Now(next)),
                Err(Failed::Store(error)) => return Err(error.into()),
                Err(Failed::Cancelled(reasons)) => reasons,
            };
            if let Some(error) = unexpected(&reasons) {
                return Err(error.into());
            }
            if is_condition_failure(reasons.get(CLAIM)) {
                return Err(StoreRefusal::ClaimTaken);
            }
            let order_changed = is_condition_failure(reasons.get(ORDER));
            let short_line = reasons
                .iter()
                .skip(FIRST_LINE)
                .take(move_count)
                .position(|reason| is_condition_failure(Some(reason)));
            if let (Some(index), false) = (short_line, order_changed) {
                let line = &current.lines[index];
                let available = reasons[index + FIRST_LINE]
                    .item()
                    .map_or(0, |stock| attribute_i64(stock, "available"));
                return Err(OrderError::InsufficientStock {
                    field: "type".to_owned(),
                    sku: line.sku.clone(),
                    requested: line.quantity,
                    available,
                }
                .into());
            }
            // The order changed under us, or the transaction collided: read it again.
            back_off(attempt).await;
        }
        Err(StoreError::new("order transaction", "kept colliding with concurrent changes").into())
    }
}

impl Backorders for DynamoOrders {
    async fn waiting(&self, seller_id: &str) -> Result<Vec<StoredOrder>, StoreError> {
        let mut orders = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.orders_table)
                .index_name("BySellerStatus")
                .key_condition_expression("seller_id = :seller AND begins_with(status_placed, :backordered)")
                .expression_attribute_values(":seller", string(seller_id))
                .expression_attribute_values(":backordered", string(format!("{}#", OrderStatus::Backordered)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| store_error("DynamoDB Query (backordered orders)", error))?;
            for item in page.items.unwrap_or_default() {
                orders.push(from_item(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(orders);
            }
        }
    }

    async fn fill(&self, order: &StoredOrder, cause: &str, at: DateTime<Utc>) -> Result<Fill, StoreError> {
        let filled = order.filled(cause, at);
        let mut items = vec![self.put_changed_order(&filled, OrderStatus::Backordered, cause)?];
        items.extend(
            order
                .lines
                .iter()
                .map(|line| self.reserve(&order.seller_id, &line.sku, line.quantity, at.date_naive())),
        );
        let claim = ClaimWrite {
            key: format!("{cause}#{}", order.order_id),
            fingerprint: String::new(),
            now: at,
        };
        items.extend(self.outbox_item(&filled, &claim));
        for attempt in 0..ATTEMPTS {
            let reasons = match self
                .transact(items.clone(), request_token(&claim, "fill", attempt))
                .await
            {
                Ok(()) => return Ok(Fill::Filled(Box::new(filled))),
                Err(Failed::Store(error)) => return Err(error),
                Err(Failed::Cancelled(reasons)) => reasons,
            };
            if let Some(error) = unexpected(&reasons) {
                return Err(error);
            }
            // The order first: a line is short only for an order still waiting.
            if is_condition_failure(reasons.first()) {
                return Ok(Fill::Changed);
            }
            if reasons.iter().skip(1).any(|reason| is_condition_failure(Some(reason))) {
                return Ok(Fill::Short);
            }
            back_off(attempt).await;
        }
        Err(StoreError::new(
            "backorder transaction",
            "kept colliding with concurrent transactions",
        ))
    }
}
