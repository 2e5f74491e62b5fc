//! The follow-ups each order change asks of the other functions: a stock change for stock
//! alerts and an email for the buyer. Keys are derived from the order and the status it
//! reached, which each order reaches at most once, so a retried change repeats the same keys.

use serde_json::{Value, json};

use super::status::OrderStatus;
use super::store::StoredOrder;
use crate::follow_ups::{
    EmailRequest, EmailTemplate, FollowUp, Recipient, RecipientRole, StockChange, StockChangeReason,
};

/// The follow-ups of the change that took `order` to `status` (its current status, or for a
/// retried event, the one that event produced).
pub fn for_change(order: &StoredOrder, status: OrderStatus) -> Vec<FollowUp> {
    let (reason, template) = match status {
        OrderStatus::Accepted => (StockChangeReason::Reserved, EmailTemplate::OrderConfirmation),
        OrderStatus::Backordered => (StockChangeReason::Backordered, EmailTemplate::BackorderNotice),
        OrderStatus::Cancelled => (StockChangeReason::Released, EmailTemplate::Cancellation),
        OrderStatus::Shipped => (StockChangeReason::Shipped, EmailTemplate::ShippingConfirmation),
        OrderStatus::Delivered => return Vec::new(),
    };
    vec![stock_change(order, status, reason), email(order, status, template)]
}

fn key(order: &StoredOrder, status: OrderStatus, what: &str) -> String {
    format!("order-intake#{}#{status}#{what}", order.order_id)
}

fn stock_change(order: &StoredOrder, status: OrderStatus, reason: StockChangeReason) -> FollowUp {
    let skus = if status == OrderStatus::Backordered {
        order.short_lines.iter().map(|line| line.sku.clone()).collect()
    } else {
        order.lines.iter().map(|line| line.sku.clone()).collect()
    };
    FollowUp::StockChange(StockChange {
        dedupe_key: key(order, status, "stock"),
        seller_id: order.seller_id.clone(),
        skus,
        reason,
        order_id: Some(order.order_id.clone()),
    })
}

fn email(order: &StoredOrder, status: OrderStatus, template: EmailTemplate) -> FollowUp {
    FollowUp::Email(EmailRequest {
        dedupe_key: key(order, status, "email"),
        template,
        recipient: Recipient {
            role: RecipientRole::Buyer,
            id: order.buyer.id.clone(),
            name: order.buyer.name.clone(),
            email: order.buyer.email.clone(),
        },
        locale: order.buyer.locale.clone(),
        data: email_data(order, status),
    })
}

/// What the buyer's email shows, amounts already as decimal strings of the order's currency.
fn email_data(order: &StoredOrder, status: OrderStatus) -> Value {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| {
            json!({
                "sku": line.sku,
                "quantity": line.quantity,
                "unit_price": order.amount(line.unit_price_minor),
                "line_total": order.amount(line.unit_price_minor * i64::from(line.quantity)),
            })
        })
        .collect();
    json!({
        "order_id": order.order_id,
        "seller_id": order.seller_id,
        "status": status,
        "currency": order.currency,
        "total": order.amount(order.total_minor),
        "lines": lines,
        "placed_at": order.placed_at,
        "ship_by": order.ship_by,
        "expected_by": order.expected_by,
        "shipment": order.shipment,
    })
}
