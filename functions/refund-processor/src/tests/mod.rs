//! Refund processing's handler over the in-memory store and a payment queue that records what
//! it is sent: requests through the webhook, decisions, the sweep at the moments it runs, and
//! payouts as the queue delivers them. The same handler over DynamoDB and SQS is proven in
//! `tests/tests/refund_processor.rs`.

use std::sync::{Arc, Mutex};

use backoffice::domains::email::{EmailContent, EmailRequest};
use backoffice::domains::orders::records::put_new;
use backoffice::domains::orders::schema::OrderCreatedData;
use backoffice::domains::orders::{EventContext, OrderStatus, StoredOrder, validate};
use backoffice::domains::refunds::payout::Payout;
use backoffice::domains::refunds::records::refund_key;
use backoffice::domains::stock::inventory::sku_key;
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{Item, MemoryStorage, StoreError, Table, WriteSet, number, text};
use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "whsec_unit";
const SELLER: &str = "sel_teahouse";

fn delivered_at() -> DateTime<Utc> {
    "2026-11-26T14:02:00Z".parse().unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-27T10:00:00Z".parse().unwrap()
}

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

/// The payment integration's queue: what it was sent.
#[derive(Clone, Default)]
struct Payments(Arc<Mutex<Vec<Payout>>>);

impl PayoutQueue for Payments {
    async fn send(&self, payout: &Payout) -> Result<String, StoreError> {
        let mut sent = self.0.lock().unwrap();
        sent.push(payout.clone());
        Ok(format!("msg-{}", sent.len()))
    }
}

struct Shop {
    refunds: RefundProcessor<MemoryStorage, Payments>,
    store: MemoryStorage,
    payments: Payments,
}

/// The seller (refunds up to €30.00 automatic, 48 hours to decide), its stock, and the sample
/// order `ord_1001` (two teapots at €24.90, a cup set at €12.00), delivered.
async fn shop() -> Shop {
    let store = MemoryStorage::new();
    let seller = json!({"seller_id": SELLER, "name": "Teahouse Lin", "email": "alerts@teahouse.example", "locale": "zh-CN",
        "auto_approve_minor": 3000, "auto_approve_currency": "EUR", "decision_hours": 48, "return_window_days": 30});
    store.insert(Table::Sellers, seller.as_object().cloned().unwrap());
    for sku in ["TEA-POT-01", "TEA-CUP-06"] {
        let item = json!({"sku_key": sku_key(SELLER, sku), "seller_id": SELLER, "sku": sku, "on_hand": 5, "reserved": 0, "available": 5});
        store.insert(Table::Inventory, item.as_object().cloned().unwrap());
    }
    store
        .write(WriteSet::from(vec![put_new(&sample_order("ord_1001")).unwrap()]))
        .await
        .unwrap();
    store.take_requests();
    let payments = Payments::default();
    Shop {
        refunds: RefundProcessor::new(WebhookSecret::new(SECRET), store.clone(), payments.clone()),
        store,
        payments,
    }
}

fn sample_order(order_id: &str) -> StoredOrder {
    let mut data = sample("01-order.created")["data"].clone();
    data["order_id"] = json!(order_id);
    let data: OrderCreatedData = serde_json::from_value(data).unwrap();
    let event = EventContext {
        id: format!("evt_{order_id}"),
        fingerprint: "f".into(),
        at: delivered_at() - Duration::days(4),
    };
    let mut order = StoredOrder::accepted(&validate::new_order(data).unwrap(), &event);
    order.status = OrderStatus::Delivered;
    order.shipped_at = Some(delivered_at() - Duration::days(3));
    order.delivered_at = Some(delivered_at());
    order
}

/// A `refund.requested` of `ord_1001` under its own ids, asked at `asked_at`.
fn request(n: u32, lines: Value, asked_at: DateTime<Utc>) -> Value {
    json!({
        "id": format!("evt_refund_{n}"),
        "type": "refund.requested",
        "created_at": asked_at.to_rfc3339(),
        "data": {
            "refund_id": format!("ref_{n}"), "order_id": "ord_1001", "seller_id": SELLER, "buyer_id": "buy_42",
            "lines": lines, "reason": "defective", "created_at": asked_at.to_rfc3339()
        }
    })
}

fn decision(n: u32, refund_id: &str, data: Value) -> Value {
    let mut data = data;
    data["refund_id"] = json!(refund_id);
    if data.get("seller_id").is_none() {
        data["seller_id"] = json!(SELLER);
    }
    json!({"id": format!("evt_decided_{n}"), "type": "refund.decided", "created_at": now().to_rfc3339(), "data": data})
}

impl Shop {
    /// Stores `order` as order intake would have.
    async fn add_order(&self, order: &StoredOrder) {
        self.store
            .write(WriteSet::from(vec![put_new(order).unwrap()]))
            .await
            .unwrap();
    }

    async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, now()).await
    }

    async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), &event.to_string(), at);
        let response = self.refunds.handle_webhook(&request, at).await;
        let answer = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        (response.status_code, answer)
    }

    fn order(&self) -> Item {
        self.store.item(Table::Orders, "ord_1001").unwrap()
    }

    fn refund(&self, refund_id: &str) -> Item {
        self.store.item(Table::Refunds, &refund_key(SELLER, refund_id)).unwrap()
    }

    fn on_hand(&self, sku: &str) -> i64 {
        number(
            &self.store.item(Table::Inventory, &sku_key(SELLER, sku)).unwrap(),
            "on_hand",
        )
    }

    fn follow_ups(&self) -> Vec<FollowUp> {
        let mut entries = self.store.items(Table::Outbox);
        entries.sort_by(|a, b| text(a, "key").cmp(text(b, "key")));
        entries
            .iter()
            .flat_map(|entry| serde_json::from_str::<Vec<FollowUp>>(text(entry, "follow_ups")).unwrap())
            .collect()
    }

    fn emails(&self) -> Vec<EmailRequest> {
        self.follow_ups()
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::Email(email) => Some(email),
                _ => None,
            })
            .collect()
    }

    fn payouts(&self) -> Vec<Payout> {
        self.follow_ups()
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::RefundPayout(payout) => Some(payout),
                _ => None,
            })
            .collect()
    }

    async fn deliver_payouts(&self, payouts: &[Payout]) -> Value {
        let records: Vec<Value> = payouts
            .iter()
            .enumerate()
            .map(|(n, payout)| {
                let body = serde_json::to_string(&FollowUp::RefundPayout(payout.clone())).unwrap();
                json!({"eventSource": "aws:sqs", "messageId": format!("m{n}"), "body": body})
            })
            .collect();
        self.refunds.handle(json!({"Records": records}), now()).await.unwrap()
    }

    async fn sweep_at(&self, at: DateTime<Utc>) -> Value {
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        self.refunds.handle(schedule, at).await.unwrap()
    }
}

#[tokio::test]
async fn a_small_refund_is_approved_at_once_restocked_confirmed_and_paid_out_once() {
    let shop = shop().await;
    let (status, answer) = shop.send(&sample("15-refund.requested.automatic")).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (&answer["decision"], &answer["amount"], &answer["currency"]),
        (&json!("approved"), &json!("12.00"), &json!("EUR"))
    );
    assert_eq!(shop.store.take_requests(), 2, "one BatchGetItem, one transaction");
    let order = shop.order();
    assert_eq!(
        order["refunded"]["lines"]["l2"],
        json!({"quantity": 1, "amount_minor": 1200})
    );
    assert_eq!(text(&order, "refund_status"), "partially_refunded");
    assert_eq!(shop.on_hand("TEA-CUP-06"), 6, "the unopened cups are back on hand");

    let emails = shop.emails();
    assert_eq!(emails.len(), 1);
    assert!(matches!(&emails[0].content, EmailContent::RefundConfirmation(refund) if refund.amount == "12.00"));
    assert_eq!(emails[0].locale, "zh");
    let stock_changes = shop
        .follow_ups()
        .into_iter()
        .filter(|follow_up| matches!(follow_up, FollowUp::StockChange(change) if change.skus == ["TEA-CUP-06"]))
        .count();
    assert_eq!(stock_changes, 1, "stock alerts hears of the returned units");

    let payouts = shop.payouts();
    assert_eq!(payouts.len(), 1);
    for _ in 0..3 {
        let answer = shop.deliver_payouts(&payouts).await;
        assert_eq!(answer["batchItemFailures"], json!([]));
    }
    let sent = shop.payments.0.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "one payout, however often it is delivered");
    assert_eq!((sent[0].amount_minor, sent[0].currency.as_str()), (1200, "EUR"));
    assert_eq!(text(&shop.refund("ref_3001"), "payout_message_id"), "msg-1");
}

#[tokio::test]
async fn a_large_refund_waits_for_the_seller_who_approves_less() {
    let shop = shop().await;
    let (status, answer) = shop.send(&sample("16-refund.requested.pending")).await;
    assert_eq!(
        (status, answer["decision"].clone(), answer["amount"].clone()),
        (202, json!("pending"), json!("49.80"))
    );
    let due: DateTime<Utc> = answer["decision_due"].as_str().unwrap().parse().unwrap();
    assert_eq!(due - now(), Duration::hours(48));
    let digest = shop.emails().pop().unwrap();
    let EmailContent::SellerDigest(digest) = digest.content else {
        panic!("the seller hears of it")
    };
    assert_eq!(digest.refunds_awaiting[0].due_at, Some(due));
    assert!(shop.payouts().is_empty() && shop.order().get("refund_status").is_none());

    let (status, answer) = shop.send(&sample("17-refund.decided")).await;
    assert_eq!(
        (status, answer["decision"].clone(), answer["amount"].clone()),
        (202, json!("approved"), json!("40.00")),
        "{answer}"
    );
    let order = shop.order();
    assert_eq!(
        order["refunded"]["lines"]["l1"],
        json!({"quantity": 2, "amount_minor": 4000})
    );
    assert_eq!(shop.on_hand("TEA-POT-01"), 5, "not restocked: the teapots leak");
    assert_eq!(shop.payouts()[0].amount, "40.00");
    let (status, answer) = shop
        .send(&decision(
            2,
            "ref_3002",
            json!({"decision": "reject", "reason": "changed my mind"}),
        ))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("already_decided"))
    );
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_tells_the_buyer_it() {
    let shop = shop().await;
    shop.send(&sample("16-refund.requested.pending")).await;
    let (status, answer) = shop.send(&decision(1, "ref_3002", json!({"decision": "reject"}))).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (400, Some("reason_required"))
    );
    let reason = "photos show the lid was dropped <not a defect>";
    let (status, answer) = shop
        .send(&decision(
            2,
            "ref_3002",
            json!({"decision": "reject", "reason": reason}),
        ))
        .await;
    assert_eq!((status, answer["decision"].clone()), (202, json!("rejected")));
    let rejected = shop
        .emails()
        .into_iter()
        .find(|email| matches!(email.content, EmailContent::RefundRejected(_)));
    let Some(EmailRequest {
        content: EmailContent::RefundRejected(email),
        ..
    }) = rejected
    else {
        panic!("the buyer is told")
    };
    assert_eq!(email.reason.as_deref(), Some(reason));
    assert!(shop.payouts().is_empty() && shop.order().get("refund_status").is_none());
}

#[tokio::test]
async fn the_windows_last_day_is_accepted_and_the_next_refused() {
    let shop = shop().await;
    let last_day: DateTime<Utc> = "2026-12-26T23:59:59Z".parse().unwrap();
    let line = json!([{"line_id": "l2", "quantity": 1}]);
    let (status, answer) = shop.send_at(&request(1, line.clone(), last_day), last_day).await;
    assert_eq!(status, 202, "{answer}");
    let late = last_day + Duration::seconds(1);
    let (status, answer) = shop.send_at(&request(2, line, late), late).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("outside_return_window"))
    );
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("2026-12-26"),
        "{answer}"
    );
}

#[tokio::test]
async fn every_cap_and_the_currency_are_kept() {
    let shop = shop().await;
    for (n, (lines, amount, currency, code, field)) in [
        (
            json!([{"line_id": "l1", "quantity": 3}]),
            None,
            None,
            "quantity_exceeds_refundable",
            "data.lines[0].quantity",
        ),
        (
            json!([{"line_id": "l1", "quantity": 1, "amount": "50.00"}]),
            None,
            None,
            "amount_exceeds_refundable",
            "data.lines[0].amount",
        ),
        (
            json!([{"line_id": "l9", "quantity": 1}]),
            None,
            None,
            "unknown_line",
            "data.lines[0].line_id",
        ),
        (
            Value::Null,
            Some("61.81"),
            None,
            "amount_exceeds_refundable",
            "data.amount",
        ),
        (Value::Null, Some("1.234"), None, "amount_precision", "data.amount"),
        (
            Value::Null,
            Some("1.00"),
            Some("USD"),
            "currency_mismatch",
            "data.currency",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut event = request(7, lines.clone(), now());
        event["id"] = json!(format!("evt_cap_{n}"));
        if lines.is_null() {
            event["data"].as_object_mut().unwrap().remove("lines");
        }
        if let Some(amount) = amount {
            event["data"]["amount"] = json!(amount);
        }
        if let Some(currency) = currency {
            event["data"]["currency"] = json!(currency);
        }
        let (status, answer) = shop.send(&event).await;
        assert_eq!(
            (
                status,
                answer["error"]["code"].as_str(),
                answer["error"]["field"].as_str()
            ),
            (422, Some(code), Some(field)),
            "{answer}"
        );
    }
    assert!(shop.store.items(Table::Refunds).is_empty());

    // Refunds add up: €12.00 of the cups, then the most that is left of the order, then nothing.
    shop.send(&request(1, json!([{"line_id": "l2", "quantity": 1}]), now()))
        .await;
    let mut rest = request(2, Value::Null, now());
    rest["data"].as_object_mut().unwrap().remove("lines");
    rest["data"]["amount"] = json!("49.80");
    let (status, answer) = shop.send(&rest).await;
    assert_eq!(
        (status, answer["decision"].clone()),
        (202, json!("pending")),
        "{answer}"
    );
    shop.send(&decision(1, "ref_2", json!({"decision": "approve"}))).await;
    assert_eq!(text(&shop.order(), "refund_status"), "refunded");
    let (status, answer) = shop
        .send(&request(
            3,
            json!([{"line_id": "l1", "quantity": 1, "amount": "0.01"}]),
            now(),
        ))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("amount_exceeds_refundable")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_buyer_with_three_refunds_in_ninety_days_waits_for_the_seller() {
    let shop = shop().await;
    for n in 1..=3 {
        let order_id = format!("ord_other_{n}");
        shop.add_order(&sample_order(&order_id)).await;
        let mut event = request(n, json!([{"line_id": "l2", "quantity": 1}]), now());
        event["data"]["order_id"] = json!(order_id);
        assert_eq!(shop.send(&event).await.1["decision"], "approved");
    }
    let (status, answer) = shop
        .send(&request(4, json!([{"line_id": "l2", "quantity": 1}]), now()))
        .await;
    assert_eq!(
        (status, answer["decision"].clone()),
        (202, json!("pending")),
        "a fourth refund in 90 days"
    );
    let later = now() + Duration::days(91);
    let mut recent = sample_order("ord_recent");
    recent.delivered_at = Some(later - Duration::days(1));
    shop.add_order(&recent).await;
    let mut event = request(5, json!([{"line_id": "l1", "quantity": 1}]), later);
    event["data"]["order_id"] = json!("ord_recent");
    let (_, answer) = shop.send_at(&event, later).await;
    assert_eq!(
        answer["decision"], "approved",
        "91 days on, the history has passed: {answer}"
    );
    // Kept only as long as it counts: 90 days after the buyer's last approval.
    let history = shop
        .store
        .item(
            Table::Refunds,
            &backoffice::domains::refunds::records::buyer_key("buy_42"),
        )
        .unwrap();
    assert_eq!(
        history["expires_at"],
        Value::from((later + Duration::days(90)).timestamp())
    );
}

#[tokio::test]
async fn the_seller_is_reminded_at_half_time_and_the_deadline_approves_for_them() {
    let shop = shop().await;
    shop.send(&sample("16-refund.requested.pending")).await;
    assert_eq!(
        shop.sweep_at(now() + Duration::hours(23)).await["due"],
        0,
        "nothing due yet"
    );
    let swept = shop.sweep_at(now() + Duration::hours(24)).await;
    assert_eq!(
        (swept["due"].as_u64(), swept["reminded"].as_u64()),
        (Some(1), Some(1)),
        "{swept}"
    );
    shop.sweep_at(now() + Duration::hours(25)).await;
    let reminders = shop
        .emails()
        .into_iter()
        .filter(|email| matches!(&email.content, EmailContent::SellerDigest(digest) if digest.refunds_awaiting.iter().any(|refund| refund.reminder)))
        .count();
    assert_eq!(reminders, 1, "one reminder");
    let swept = shop.sweep_at(now() + Duration::hours(48)).await;
    assert_eq!(swept["approved"], 1, "{swept}");
    let refund = shop.refund("ref_3002");
    assert_eq!(
        (text(&refund, "state"), text(&refund, "decision_reason")),
        ("approved", "seller_did_not_respond")
    );
    assert!(refund.get("pending").is_none(), "off the sweep's index");
    let (status, answer) = shop.send(&sample("17-refund.decided")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("already_decided"))
    );
    assert_eq!(shop.payouts().len(), 1);
}

#[tokio::test]
async fn a_duplicate_is_answered_and_a_reused_refund_id_is_a_conflict() {
    let shop = shop().await;
    let event = sample("15-refund.requested.automatic");
    let answers = join_all((0..16).map(|_| shop.send(&event))).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    assert_eq!(accepted, 1, "{answers:?}");
    assert!(answers.iter().all(|(status, _)| matches!(status, 200 | 202)));
    let mut again = event.clone();
    again["id"] = json!("evt_same_request_again");
    assert_eq!(shop.send(&again).await.0, 200, "the same request under another event");
    again["id"] = json!("evt_other_request_same_id");
    again["data"]["lines"][0]["quantity"] = json!(2);
    let (status, answer) = shop.send(&again).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("refund_exists")));
    assert_eq!(shop.payouts().len(), 1);
    assert_eq!(number(&shop.order(), "version"), 1, "refunded once");
}

#[tokio::test]
async fn another_sellers_order_or_refund_is_not_found_and_another_buyers_order_refused() {
    let shop = shop().await;
    let mut event = sample("15-refund.requested.automatic");
    event["data"]["seller_id"] = json!("sel_other");
    assert_eq!(shop.send(&event).await.1["error"]["code"], "order_not_found");
    let mut event = sample("15-refund.requested.automatic");
    event["data"]["buyer_id"] = json!("buy_someone_else");
    assert_eq!(shop.send(&event).await.1["error"]["code"], "buyer_mismatch");
    shop.send(&sample("16-refund.requested.pending")).await;
    let (status, answer) = shop
        .send(&decision(
            1,
            "ref_3002",
            json!({"decision": "approve", "seller_id": "sel_other"}),
        ))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("refund_not_found"))
    );
}

#[tokio::test]
async fn not_received_is_for_an_order_shipped_two_weeks_ago_and_never_delivered() {
    let shop = shop().await;
    let mut in_transit = sample_order("ord_lost");
    in_transit.status = OrderStatus::Shipped;
    in_transit.delivered_at = None;
    shop.add_order(&in_transit).await;
    let shipped = in_transit.shipped_at.unwrap();
    let ask = |n: u32, at: DateTime<Utc>, reason: &str, order: &str| {
        let mut event = request(n, json!([{"line_id": "l2", "quantity": 1}]), at);
        event["data"]["reason"] = json!(reason);
        event["data"]["order_id"] = json!(order);
        event
    };
    let early = shipped + Duration::days(13);
    assert_eq!(
        shop.send_at(&ask(1, early, "not_received", "ord_lost"), early).await.1["error"]["code"],
        "too_early_for_not_received"
    );
    assert_eq!(
        shop.send_at(&ask(2, early, "damaged", "ord_lost"), early).await.1["error"]["code"],
        "not_delivered"
    );
    assert_eq!(
        shop.send(&ask(3, now(), "not_received", "ord_1001")).await.1["error"]["code"],
        "already_delivered"
    );
    let fortnight = shipped + Duration::days(14);
    let (status, answer) = shop
        .send_at(&ask(4, fortnight, "not_received", "ord_lost"), fortnight)
        .await;
    assert_eq!(status, 202, "{answer}");
}

#[tokio::test]
async fn refunds_racing_for_one_order_never_pass_what_was_paid() {
    let shop = shop().await;
    // Fifty goodwill refunds of €1.50 against €61.80 paid: 41 fit. Three are approved at once
    // (the buyer's history then holds them back), the rest race again as the seller approves.
    let requests: Vec<Value> = (1..=50)
        .map(|n| {
            let mut event = request(n, Value::Null, now());
            event["data"].as_object_mut().unwrap().remove("lines");
            event["data"]["amount"] = json!("1.50");
            event
        })
        .collect();
    join_all(requests.iter().map(|event| shop.send(event))).await;
    let pending: Vec<String> = shop
        .store
        .items(Table::Refunds)
        .iter()
        .filter(|item| text(item, "state") == "pending")
        .map(|item| text(item, "refund_id").to_owned())
        .collect();
    let decisions: Vec<Value> = pending
        .iter()
        .enumerate()
        .map(|(n, refund_id)| decision(n as u32, refund_id, json!({"decision": "approve"})))
        .collect();
    let answers = join_all(decisions.iter().map(|event| shop.send(event))).await;
    let refused = answers
        .iter()
        .filter(|(_, answer)| answer["error"]["code"] == "amount_exceeds_refundable")
        .count();
    let refunded = number(&shop.order()["refunded"].as_object().cloned().unwrap(), "total_minor");
    assert_eq!(refunded, 41 * 150, "as many as fit, and not a cent more");
    let approved = shop
        .store
        .items(Table::Refunds)
        .iter()
        .filter(|item| text(item, "state") == "approved")
        .count();
    assert_eq!((approved, refused), (41, 9));
    assert_eq!(shop.payouts().len(), 41);
}

// Issue 22's findings, each failing before its fix.

#[tokio::test]
async fn one_unit_refunds_at_most_its_own_price() {
    let shop = shop().await;
    // Line l1 is two teapots at €24.90: one of them cannot take back both's €49.80.
    let (status, answer) = shop
        .send(&request(
            1,
            json!([{"line_id": "l1", "quantity": 1, "amount": "49.80"}]),
            now(),
        ))
        .await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].as_str(),
            answer["error"]["field"].as_str()
        ),
        (422, Some("amount_exceeds_refundable"), Some("data.lines[0].amount")),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 24.90 of line l1"),
        "{answer}"
    );
    let (status, answer) = shop
        .send(&request(
            2,
            json!([{"line_id": "l1", "quantity": 1, "amount": "24.90"}]),
            now(),
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
}

#[tokio::test]
async fn huge_kuwaiti_lines_are_refused_by_the_caps_not_by_a_panic() {
    let shop = shop().await;
    let mut order = sample_order("ord_kwd");
    order.currency = "KWD".into();
    for line in &mut order.lines {
        line.unit_price_minor = 999_999_999_999_999;
        line.quantity = 1;
    }
    order.total_minor = 2 * 999_999_999_999_999;
    shop.add_order(&order).await;
    let mut event = request(
        1,
        json!([{"line_id": "l1", "quantity": 9999}, {"line_id": "l2", "quantity": 9999}]),
        now(),
    );
    event["data"]["order_id"] = json!("ord_kwd");
    let (status, answer) = shop.send(&event).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("quantity_exceeds_refundable")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_requests_own_date_cannot_reopen_a_window_or_come_from_the_future() {
    let shop = shop().await;
    let line = json!([{"line_id": "l2", "quantity": 1}]);
    // Delivered on 26 November with 30 days to return: closed at the end of 26 December.
    let arrived: DateTime<Utc> = "2026-12-31T10:00:00Z".parse().unwrap();
    let backdated = request(1, line.clone(), "2026-12-20T10:00:00Z".parse().unwrap());
    let (status, answer) = shop.send_at(&backdated, arrived).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("outside_return_window")),
        "judged as of three days before it arrived at the latest: {answer}"
    );
    let late_but_true = request(2, line.clone(), "2026-12-26T20:00:00Z".parse().unwrap());
    let (status, answer) = shop
        .send_at(&late_but_true, "2026-12-28T09:00:00Z".parse().unwrap())
        .await;
    assert_eq!(status, 202, "asked in time, delivered two days late: {answer}");
    let ahead = request(3, line, now() + Duration::minutes(6));
    let (status, answer) = shop.send(&ahead).await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].as_str(),
            answer["error"]["field"].as_str()
        ),
        (422, Some("created_in_future"), Some("data.created_at")),
        "{answer}"
    );
}

#[tokio::test]
async fn a_reused_refund_id_with_other_words_in_its_note_is_a_conflict() {
    let shop = shop().await;
    let mut first = request(1, json!([{"line_id": "l2", "quantity": 1}]), now());
    first["data"]["note"] = json!("the lid leaks");
    assert_eq!(shop.send(&first).await.0, 202);
    let mut other = first.clone();
    other["id"] = json!("evt_other_note");
    other["data"]["note"] = json!("the cup broke");
    let (status, answer) = shop.send(&other).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("refund_exists")),
        "a note of the same length in other words is another request: {answer}"
    );
}

#[tokio::test]
async fn another_sellers_refund_id_is_neither_revealed_nor_touched() {
    let shop = shop().await;
    assert_eq!(shop.send(&sample("15-refund.requested.automatic")).await.0, 202);
    // Another seller, with an order of its own, sends a request under the same refund id.
    let other = "sel_other";
    let mut order = sample_order("ord_other");
    order.seller_id = other.into();
    shop.add_order(&order).await;
    let mut event = sample("15-refund.requested.automatic");
    event["id"] = json!("evt_other_seller_same_refund_id");
    event["data"]["seller_id"] = json!(other);
    event["data"]["order_id"] = json!("ord_other");
    event["data"]["lines"] = json!([{"line_id": "l1", "quantity": 1}]);
    let (status, answer) = shop.send(&event).await;
    assert_eq!(status, 202, "its own refund, as if the first did not exist: {answer}");
    let first = shop.refund("ref_3001");
    assert_eq!(
        (
            text(&first, "order_id"),
            number(&first["lines"][0].as_object().cloned().unwrap(), "quantity")
        ),
        ("ord_1001", 1),
        "the first seller's refund is as it was"
    );
    let theirs = shop.store.item(Table::Refunds, &refund_key(other, "ref_3001")).unwrap();
    assert_eq!(text(&theirs, "order_id"), "ord_other");
    // Its decision reaches its own refund, and the first seller's is still not found for it.
    let (status, answer) = shop
        .send(&decision(
            1,
            "ref_3001",
            json!({"decision": "approve", "seller_id": other}),
        ))
        .await;
    assert_eq!(status, 202, "{answer}");
    let payouts = shop.payouts();
    assert_eq!(payouts.len(), 2, "one payout each");
    assert_ne!(payouts[0].dedupe_key, payouts[1].dedupe_key);
    assert_ne!(payouts[0].deduplication_id(), payouts[1].deduplication_id());
}

#[tokio::test]
async fn a_payout_that_is_not_the_ledgers_is_never_sent() {
    let shop = shop().await;
    assert_eq!(shop.send(&sample("15-refund.requested.automatic")).await.0, 202);
    let real = shop.payouts().remove(0);
    let forged = Payout {
        amount: "9999.00".into(),
        amount_minor: 999_900,
        ..real.clone()
    };
    let answer = shop.deliver_payouts(&[forged, real.clone()]).await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m0"}]),
        "the forged one fails alone: {answer}"
    );
    assert_eq!(
        *shop.payments.0.lock().unwrap(),
        vec![real],
        "only the ledger's amount is paid"
    );
}

#[tokio::test]
async fn a_sweep_settles_a_bounded_page_and_the_next_the_rest() {
    use backoffice::domains::refunds::sweep::DUE_PER_SWEEP;
    let shop = shop().await;
    let mut order = sample_order("ord_big");
    order.lines[0].unit_price_minor = 1_000_000;
    order.total_minor = 2 * 1_000_000 + 1200;
    shop.add_order(&order).await;
    let waiting = DUE_PER_SWEEP + 5;
    for n in 0..waiting as u32 {
        let mut event = request(1000 + n, Value::Null, now());
        event["data"].as_object_mut().unwrap().remove("lines");
        event["data"]["order_id"] = json!("ord_big");
        event["data"]["amount"] = json!("31.00");
        let (status, answer) = shop.send(&event).await;
        assert_eq!(
            (status, answer["decision"].as_str()),
            (202, Some("pending")),
            "{answer}"
        );
    }
    // Before, one sweep read every due refund, however many, within one invocation.
    let deadline = now() + Duration::hours(48);
    let first = shop.sweep_at(deadline).await;
    assert_eq!(
        (
            first["due"].as_u64(),
            first["approved"].as_u64(),
            first["more"].as_bool()
        ),
        (Some(DUE_PER_SWEEP as u64), Some(DUE_PER_SWEEP as u64), Some(true)),
        "{first}"
    );
    let second = shop.sweep_at(deadline + Duration::minutes(15)).await;
    assert_eq!(
        (second["approved"].as_u64(), second["more"].as_bool()),
        (Some(5), Some(false)),
        "{second}"
    );
    assert_eq!(shop.payouts().len(), waiting, "every one approved once");
}

mod claims;
