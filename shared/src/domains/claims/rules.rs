//! Who may open what, with no I/O: each reason's rule, checked against the order, the refund
//! or the thread as they are now, and what the claim asks priced against what the order has
//! left to refund. Every broken rule is refused with its own code and nothing is stored.
//!
//! | reason | the rule |
//! |---|---|
//! | `not_received` | shipped at least [`ClaimRules::not_received_days`] before and not delivered, or not shipped and past its ship-by time |
//! | `not_as_described` | delivered, at most [`CLAIM_WINDOW_DAYS`] before |
//! | `refund_refused` | names a refund of this order the seller rejected |
//! | `refund_not_paid` | names a refund of this order approved at least [`PAYOUT_DAYS`] before |
//! | `no_seller_response` | names a question about this order whose answer is overdue |
//!
//! And for every reason: the order is the seller's (else `404`) and the buyer's, not
//! cancelled, has no other claim open, and has something left to refund.

use chrono::{DateTime, Duration, Utc};

use super::records::OpeningContext;
use super::validate::{Asked, ClaimError, ClaimOpening, ClaimReason};
use crate::domains::orders::{OrderStatus, StoredOrder};
use crate::domains::refunds::policy::{RefundLine, asked_at, fits};
use crate::domains::refunds::records::RefundState;
use crate::domains::refunds::validate::RefundError;
use crate::values::money::{Currency, Money};

/// How long after delivery a buyer may claim an item is not as described.
pub const CLAIM_WINDOW_DAYS: i64 = 90;
/// How long an approved refund may take to reach the buyer before its absence is a claim.
pub const PAYOUT_DAYS: i64 = 10;

/// The rules the deployment sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimRules {
    /// Days after shipping a buyer may say an order never came (`NotReceivedDays`).
    pub not_received_days: i64,
}

impl Default for ClaimRules {
    fn default() -> Self {
        Self { not_received_days: 14 }
    }
}

/// A claim its rules allow: what it asks, priced in the order's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub lines: Vec<RefundLine>,
    pub asked: Money,
}

pub fn admit(
    opening: &ClaimOpening,
    context: &OpeningContext,
    rules: ClaimRules,
    received_at: DateTime<Utc>,
) -> Result<Admitted, ClaimError> {
    let order = context
        .order
        .as_ref()
        .filter(|order| order.seller_id == opening.seller_id)
        .ok_or_else(|| ClaimError::OrderNotFound {
            order_id: opening.order_id.clone(),
        })?;
    if order.buyer.id != opening.buyer_id {
        return Err(ClaimError::BuyerMismatch {
            order_id: order.order_id.clone(),
            buyer_id: opening.buyer_id.clone(),
        });
    }
    if order.status == OrderStatus::Cancelled {
        return Err(ClaimError::OrderCancelled {
            order_id: order.order_id.clone(),
        });
    }
    let asked_at = asked_at(opening.created_at, received_at).map_err(|_| ClaimError::CreatedInFuture {
        at: opening.created_at.to_rfc3339(),
        now: received_at.to_rfc3339(),
    })?;
    if let Some(open) = context.open.as_ref().filter(|open| open.claim_id != opening.claim_id) {
        return Err(ClaimError::ClaimAlreadyOpen {
            order_id: order.order_id.clone(),
            claim_id: open.claim_id.clone(),
        });
    }
    reason_holds(opening, order, context, rules, asked_at)?;
    priced(opening, order)
}

fn reason_holds(
    opening: &ClaimOpening,
    order: &StoredOrder,
    context: &OpeningContext,
    rules: ClaimRules,
    asked_at: DateTime<Utc>,
) -> Result<(), ClaimError> {
    let order_id = || order.order_id.clone();
    let refund_id = || opening.refund_id.clone().unwrap_or_default();
    let refund_of_order = context
        .refund
        .as_ref()
        .filter(|refund| refund.order_id == order.order_id && refund.buyer_id == opening.buyer_id);
    match opening.reason {
        ClaimReason::NotReceived => {
            if order.delivered_at.is_some() {
                return Err(ClaimError::AlreadyDelivered { order_id: order_id() });
            }
            let from = match order.shipped_at {
                Some(shipped_at) => shipped_at + Duration::days(rules.not_received_days),
                None => order.ship_by,
            };
            // Unshipped, the ship-by time itself has to have passed.
            let early = if order.shipped_at.is_some() {
                asked_at < from
            } else {
                asked_at <= from
            };
            if early {
                return Err(ClaimError::TooEarlyForNotReceived {
                    order_id: order_id(),
                    from: from.to_rfc3339(),
                });
            }
        }
        ClaimReason::NotAsDescribed => {
            let delivered_at = order
                .delivered_at
                .ok_or_else(|| ClaimError::NotDelivered { order_id: order_id() })?;
            let last_day = (delivered_at + Duration::days(CLAIM_WINDOW_DAYS)).date_naive();
            if asked_at.date_naive() > last_day {
                return Err(ClaimError::OutsideClaimWindow {
                    order_id: order_id(),
                    last_day: last_day.to_string(),
                });
            }
        }
        ClaimReason::RefundRefused => {
            if !refund_of_order.is_some_and(|refund| refund.state == RefundState::Rejected) {
                return Err(ClaimError::RefundNotRejected {
                    refund_id: refund_id(),
                    order_id: order_id(),
                });
            }
        }
        ClaimReason::RefundNotPaid => {
            let approved = refund_of_order
                .filter(|refund| refund.state == RefundState::Approved)
                .ok_or_else(|| ClaimError::RefundNotApproved {
                    refund_id: refund_id(),
                    order_id: order_id(),
                })?;
            let approved_at = approved.decided_at.unwrap_or(approved.received_at);
            let from = approved_at + Duration::days(PAYOUT_DAYS);
            if asked_at < from {
                return Err(ClaimError::TooEarlyForRefundNotPaid {
                    refund_id: refund_id(),
                    approved_at: approved_at.to_rfc3339(),
                    from: from.to_rfc3339(),
                });
            }
        }
        ClaimReason::NoSellerResponse => {
            let breached = context.thread.as_ref().is_some_and(|thread| {
                thread.seller_id == order.seller_id
                    && thread.buyer.id == opening.buyer_id
                    && thread.order_id.as_deref() == Some(order.order_id.as_str())
                    && thread.clock.as_ref().is_some_and(|clock| clock.breached)
            });
            if !breached {
                return Err(ClaimError::QuestionNotBreached {
                    thread_id: opening.thread_id.clone().unwrap_or_default(),
                    order_id: order_id(),
                });
            }
        }
    }
    Ok(())
}

/// What the claim asks, in the order's currency, within what the order has left to refund.
/// Claimed lines are priced at what was paid for their units; none of them is restocked.
fn priced(opening: &ClaimOpening, order: &StoredOrder) -> Result<Admitted, ClaimError> {
    let currency = Currency::parse(&order.currency).map_err(|_| RefundError::InvalidCurrency {
        field: "data.currency".to_owned(),
    })?;
    if let Some(given) = opening.currency.filter(|given| *given != currency) {
        return Err(RefundError::CurrencyMismatch {
            order_id: order.order_id.clone(),
            given: given.code(),
            paid: currency.code(),
        }
        .into());
    }
    let left = order.total_minor - order.refunded.total_minor;
    if left <= 0 {
        return Err(ClaimError::NothingLeftToRefund {
            order_id: order.order_id.clone(),
        });
    }
    let (lines, total) = match &opening.asked {
        Asked::Rest => (Vec::new(), left),
        Asked::Amount(amount) => (Vec::new(), amount.of(currency, "data.amount")?.minor_units()),
        Asked::Lines(asked) => {
            let mut lines = Vec::with_capacity(asked.len());
            for (index, line) in asked.iter().enumerate() {
                let bought = order
                    .lines
                    .iter()
                    .find(|bought| bought.line_id == line.line_id)
                    .ok_or_else(|| RefundError::UnknownLine {
                        field: format!("data.lines[{index}].line_id"),
                        order_id: order.order_id.clone(),
                        line_id: line.line_id.clone(),
                    })?;
                lines.push(RefundLine {
                    line_id: line.line_id.clone(),
                    sku: bought.sku.clone(),
                    quantity: line.quantity,
                    amount_minor: bought.unit_price_minor.saturating_mul(i64::from(line.quantity)),
                    restock: false,
                });
            }
            let total = lines
                .iter()
                .fold(0_i64, |sum, line| sum.saturating_add(line.amount_minor));
            (lines, total)
        }
    };
    fits(order, &lines, total)?;
    Ok(Admitted {
        lines,
        asked: Money::from_minor(total, currency),
    })
}
