//! The outbox entry of each order change: what it asks of the other functions, a stock change
//! for stock alerts and an email for the buyer (delivery asks only for the review request).
//! Keys are derived from the order and the status it reached, which each order reaches at most
//! once, so a retried change repeats the same keys.

use super::order::StoredOrder;
use super::status::OrderStatus;
use crate::domains::email::request::{OrderEmail, OrderEmailLine, ShipmentEmail};
use crate::domains::email::{EmailContent, EmailRequest};
use crate::domains::stock::change::{StockChange, StockChangeReason};
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Message;
use crate::mechanisms::outbox::OutboxEntry;

/// The outbox entry of the change that just took `order` to its status: its follow-ups under
/// the change's key, or `None` when the change needs none.
pub fn outbox_entry(order: &StoredOrder) -> Option<OutboxEntry> {
    let status = order.status;
    let follow_ups = for_change(order, status);
    (!follow_ups.is_empty()).then(|| OutboxEntry {
        key: Function::OrderIntake.key(&[&order.order_id, status.as_str()]),
        follow_ups,
    })
}

/// The follow-ups of the change that took `order` to `status`.
pub fn for_change(order: &StoredOrder, status: OrderStatus) -> Vec<Message> {
    let details = order_email(order);
    let (reason, content) = match status {
        OrderStatus::Accepted if order.was(OrderStatus::Backordered) => {
            (StockChangeReason::Reserved, EmailContent::BackorderFilled(details))
        }
        OrderStatus::Accepted => (StockChangeReason::Reserved, EmailContent::OrderConfirmation(details)),
        OrderStatus::Backordered => (StockChangeReason::Backordered, EmailContent::BackorderNotice(details)),
        OrderStatus::Cancelled => (StockChangeReason::Released, EmailContent::Cancellation(details)),
        OrderStatus::Shipped => (StockChangeReason::Shipped, EmailContent::ShippingConfirmation(details)),
        OrderStatus::Delivered => return vec![email(order, status, EmailContent::ReviewRequest(details))],
    };
    vec![stock_change(order, status, reason), email(order, status, content)]
}

fn key(order: &StoredOrder, status: OrderStatus, what: &str) -> String {
    Function::OrderIntake.key(&[&order.order_id, status.as_str(), what])
}

fn stock_change(order: &StoredOrder, status: OrderStatus, reason: StockChangeReason) -> Message {
    let skus = if status == OrderStatus::Backordered {
        order.short_lines.iter().map(|line| line.sku.clone()).collect()
    } else {
        order.lines.iter().map(|line| line.sku.clone()).collect()
    };
    Message::of(&StockChange {
        dedupe_key: key(order, status, "stock"),
        seller_id: order.seller_id.clone(),
        skus,
        reason,
        order_id: Some(order.order_id.clone()),
        after: None,
    })
}

fn email(order: &StoredOrder, status: OrderStatus, content: EmailContent) -> Message {
    Message::of(&EmailRequest {
        dedupe_key: key(order, status, "email"),
        recipient: order.buyer.recipient(),
        locale: order.buyer.locale.clone(),
        content,
    })
}

/// What the buyer's emails show, amounts already as decimal strings of the order's currency.
pub fn order_email(order: &StoredOrder) -> OrderEmail {
    OrderEmail {
        order_id: order.order_id.clone(),
        seller_id: order.seller_id.clone(),
        currency: order.currency.clone(),
        total: order.amount(order.total_minor),
        lines: order
            .lines
            .iter()
            .map(|line| OrderEmailLine {
                sku: line.sku.clone(),
                title: line.title.clone(),
                quantity: line.quantity,
                unit_price: order.amount(line.unit_price_minor),
                line_total: order.amount(line.unit_price_minor * i64::from(line.quantity)),
            })
            .collect(),
        placed_at: order.placed_at,
        ship_by: order.ship_by,
        expected_by: order.expected_by,
        shipment: order.shipment.as_ref().map(|shipment| ShipmentEmail {
            carrier: shipment.carrier.clone(),
            tracking_number: shipment.tracking_number.clone(),
            tracking_url: shipment.tracking_url.clone(),
        }),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domains::email::EmailTemplate;
    use crate::domains::orders::order::{AppliedEvent, ShortLine, StoredLine};
    use crate::domains::orders::validate::{Address, Buyer};
    use crate::mechanisms::outbox::Relayed;
    use crate::values::pii::EmailAddress;

    /// A two-line order of `status`; its second line short.
    pub(in crate::domains::orders) fn order(status: OrderStatus) -> StoredOrder {
        let at: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        StoredOrder {
            order_id: "ord_1".into(),
            seller_id: "sel_1".into(),
            status,
            buyer: Buyer {
                id: "buy_1".into(),
                name: "Li Wei".into(),
                email: EmailAddress::parse("li.wei@example.cn").unwrap(),
                locale: "zh".into(),
            },
            currency: "JPY".into(),
            total_minor: 2400,
            lines: vec![
                StoredLine {
                    line_id: "l1".into(),
                    sku: "POT".into(),
                    title: Some("Clay teapot".into()),
                    quantity: 2,
                    unit_price_minor: 1000,
                },
                StoredLine {
                    line_id: "l2".into(),
                    sku: "CUP".into(),
                    title: None,
                    quantity: 1,
                    unit_price_minor: 400,
                },
            ],
            placed_at: at,
            ship_by: at,
            shipping_address: Address {
                name: "Li Wei".into(),
                line1: "88 Nanjing Road".into(),
                line2: None,
                city: "Shanghai".into(),
                region: None,
                postal_code: "200001".into(),
                country: "CN".into(),
            },
            short_lines: vec![ShortLine {
                sku: "CUP".into(),
                requested: 1,
                available: 0,
                lead_time_days: 7,
            }],
            expected_by: None,
            shipment: None,
            shipped_at: None,
            delivered_at: None,
            cancelled_at: None,
            cancelled_by: None,
            refunded: Default::default(),
            events: vec!["evt_1".into()],
            history: vec![AppliedEvent {
                event_id: "evt_1".into(),
                status,
                fingerprint: "f".into(),
            }],
            version: 0,
            erased_at: None,
        }
    }

    fn email_of(follow_ups: &[Message]) -> EmailRequest {
        let email = follow_ups.iter().find(|f| f.kind() == EmailRequest::KIND).unwrap();
        email.read().unwrap()
    }

    #[test]
    fn each_status_asks_for_its_email_and_stock_change() {
        for (status, template) in [
            (OrderStatus::Accepted, EmailTemplate::OrderConfirmation),
            (OrderStatus::Backordered, EmailTemplate::BackorderNotice),
            (OrderStatus::Cancelled, EmailTemplate::Cancellation),
            (OrderStatus::Shipped, EmailTemplate::ShippingConfirmation),
        ] {
            let follow_ups = for_change(&order(status), status);
            assert_eq!(follow_ups.len(), 2, "{status}");
            assert_eq!(email_of(&follow_ups).content.template(), template);
        }
        let delivered = for_change(&order(OrderStatus::Delivered), OrderStatus::Delivered);
        assert_eq!(delivered.len(), 1, "no stock moves on delivery");
        assert_eq!(email_of(&delivered).content.template(), EmailTemplate::ReviewRequest);
    }

    #[test]
    fn keys_name_the_change_not_the_orders_latest_status() {
        let delivered = order(OrderStatus::Delivered);
        let retried_shipping = for_change(&delivered, OrderStatus::Shipped);
        assert_eq!(
            email_of(&retried_shipping).dedupe_key,
            "order-intake#ord_1#shipped#email"
        );
        assert_eq!(
            retried_shipping,
            for_change(&delivered, OrderStatus::Shipped),
            "deterministic"
        );
    }

    #[test]
    fn amounts_are_shown_in_their_currency_and_backorders_name_their_short_skus() {
        let follow_ups = for_change(&order(OrderStatus::Backordered), OrderStatus::Backordered);
        let EmailContent::BackorderNotice(details) = email_of(&follow_ups).content else {
            panic!("a backorder notice")
        };
        assert_eq!(details.total, "2400", "JPY has no minor digits");
        assert_eq!(details.lines[0].line_total, "2000");
        assert_eq!(details.lines[0].title.as_deref(), Some("Clay teapot"));
        let stock: StockChange = follow_ups
            .iter()
            .find(|f| f.kind() == StockChange::KIND)
            .unwrap()
            .read()
            .unwrap();
        assert_eq!(stock.skus, ["CUP"]);
        assert_eq!(stock.reason, StockChangeReason::Backordered);
    }
}
