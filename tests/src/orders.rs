//! Order intake's real handler over the local AWS, as the integration tests drive it: real
//! DynamoDB transactions, the real outbox stream relayed by the real handler, real SNS fan-out
//! to the real queues; only the HTTP hop and Lambda's stream polling are done by the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::{DynamoStorage, item_of};
use backoffice::adapters::sns::SnsFollowUps;
use backoffice::domains::orders::StoredOrder;
use backoffice::domains::orders::records::order_from;
use backoffice::domains::stock::inventory::sku_key;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::outbox::StreamBatch;
use backoffice::mechanisms::outbox::{FollowUpPublisher, Message};
use backoffice::mechanisms::webhook::Webhooks;
use backoffice::storage::StoreError;
use local_cloud::seed::{StockSeed, seed_stock};
use local_cloud::streams::{Position, StreamReader};
use order_intake::OrderIntake;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::requests::{RequestCounter, counted_config};
use crate::{TEST_SECRET, local_aws, signed_request, unique_id};

pub type Intake<P = SnsFollowUps> = OrderIntake<DynamoStorage, P>;

/// A publisher whose next publish can be made to fail: an outage that passes. Clones share
/// the switch, so the test keeps one while order intake publishes through another.
#[derive(Clone)]
pub struct Outage<Topic> {
    inner: Topic,
    failing: Arc<AtomicBool>,
}

impl<Topic> Outage<Topic> {
    pub fn new(inner: Topic) -> Self {
        Self {
            inner,
            failing: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The next publish fails; the one after goes through.
    pub fn fail_next(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }
}

impl<Topic: FollowUpPublisher> FollowUpPublisher for Outage<Topic> {
    async fn publish(&self, follow_ups: &[Message]) -> Result<(), StoreError> {
        if self.failing.swap(false, Ordering::SeqCst) {
            return Err(StoreError::new("SNS PublishBatch", "injected outage"));
        }
        self.inner.publish(follow_ups).await
    }
}

pub struct Shop<P = SnsFollowUps> {
    pub intake: Intake<P>,
    /// What relays the outbox (SNS, or SNS behind an [`Outage`]): the test's handle on it.
    pub publisher: P,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Every request of this shop's clients goes through it.
    pub config: aws_config::SdkConfig,
    /// A seller of its own, so a test's stock and orders are nobody else's.
    pub seller: String,
    pub requests: RequestCounter,
}

pub async fn shop() -> Shop {
    shop_with(|publisher| publisher).await
}

/// Order intake built as the template deploys it, its requests counted; `wrap` may put the
/// follow-up topic behind something that fails on cue.
pub async fn shop_with<P: FollowUpPublisher + Clone>(wrap: impl FnOnce(SnsFollowUps) -> P) -> Shop<P> {
    let aws = local_aws();
    let (config, requests) = counted_config().await;
    let environment = aws.environment_of(Function::OrderIntake);
    let publisher = wrap(SnsFollowUps::new(&config, &environment["FOLLOW_UP_TOPIC_ARN"]));
    let mut deployed = aws.aws_for::<order_intake::OnAws>(&config);
    let secret = deployed.take_signing_secrets();
    let storage = deployed.storage;
    Shop {
        intake: OrderIntake::new(secret, storage, publisher.clone()),
        publisher,
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        config,
        seller: unique_id("sel"),
        requests,
    }
}

/// `(sku, quantity, unit price)` lines into an `order.created` data object of `seller`.
pub fn order_data(order_id: &str, seller: &str, lines: &[(&str, i64, &str)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (sku, quantity, price))| json!({"line_id": format!("l{i}"), "sku": sku, "quantity": quantity, "unit_price": price}))
        .collect();
    let total: i64 = lines
        .iter()
        .map(|line| {
            let cents: i64 = line["unit_price"].as_str().unwrap().replace('.', "").parse().unwrap();
            cents * line["quantity"].as_i64().unwrap()
        })
        .sum();
    json!({
        "order_id": order_id,
        "seller_id": seller,
        "buyer": {"id": "buy_1", "name": "Li Wei", "email": "li.wei@example.cn", "locale": "zh"},
        "currency": "EUR",
        "lines": lines,
        "total": format!("{}.{:02}", total / 100, total % 100),
        "ship_by": "2026-11-24T18:00:00Z",
        "shipping_address": {"name": "Li Wei", "line1": "88 Nanjing Road", "city": "Shanghai", "postal_code": "200001", "country": "CN"}
    })
}

pub fn envelope(id: &str, event_type: &str, data: Value) -> String {
    json!({"id": id, "type": event_type, "created_at": "2026-11-22T10:00:00Z", "data": data}).to_string()
}

pub fn answer(response: &LambdaFunctionUrlResponse) -> (i64, Value) {
    (
        response.status_code,
        serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap_or(Value::Null),
    )
}

/// Where the relay has read the outbox stream up to, for every shop of the test binary: like
/// Lambda's one poller per shard, each record is handed on until it is relayed, and then never.
static RELAYED_UP_TO: Mutex<Option<Position>> = Mutex::const_new(None);

impl<P: FollowUpPublisher> Shop<P> {
    /// Does what Lambda's stream polling does: hands the outbox records not relayed yet to
    /// order intake's relay, and moves past what it relayed. A reported failure is where the
    /// next call starts. Returns the relay's answer.
    pub async fn relay(&self) -> DynamoDbEventResponse {
        let aws = local_aws();
        let reader = StreamReader::new(aws.endpoint(), &aws.provisioned.streams["OutboxTable"]);
        let mut position = RELAYED_UP_TO.lock().await;
        let mut iterator = Some(
            reader
                .iterator(position.clone().unwrap_or(Position::Oldest))
                .await
                .unwrap(),
        );
        let mut records = Vec::new();
        while let Some(current) = iterator {
            let page = reader.page(&current, 100).await.unwrap();
            if page.records.is_empty() {
                break;
            }
            records.extend(page.records);
            iterator = page.next;
        }
        let Some(last) = records.last() else {
            return DynamoDbEventResponse::default();
        };
        let last_sequence = local_cloud::streams::sequence_of(last).to_owned();
        let batch: StreamBatch = serde_json::from_value(json!({ "Records": records })).unwrap();
        let answer = self.intake.relay_follow_ups(batch).await;
        *position = Some(match answer.batch_item_failures.first() {
            Some(failure) => Position::At(failure.item_identifier.clone().unwrap()),
            None => Position::After(last_sequence),
        });
        answer
    }

    pub async fn stock(&self, sku: &str, on_hand: i64, lead_time_days: i64) {
        let seed = StockSeed {
            seller_id: self.seller.clone(),
            sku: sku.to_owned(),
            on_hand,
            safety_stock: 0,
            lead_time_days,
        };
        seed_stock(&self.dynamodb, local_aws().table("InventoryTable"), &[seed])
            .await
            .unwrap();
    }

    /// Sends `body` signed, as the marketplace would; returns the status and JSON answer.
    pub async fn send(&self, body: &str) -> (i64, Value) {
        answer(
            &self
                .intake
                .handle_webhook(&signed_request(TEST_SECRET, body), chrono::Utc::now())
                .await,
        )
    }

    /// Sends a new event of `event_type` with a fresh id.
    pub async fn event(&self, event_type: &str, data: Value) -> (i64, Value) {
        self.send(&envelope(&unique_id("evt"), event_type, data)).await
    }

    /// Deletes an event's idempotency claim, as its TTL does a week later.
    pub async fn forget_claim(&self, event_id: &str) {
        self.dynamodb
            .delete_item()
            .table_name(local_aws().table("IdempotencyTable"))
            .key(
                "pk",
                AttributeValue::S(Function::OrderIntake.key(&["webhook", event_id])),
            )
            .send()
            .await
            .unwrap();
    }

    pub async fn order(&self, order_id: &str) -> Option<StoredOrder> {
        let item = self
            .dynamodb
            .get_item()
            .table_name(local_aws().table("OrdersTable"))
            .key("order_id", AttributeValue::S(order_id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item?;
        Some(order_from(item_of(item)).unwrap())
    }

    /// `(on_hand, reserved, available)` of one of this seller's SKUs.
    pub async fn levels(&self, sku: &str) -> (i64, i64, i64) {
        let item = self
            .dynamodb
            .get_item()
            .table_name(local_aws().table("InventoryTable"))
            .key("sku_key", AttributeValue::S(sku_key(&self.seller, sku)))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .expect("the SKU is stocked");
        let n = |name: &str| item[name].as_n().unwrap().parse::<i64>().unwrap();
        (n("on_hand"), n("reserved"), n("available"))
    }
}
