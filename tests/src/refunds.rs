//! Refund processing's real handler over the local AWS, beside a [`Warehouse`] of the same
//! seller (whose shop places and delivers the orders refunds name, and whose stock alerts take
//! the returned units' stock changes): requests and decisions through the webhook at the
//! moment the test says, payouts as their queue delivers them.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::{DynamoStorage, item_of};
use backoffice::adapters::sqs::SqsPayouts;
use backoffice::domains::refunds::records::refund_key;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::{WebhookSecret, Webhooks, marketplace_request};
use chrono::{DateTime, Utc};
use refund_processor::RefundProcessor;
use serde_json::{Value, json};

use crate::orders::{answer, order_data};
use crate::stock::{Warehouse, warehouse};
use crate::{TEST_SECRET, local_aws, outbox_follow_ups, unique_id};

pub type Refunds = RefundProcessor<DynamoStorage, SqsPayouts>;

pub struct RefundDesk {
    pub refunds: Refunds,
    pub warehouse: Warehouse,
}

/// Refund processing built as the template deploys it, for a new seller whose settings allow
/// refunds up to €30.00 without it and give it 48 hours to decide the rest.
pub async fn refund_desk() -> RefundDesk {
    let warehouse = warehouse().await;
    let settings = json!({
        "seller_id": warehouse.seller(), "name": "Tea House", "email": "alerts@teahouse.example", "locale": "en",
        "auto_approve_limit": {"amount": "30.00", "currency": "EUR"}, "decision_hours": 48
    });
    let body = crate::orders::envelope(&unique_id("evt"), "seller.updated", settings);
    let reply = warehouse
        .alerts
        .handle_webhook(&crate::signed_request(TEST_SECRET, &body), Utc::now())
        .await;
    assert_eq!(reply.status_code, 202, "{:?}", reply.body);
    let refunds = local_aws().deployed::<Refunds>(&warehouse.shop.config);
    warehouse.shop.requests.take();
    RefundDesk { refunds, warehouse }
}

impl RefundDesk {
    pub fn seller(&self) -> &str {
        self.warehouse.seller()
    }

    /// A delivered order of `lines` (`(sku, quantity, unit price)`) for `buy_1`, through order
    /// intake; each SKU stocked first with `stock` units.
    pub async fn delivered_order(&self, lines: &[(&str, i64, &str)], stock: i64) -> String {
        let shop = &self.warehouse.shop;
        for (sku, _, _) in lines {
            self.warehouse.count(sku, stock, 0, 3).await;
        }
        let order_id = unique_id("ord");
        let (status, body) = shop
            .event("order.created", order_data(&order_id, self.seller(), lines))
            .await;
        assert_eq!(status, 202, "{body}");
        let shipped =
            json!({"order_id": order_id, "seller_id": self.seller(), "carrier": "DHL", "tracking_number": "JD1"});
        assert_eq!(shop.event("order.shipped", shipped).await.0, 202);
        let delivered = json!({"order_id": order_id, "seller_id": self.seller()});
        assert_eq!(shop.event("order.delivered", delivered).await.0, 202);
        shop.requests.take();
        order_id
    }

    /// A `refund.requested` of `order_id` by `buy_1`, under new ids, with `data` merged in.
    pub fn request(&self, order_id: &str, data: Value) -> Value {
        let mut body = json!({
            "refund_id": unique_id("ref"), "order_id": order_id, "seller_id": self.seller(), "buyer_id": "buy_1",
            "reason": "defective", "created_at": Utc::now().to_rfc3339()
        });
        for (key, value) in data.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        json!({"id": unique_id("evt"), "type": "refund.requested", "created_at": Utc::now().to_rfc3339(), "data": body})
    }

    pub fn decision(&self, refund_id: &str, data: Value) -> Value {
        let mut body = json!({"refund_id": refund_id, "seller_id": self.seller()});
        for (key, value) in data.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        json!({"id": unique_id("evt"), "type": "refund.decided", "created_at": Utc::now().to_rfc3339(), "data": body})
    }

    pub async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(TEST_SECRET), &event.to_string(), at);
        answer(&self.refunds.handle_webhook(&request, at).await)
    }

    pub async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, Utc::now()).await
    }

    pub async fn item(&self, table: &str, key: &str, value: &str) -> Option<HashMap<String, AttributeValue>> {
        self.warehouse
            .shop
            .dynamodb
            .get_item()
            .table_name(local_aws().table(table))
            .key(key, AttributeValue::S(value.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// The refund's ledger entry, as JSON.
    pub async fn refund(&self, refund_id: &str) -> Option<Value> {
        let item = self
            .item("RefundsTable", "pk", &refund_key(self.seller(), refund_id))
            .await?;
        Some(Value::Object(item_of(item)))
    }

    /// The order's item, as JSON.
    pub async fn order(&self, order_id: &str) -> Value {
        Value::Object(item_of(
            self.item("OrdersTable", "order_id", order_id).await.expect("the order"),
        ))
    }

    /// What refund processing wrote to the outbox for this refund.
    pub async fn follow_ups_of(&self, refund_id: &str) -> Vec<FollowUp> {
        outbox_follow_ups(
            &self.warehouse.shop.dynamodb,
            &Function::RefundProcessor.key(&[self.seller(), refund_id, ""]),
        )
        .await
    }

    /// Hands refund processing these follow-ups in one batch, as the payout request queue does.
    pub async fn deliver(&self, follow_ups: &[FollowUp]) -> SqsBatchResponse {
        let mut batch = SqsEvent::default();
        batch.records = follow_ups
            .iter()
            .map(|follow_up| {
                let mut message = SqsMessage::default();
                message.message_id = Some(unique_id("msg"));
                message.body = Some(serde_json::to_string(follow_up).unwrap());
                message.event_source = Some("aws:sqs".to_owned());
                message
            })
            .collect();
        self.refunds.hand_over_payouts(batch).await
    }
}
