//! The refund policy, with no I/O: whose order it is, whether it is within its window, what is
//! left to refund of it, and whether a refund is small enough to approve without the seller.
//! The same caps are checked again at approval, over the order as it is then.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{RefundError, RefundReason, RefundRequest, Requested};
use crate::domains::orders::{OrderStatus, StoredOrder};
use crate::domains::sellers::SellerSettings;
use crate::values::money::{Currency, Money};

/// A buyer may say an order never came this long after it shipped.
pub const NOT_RECEIVED_AFTER_DAYS: i64 = 14;
/// Approved refunds a buyer may have had in [`HISTORY_DAYS`] and still be refunded automatically.
pub const AUTOMATIC_REFUNDS_ALLOWED: usize = 3;
pub const HISTORY_DAYS: i64 = 90;
/// How far a request's own `created_at` may be ahead of the back office's clock.
pub const CLOCK_SKEW_SECONDS: i64 = 300;
/// How long the platform may take to deliver a request (its retries span three days). A
/// request is judged as of when it says it was asked, but never as of earlier than this
/// before it arrived: the windows cannot be reopened by an old date.
pub const DELIVERY_DAYS: i64 = 3;

/// One line of a refund as stored: what it gives back and whether the units return to stock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundLine {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    pub amount_minor: i64,
    pub restock: bool,
}

/// A request the order allows: its lines (none for goodwill) and amount, in the order's currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessed {
    pub lines: Vec<RefundLine>,
    pub amount: Money,
}

/// What happens to a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Pending {
        due: DateTime<Utc>,
        remind_at: DateTime<Utc>,
    },
}

/// The request, received at `received_at`, against its order and the seller's settings.
pub fn assess(
    request: &RefundRequest,
    order: Option<&StoredOrder>,
    settings: &SellerSettings,
    received_at: DateTime<Utc>,
) -> Result<Assessed, RefundError> {
    let order = order
        .filter(|order| order.seller_id == request.seller_id)
        .ok_or_else(|| RefundError::OrderNotFound {
            order_id: request.order_id.clone(),
        })?;
    if order.buyer.id != request.buyer_id {
        return Err(RefundError::BuyerMismatch {
            order_id: order.order_id.clone(),
            buyer_id: request.buyer_id.clone(),
        });
    }
    if order.status == OrderStatus::Cancelled {
        return Err(RefundError::OrderCancelled {
            order_id: order.order_id.clone(),
        });
    }
    let currency = order_currency(order)?;
    if let Some(given) = request.currency.filter(|given| *given != currency) {
        return Err(RefundError::CurrencyMismatch {
            order_id: order.order_id.clone(),
            given: given.code(),
            paid: currency.code(),
        });
    }
    within_window(
        request.reason,
        asked_at(request.created_at, received_at)?,
        order,
        settings,
    )?;
    let assessed = match &request.requested {
        Requested::Goodwill(amount) => Assessed {
            lines: Vec::new(),
            amount: amount.of(currency, "data.amount")?,
        },
        Requested::Lines(lines) => {
            let mut stored = Vec::with_capacity(lines.len());
            for (index, line) in lines.iter().enumerate() {
                let field = |name: &str| format!("data.lines[{index}].{name}");
                let bought = order
                    .lines
                    .iter()
                    .find(|bought| bought.line_id == line.line_id)
                    .ok_or_else(|| RefundError::UnknownLine {
                        field: field("line_id"),
                        order_id: order.order_id.clone(),
                        line_id: line.line_id.clone(),
                    })?;
                let amount_minor = match &line.amount {
                    Some(amount) => amount.of(currency, &field("amount"))?.minor_units(),
                    None => units_price(bought.unit_price_minor, line.quantity),
                };
                stored.push(RefundLine {
                    line_id: line.line_id.clone(),
                    sku: bought.sku.clone(),
                    quantity: line.quantity,
                    amount_minor,
                    restock: line.restock,
                });
            }
            Assessed {
                amount: Money::from_minor(total_of(&stored), currency),
                lines: stored,
            }
        }
    };
    fits(order, &assessed.lines, assessed.amount.minor_units())?;
    Ok(assessed)
}

/// What `quantity` units cost at `unit_price_minor`. Saturating: no order holds that much, so
/// a saturated price is refused by every cap it meets.
fn units_price(unit_price_minor: i64, quantity: u32) -> i64 {
    unit_price_minor.saturating_mul(i64::from(quantity))
}

/// The lines' amounts summed, saturating for the same reason: two lines of an amount near
/// `i64::MAX` (a large KWD order named by units) must be refused by the order's cap, not
/// overflow.
fn total_of(lines: &[RefundLine]) -> i64 {
    lines
        .iter()
        .fold(0_i64, |total, line| total.saturating_add(line.amount_minor))
}

fn order_currency(order: &StoredOrder) -> Result<Currency, RefundError> {
    Currency::parse(&order.currency).map_err(|_| RefundError::InvalidCurrency {
        field: "data.currency".to_owned(),
    })
}

/// The moment a request's windows are judged at: its `created_at`, unless that is ahead of
/// our clock (refused) or older than its delivery could have taken (then that oldest moment).
pub fn asked_at(created_at: DateTime<Utc>, received_at: DateTime<Utc>) -> Result<DateTime<Utc>, RefundError> {
    if created_at > received_at + Duration::seconds(CLOCK_SKEW_SECONDS) {
        return Err(RefundError::CreatedInFuture {
            at: created_at.to_rfc3339(),
            now: received_at.to_rfc3339(),
        });
    }
    Ok(created_at.clamp(received_at - Duration::days(DELIVERY_DAYS), received_at))
}

/// Delivered and within the seller's return window, counted in whole UTC days from delivery;
/// for `not_received`, shipped at least 14 days before and not delivered.
pub fn within_window(
    reason: RefundReason,
    asked_at: DateTime<Utc>,
    order: &StoredOrder,
    settings: &SellerSettings,
) -> Result<(), RefundError> {
    let order_id = || order.order_id.clone();
    if reason == RefundReason::NotReceived {
        let shipped_at = order
            .shipped_at
            .ok_or_else(|| RefundError::NotShipped { order_id: order_id() })?;
        if order.delivered_at.is_some() {
            return Err(RefundError::AlreadyDelivered { order_id: order_id() });
        }
        let from = shipped_at + Duration::days(NOT_RECEIVED_AFTER_DAYS);
        if asked_at < from {
            return Err(RefundError::TooEarlyForNotReceived {
                order_id: order_id(),
                from: from.to_rfc3339(),
            });
        }
        return Ok(());
    }
    let delivered_at = order
        .delivered_at
        .ok_or_else(|| RefundError::NotDelivered { order_id: order_id() })?;
    let last_day = (delivered_at + Duration::days(i64::from(settings.return_window_days))).date_naive();
    if asked_at.date_naive() > last_day {
        return Err(RefundError::OutsideReturnWindow {
            order_id: order_id(),
            last_day: last_day.to_string(),
        });
    }
    Ok(())
}

/// Whether these lines and this total fit in what the order paid less what was refunded.
pub fn fits(order: &StoredOrder, lines: &[RefundLine], total_minor: i64) -> Result<(), RefundError> {
    let currency = order_currency(order)?;
    let shown = |minor: i64| Money::from_minor(minor.max(0), currency).to_string();
    for (index, line) in lines.iter().enumerate() {
        let field = |name: &str| format!("data.lines[{index}].{name}");
        let Some(bought) = order.lines.iter().find(|bought| bought.line_id == line.line_id) else {
            return Err(RefundError::UnknownLine {
                field: field("line_id"),
                order_id: order.order_id.clone(),
                line_id: line.line_id.clone(),
            });
        };
        let refunded = order.refunded.lines.get(&line.line_id).copied().unwrap_or_default();
        let units_left = bought.quantity.saturating_sub(refunded.quantity);
        if line.quantity > units_left {
            return Err(RefundError::QuantityExceedsRefundable {
                field: field("quantity"),
                line_id: line.line_id.clone(),
                left: units_left,
            });
        }
        // The units asked for cap the money: one unit of ten gives back one unit's price at
        // most, even when the line has the other nine's money left.
        let paid = units_price(bought.unit_price_minor, bought.quantity);
        let amount_left = (paid - refunded.amount_minor).min(units_price(bought.unit_price_minor, line.quantity));
        if line.amount_minor > amount_left {
            return Err(RefundError::LineAmountExceedsRefundable {
                field: field("amount"),
                line_id: line.line_id.clone(),
                left: shown(amount_left),
            });
        }
    }
    let order_left = order.total_minor - order.refunded.total_minor;
    if total_minor > order_left {
        return Err(RefundError::OrderAmountExceedsRefundable {
            field: if lines.is_empty() { "data.amount" } else { "data.lines" }.to_owned(),
            order_id: order.order_id.clone(),
            left: shown(order_left),
        });
    }
    Ok(())
}

/// Approved now when the seller's limit covers it and the buyer has not had many refunds
/// lately; otherwise the seller decides, within its decision time.
pub fn decide(amount: Money, settings: &SellerSettings, recent_approvals: usize, now: DateTime<Utc>) -> Decision {
    if recent_approvals < AUTOMATIC_REFUNDS_ALLOWED && settings.approves_automatically(amount) {
        return Decision::Approved;
    }
    let hours = Duration::hours(i64::from(settings.decision_hours));
    Decision::Pending {
        due: now + hours,
        remind_at: now + hours / 2,
    }
}

/// `lines` giving back `amount_minor` in all, less than they asked: the first lines are paid
/// in full first. The units (and their restock) stay as asked.
pub fn scaled(lines: &[RefundLine], amount_minor: i64) -> Vec<RefundLine> {
    let mut left = amount_minor;
    lines
        .iter()
        .map(|line| {
            let amount = line.amount_minor.min(left).max(0);
            left -= amount;
            RefundLine {
                amount_minor: amount,
                ..line.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::money::Currency;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("EUR").unwrap())
    }

    #[test]
    fn small_refunds_of_buyers_with_few_refunds_are_approved_now() {
        let settings = SellerSettings {
            auto_approve_limit: Some(eur(3000)),
            ..SellerSettings::default()
        };
        let now: DateTime<Utc> = "2026-11-25T10:00:00Z".parse().unwrap();
        assert_eq!(decide(eur(3000), &settings, 2, now), Decision::Approved);
        let Decision::Pending { due, remind_at } = decide(eur(3001), &settings, 0, now) else {
            panic!("over the limit")
        };
        assert_eq!((due - now, remind_at - now), (Duration::hours(48), Duration::hours(24)));
        assert!(
            matches!(decide(eur(100), &settings, 3, now), Decision::Pending { .. }),
            "a fourth refund in 90 days"
        );
    }

    #[test]
    fn a_partial_approval_pays_the_first_lines_first() {
        let line = |id: &str, amount| RefundLine {
            line_id: id.into(),
            sku: "S".into(),
            quantity: 1,
            amount_minor: amount,
            restock: true,
        };
        let scaled = scaled(&[line("a", 500), line("b", 500)], 700);
        assert_eq!(
            scaled.iter().map(|line| line.amount_minor).collect::<Vec<_>>(),
            [500, 200]
        );
    }
}
