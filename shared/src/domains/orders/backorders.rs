//! Filling a backordered order once its stock is there: the order accepted and every line
//! reserved, or nothing, in one write set with its follow-ups (the buyer's "being prepared"
//! email). Written only over the version read, so two restocks racing never fill it twice.

use chrono::{DateTime, Utc};

use super::order::{Fill, StoredOrder};
use super::outbox_entry::outbox_entry;
use super::place::ATTEMPTS;
use super::records::{FILL_ATTRIBUTES, update_changed};
use crate::domains::stock::inventory;
use crate::mechanisms::outbox;
use crate::storage::{Storage, StoreError, WriteFailure, WriteSet, back_off};

/// The order comes first in a fill's write set, its lines' reservations after it.
const ORDER: usize = 0;

/// Reserves every line of a backordered order, or none, and accepts it; `cause` names the
/// restock or count that freed the stock (`stock-alerts#<event>…`).
pub async fn fill_backorder(
    store: &impl Storage,
    order: &StoredOrder,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<Fill, StoreError> {
    let filled = order.filled(cause, at);
    let mut writes = WriteSet::new();
    writes.push(update_changed(&filled, FILL_ATTRIBUTES)?);
    writes.extend(
        order
            .lines
            .iter()
            .map(|line| inventory::reserve(&order.seller_id, &line.sku, line.quantity, at.date_naive())),
    );
    writes.extend(outbox_entry(&filled).map(|entry| outbox::put(&entry, at)));
    writes.extend(super::tally::filled(order, at));
    for attempt in 0..ATTEMPTS {
        let cancelled = match store.write(writes.clone()).await {
            Ok(()) => return Ok(Fill::Filled(Box::new(filled))),
            Err(WriteFailure::Store(error)) => return Err(error),
            Err(WriteFailure::Cancelled(cancelled)) => cancelled,
        };
        // The order first: a line is short only for an order still waiting.
        if cancelled.failed(ORDER) {
            return Ok(Fill::Changed);
        }
        if cancelled.first_failed(1..writes.len()).is_some() {
            return Ok(Fill::Short);
        }
        back_off(attempt).await;
    }
    Err(StoreError::new(
        "backorder transaction",
        "kept colliding with concurrent transactions",
    ))
}
