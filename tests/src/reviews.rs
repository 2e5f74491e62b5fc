//! Review monitoring's real handler over the local AWS, beside a [`Warehouse`] of the same
//! seller (whose counts give the seller its alert contact, and whose shop places the orders
//! reviews name): reviews through the webhook, notices handed over as the queue delivers them,
//! the sweep as the schedule runs it, each at the moment the test says.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::{DynamoStorage, item_of};
use backoffice::domains::email::request::SellerDigest;
use backoffice::domains::reviews::notice::ReviewNotice;
use backoffice::domains::reviews::records::{StoredReview, review_key, stats_key};
use backoffice::domains::reviews::sweep::TrendSweep;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::{WebhookSecret, Webhooks, marketplace_request};
use backoffice::storage::from_item;
use chrono::{DateTime, Utc};
use review_monitor::ReviewMonitor;
use serde_json::{Value, json};

use crate::orders::answer;
use crate::stock::{Warehouse, warehouse};
use crate::{TEST_SECRET, local_aws, outbox_follow_ups, seller_digests, unique_id};

pub type Monitor = ReviewMonitor<DynamoStorage>;

pub struct Reviews {
    pub monitor: Monitor,
    /// Stock alerts and order intake of the same seller, their requests counted with these.
    pub warehouse: Warehouse,
}

/// Review monitoring built as the template deploys it, for a new seller with an alert contact.
pub async fn reviews() -> Reviews {
    let warehouse = warehouse().await;
    warehouse.count("TEA-POT-01", 40, 3, 5).await;
    let monitor = local_aws().deployed::<Monitor>(&warehouse.shop.config);
    warehouse.shop.requests.take();
    Reviews { monitor, warehouse }
}

/// A `review.created` body of `seller` under a new event id.
pub fn review_event(review_id: &str, seller: &str, sku: &str, rating: i64, text: &str, at: DateTime<Utc>) -> Value {
    json!({
        "id": unique_id("evt"),
        "type": "review.created",
        "created_at": at.to_rfc3339(),
        "data": {
            "review_id": review_id, "seller_id": seller, "sku": sku, "buyer_id": "buy_1",
            "rating": rating, "title": "", "text": text, "created_at": at.to_rfc3339()
        }
    })
}

impl Reviews {
    pub fn seller(&self) -> &str {
        self.warehouse.seller()
    }

    /// Sends `event` signed at `at`, as the marketplace would then.
    pub async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(TEST_SECRET), &event.to_string(), at);
        answer(&self.monitor.handle_webhook(&request, at).await)
    }

    pub async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, Utc::now()).await
    }

    /// A review of this seller's `sku`, with a new review id; answers it and the review id.
    pub async fn review(&self, sku: &str, rating: i64, text: &str, at: DateTime<Utc>) -> (String, i64, Value) {
        let review_id = unique_id("rev");
        let (status, answer) = self
            .send_at(&review_event(&review_id, self.seller(), sku, rating, text, at), at)
            .await;
        (review_id, status, answer)
    }

    pub async fn stored(&self, review_id: &str) -> Option<StoredReview> {
        self.item(&review_key(self.seller(), review_id))
            .await
            .map(|item| from_item(item_of(item)).expect("a stored review reads back"))
    }

    /// The SKU's reviews and stars in its day buckets, and whether the sweep watches it.
    pub async fn stats(&self, sku: &str) -> (u64, u64, bool) {
        let Some(item) = self.item(&stats_key(self.seller(), sku)).await else {
            return (0, 0, false);
        };
        let item = item_of(item);
        let (reviews, stars) =
            item["days"]
                .as_object()
                .expect("day buckets")
                .values()
                .fold((0, 0), |(reviews, stars), day| {
                    (
                        reviews + day["reviews"].as_u64().unwrap(),
                        stars + day["stars"].as_u64().unwrap(),
                    )
                });
        (reviews, stars, item.contains_key("watch"))
    }

    pub async fn item(&self, key: &str) -> Option<HashMap<String, AttributeValue>> {
        self.warehouse
            .shop
            .dynamodb
            .get_item()
            .table_name(local_aws().table("ReviewsTable"))
            .key("pk", AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
    }

    /// The notices review monitoring wrote for this seller, waiting in (or relayed from) the
    /// outbox.
    pub async fn notices(&self) -> Vec<ReviewNotice> {
        let prefix = format!("{}#", Function::ReviewMonitor.name());
        outbox_follow_ups(&self.warehouse.shop.dynamodb, &prefix)
            .await
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::ReviewNotice(notice) if notice.seller_id == self.seller() => Some(notice),
                _ => None,
            })
            .collect()
    }

    /// Hands review monitoring these notices in one batch, as the queue delivers them.
    pub async fn deliver(&self, notices: &[ReviewNotice]) -> SqsBatchResponse {
        let mut batch = SqsEvent::default();
        batch.records = notices
            .iter()
            .map(|notice| {
                let mut message = SqsMessage::default();
                message.message_id = Some(unique_id("msg"));
                message.body = Some(serde_json::to_string(&FollowUp::ReviewNotice(notice.clone())).unwrap());
                message.event_source = Some("aws:sqs".to_owned());
                message
            })
            .collect();
        self.monitor.tell_sellers(batch, Utc::now()).await
    }

    pub async fn digests(&self) -> Vec<SellerDigest> {
        seller_digests(&self.warehouse.shop.dynamodb, Function::ReviewMonitor, self.seller()).await
    }

    pub async fn sweep_at(&self, at: DateTime<Utc>) -> TrendSweep {
        self.monitor.sweep(at).await.expect("the sweep runs")
    }

    /// Whether anything of `review_id` or `event_id` was stored: the review, or the claim.
    pub async fn stored_anything(&self, review_id: &str, event_id: &str) -> bool {
        let claim = self
            .warehouse
            .shop
            .dynamodb
            .get_item()
            .table_name(local_aws().table("IdempotencyTable"))
            .key(
                "pk",
                AttributeValue::S(Function::ReviewMonitor.key(&["webhook", event_id])),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item;
        claim.is_some() || self.item(&review_key(self.seller(), review_id)).await.is_some()
    }
}
