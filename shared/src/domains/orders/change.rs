//! `order.cancelled`, `order.shipped`, `order.delivered`: a change to an order the seller has,
//! with the stock it moves, in one write set with the event's claim and follow-ups. The order
//! is read first (its seller, its status, whether this event changed it before), then written
//! only over the version read, so a concurrent change makes it read again.

use super::error::OrderError;
use super::order::{Applied, ApplyError, ChangeRequest, EventContext, StoredOrder};
use super::place::{ATTEMPTS, CLAIM, FIRST_LINE, ORDER, order_writes};
use super::records::{put_changed, read_order};
use super::status::{OrderChange, OrderStatus};
use crate::domains::stock::inventory;
use crate::mechanisms::idempotency::Claim;
use crate::storage::{Storage, StoreError, Write, WriteFailure, back_off, number};

/// Cancels, ships or delivers an order of the seller, moving its stock as the lifecycle says.
pub async fn change_order(
    store: &impl Storage,
    request: &ChangeRequest,
    event: &EventContext,
    claim: &Claim,
) -> Result<Applied, ApplyError> {
    let not_found = || OrderError::OrderNotFound {
        order_id: request.order.order_id.clone(),
    };
    for attempt in 0..ATTEMPTS {
        let current = read_order(store, &request.order.order_id)
            .await?
            .ok_or_else(not_found)?;
        // Another seller's order is not found, not forbidden: its existence is not ours to know.
        if current.seller_id != request.order.seller_id {
            return Err(not_found().into());
        }
        if let Some(status) = current.earlier(event) {
            return Ok(Applied::Earlier {
                order: current,
                status: status?,
            });
        }
        let next = current.changed(request, event)?;
        let moves = stock_moves(&current, request.change);
        let move_count = moves.len();
        let writes = order_writes(claim, &next, put_changed(&next)?, moves);
        let cancelled = match store.write(writes).await {
            Ok(()) => return Ok(Applied::Now(next)),
            Err(WriteFailure::Store(error)) => return Err(error.into()),
            Err(WriteFailure::Cancelled(cancelled)) => cancelled,
        };
        if cancelled.failed(CLAIM) {
            return Err(ApplyError::ClaimTaken(cancelled.existing(CLAIM).cloned()));
        }
        let short = cancelled.first_failed(FIRST_LINE..FIRST_LINE + move_count);
        if let (Some(position), false) = (short, cancelled.failed(ORDER)) {
            let line = &current.lines[position - FIRST_LINE];
            return Err(OrderError::InsufficientStock {
                field: "type".to_owned(),
                sku: line.sku.clone(),
                requested: line.quantity,
                available: cancelled
                    .existing(position)
                    .map_or(0, |stock| number(stock, "available")),
            }
            .into());
        }
        // The order changed under us, or the write set collided: read it again.
        back_off(attempt).await;
    }
    Err(StoreError::new("order transaction", "kept colliding with concurrent changes").into())
}

/// The stock moves a change makes: a cancelled reservation goes back, a shipped one leaves.
fn stock_moves(order: &StoredOrder, change: OrderChange) -> Vec<Write> {
    let (seller, lines) = (&order.seller_id, &order.lines);
    let each = |write: fn(&str, &str, u32) -> Write| -> Vec<Write> {
        lines
            .iter()
            .map(|line| write(seller, &line.sku, line.quantity))
            .collect()
    };
    match (order.status, change) {
        (OrderStatus::Accepted, OrderChange::Cancel) => each(inventory::release),
        (OrderStatus::Accepted, OrderChange::Ship) => each(inventory::ship_reserved),
        // Nothing was reserved: shipping takes what is available, and never below zero.
        (OrderStatus::Backordered, OrderChange::Ship) => each(inventory::ship_unreserved),
        _ => Vec::new(),
    }
}
