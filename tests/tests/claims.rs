//! Buyer protection claims against the local AWS: refund processing's real handler over
//! DynamoDB, beside buyer messaging (whose breached questions a claim may name) and the shop
//! that places, ships and delivers the orders. Each reason's rule, the seller's response, the
//! clocks under racing sweeps, support staff's decisions moving money through the ledger to
//! the payout queue, their queue and a claim's facts, and hostile events refused.

use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::{DynamoStorage, item_of};
use backoffice::adapters::sqs::SqsPayouts;
use backoffice::domains::claims::records::{claim_key, open_claim_key};
use backoffice::domains::claims::support::{awaiting_support, gather_facts};
use backoffice::domains::email::EmailContent;
use backoffice::domains::email::request::ClaimReader;
use backoffice::domains::refunds::payout::PaidBy;
use backoffice::domains::refunds::records::refund_key;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::webhook::Webhooks;
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice_tests::orders::answer;
use backoffice_tests::questions::{HelpDesk, help_desk};
use backoffice_tests::{TEST_SECRET, local_aws, outbox_follow_ups, unique_id};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use refund_processor::RefundProcessor;
use serde_json::{Value, json};

type Refunds = RefundProcessor<DynamoStorage, SqsPayouts>;

/// A seller with an alert contact (48 hours to respond to a claim, no automatic refunds), its
/// shop, buyer messaging and refund processing, all as the template deploys them.
struct ClaimsDesk {
    help: HelpDesk,
    refunds: Refunds,
    store: DynamoStorage,
}

async fn claims_desk() -> ClaimsDesk {
    let help = help_desk().await;
    let config = &help.warehouse.shop.config;
    let refunds = local_aws().deployed::<Refunds>(config);
    let store = local_aws().aws_for::<Refunds>(config).storage;
    ClaimsDesk { help, refunds, store }
}

fn event(event_type: &str, data: Value) -> Value {
    json!({"id": unique_id("evt"), "type": event_type, "created_at": Utc::now().to_rfc3339(), "data": data})
}

fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

impl ClaimsDesk {
    fn seller(&self) -> &str {
        self.help.seller()
    }

    async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(TEST_SECRET), &event.to_string(), at);
        answer(&self.refunds.handle_webhook(&request, at).await)
    }

    async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, Utc::now()).await
    }

    /// A `claim.opened` of `order_id` by the desk's buyer, asked at `at`, `data` merged in.
    fn opening(&self, order_id: &str, reason: &str, data: Value, at: DateTime<Utc>) -> Value {
        let mut body = json!({"claim_id": unique_id("clm"), "order_id": order_id, "seller_id": self.seller(),
            "buyer_id": "buy_1", "reason": reason, "note": "Nothing came <b>at all</b>", "created_at": at.to_rfc3339()});
        for (key, value) in data.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        event("claim.opened", body)
    }

    async fn open(&self, order_id: &str, reason: &str, data: Value, at: DateTime<Utc>) -> (i64, Value) {
        self.send_at(&self.opening(order_id, reason, data, at), at).await
    }

    fn about(&self, claim_id: &str, event_type: &str, data: Value) -> Value {
        let mut data = data;
        data["claim_id"] = json!(claim_id);
        data["seller_id"] = json!(self.seller());
        event(event_type, data)
    }

    async fn delivered_order(&self) -> String {
        let order_id = self.help.order("en", 10, true).await;
        let delivered = json!({"order_id": order_id, "seller_id": self.seller()});
        assert_eq!(
            self.help.warehouse.shop.event("order.delivered", delivered).await.0,
            202
        );
        order_id
    }

    /// A refund of `order_id`, pending (no automatic refunds), then decided `decision`.
    async fn refund(&self, order_id: &str, decision: Value) -> String {
        let refund_id = unique_id("ref");
        let request = event(
            "refund.requested",
            json!({"refund_id": refund_id, "order_id": order_id, "seller_id": self.seller(), "buyer_id": "buy_1",
                "amount": "5.00", "reason": "defective", "created_at": Utc::now().to_rfc3339()}),
        );
        assert_eq!(self.send(&request).await.0, 202);
        let mut decided = decision;
        decided["refund_id"] = json!(refund_id);
        decided["seller_id"] = json!(self.seller());
        let (status, answer) = self.send(&event("refund.decided", decided)).await;
        assert_eq!(status, 202, "{answer}");
        refund_id
    }

    /// An item of `table` by its key, read consistently, as JSON.
    async fn read(&self, table: &str, key_name: &str, key: &str) -> Option<Value> {
        self.help
            .warehouse
            .shop
            .dynamodb
            .get_item()
            .table_name(local_aws().table(table))
            .key(key_name, AttributeValue::S(key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .map(|item| Value::Object(item_of(item)))
    }

    async fn item(&self, key: &str) -> Option<Value> {
        self.read("RefundsTable", "pk", key).await
    }

    async fn claim(&self, claim_id: &str) -> Option<Value> {
        self.item(&claim_key(self.seller(), claim_id)).await
    }

    async fn sweep(&self, at: DateTime<Utc>) {
        let schedule = local_cloud::schedule::scheduled_event("PendingRefundSweep", at);
        self.refunds.handle(schedule, at).await.unwrap();
    }
}

#[tokio::test]
async fn each_reason_is_opened_or_refused_by_its_rule_against_live_data() {
    let desk = claims_desk().await;
    let now = Utc::now();
    let requests = &desk.help.warehouse.shop.requests;

    // not_received: shipped, never delivered, at least 14 days on.
    let in_transit = desk.help.order("en", 10, true).await;
    let shipped_at = desk
        .help
        .warehouse
        .shop
        .order(&in_transit)
        .await
        .unwrap()
        .shipped_at
        .unwrap();
    let early = shipped_at + Duration::days(14) - Duration::minutes(1);
    let (status, answer) = desk.open(&in_transit, "not_received", json!({}), early).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("too_early_for_not_received")),
        "{answer}"
    );
    requests.take();
    let later = shipped_at + Duration::days(14);
    let (status, answer) = desk.open(&in_transit, "not_received", json!({}), later).await;
    assert_eq!(
        (status, answer["state"].as_str()),
        (202, Some("awaiting_seller")),
        "{answer}"
    );
    assert_eq!(requests.take(), 2, "one BatchGetItem, one TransactWriteItems");
    let (status, answer) = desk.open(&in_transit, "not_received", json!({}), later).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("claim_already_open")),
        "one open claim per order"
    );

    // not_as_described: delivered; not_received no longer applies.
    let delivered = desk.delivered_order().await;
    let (status, answer) = desk.open(&delivered, "not_received", json!({}), now).await;
    assert_eq!((status, code(&answer)), (422, Some("already_delivered")));
    assert_eq!(desk.open(&delivered, "not_as_described", json!({}), now).await.0, 202);

    // refund_refused: a refund the seller rejected; an approved one is not.
    let refused = desk.delivered_order().await;
    let rejected = desk
        .refund(&refused, json!({"decision": "reject", "reason": "used"}))
        .await;
    let paid = desk.delivered_order().await;
    let approved = desk.refund(&paid, json!({"decision": "approve"})).await;
    let (status, answer) = desk
        .open(&paid, "refund_refused", json!({"refund_id": approved}), now)
        .await;
    assert_eq!((status, code(&answer)), (422, Some("refund_not_rejected")));
    assert_eq!(
        desk.open(&refused, "refund_refused", json!({"refund_id": rejected}), now)
            .await
            .0,
        202
    );

    // refund_not_paid: approved, and ten days gone by.
    let (status, answer) = desk
        .open(&paid, "refund_not_paid", json!({"refund_id": approved}), now)
        .await;
    assert_eq!((status, code(&answer)), (422, Some("too_early_for_refund_not_paid")));
    let eleven = now + Duration::days(11);
    let (status, answer) = desk
        .open(&paid, "refund_not_paid", json!({"refund_id": approved}), eleven)
        .await;
    assert_eq!(status, 202, "{answer}");

    // no_seller_response: the buyer's question about the order, once its 24 hours are over.
    let asked = desk.help.order("en", 10, true).await;
    let question = desk
        .help
        .question(json!({"order_id": asked, "text": "Is the pot dishwasher safe?"}));
    let (status, answer) = desk.help.send(&question).await;
    assert_eq!(status, 202, "{answer}");
    let thread_id = answer["thread_id"].as_str().unwrap().to_owned();
    let (status, answer) = desk.open(&asked, "not_as_described", json!({}), now).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("not_delivered")),
        "not_as_described waits for delivery"
    );
    let unanswered = json!({"thread_id": thread_id});
    let (status, answer) = desk.open(&asked, "no_seller_response", unanswered.clone(), now).await;
    assert_eq!((status, code(&answer)), (422, Some("question_not_breached")));
    let overdue = now + Duration::hours(25);
    let clock = local_cloud::schedule::scheduled_event("ReplyClock", overdue);
    desk.help.mailroom.messaging.handle(clock, overdue).await.unwrap();
    let (status, answer) = desk.open(&asked, "no_seller_response", unanswered, overdue).await;
    assert_eq!(status, 202, "{answer}");

    // Another seller's claim is not there for this one.
    let (_, opened) = desk
        .open(&desk.delivered_order().await, "not_as_described", json!({}), now)
        .await;
    let mut theirs = desk.about(
        opened["claim_id"].as_str().unwrap(),
        "claim.responded",
        json!({"response": "refund"}),
    );
    theirs["data"]["seller_id"] = json!(unique_id("sel"));
    let (status, answer) = desk.send(&theirs).await;
    assert_eq!((status, code(&answer)), (404, Some("claim_not_found")));
    // Another seller's order is not there for this one.
    let mut foreign = desk.opening(&delivered, "not_as_described", json!({}), now);
    foreign["data"]["seller_id"] = json!(unique_id("sel"));
    let (status, answer) = desk.send(&foreign).await;
    assert_eq!((status, code(&answer)), (404, Some("order_not_found")));
}

#[tokio::test]
async fn a_sellers_full_refund_closes_the_claim_and_is_paid_out_by_the_seller() {
    let desk = claims_desk().await;
    let order_id = desk.delivered_order().await;
    let (status, answer) = desk.open(&order_id, "not_as_described", json!({}), Utc::now()).await;
    assert_eq!(status, 202, "{answer}");
    let claim_id = answer["claim_id"].as_str().unwrap().to_owned();
    let refund = desk.about(&claim_id, "claim.responded", json!({"response": "refund"}));
    let (status, answer) = desk.send(&refund).await;
    assert_eq!(
        (status, answer["state"].as_str(), answer["refunded"].as_str()),
        (202, Some("resolved_by_seller"), Some("24.90")),
        "{answer}"
    );
    assert!(
        desk.item(&open_claim_key(&order_id)).await.is_none(),
        "the order is free again"
    );
    let offer = format!("claim.{claim_id}.offer");
    let entry = desk.item(&refund_key(desk.seller(), &offer)).await.unwrap();
    assert_eq!(
        (entry["state"].as_str(), entry["approved_minor"].as_i64()),
        (Some("approved"), Some(2490))
    );
    let follow_ups = outbox_follow_ups(
        &desk.help.warehouse.shop.dynamodb,
        &Function::RefundProcessor.key(&[desk.seller(), &offer, ""]),
    )
    .await;
    let payouts: Vec<_> = follow_ups
        .iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::RefundPayout(payout) => Some(payout.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(payouts.len(), 1);
    assert_eq!((payouts[0].amount_minor, payouts[0].paid_by), (2490, PaidBy::Seller));
}

#[tokio::test]
async fn four_racing_sweeps_remind_escalate_and_breach_a_claim_once_each() {
    let desk = claims_desk().await;
    let order_id = desk.delivered_order().await;
    let opened_at = Utc::now();
    let (_, answer) = desk.open(&order_id, "not_as_described", json!({}), opened_at).await;
    let claim_id = answer["claim_id"].as_str().unwrap().to_owned();
    let version = |claim: &Value| claim["version"].as_i64().unwrap();
    let desk = &desk;
    let racing = |at: DateTime<Utc>| join_all((0..4).map(move |_| desk.sweep(at)));

    racing(opened_at + Duration::hours(24)).await;
    let claim = desk.claim(&claim_id).await.unwrap();
    assert_eq!(
        (claim["reminded"].as_bool(), version(&claim)),
        (Some(true), 1),
        "reminded once"
    );
    racing(opened_at + Duration::hours(48)).await;
    let claim = desk.claim(&claim_id).await.unwrap();
    assert_eq!(
        (claim["state"].as_str(), version(&claim)),
        (Some("awaiting_support"), 2),
        "escalated once"
    );
    racing(opened_at + Duration::hours(73)).await;
    racing(opened_at + Duration::hours(80)).await;
    let claim = desk.claim(&claim_id).await.unwrap();
    assert_eq!(
        (claim["breached"].as_bool(), version(&claim)),
        (Some(true), 3),
        "breached once"
    );
    assert!(claim.get("claims_due").is_none(), "nothing more for the sweep to do");
    let reminder = Function::RefundProcessor.key(&[desk.seller(), "claim", &claim_id, "reminder"]);
    let reminders = desk.read("OutboxTable", "key", &reminder).await;
    assert!(reminders.is_some(), "the seller's reminder is in the outbox");
}

#[tokio::test]
async fn a_marketplace_paid_decision_is_one_ledger_entry_with_its_payout_and_an_email_to_each_party() {
    let desk = claims_desk().await;
    let order_id = desk.help.order("en", 10, true).await;
    let at = Utc::now() + Duration::days(15);
    let (_, answer) = desk.open(&order_id, "not_received", json!({}), at).await;
    let claim_id = answer["claim_id"].as_str().unwrap().to_owned();
    let decision = desk.about(
        &claim_id,
        "claim.decided",
        json!({"decided_by": "op_7", "decision": "refund", "paid_by": "marketplace", "reason": "Lost by the carrier <scan 3>"}),
    );
    let answers = join_all((0..3).map(|_| desk.send_at(&decision, at))).await;
    assert!(
        answers.iter().all(|(status, _)| matches!(status, 200 | 202)),
        "{answers:?}"
    );
    let entry_id = format!("claim.{claim_id}.decision");
    let entry = desk.item(&refund_key(desk.seller(), &entry_id)).await.unwrap();
    assert_eq!(
        (
            entry["paid_by"].as_str(),
            entry["decided_by"].as_str(),
            entry["approved_minor"].as_i64()
        ),
        (Some("marketplace"), Some("support"), Some(2490))
    );
    let follow_ups = outbox_follow_ups(
        &desk.help.warehouse.shop.dynamodb,
        &Function::RefundProcessor.key(&[desk.seller(), &entry_id, ""]),
    )
    .await;
    let readers: Vec<ClaimReader> = follow_ups
        .iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::Email(email) => match &email.content {
                EmailContent::ClaimDecided(claim) => Some(claim.reader),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(readers, [ClaimReader::Buyer, ClaimReader::Seller]);
    let payouts: Vec<_> = follow_ups
        .into_iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::RefundPayout(payout) => Some(payout),
            _ => None,
        })
        .collect();
    assert_eq!(payouts.len(), 1);
    for _ in 0..2 {
        let delivered = desk.refunds.hand_over_payouts(payout_batch(&payouts[0])).await;
        assert!(delivered.batch_item_failures.is_empty());
    }
    let entry = desk.item(&refund_key(desk.seller(), &entry_id)).await.unwrap();
    assert!(
        entry["payout_message_id"].is_string(),
        "handed to the payment integration"
    );
}

fn payout_batch(payout: &backoffice::domains::refunds::payout::Payout) -> aws_lambda_events::event::sqs::SqsEvent {
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(unique_id("msg"));
    message.body = Some(serde_json::to_string(&FollowUp::RefundPayout(payout.clone())).unwrap());
    message.event_source = Some("aws:sqs".to_owned());
    let mut batch = aws_lambda_events::event::sqs::SqsEvent::default();
    batch.records = vec![message];
    batch
}

#[tokio::test]
async fn thirty_racing_decisions_and_refunds_on_one_order_never_pass_what_was_paid() {
    let desk = claims_desk().await;
    let order_id = desk.delivered_order().await;
    let (_, answer) = desk
        .open(&order_id, "not_as_described", json!({"amount": "20.00"}), Utc::now())
        .await;
    let claim_id = answer["claim_id"].as_str().unwrap().to_owned();
    // Fifteen refunds waiting for the seller (no automatic refunds), each asking 6.00.
    let mut pending = Vec::new();
    for _ in 0..15 {
        let refund_id = unique_id("ref");
        let request = event(
            "refund.requested",
            json!({"refund_id": refund_id, "order_id": order_id, "seller_id": desk.seller(), "buyer_id": "buy_1",
                "amount": "6.00", "reason": "defective", "created_at": Utc::now().to_rfc3339()}),
        );
        assert_eq!(desk.send(&request).await.1["decision"], "pending");
        pending.push(refund_id);
    }
    // Then fifteen decisions of the claim and fifteen approvals, all at once.
    let mut events = Vec::new();
    for (n, refund_id) in pending.iter().enumerate() {
        let decision = match n % 3 {
            0 => json!({"decision": "refund", "paid_by": "seller"}),
            1 => json!({"decision": "partial", "amount": format!("{}.00", 5 + n), "paid_by": "marketplace"}),
            _ => json!({"decision": "deny"}),
        };
        let mut decision = decision;
        decision["decided_by"] = json!("op_7");
        decision["reason"] = json!("decided");
        events.push(desk.about(&claim_id, "claim.decided", decision));
        events.push(event(
            "refund.decided",
            json!({"refund_id": refund_id, "seller_id": desk.seller(), "decision": "approve"}),
        ));
    }
    let answers = join_all(events.iter().map(|event| desk.send(event))).await;
    let decided = events
        .iter()
        .zip(&answers)
        .filter(|(event, (status, _))| event["type"] == "claim.decided" && *status == 202)
        .count();
    assert_eq!(decided, 1, "one decision wins: {answers:?}");
    let order = desk.read("OrdersTable", "order_id", &order_id).await.unwrap();
    let refunded = order["refunded"]["total_minor"].as_i64().unwrap_or(0);
    assert!(refunded <= 2490, "refunded {refunded} of the 2490 paid");
    let approved = events
        .iter()
        .zip(&answers)
        .filter(|(event, (status, _))| event["type"] == "refund.decided" && *status == 202)
        .count() as i64;
    let claim_refund = answers.iter().find_map(|(status, answer)| {
        (*status == 202 && answer["claim_id"].is_string()).then(|| answer["refunded"].clone())
    });
    let on_claim_minor = match claim_refund.as_ref().and_then(Value::as_str) {
        Some(amount) => amount.replace('.', "").parse::<i64>().unwrap(),
        None => 0,
    };
    assert_eq!(
        refunded,
        approved * 600 + on_claim_minor,
        "the order's total is every approval's, once: {answers:?}"
    );
    assert!(approved < 15, "the order ran out of money for some approvals");
    let claim = desk.claim(&claim_id).await.unwrap();
    let on_claim = claim["refunded_minor"].as_i64().unwrap();
    assert!(on_claim <= 2000, "the claim refunded {on_claim} of the 2000 it asked");
}

#[tokio::test]
async fn support_staff_read_their_queue_oldest_due_first_and_a_claims_facts_in_one_read() {
    let desk = claims_desk().await;
    let mut mine = Vec::new();
    for n in 0..3 {
        let order_id = desk.delivered_order().await;
        let at = Utc::now() + Duration::seconds(n);
        let (_, answer) = desk.open(&order_id, "not_as_described", json!({}), at).await;
        let claim_id = answer["claim_id"].as_str().unwrap().to_owned();
        let evidence = desk.about(
            &claim_id,
            "claim.responded",
            json!({"response": "evidence", "tracking": {"carrier": "DHL", "tracking_number": "JD014600003828"}}),
        );
        assert_eq!(desk.send_at(&evidence, at).await.0, 202);
        mine.push(claim_id);
    }
    // Other tests' claims share the queue: this desk's appear in their order within it.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = awaiting_support(&desk.store, 2, after).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.into_iter().filter(|claim| mine.contains(&claim.claim_id)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let ids: Vec<&str> = seen.iter().map(|claim| claim.claim_id.as_str()).collect();
    assert_eq!(ids, mine.iter().map(String::as_str).collect::<Vec<_>>());
    desk.help.warehouse.shop.requests.take();
    let facts = gather_facts(&desk.store, &seen[0]).await.unwrap();
    assert_eq!(desk.help.warehouse.shop.requests.take(), 1, "one BatchGetItem");
    let order = facts.order.unwrap();
    assert_eq!(order.order_id, seen[0].order_id);
    assert!(order.shipment.is_some() && order.delivered_at.is_some());
}

/// A valid `claim.opened` data object, to be spoiled one field at a time: `(what, field, value
/// or removed, code)`.
fn hostile_openings() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    let long = "x".repeat(2_001);
    vec![
        (
            "id with a space",
            "claim_id",
            Some(json!("clm 1")),
            "invalid_identifier",
        ),
        ("empty id", "claim_id", Some(json!("")), "invalid_identifier"),
        (
            "id of 65",
            "claim_id",
            Some(json!("x".repeat(65))),
            "invalid_identifier",
        ),
        ("id a number", "claim_id", Some(json!(7)), "invalid_field"),
        ("no id", "claim_id", None, "missing_field"),
        ("order path", "order_id", Some(json!("ord/1")), "invalid_identifier"),
        (
            "seller newline",
            "seller_id",
            Some(json!("sel\n")),
            "invalid_identifier",
        ),
        ("buyer hash", "buyer_id", Some(json!("buy#1")), "invalid_identifier"),
        ("no buyer", "buyer_id", None, "missing_field"),
        (
            "unknown reason",
            "reason",
            Some(json!("changed_mind")),
            "unknown_reason",
        ),
        (
            "reason upper case",
            "reason",
            Some(json!("NOT_AS_DESCRIBED")),
            "unknown_reason",
        ),
        ("reason a number", "reason", Some(json!(3)), "invalid_field"),
        ("no reason", "reason", None, "missing_field"),
        ("negative amount", "amount", Some(json!("-5.00")), "invalid_amount"),
        ("zero amount", "amount", Some(json!("0")), "invalid_amount"),
        ("exponent", "amount", Some(json!("1e3")), "invalid_amount"),
        ("amount a number", "amount", Some(json!(5)), "invalid_field"),
        ("three decimals", "amount", Some(json!("1.005")), "amount_precision"),
        (
            "more than paid",
            "amount",
            Some(json!("24.91")),
            "amount_exceeds_refundable",
        ),
        (
            "thirteen digits",
            "amount",
            Some(json!("9999999999999")),
            "invalid_amount",
        ),
        ("no lines", "lines", Some(json!([])), "invalid_line_count"),
        (
            "quantity 0",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 0}])),
            "invalid_quantity",
        ),
        (
            "quantity -1",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": -1}])),
            "invalid_quantity",
        ),
        (
            "quantity 1.5",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1.5}])),
            "invalid_field",
        ),
        (
            "two units of one",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 2}])),
            "quantity_exceeds_refundable",
        ),
        (
            "unknown line",
            "lines",
            Some(json!([{"line_id": "l9", "quantity": 1}])),
            "unknown_line",
        ),
        (
            "a line twice",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1}, {"line_id": "l0", "quantity": 1}])),
            "duplicate_line",
        ),
        (
            "a restock",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "restock": true}])),
            "invalid_field",
        ),
        ("lines not a list", "lines", Some(json!("l0")), "invalid_field"),
        ("another currency", "currency", Some(json!("USD")), "currency_mismatch"),
        ("no such currency", "currency", Some(json!("EURO")), "invalid_currency"),
        ("a long note", "note", Some(json!(long)), "invalid_text"),
        (
            "a bell in the note",
            "note",
            Some(json!("bad \u{0007} bell")),
            "invalid_text",
        ),
        (
            "a date in words",
            "created_at",
            Some(json!("yesterday")),
            "invalid_timestamp",
        ),
        (
            "from the future",
            "created_at",
            Some(json!((Utc::now() + Duration::hours(1)).to_rfc3339())),
            "created_in_future",
        ),
        (
            "refused with no refund",
            "reason",
            Some(json!("refund_refused")),
            "refund_id_required",
        ),
        (
            "not paid with no refund",
            "reason",
            Some(json!("refund_not_paid")),
            "refund_id_required",
        ),
        (
            "silence with no thread",
            "reason",
            Some(json!("no_seller_response")),
            "thread_id_required",
        ),
        (
            "a thread path",
            "thread_id",
            Some(json!("../../etc")),
            "invalid_identifier",
        ),
        ("a review path", "review_id", Some(json!("rev/1")), "invalid_identifier"),
        (
            "a field nobody asked for",
            "surprise",
            Some(json!(true)),
            "invalid_field",
        ),
        (
            "another seller's refund",
            "refund_id",
            Some(json!("ref_nobody")),
            "refund_not_rejected",
        ),
    ]
}

#[tokio::test]
async fn hostile_claim_events_are_refused_with_their_codes_and_nothing_is_stored() {
    let desk = claims_desk().await;
    let order_id = desk.delivered_order().await;
    let spoils = hostile_openings();
    let mut wrong = Vec::new();
    let mut count = 0;
    for (what, field, value, expected) in spoils {
        let mut opening = desk.opening(&order_id, "not_as_described", json!({}), Utc::now());
        let data = opening["data"].as_object_mut().unwrap();
        match value {
            Some(value) => {
                data.insert(field.to_owned(), value);
            }
            None => {
                data.remove(field);
            }
        }
        if what == "another seller's refund" {
            data.insert("reason".to_owned(), json!("refund_refused"));
        }
        let claim_id = data
            .get("claim_id")
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_owned();
        let (status, answer) = desk.send(&opening).await;
        count += 1;
        if !matches!(status, 400 | 404 | 422) || code(&answer) != Some(expected) {
            wrong.push(format!("{what}: {status} {answer}"));
        }
        if desk.claim(&claim_id).await.is_some() {
            wrong.push(format!("{what}: stored"));
        }
    }
    // Support staff's and the seller's events, spoiled.
    let decided = |data: Value| desk.about("clm_none", "claim.decided", data);
    let responded = |data: Value| desk.about("clm_none", "claim.responded", data);
    let others = [
        (
            decided(json!({"decided_by": "op_7", "decision": "approve", "reason": "r"})),
            "invalid_decision",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "refund", "reason": "r"})),
            "paid_by_required",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "refund", "paid_by": "buyer", "reason": "r"})),
            "invalid_paid_by",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "partial", "paid_by": "seller", "reason": "r"})),
            "amount_required",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "deny", "amount": "1.00", "reason": "r"})),
            "amount_not_partial",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "deny", "paid_by": "seller", "reason": "r"})),
            "paid_by_with_denial",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "deny", "reason": "   "})),
            "reason_required",
        ),
        (
            decided(json!({"decided_by": "op 7", "decision": "deny", "reason": "r"})),
            "invalid_identifier",
        ),
        (
            decided(json!({"decided_by": "op_7", "decision": "deny", "reason": "r"})),
            "claim_not_found",
        ),
        (responded(json!({"response": "ignore"})), "invalid_response"),
        (responded(json!({"response": "evidence"})), "evidence_required"),
        (
            responded(json!({"response": "evidence", "amount": "1.00", "message": "m"})),
            "amount_with_evidence",
        ),
        (
            responded(json!({"response": "evidence", "tracking": {"carrier": "DHL\nExpress", "tracking_number": "1"}})),
            "invalid_tracking",
        ),
        (
            responded(json!({"response": "refund", "amount": "abc"})),
            "invalid_amount",
        ),
        (responded(json!({"response": "refund"})), "claim_not_found"),
    ];
    for (event, expected) in others {
        let (status, answer) = desk.send(&event).await;
        count += 1;
        if !matches!(status, 400 | 404 | 422) || code(&answer) != Some(expected) {
            wrong.push(format!("{}: {status} {answer}", event["data"]));
        }
    }
    assert!(count >= 40, "{count} hostile events");
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        desk.item(&open_claim_key(&order_id)).await.is_none(),
        "no claim opened on the order"
    );
}

#[tokio::test]
async fn an_order_with_a_bad_review_a_defect_refund_and_a_claim_counts_once_as_a_defect() {
    let desk = claims_desk().await;
    let config = &desk.help.warehouse.shop.config;
    let monitor = local_aws().deployed::<backoffice_tests::reviews::Monitor>(config);
    let order_id = desk.delivered_order().await;
    let now = Utc::now();
    let mut review =
        backoffice_tests::reviews::review_event(&unique_id("rev"), desk.seller(), "POT", 1, "Cracked.", now);
    review["data"]["order_id"] = json!(order_id);
    let request = marketplace_request(&WebhookSecret::new(TEST_SECRET), &review.to_string(), now);
    let (status, answer) = answer(&monitor.handle_webhook(&request, now).await);
    assert_eq!((status, answer["verified"].as_bool()), (202, Some(true)), "{answer}");
    desk.refund(&order_id, json!({"decision": "approve"})).await;
    assert_eq!(desk.open(&order_id, "not_as_described", json!({}), now).await.0, 202);

    let desk = &desk;
    let figures = |key: String| async move { desk.read("FiguresTable", "pk", &key).await };
    let mark = figures(backoffice::domains::figures::defects::defect_key(
        desk.seller(),
        &order_id,
    ))
    .await
    .unwrap();
    assert_eq!(mark["sources"].as_array().map(Vec::len), Some(3), "{mark}");
    let day = now.date_naive();
    let mut counted = 0;
    for function in [Function::ReviewMonitor, Function::RefundProcessor] {
        let key = backoffice::domains::figures::tally::tally_key(function, desk.seller(), day);
        if let Some(tally) = figures(key).await {
            counted += tally["order_defects"].as_i64().unwrap_or(0);
        }
    }
    assert_eq!(counted, 1, "one defective order");
}
