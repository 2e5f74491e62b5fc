//! An order as stored, and what each event makes of it: the whole record later events and
//! follow-ups need, its history of applied events, and the answer the webhook gives.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::error::OrderError;
use super::schema::CancelledBy;
use super::status::{OrderChange, OrderStatus};
use super::validate::{Address, Buyer, NewOrder, OrderRef, Shipment};
use crate::storage::{Item, StoreError};
use crate::values::money::{Currency, Money};

/// An order as stored: everything later events and follow-ups need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOrder {
    pub order_id: String,
    pub seller_id: String,
    pub status: OrderStatus,
    pub buyer: Buyer,
    pub currency: String,
    pub total_minor: i64,
    pub lines: Vec<StoredLine>,
    pub placed_at: DateTime<Utc>,
    pub ship_by: DateTime<Utc>,
    pub shipping_address: Address,
    /// Lines that were short when the order came in (backordered orders only).
    #[serde(default)]
    pub short_lines: Vec<ShortLine>,
    /// When a backordered order can be expected to ship: its longest restock lead time.
    #[serde(default)]
    pub expected_by: Option<DateTime<Utc>>,
    #[serde(default)]
    pub shipment: Option<Shipment>,
    #[serde(default)]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<CancelledBy>,
    /// What approved refunds gave back, per line and in all.
    #[serde(default)]
    pub refunded: Refunded,
    /// The ids of the events applied to this order, for the transactions' conditions.
    pub events: Vec<String>,
    /// What each of those events did: the status it produced and its body's fingerprint, so a
    /// retry after its idempotency claim expired is answered with what it did (not with the
    /// order's latest status), and a reused id with another body is still refused.
    pub history: Vec<AppliedEvent>,
    /// Counts the order's changes; each is written only over the version it was made from,
    /// so two changes racing from one reading cannot both apply.
    #[serde(default)]
    pub version: u64,
    /// When the buyer's personal data was erased from it (see [`super::erasure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

/// What approved refunds gave back of an order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refunded {
    /// By line id.
    #[serde(default)]
    pub lines: BTreeMap<String, RefundedLine>,
    /// Every refund's amount, goodwill ones included, in the order's minor units.
    #[serde(default)]
    pub total_minor: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundedLine {
    pub quantity: u32,
    pub amount_minor: i64,
}

impl StoredOrder {
    /// The order after a refund of `lines` (line id, units, money) and `amount` in all.
    pub fn refunded_by<'a>(&self, lines: impl IntoIterator<Item = (&'a str, u32, i64)>, amount_minor: i64) -> Self {
        let mut next = self.clone();
        next.version += 1;
        for (line_id, quantity, line_minor) in lines {
            let refunded = next.refunded.lines.entry(line_id.to_owned()).or_default();
            refunded.quantity += quantity;
            refunded.amount_minor += line_minor;
        }
        next.refunded.total_minor += amount_minor;
        next
    }

    /// `refunded` once refunds gave back all that was paid, `partially_refunded` before.
    pub fn refund_status(&self) -> Option<&'static str> {
        match self.refunded.total_minor {
            0 => None,
            total if total >= self.total_minor => Some("refunded"),
            _ => Some("partially_refunded"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedEvent {
    pub event_id: String,
    pub status: OrderStatus,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLine {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortLine {
    pub sku: String,
    pub requested: u32,
    pub available: i64,
    pub lead_time_days: u32,
}

/// The event being applied: its id, its body's fingerprint, and when the marketplace says it
/// happened.
#[derive(Debug, Clone, PartialEq)]
pub struct EventContext {
    pub id: String,
    pub fingerprint: String,
    pub at: DateTime<Utc>,
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// This event changed the order now.
    Now(StoredOrder),
    /// This event was applied before, producing `status`, and its idempotency claim has
    /// expired since: a late retry, answered as a duplicate. The order may have moved on.
    Earlier { order: StoredOrder, status: OrderStatus },
}

/// Why an event was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The write set failed on the event's claim: another delivery of it committed first.
    #[error("the event's idempotency claim is taken")]
    ClaimTaken(Option<Item>),
    /// This event id changed the order before, with another body.
    #[error("the event id was applied before with another body")]
    EventReused,
    #[error(transparent)]
    Order(#[from] OrderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApplyError> for crate::mechanisms::webhook::NotAccepted {
    fn from(error: ApplyError) -> Self {
        use crate::mechanisms::webhook::{NotAccepted, Rejection, event_id_reused};
        match error {
            ApplyError::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            ApplyError::EventReused => NotAccepted::Refused(event_id_reused()),
            ApplyError::Order(error) => NotAccepted::Refused(error.into()),
            ApplyError::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

/// A change to an existing order, as an event asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRequest {
    pub order: OrderRef,
    pub change: OrderChange,
    pub shipment: Option<Shipment>,
    /// Who cancelled, when the marketplace says (cancels only).
    pub cancelled_by: Option<CancelledBy>,
}

/// What a restock did for one backordered order.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    Filled(Box<StoredOrder>),
    /// A line's stock is still short: nothing reserved.
    Short,
    /// The order is no longer backordered (filled by another restock, or cancelled).
    Changed,
}

impl StoredOrder {
    pub fn accepted(order: &NewOrder, event: &EventContext) -> Self {
        Self {
            order_id: order.order_id.clone(),
            seller_id: order.seller_id.clone(),
            status: OrderStatus::Accepted,
            buyer: order.buyer.clone(),
            currency: order.total.currency().code().to_owned(),
            total_minor: order.total.minor_units(),
            lines: order
                .lines
                .iter()
                .map(|line| StoredLine {
                    line_id: line.line_id.clone(),
                    sku: line.sku.clone(),
                    quantity: line.quantity,
                    unit_price_minor: line.unit_price.minor_units(),
                    title: line.title.clone(),
                })
                .collect(),
            placed_at: event.at,
            ship_by: order.ship_by,
            shipping_address: order.shipping_address.clone(),
            short_lines: Vec::new(),
            expected_by: None,
            shipment: None,
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            cancelled_by: None,
            refunded: Refunded::default(),
            events: vec![event.id.clone()],
            history: vec![AppliedEvent {
                event_id: event.id.clone(),
                status: OrderStatus::Accepted,
                fingerprint: event.fingerprint.clone(),
            }],
            version: 0,
            erased_at: None,
        }
    }

    /// Nothing reserved; expected once the slowest short SKU can be restocked.
    pub fn backordered(order: &NewOrder, short_lines: Vec<ShortLine>, event: &EventContext) -> Self {
        let longest_lead = short_lines.iter().map(|line| line.lead_time_days).max().unwrap_or(0);
        let mut backordered = Self {
            status: OrderStatus::Backordered,
            expected_by: Some(event.at + Duration::days(i64::from(longest_lead))),
            short_lines,
            ..Self::accepted(order, event)
        };
        backordered.history[0].status = OrderStatus::Backordered;
        backordered
    }

    /// The order after `request`, or why the lifecycle refuses it.
    pub fn changed(&self, request: &ChangeRequest, event: &EventContext) -> Result<Self, OrderError> {
        let mut next = self.clone();
        next.version += 1;
        next.status = self.status.apply(request.change)?;
        match request.change {
            OrderChange::Ship => {
                next.shipment = request.shipment.clone();
                next.shipped_at = Some(event.at);
            }
            OrderChange::Deliver => next.delivered_at = Some(event.at),
            OrderChange::Cancel => {
                next.cancelled_at = Some(event.at);
                next.cancelled_by = request.cancelled_by;
            }
        }
        next.events.push(event.id.clone());
        next.history.push(AppliedEvent {
            event_id: event.id.clone(),
            status: next.status,
            fingerprint: event.fingerprint.clone(),
        });
        Ok(next)
    }

    /// A backordered order whose lines a restock reserved: accepted now, for the reason
    /// `cause` names (`stock-alerts#<event>`), its expected date met.
    pub fn filled(&self, cause: &str, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next.status = OrderStatus::Accepted;
        next.short_lines.clear();
        next.expected_by = None;
        next.events.push(cause.to_owned());
        next.history.push(AppliedEvent {
            event_id: cause.to_owned(),
            status: OrderStatus::Accepted,
            fingerprint: format!("filled at {}", at.to_rfc3339()),
        });
        next
    }

    /// Whether the order was ever in `status`.
    pub fn was(&self, status: OrderStatus) -> bool {
        self.history.iter().any(|applied| applied.status == status)
    }

    /// What `event` did to this order before, if it was applied: the status it produced,
    /// or `EventReused` if that event id came with another body.
    pub fn earlier(&self, event: &EventContext) -> Option<Result<OrderStatus, ApplyError>> {
        let applied = self.history.iter().find(|applied| applied.event_id == event.id)?;
        Some(if applied.fingerprint == event.fingerprint {
            Ok(applied.status)
        } else {
            Err(ApplyError::EventReused)
        })
    }

    /// What the webhook answers for the event that left this order in `status` (its status
    /// now, or for a late retry, the one that event produced); kept as the event's outcome.
    pub fn receipt(&self, status: OrderStatus) -> serde_json::Map<String, serde_json::Value> {
        let mut receipt = serde_json::Map::new();
        receipt.insert("order_id".to_owned(), self.order_id.clone().into());
        receipt.insert("order_status".to_owned(), status.as_str().into());
        if status == OrderStatus::Backordered {
            let short_skus = self.short_lines.iter().map(|line| line.sku.clone()).collect::<Vec<_>>();
            receipt.insert("short_skus".to_owned(), short_skus.into());
            receipt.insert("expected_by".to_owned(), serde_json::json!(self.expected_by));
        }
        receipt
    }

    pub fn amount(&self, minor: i64) -> String {
        match Currency::parse(&self.currency) {
            Ok(currency) => Money::from_minor(minor, currency).to_string(),
            Err(_) => minor.to_string(),
        }
    }
}
