//! Buyer messaging's real handler over the local AWS taking buyer questions and sellers'
//! replies, beside a [`Warehouse`] of the same seller whose shop places and ships the orders
//! the questions name. The emails the messages lead to are handed from the outbox to the email
//! queue's handler, as the relay does, and read back from what SES accepted.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::domains::email::EmailRequest;
use backoffice::domains::questions::records::thread_key;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::{WebhookSecret, Webhooks, marketplace_request};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::mail::{Mailroom, mailroom, new_address};
use crate::orders::{answer, order_data};
use crate::stock::{Warehouse, warehouse};
use crate::{TEST_SECRET, local_aws, outbox_follow_ups, unique_id};

pub struct HelpDesk {
    pub mailroom: Mailroom,
    pub warehouse: Warehouse,
    /// This desk's buyer: an address nobody else in the run uses.
    pub buyer_email: String,
}

/// Buyer messaging as the template deploys it, for a new seller with an alert contact.
pub async fn help_desk() -> HelpDesk {
    let warehouse = warehouse().await;
    let contact = json!({"seller_id": warehouse.seller(), "name": "Tea House", "email": "alerts@teahouse.example", "locale": "en"});
    let body = crate::orders::envelope(&unique_id("evt"), "seller.updated", contact);
    let reply = warehouse
        .alerts
        .handle_webhook(&crate::signed_request(TEST_SECRET, &body), Utc::now())
        .await;
    assert_eq!(reply.status_code, 202, "{:?}", reply.body);
    HelpDesk {
        mailroom: mailroom().await,
        warehouse,
        buyer_email: new_address(),
    }
}

impl HelpDesk {
    pub fn seller(&self) -> &str {
        self.warehouse.seller()
    }

    /// An order of this desk's buyer in `locale`, through order intake: `shipped` with DHL
    /// tracking, or accepted and waiting to ship, or backordered when `stock` is 0.
    pub async fn order(&self, locale: &str, stock: i64, shipped: bool) -> String {
        let shop = &self.warehouse.shop;
        self.warehouse.count("POT", stock, 0, 5).await;
        let order_id = unique_id("ord");
        let mut data = order_data(&order_id, self.seller(), &[("POT", 1, "24.90")]);
        data["buyer"] = json!({"id": "buy_1", "name": "Li Wei", "email": self.buyer_email, "locale": locale});
        let (status, body) = shop.event("order.created", data).await;
        assert_eq!(status, 202, "{body}");
        if shipped {
            let shipment = json!({"order_id": order_id, "seller_id": self.seller(), "carrier": "DHL",
                "tracking_number": "JD014600003828", "tracking_url": "https://www.dhl.com/track?id=JD014600003828"});
            assert_eq!(shop.event("order.shipped", shipment).await.0, 202);
        }
        order_id
    }

    /// An accepted order of this desk's buyer that was due to ship an hour ago.
    pub async fn late_order(&self) -> String {
        self.warehouse.count("POT", 10, 0, 5).await;
        let order_id = unique_id("ord");
        let mut data = order_data(&order_id, self.seller(), &[("POT", 1, "24.90")]);
        data["buyer"] = json!({"id": "buy_1", "name": "Li Wei", "email": self.buyer_email, "locale": "en"});
        data["ship_by"] = json!((Utc::now() - chrono::Duration::hours(1)).to_rfc3339());
        let (status, body) = self.warehouse.shop.event("order.created", data).await;
        assert_eq!(status, 202, "{body}");
        order_id
    }

    /// A `message.received` from this desk's buyer under new ids, `data` merged in.
    pub fn question(&self, data: Value) -> Value {
        let mut body = json!({
            "message_id": unique_id("msg"), "seller_id": self.seller(),
            "buyer": {"id": "buy_1", "name": "Li Wei", "email": self.buyer_email, "locale": "zh-CN"},
            "subject": "", "text": "我的订单到哪了？", "created_at": Utc::now().to_rfc3339()
        });
        for (key, value) in data.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        json!({"id": unique_id("evt"), "type": "message.received", "created_at": Utc::now().to_rfc3339(), "data": body})
    }

    pub fn reply(&self, thread_id: &str, data: Value) -> Value {
        let mut body = json!({"message_id": unique_id("msg"), "thread_id": thread_id, "seller_id": self.seller()});
        for (key, value) in data.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        json!({"id": unique_id("evt"), "type": "message.replied", "created_at": Utc::now().to_rfc3339(), "data": body})
    }

    pub async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(TEST_SECRET), &event.to_string(), at);
        answer(&self.mailroom.messaging.handle_webhook(&request, at).await)
    }

    pub async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, Utc::now()).await
    }

    /// The email requests buyer messaging wrote to the outbox for this message: keyed
    /// `<function>#<thread>#<message>#…`, since a message id is new only within its thread.
    pub async fn emails_of(&self, message_id: &str) -> Vec<EmailRequest> {
        let of_message = format!("#{message_id}#");
        outbox_follow_ups(&self.mailroom.dynamodb, &Function::BuyerMessaging.key(&[""]))
            .await
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::Email(email) if email.dedupe_key.contains(&of_message) => Some(email),
                _ => None,
            })
            .collect()
    }

    /// Hands each of the message's email requests to the email queue's handler `times` times,
    /// as a relay and a redelivery would.
    pub async fn relay(&self, message_id: &str, times: usize) {
        for request in self.emails_of(message_id).await {
            for _ in 0..times {
                let failed = self.mailroom.deliver(&request).await;
                assert!(failed.batch_item_failures.is_empty(), "{failed:?}");
            }
        }
    }

    pub async fn thread(&self, thread_id: &str) -> Option<HashMap<String, AttributeValue>> {
        self.mailroom
            .dynamodb
            .get_item()
            .table_name(local_aws().table("ThreadsTable"))
            .key("pk", AttributeValue::S(thread_key(thread_id)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// The ids of the messages the thread holds, each its own item (a scan: a test's look).
    pub async fn message_ids(&self, thread_id: &str) -> Vec<String> {
        let found = self
            .mailroom
            .dynamodb
            .scan()
            .table_name(local_aws().table("ThreadsTable"))
            .filter_expression("begins_with(pk, :messages)")
            .expression_attribute_values(
                ":messages",
                AttributeValue::S(format!("{}#message#", thread_key(thread_id))),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let mut ids: Vec<String> = found
            .items()
            .iter()
            .filter_map(|item| item.get("message_id")?.as_s().ok().cloned())
            .collect();
        ids.sort();
        ids
    }
}
