//! Stock alerts' real handler over the local AWS, next to order intake's (a [`Shop`] of the
//! same seller): adjustments through the webhook, stock changes handed over as the queue
//! delivers them, the sweep as the schedule runs it; digests read from the outbox, where they
//! wait for the relay.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::domains::email::request::SellerDigest;
use backoffice::domains::stock::inventory::sku_key;
use backoffice::follow_ups::{FollowUp, StockChange, StockChangeReason, SweepPage};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::Webhooks;
use serde_json::{Value, json};
use stock_alerts::{Pages, StockAlerts, Summary};

use crate::orders::{Shop, answer, shop};
use crate::{TEST_SECRET, local_aws, outbox_follow_ups, seller_digests, signed_request, unique_id};

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
    /// The same warehouse, its function taking these pages.
    pub fn with_pages(self, pages: Pages) -> Self {
        Self {
            alerts: self.alerts.with_pages(pages),
            shop: self.shop,
        }
    }

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
                    after: None,
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

    /// A whole sweep: its first page as the schedule runs it, then each page it hands on
    /// through the outbox, as the queue would deliver it, until none is left.
    pub async fn sweep(&self) -> Summary {
        let run = unique_id("run");
        let mut summary = self
            .alerts
            .sweep(&run, None, chrono::Utc::now())
            .await
            .expect("the sweep runs");
        let mut delivered = Vec::new();
        let mut next = summary.continues;
        while next {
            let page = self.handed_on(&run, &delivered).await;
            let continued = self
                .alerts
                .sweep(&page.run, Some(page.after.clone()), chrono::Utc::now())
                .await
                .expect("the sweep's page runs");
            next = continued.continues;
            summary.add(continued);
            delivered.push(page.dedupe_key);
        }
        summary
    }

    /// The page of the sweep `run` handed on and not among those `delivered`.
    pub async fn handed_on(&self, run: &str, delivered: &[String]) -> SweepPage {
        outbox_follow_ups(&self.shop.dynamodb, &format!("stock-alerts#sweep#{run}#"))
            .await
            .into_iter()
            .find_map(|follow_up| match follow_up {
                FollowUp::StockSweep(page) if !delivered.contains(&page.dedupe_key) => Some(page),
                _ => None,
            })
            .expect("the sweep handed its next page on")
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
