//! Stock alerts' real handler over the local AWS, next to order intake's (a [`Shop`] of the
//! same seller): adjustments through the webhook, stock changes handed over as the queue
//! delivers them, the sweep as the schedule runs it; digests read from the outbox, where they
//! wait for the relay.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::email::request::SellerDigest;
use backoffice::follow_ups::{FollowUp, StockChange, StockChangeReason};
use backoffice::function::Function;
use backoffice::stock::inventory::sku_key;
use backoffice::webhook::Webhooks;
use serde_json::{Value, json};
use stock_alerts::{StockAlerts, Summary};

use crate::orders::{Shop, answer, shop};
use crate::{TEST_SECRET, local_aws, seller_digests, signed_request, unique_id};

pub type Alerts = StockAlerts<DynamoStorage>;

/// Held by each stock alerts test: the sweep reads every seller's watchlist, so one test's
/// sweep would otherwise assess (and digest) another test's SKUs halfway through its story.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub struct Warehouse {
    pub alerts: Alerts,
    /// Order intake for the same seller.
    pub shop: Shop,
}

/// Stock alerts built as the template deploys it, beside a shop of the same seller whose
/// request counter counts both.
pub async fn warehouse() -> Warehouse {
    let shop = shop().await;
    let aws = local_aws();
    let alerts = aws.deployed::<Alerts>(&shop.config);
    Warehouse { alerts, shop }
}

impl Warehouse {
    pub fn seller(&self) -> &str {
        &self.shop.seller
    }

    /// An `inventory.adjusted` event of this seller (unless `data` names another).
    pub async fn adjust(&self, data: Value) -> (i64, Value) {
        let mut data = data;
        if data.get("seller_id").is_none() {
            data["seller_id"] = json!(self.seller());
        }
        // Made now: a count applies only after the SKU's last one.
        let made = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let body =
            json!({"id": unique_id("evt"), "type": "inventory.adjusted", "created_at": made, "data": data}).to_string();
        answer(
            &self
                .alerts
                .handle_webhook(&signed_request(TEST_SECRET, &body), chrono::Utc::now())
                .await,
        )
    }

    /// A count of `sku` with its thresholds, naming the seller's contact for alerts.
    pub async fn count(&self, sku: &str, on_hand: i64, safety_stock: i64, lead_time_days: i64) {
        let (status, body) = self
            .adjust(json!({
                "sku": sku,
                "on_hand": {"set": on_hand},
                "safety_stock": safety_stock,
                "lead_time_days": lead_time_days,
                "seller": {"name": "Tea House", "email": "alerts@teahouse.example", "locale": "en"}
            }))
            .await;
        assert_eq!(status, 202, "{body}");
    }

    /// Hands stock alerts a stock change of these SKUs, as the queue delivers one.
    pub async fn changed(&self, skus: &[&str], reason: StockChangeReason) -> SqsBatchResponse {
        self.deliver(self.change_event(&[(skus, reason)])).await
    }

    /// One batch of the stock change queue with a message per change.
    pub fn change_event(&self, changes: &[(&[&str], StockChangeReason)]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = changes
            .iter()
            .map(|(skus, reason)| {
                let change = FollowUp::StockChange(StockChange {
                    dedupe_key: unique_id("test#stock"),
                    seller_id: self.seller().to_owned(),
                    skus: skus.iter().map(|sku| (*sku).to_owned()).collect(),
                    reason: *reason,
                    order_id: None,
                });
                let mut message = SqsMessage::default();
                message.message_id = Some(unique_id("msg"));
                message.body = Some(serde_json::to_string(&change).unwrap());
                message.event_source = Some("aws:sqs".to_owned());
                message
            })
            .collect();
        event
    }

    pub async fn deliver(&self, event: SqsEvent) -> SqsBatchResponse {
        self.alerts.handle_stock_changes(event, chrono::Utc::now()).await
    }

    pub async fn sweep(&self) -> Summary {
        self.alerts.sweep(chrono::Utc::now()).await.expect("the sweep runs")
    }

    /// Every digest written for this seller so far, oldest first not guaranteed.
    pub async fn digests(&self) -> Vec<SellerDigest> {
        digests_of(&self.shop.dynamodb, self.seller()).await
    }

    pub async fn item(&self, sku: &str) -> std::collections::HashMap<String, AttributeValue> {
        self.shop
            .dynamodb
            .get_item()
            .table_name(local_aws().table("InventoryTable"))
            .key("sku_key", AttributeValue::S(sku_key(self.seller(), sku)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the SKU exists")
    }
}

/// The seller digests stock alerts wrote for `seller`, waiting in (or relayed from) the outbox.
pub async fn digests_of(dynamodb: &aws_sdk_dynamodb::Client, seller: &str) -> Vec<SellerDigest> {
    seller_digests(dynamodb, Function::StockAlerts, seller).await
}
