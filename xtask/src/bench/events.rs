//! The events the bench sends: a real one per function, and one per event type for counting
//! AWS requests.

use bytes::Bytes;
use serde_json::{Value, json};

use backoffice::domains::email::request::{OrderEmail, OrderEmailLine};
use backoffice::domains::email::{EmailContent, EmailRequest, Recipient, RecipientRole};
use backoffice::domains::privacy::page::{ErasurePage, ExportJob, ITEMS_PER_PAGE, export_object_key};
use backoffice::domains::refunds::payout::Payout;
use backoffice::domains::reviews::notice::{Noticed, ReviewNotice};
use backoffice::domains::reviews::reason::Reason;
use backoffice::follow_ups::{FollowUp, StockChange, StockChangeReason};
use backoffice::mechanisms::function::Function;
use backoffice::values::pii::EmailAddress;
use local_cloud::provision::Provisioned;
use local_cloud::runtime_api::Invoked;
use local_cloud::seed::{StockSeed, seed_stock as write_stock};
use local_cloud::streams::{Position, StreamReader};

use super::{BenchError, run_error};

const SELLER: &str = "sel_bench";
/// The buyer of every bench order.
const BUYER: &str = "buy_bench";
/// SKUs with stock no bench run can use up, and one with none.
const STOCKED: usize = 20;
const OUT_OF_STOCK: &str = "BENCH-OUT";

/// What a subject is sent, over and over with fresh ids.
pub struct Workload {
    pub name: String,
    pub expected_status: i64,
    secret: String,
    kind: Kind,
}

enum Kind {
    /// `order.created` with this many lines, ids prefixed so that runs never collide.
    Order { lines: usize, prefix: &'static str },
    /// A seller's restock of a bench SKU.
    Restock,
    /// A new negative review of a bench SKU.
    Review,
    /// A goodwill refund of the delivered bench order, above the seller's automatic limit.
    PendingRefund,
    /// A buyer's question for the seller (no order named, not "where is my order").
    Question,
    /// A buyer's erasure, a new buyer each time.
    Erasure,
    /// Anything: the baseline answers everything alike.
    Empty,
}

/// One event type, to count the AWS requests it makes.
pub struct Case {
    pub name: String,
    pub event: Bytes,
}

impl Workload {
    /// What `function` is sent, if it takes webhooks (seller health only has its schedule,
    /// measured by its own section of the bench).
    pub fn for_function(function: Function, secret: &str) -> Option<Self> {
        let (name, expected_status, kind) = match function {
            Function::OrderIntake => (
                "order.created, 1 line",
                202,
                Kind::Order {
                    lines: 1,
                    prefix: "rust",
                },
            ),
            Function::StockAlerts => ("inventory.adjusted, restock", 202, Kind::Restock),
            Function::ReviewMonitor => ("review.created, negative", 202, Kind::Review),
            Function::RefundProcessor => ("refund.requested, pending", 202, Kind::PendingRefund),
            Function::BuyerMessaging => ("message.received, to the seller", 202, Kind::Question),
            Function::BuyerPrivacy => ("buyer.erasure_requested", 202, Kind::Erasure),
            Function::SellerHealth => return None,
        };
        Some(Self {
            name: name.to_owned(),
            expected_status,
            secret: secret.to_owned(),
            kind,
        })
    }

    pub fn baseline() -> Self {
        Self {
            name: "any event".to_owned(),
            expected_status: 200,
            secret: String::new(),
            kind: Kind::Empty,
        }
    }

    pub fn peer(secret: &str) -> Self {
        Self {
            name: "order.created, 1 line".to_owned(),
            expected_status: 202,
            secret: secret.to_owned(),
            kind: Kind::Order {
                lines: 1,
                prefix: "peer",
            },
        }
    }

    pub fn event(&self, sequence: u64) -> Bytes {
        let body = match self.kind {
            Kind::Order { lines, prefix } => order_created(&format!("{prefix}_{sequence}"), lines, false),
            Kind::Restock => restock(&format!("evt_restock_{sequence}")),
            Kind::Review => review_created(&format!("bench_{sequence}"), None),
            Kind::PendingRefund => refund_requested(&format!("bench_{sequence}"), json!({"amount": "31.00"})),
            Kind::Question => message_received(
                &format!("bench_{sequence}"),
                json!({"text": "Is the teapot dishwasher safe?"}),
            ),
            Kind::Erasure => erasure_requested(&format!("buy_erase_{sequence}")),
            Kind::Empty => return Bytes::from_static(b"{}"),
        };
        webhook(&self.secret, &body)
    }
}

/// A buyer's erasure, asked for a second ago.
fn erasure_requested(buyer_id: &str) -> String {
    let requested_at = (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339();
    envelope(
        &format!("evt_erasure_{buyer_id}"),
        "buyer.erasure_requested",
        json!({"buyer_id": buyer_id, "requested_at": requested_at}),
    )
}

fn envelope(id: &str, event_type: &str, data: Value) -> String {
    json!({"id": id, "type": event_type, "created_at": chrono::Utc::now().to_rfc3339(), "data": data}).to_string()
}

/// An `order.created` of `lines` lines, one unit each; the last line out of stock if `short`.
fn order_created(id: &str, lines: usize, short: bool) -> String {
    let mut skus: Vec<String> = (0..lines).map(|n| format!("BENCH-{n:02}")).collect();
    if short && let Some(last) = skus.last_mut() {
        *last = OUT_OF_STOCK.to_owned();
    }
    let lines: Vec<Value> = skus
        .iter()
        .enumerate()
        .map(|(n, sku)| json!({"line_id": format!("l{n}"), "sku": sku, "quantity": 1, "unit_price": "9.90"}))
        .collect();
    let cents = 990 * lines.len();
    let total = format!("{}.{:02}", cents / 100, cents % 100);
    let data = json!({
        "order_id": format!("ord_{id}"),
        "seller_id": SELLER,
        "buyer": {"id": "buy_bench", "name": "Bench Buyer", "email": "bench@example.com", "locale": "en"},
        "currency": "EUR",
        "lines": lines,
        "total": total,
        "ship_by": (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339(),
        "shipping_address": {"name": "Bench Buyer", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}
    });
    envelope(&format!("evt_{id}"), "order.created", data)
}

fn restock(id: &str) -> String {
    let data = json!({"seller_id": SELLER, "sku": "BENCH-00", "on_hand": {"add": 1}});
    envelope(id, "inventory.adjusted", data)
}

/// A negative review of `BENCH-00` by the bench's buyer, naming `order_id` if given.
fn review_created(id: &str, order_id: Option<&str>) -> String {
    let mut data = json!({
        "review_id": format!("rev_{id}"), "seller_id": SELLER, "sku": "BENCH-00",
        "buyer_id": "buy_bench", "rating": 2, "title": "lid leaks",
        "text": "The lid leaks every time I pour and customer service never replied. 盖子漏水，客服不回复。",
        "created_at": chrono::Utc::now().to_rfc3339(),
    });
    if let Some(order_id) = order_id {
        data["order_id"] = json!(order_id);
    }
    envelope(&format!("evt_review_{id}"), "review.created", data)
}

fn review_updated(id: &str) -> String {
    let data = json!({
        "review_id": format!("rev_{id}"), "seller_id": SELLER, "rating": 1, "title": "lid leaks",
        "text": "The lid leaks, and it arrived two weeks late.", "updated_at": chrono::Utc::now().to_rfc3339(),
    });
    envelope(&format!("evt_review_update_{id}"), "review.updated", data)
}

/// A question of the bench's buyer, `data` merged in.
fn message_received(id: &str, data: Value) -> String {
    let mut body = json!({
        "message_id": format!("msg_{id}"), "seller_id": SELLER,
        "buyer": {"id": "buy_bench", "name": "Bench Buyer", "email": "bench@example.com", "locale": "en"},
        "subject": "", "created_at": chrono::Utc::now().to_rfc3339(),
    });
    for (key, value) in data.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    envelope(&format!("evt_message_{id}"), "message.received", body)
}

/// The order order intake's cases place, ship and deliver: 20 lines of €9.90 (€198.00), which
/// refund processing's workload and cases refund.
const REFUNDED_ORDER: &str = "ord_count_20";

/// A refund of [`REFUNDED_ORDER`]: `asked` is its `lines` or `amount`.
fn refund_requested(id: &str, asked: Value) -> String {
    let mut data = json!({
        "refund_id": format!("ref_{id}"), "order_id": REFUNDED_ORDER, "seller_id": SELLER, "buyer_id": "buy_bench",
        "reason": "defective", "note": "The lid leaks.", "created_at": chrono::Utc::now().to_rfc3339(),
    });
    for (key, value) in asked.as_object().into_iter().flatten() {
        data[key] = value.clone();
    }
    envelope(&format!("evt_refund_{id}"), "refund.requested", data)
}

fn order_changed(event_type: &str, data: Value) -> String {
    envelope(&format!("evt_count_{}", event_type.replace('.', "_")), event_type, data)
}

fn payout(refund_id: &str) -> FollowUp {
    FollowUp::RefundPayout(Payout {
        dedupe_key: format!("refund-processor#{SELLER}#{refund_id}#payout"),
        refund_id: refund_id.to_owned(),
        order_id: REFUNDED_ORDER.to_owned(),
        seller_id: SELLER.to_owned(),
        buyer_id: "buy_bench".to_owned(),
        amount: "9.90".to_owned(),
        amount_minor: 990,
        currency: "EUR".to_owned(),
        paid_by: Default::default(),
    })
}

fn review_notice() -> FollowUp {
    FollowUp::ReviewNotice(ReviewNotice {
        dedupe_key: format!("bench#review#{}", chrono::Utc::now().timestamp_micros()),
        seller_id: SELLER.to_owned(),
        sku: "BENCH-00".to_owned(),
        about: Noticed::NegativeReview {
            review_id: "rev_bench".to_owned(),
            rating: 2,
            reasons: vec![Reason::Quality],
            verified: true,
            snippet: "The lid leaks".to_owned(),
        },
        buyer_id: Some("buy_bench".to_owned()),
    })
}

/// A batch of one queued follow-up from `queue` (the template's logical id), as Lambda hands
/// it over.
fn queued(provisioned: &Provisioned, queue: &str, follow_up: &FollowUp) -> Bytes {
    let body = serde_json::to_string(follow_up).expect("follow-ups serialise");
    let message = json!({"Records": [{"eventSource": "aws:sqs", "eventSourceARN": provisioned.queues[queue].arn,
        "messageId": format!("bench-{}", follow_up.dedupe_key()),
        "body": body, "attributes": {"ApproximateReceiveCount": "1"}}]});
    Bytes::from(message.to_string())
}

fn stock_change(reason: StockChangeReason) -> FollowUp {
    FollowUp::StockChange(StockChange {
        dedupe_key: format!("bench#stock#{reason:?}"),
        seller_id: SELLER.to_owned(),
        skus: vec!["BENCH-00".to_owned()],
        reason,
        order_id: None,
        after: None,
    })
}

fn confirmation_email() -> FollowUp {
    let at = chrono::Utc::now();
    FollowUp::Email(EmailRequest {
        dedupe_key: format!("bench#email#{}", at.timestamp_micros()),
        recipient: Recipient {
            role: RecipientRole::Buyer,
            id: "buy_bench".to_owned(),
            name: "Bench Buyer".to_owned(),
            email: EmailAddress::parse("bench@example.com").expect("an address"),
        },
        locale: "zh".to_owned(),
        content: EmailContent::OrderConfirmation(OrderEmail {
            order_id: "ord_bench".to_owned(),
            seller_id: SELLER.to_owned(),
            currency: "EUR".to_owned(),
            total: "19.80".to_owned(),
            lines: vec![OrderEmailLine {
                sku: "BENCH-00".to_owned(),
                title: Some("Bench teapot".to_owned()),
                quantity: 2,
                unit_price: "9.90".to_owned(),
                line_total: "19.80".to_owned(),
            }],
            placed_at: at,
            ship_by: at,
            expected_by: None,
            shipment: None,
        }),
    })
}

/// A Function URL request carrying `body`, signed with `secret` now.
fn webhook(secret: &str, body: &str) -> Bytes {
    let signature = backoffice::mechanisms::webhook::SignatureVerifier::new(
        backoffice::mechanisms::webhook::WebhookSecret::new(secret),
    )
    .sign(body.as_bytes(), chrono::Utc::now().timestamp());
    let (parts, ()) = http::Request::builder()
        .method("POST")
        .uri("/")
        .header("content-type", "application/json")
        .header("marketplace-signature", signature)
        .body(())
        .expect("a static request is valid")
        .into_parts();
    let event = local_cloud::gateway::function_url_event(&parts, &Bytes::from(body.to_owned()));
    Bytes::from(serde_json::to_vec(&event).expect("the event serialises"))
}

/// The bench seller's alert contact and settings, as `seller.updated` leaves them: refunds up
/// to €30.00 approved at once.
pub async fn seed_seller(config: &aws_config::SdkConfig, table: &str) -> Result<(), BenchError> {
    use aws_sdk_dynamodb::types::AttributeValue;
    aws_sdk_dynamodb::Client::new(config)
        .put_item()
        .table_name(table)
        .item("seller_id", AttributeValue::S(SELLER.to_owned()))
        .item("name", AttributeValue::S("Bench Seller".to_owned()))
        .item("email", AttributeValue::S("alerts@bench.example".to_owned()))
        .item("locale", AttributeValue::S("en".to_owned()))
        .item("return_window_days", AttributeValue::N("30".to_owned()))
        .item("decision_hours", AttributeValue::N("48".to_owned()))
        .item("auto_approve_minor", AttributeValue::N("3000".to_owned()))
        .item("auto_approve_currency", AttributeValue::S("EUR".to_owned()))
        .send()
        .await
        .map(|_| ())
        .map_err(|error| {
            run_error(
                "seeding the bench's seller",
                aws_sdk_dynamodb::error::DisplayErrorContext(error),
            )
        })
}

pub async fn seed_stock(config: &aws_config::SdkConfig, table: &str) -> Result<(), BenchError> {
    let mut seeds: Vec<StockSeed> = (0..STOCKED)
        .map(|n| StockSeed {
            seller_id: SELLER.to_owned(),
            sku: format!("BENCH-{n:02}"),
            on_hand: 1_000_000_000,
            safety_stock: 0,
            lead_time_days: 3,
        })
        .collect();
    seeds.push(StockSeed {
        seller_id: SELLER.to_owned(),
        sku: OUT_OF_STOCK.to_owned(),
        on_hand: 0,
        safety_stock: 0,
        lead_time_days: 9,
    });
    write_stock(&aws_sdk_dynamodb::Client::new(config), table, &seeds)
        .await
        .map_err(|error| run_error("seeding the bench's stock", error))
}

/// Every event type a function takes, for the request counts.
pub async fn cases(
    function: Function,
    workload: &Workload,
    aws_endpoint: &str,
    provisioned: &Provisioned,
) -> Result<Vec<Case>, BenchError> {
    let secret = &workload.secret;
    let case = |name: &str, event: Bytes| Case {
        name: name.to_owned(),
        event,
    };
    let mut cases = Vec::new();
    match function {
        Function::OrderIntake => {
            let one_line = order_created("count_1", 1, false);
            cases.push(case("order.created, 1 line", webhook(secret, &one_line)));
            cases.push(case(
                "order.created, 20 lines",
                webhook(secret, &order_created("count_20", 20, false)),
            ));
            cases.push(case(
                "order.created, backordered",
                webhook(secret, &order_created("count_bo", 3, true)),
            ));
            cases.push(case("order.created, delivered again", webhook(secret, &one_line)));
            let order = json!({"order_id": REFUNDED_ORDER, "seller_id": SELLER});
            let mut shipped = order.clone();
            shipped["carrier"] = json!("DHL");
            shipped["tracking_number"] = json!("JD0146000038");
            cases.push(case(
                "order.shipped",
                webhook(secret, &order_changed("order.shipped", shipped)),
            ));
            cases.push(case(
                "order.delivered",
                webhook(secret, &order_changed("order.delivered", order)),
            ));
            let relay = outbox_batch(aws_endpoint, provisioned).await?;
            cases.push(case("outbox relay, 1 change", relay));
        }
        Function::StockAlerts => {
            cases.push(case("inventory.adjusted, restock", workload.event(u64::MAX)));
            cases.push(case(
                "stock change, 1 healthy SKU",
                queued(
                    provisioned,
                    "StockChangeQueue",
                    &stock_change(StockChangeReason::Reserved),
                ),
            ));
            cases.push(case(
                "restock, no backorders waiting",
                queued(
                    provisioned,
                    "StockChangeQueue",
                    &stock_change(StockChangeReason::Restocked),
                ),
            ));
        }
        Function::ReviewMonitor => {
            let negative = review_created("count", None);
            cases.push(case("review.created, negative", webhook(secret, &negative)));
            cases.push(case("review.created, delivered again", webhook(secret, &negative)));
            // Order intake's cases placed `ord_count_1` for the bench's buyer: a verified review.
            let verified = review_created("count_verified", Some("ord_count_1"));
            cases.push(case("review.created, naming an order", webhook(secret, &verified)));
            cases.push(case(
                "review.updated, a new reason",
                webhook(secret, &review_updated("count")),
            ));
            cases.push(case(
                "review notice, told in a digest",
                queued(provisioned, "ReviewNoticeQueue", &review_notice()),
            ));
        }
        Function::RefundProcessor => {
            let automatic = refund_requested(
                "count_automatic",
                json!({"lines": [{"line_id": "l0", "quantity": 1, "restock": true}]}),
            );
            cases.push(case("refund.requested, approved at once", webhook(secret, &automatic)));
            cases.push(case("refund.requested, delivered again", webhook(secret, &automatic)));
            let pending = refund_requested("count_pending", json!({"amount": "31.00"}));
            cases.push(case("refund.requested, pending", webhook(secret, &pending)));
            let approve = envelope(
                "evt_refund_count_decided",
                "refund.decided",
                json!({"refund_id": "ref_count_pending", "seller_id": SELLER, "decision": "approve"}),
            );
            cases.push(case("refund.decided, approve", webhook(secret, &approve)));
            let claim = |event_type: &str, data: Value| {
                let mut data = data;
                data["claim_id"] = json!("clm_count");
                data["seller_id"] = json!(SELLER);
                envelope(&format!("evt_{}_count", event_type.replace('.', "_")), event_type, data)
            };
            let opened = claim(
                "claim.opened",
                json!({"order_id": REFUNDED_ORDER, "buyer_id": "buy_bench", "reason": "not_as_described",
                    "amount": "1.00", "note": "The lid does not fit", "created_at": chrono::Utc::now().to_rfc3339()}),
            );
            cases.push(case("claim.opened", webhook(secret, &opened)));
            cases.push(case("claim.opened, delivered again", webhook(secret, &opened)));
            let evidence = claim(
                "claim.responded",
                json!({"response": "evidence", "tracking": {"carrier": "DHL", "tracking_number": "JD0146000038"}}),
            );
            cases.push(case("claim.responded, evidence", webhook(secret, &evidence)));
            let decided = claim(
                "claim.decided",
                json!({"decided_by": "op_bench", "decision": "refund", "paid_by": "marketplace", "reason": "bench"}),
            );
            cases.push(case(
                "claim.decided, refund by the marketplace",
                webhook(secret, &decided),
            ));
            let payout = queued(provisioned, "PayoutRequestQueue", &payout("ref_count_automatic"));
            cases.push(case("payout request, handed over", payout.clone()));
            cases.push(case("payout request, delivered again", payout));
            let sweep = local_cloud::schedule::scheduled_event("PendingRefundSweep", chrono::Utc::now());
            cases.push(case(
                "sweep of pending refunds and claims, none due",
                Bytes::from(sweep.to_string()),
            ));
        }
        // No webhooks: its schedule has its own section of the bench.
        Function::SellerHealth => {}
        Function::BuyerPrivacy => {
            // The bench's buyer, who placed every bench order, reviewed, refunded and asked.
            let export = envelope(
                "evt_export_count",
                "buyer.export_requested",
                json!({"buyer_id": BUYER, "export_id": "exp_count"}),
            );
            cases.push(case("buyer.export_requested", webhook(secret, &export)));
            let job = FollowUp::BuyerExport(ExportJob {
                dedupe_key: "buyer-privacy#export#bench".to_owned(),
                buyer_id: BUYER.to_owned(),
                export_id: "exp_count".to_owned(),
                object_key: export_object_key(BUYER, "exp_count"),
            });
            cases.push(case(
                "export, the bench buyer's every record",
                queued(provisioned, "PrivacyQueue", &job),
            ));
            let erasure = erasure_requested(BUYER);
            cases.push(case("buyer.erasure_requested", webhook(secret, &erasure)));
            let mut page = Some(ErasurePage::first(BUYER, "bench", chrono::Utc::now()));
            while let Some(this) = page {
                let name = format!("erasure page, {} (up to {ITEMS_PER_PAGE})", this.stage.as_str());
                cases.push(case(
                    &name,
                    queued(provisioned, "PrivacyQueue", &FollowUp::ErasurePage(this.clone())),
                ));
                page = this.next(None);
            }
        }
        Function::BuyerMessaging => {
            let wismo = message_received(
                "count_wismo",
                json!({"order_id": "ord_count_1", "text": "Where is my order?"}),
            );
            cases.push(case(
                "message.received, where is my order, answered",
                webhook(secret, &wismo),
            ));
            cases.push(case("message.received, delivered again", webhook(secret, &wismo)));
            let product = message_received("count_product", json!({"text": "Is the teapot dishwasher safe?"}));
            cases.push(case("message.received, to the seller", webhook(secret, &product)));
            let unnamed = message_received("count_unnamed", json!({"text": "Has my order shipped?"}));
            cases.push(case("message.received, naming no order", webhook(secret, &unnamed)));
            let reply = envelope(
                "evt_message_count_reply",
                "message.replied",
                json!({"message_id": "msg_count_reply", "thread_id": "thr_msg_count_product", "seller_id": SELLER,
                       "text": "Please wash it by hand."}),
            );
            cases.push(case("message.replied", webhook(secret, &reply)));
            let email = queued(provisioned, "EmailQueue", &confirmation_email());
            cases.push(case("email request, sent", email.clone()));
            cases.push(case("email request, delivered again", email));
            let preferences = envelope(
                "evt_bench_preferences",
                "buyer.preferences",
                json!({"buyer_id": "buy_bench", "optional_email": "opted_out"}),
            );
            cases.push(case("buyer.preferences", webhook(secret, &preferences)));
            let sweep = local_cloud::schedule::scheduled_event("ReplyClock", chrono::Utc::now());
            cases.push(case("the clock's sweep, nothing due", Bytes::from(sweep.to_string())));
        }
    }
    Ok(cases)
}

/// The newest outbox record, as the stream would hand it to order intake.
async fn outbox_batch(aws_endpoint: &str, provisioned: &Provisioned) -> Result<Bytes, BenchError> {
    let stream = provisioned
        .streams
        .get("OutboxTable")
        .ok_or_else(|| run_error("outbox", "the outbox table has no stream"))?;
    let reader = StreamReader::new(aws_endpoint, stream);
    let mut iterator = Some(
        reader
            .iterator(Position::Oldest)
            .await
            .map_err(|e| run_error("outbox", e))?,
    );
    let mut last = None;
    while let Some(current) = iterator {
        let page = reader.page(&current, 1000).await.map_err(|e| run_error("outbox", e))?;
        if page.records.is_empty() {
            break;
        }
        last = page.records.last().cloned();
        iterator = page.next;
    }
    let record = last.ok_or_else(|| run_error("outbox", "no outbox record to relay"))?;
    Ok(Bytes::from(local_cloud::streams::stream_event(&[record]).to_string()))
}

/// How an invocation ended, in a word for the report.
pub fn outcome(invoked: &Invoked) -> String {
    let answer: Value = serde_json::from_slice(invoked.body()).unwrap_or_default();
    if invoked.failed() {
        return format!("failed: {}", answer["errorType"].as_str().unwrap_or("error"));
    }
    if let Some(status) = answer["statusCode"].as_i64() {
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or_default()).unwrap_or_default();
        let what = body["status"]
            .as_str()
            .or(body["error"]["code"].as_str())
            .unwrap_or_default();
        return match body["order_status"].as_str() {
            Some(order) => format!("{status} {what}, order {order}"),
            None => format!("{status} {what}"),
        };
    }
    if let Some(failures) = answer["batchItemFailures"].as_array() {
        return format!("{} of the batch failed", failures.len());
    }
    "answered".to_owned()
}
