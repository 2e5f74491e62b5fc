//! `order.created`: every line reserved, or none and the order backordered; in one write set
//! with the event's claim and the change's follow-ups.
//!
//! The set holds the claim (completed, with the answer), the order (only if its id is new),
//! one reservation per line (each only if that much is available) and the outbox entry. Either
//! every line is reserved or nothing is written, so concurrent orders can never take a SKU
//! below zero. When the set is cancelled, its reasons say why without a read: the claim is
//! taken (a duplicate), the order exists (a late retry of this event, or a reused id), or which
//! lines were short (with their stock and lead time) or unknown. A short order is then written
//! as backordered, nothing reserved: two requests.

use serde_json::Value;

use super::error::OrderError;
use super::order::{Applied, ApplyError, EventContext, ShortLine, StoredOrder};
use super::outbox_entry::outbox_entry;
use super::records::{order_from, put_new};
use super::validate::NewOrder;
use crate::domains::stock::inventory;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::storage::{Cancelled, Storage, StoreError, WriteFailure, WriteSet, back_off, number};

/// Write sets that collide with another on the same items are tried this often, with full
/// jitter: under a burst on one SKU (64 orders at once in the tests) five was too few.
pub(super) const ATTEMPTS: u32 = 8;

/// Where each write sits in an order's write set ([`order_writes`]): the claim, the order,
/// then one stock move per line.
pub(super) const CLAIM: usize = 0;
pub(super) const ORDER: usize = 1;
pub(super) const FIRST_LINE: usize = 2;

/// The claim, the order and the outbox entry of `order`'s change, with `stock` moves between.
pub(super) fn order_writes(
    claim: &Claim,
    order: &StoredOrder,
    order_write: crate::storage::Write,
    stock: impl IntoIterator<Item = crate::storage::Write>,
) -> WriteSet {
    let mut writes = WriteSet::new();
    writes.push(claim.completed(&Value::Object(order.receipt(order.status))));
    writes.push(order_write);
    writes.extend(stock);
    writes.extend(outbox_entry(order).map(|entry| outbox::put(&entry, claim.now)));
    writes.extend(super::tally::counted(order));
    writes.extend(super::tally::sold(order));
    writes
}

/// Places a new order: accepted with every line reserved, or backordered with none.
pub async fn place_order(
    store: &impl Storage,
    order: &NewOrder,
    event: &EventContext,
    claim: &Claim,
) -> Result<Applied, ApplyError> {
    for attempt in 0..ATTEMPTS {
        let accepted = StoredOrder::accepted(order, event);
        let reservations = order
            .lines
            .iter()
            .map(|line| inventory::reserve(&order.seller_id, &line.sku, line.quantity, event.at.date_naive()));
        let writes = order_writes(claim, &accepted, put_new(&accepted)?, reservations);
        let cancelled = match store.write(writes).await {
            Ok(()) => return Ok(Applied::Now(accepted)),
            Err(WriteFailure::Store(error)) => return Err(error.into()),
            Err(WriteFailure::Cancelled(cancelled)) => cancelled,
        };
        if cancelled.collided() {
            back_off(attempt).await;
            continue;
        }
        if let Some(outcome) = taken(&cancelled, event) {
            return outcome;
        }
        let short = short_lines(order, &cancelled)?;
        match backorder(store, order, short, event, claim).await? {
            Some(applied) => return Ok(applied),
            None => back_off(attempt).await,
        }
    }
    Err(StoreError::new("order transaction", "kept colliding with concurrent transactions").into())
}

/// What a cancelled placement says when its claim or its order id was in the way.
fn taken(cancelled: &Cancelled, event: &EventContext) -> Option<Result<Applied, ApplyError>> {
    if cancelled.failed(CLAIM) {
        return Some(Err(ApplyError::ClaimTaken(cancelled.existing(CLAIM).cloned())));
    }
    if cancelled.failed(ORDER) {
        return Some(existing(cancelled.existing(ORDER).cloned(), event));
    }
    None
}

/// The order whose id is taken: this event's own earlier write, or another order.
fn existing(item: Option<crate::storage::Item>, event: &EventContext) -> Result<Applied, ApplyError> {
    let Some(item) = item else {
        return Err(StoreError::new("order transaction", "order condition failed without the order").into());
    };
    let order = order_from(item)?;
    match order.earlier(event) {
        Some(status) => Ok(Applied::Earlier { order, status: status? }),
        // The caller is the marketplace, which knows its orders: naming the conflict
        // reveals nothing to a seller.
        None => Err(OrderError::OrderExists {
            order_id: order.order_id,
        }
        .into()),
    }
}

/// Stores the order as backordered, nothing reserved, after `short` lines failed; `None`
/// when the write set collided and the whole placement should be tried again.
async fn backorder(
    store: &impl Storage,
    order: &NewOrder,
    short: Vec<ShortLine>,
    event: &EventContext,
    claim: &Claim,
) -> Result<Option<Applied>, ApplyError> {
    let backordered = StoredOrder::backordered(order, short, event);
    let writes = order_writes(claim, &backordered, put_new(&backordered)?, []);
    match store.write(writes).await {
        Ok(()) => Ok(Some(Applied::Now(backordered))),
        Err(WriteFailure::Store(error)) => Err(error.into()),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.collided() => Ok(None),
        Err(WriteFailure::Cancelled(cancelled)) => match taken(&cancelled, event) {
            Some(outcome) => outcome.map(Some),
            None => {
                Err(StoreError::new("backorder transaction", "cancelled, but neither claim nor order failed").into())
            }
        },
    }
}

/// The short lines of a placement whose reservations failed, or the first unknown SKU.
fn short_lines(order: &NewOrder, cancelled: &Cancelled) -> Result<Vec<ShortLine>, ApplyError> {
    let mut short = Vec::new();
    for (index, line) in order.lines.iter().enumerate() {
        let position = FIRST_LINE + index;
        if !cancelled.failed(position) {
            continue;
        }
        let Some(stock) = cancelled.existing(position) else {
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
            available: number(stock, "available"),
            lead_time_days: number(stock, "lead_time_days").clamp(0, 365) as u32,
        });
    }
    if short.is_empty() {
        return Err(StoreError::new("order transaction", "cancelled, but no line was short").into());
    }
    Ok(short)
}
