//! Order intake's real handler over the local AWS, as the integration tests drive it: real
//! DynamoDB transactions, the real outbox stream relayed by the real handler, real SNS fan-out
//! to the real queues; only the HTTP hop and Lambda's stream polling are done by the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::{DynamoIdempotencyStore, DynamoOrders, OrderTables, sku_key};
use backoffice::adapters::sns::SnsFollowUps;
use backoffice::follow_ups::{FollowUp, FollowUpPublisher};
use backoffice::orders::StoredOrder;
use backoffice::outbox::StreamBatch;
use backoffice::store::StoreError;
use backoffice::webhook::{Function, SignatureVerifier, WebhookEdge, WebhookSecret};
use order_intake::{OrderIntake, relay_follow_ups};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use xtask::seed::{StockSeed, seed_stock};
use xtask::streams::{Position, StreamReader};

use crate::{TEST_SECRET, local_aws, signed_request, unique_id};

pub type Intake = OrderIntake<DynamoIdempotencyStore, DynamoOrders>;

/// Counts every request the SDK clients send, at the moment they go on the wire.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _config: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// A publisher whose next publish can be made to fail: an outage that passes.
pub struct Outage<P> {
    inner: P,
    failing: std::sync::atomic::AtomicBool,
}

impl<P> Outage<P> {
    pub fn new(inner: P) -> Self {
        Self {
            inner,
            failing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The next publish fails; the one after goes through.
    pub fn fail_next(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }
}

impl<P: FollowUpPublisher> FollowUpPublisher for Outage<P> {
    async fn publish(&self, follow_ups: &[FollowUp]) -> Result<(), StoreError> {
        if self.failing.swap(false, Ordering::SeqCst) {
            return Err(StoreError::new("SNS PublishBatch", "injected outage"));
        }
        self.inner.publish(follow_ups).await
    }
}

pub struct Shop<P = SnsFollowUps> {
    pub intake: Intake,
    /// What relays the outbox: SNS, or SNS behind an [`Outage`].
    pub publisher: P,
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// A seller of its own, so a test's stock and orders are nobody else's.
    pub seller: String,
    pub requests: RequestCounter,
}

pub async fn shop() -> Shop {
    shop_with(|publisher| publisher).await
}

pub async fn shop_with<P: FollowUpPublisher>(wrap: impl FnOnce(SnsFollowUps) -> P) -> Shop<P> {
    let aws = local_aws();
    let config = aws.sdk_config().await;
    let requests = RequestCounter::default();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(requests.clone())
            .build(),
    );
    let sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&config)
            .interceptor(requests.clone())
            .build(),
    );
    let claims = DynamoIdempotencyStore::new(dynamodb.clone(), aws.table("IdempotencyTable"));
    let tables = OrderTables {
        orders: aws.table("OrdersTable").to_owned(),
        inventory: aws.table("InventoryTable").to_owned(),
        outbox: aws.table("OutboxTable").to_owned(),
    };
    let intake = OrderIntake {
        edge: WebhookEdge::new(
            Function::OrderIntake,
            SignatureVerifier::new(WebhookSecret::new(TEST_SECRET)),
            claims.clone(),
        ),
        orders: DynamoOrders::new(dynamodb.clone(), tables, claims),
    };
    Shop {
        intake,
        publisher: wrap(SnsFollowUps::new(sns, &aws.provisioned.topics["FollowUpTopic"])),
        dynamodb,
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
        let last_sequence = xtask::streams::sequence_of(last).to_owned();
        let batch: StreamBatch = serde_json::from_value(json!({ "Records": records })).unwrap();
        let answer = relay_follow_ups(batch, &self.publisher).await;
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
            .key("pk", AttributeValue::S(format!("order-intake#webhook#{event_id}")))
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
        Some(serde_dynamo::from_item(item).unwrap())
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
