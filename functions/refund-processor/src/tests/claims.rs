//! Buyer protection claims through refund processing's webhook, over the in-memory store: who
//! may open what, the seller's response, the clocks at the moments the sweep runs, support
//! staff's decisions and the money they move. The same over DynamoDB is proven in
//! `tests/tests/claims.rs`.

use backoffice::domains::claims::records::{claim_key, open_claim_key};
use backoffice::domains::claims::support::{ClaimFacts, awaiting_support, gather_facts};
use backoffice::domains::email::request::{ClaimEmail, ClaimReader};
use backoffice::domains::figures::tally::{counter, tally_key};
use backoffice::mechanisms::function::Function;
use backoffice::storage::from_item;

use super::*;

const BUYER: &str = "buy_42";

/// A `claim.opened` of `order_id` under its own ids, asked at `at`.
fn opened(n: u32, order_id: &str, reason: &str, extra: Value, at: DateTime<Utc>) -> Value {
    let mut data = json!({
        "claim_id": format!("clm_{n}"), "order_id": order_id, "seller_id": SELLER, "buyer_id": BUYER,
        "reason": reason, "note": "It never came <b>at all</b>", "created_at": at.to_rfc3339()
    });
    for (name, value) in extra.as_object().cloned().unwrap_or_default() {
        data[name] = value;
    }
    json!({"id": format!("evt_claim_{n}"), "type": "claim.opened", "created_at": at.to_rfc3339(), "data": data})
}

fn claim_event(kind: &str, id: &str, data: Value) -> Value {
    let mut data = data;
    if data.get("seller_id").is_none() {
        data["seller_id"] = json!(SELLER);
    }
    json!({"id": id, "type": kind, "created_at": now().to_rfc3339(), "data": data})
}

fn code(answer: &Value) -> Option<&str> {
    answer["error"]["code"].as_str()
}

impl Shop {
    fn claim(&self, claim_id: &str) -> Option<Item> {
        self.store.item(Table::Refunds, &claim_key(SELLER, claim_id))
    }

    fn open_mark(&self, order_id: &str) -> Option<Item> {
        self.store.item(Table::Refunds, &open_claim_key(order_id))
    }

    /// Stores a variant of the sample order, as order intake would have left it.
    async fn order_like(&self, order_id: &str, change: impl FnOnce(&mut StoredOrder)) {
        let mut order = sample_order(order_id);
        change(&mut order);
        self.add_order(&order).await;
    }

    fn tally(&self, name: &str) -> i64 {
        let key = tally_key(Function::RefundProcessor, SELLER, now().date_naive());
        self.store
            .item(Table::Figures, &key)
            .map_or(0, |item| number(&item, name))
    }

    fn claim_emails(&self) -> Vec<(ClaimReader, ClaimEmail, String)> {
        self.emails()
            .into_iter()
            .filter_map(|email| match email.content {
                EmailContent::ClaimDecided(claim) => Some((claim.reader, claim, email.locale)),
                _ => None,
            })
            .collect()
    }
}

/// In transit: shipped `days` ago, never delivered.
fn in_transit(days: i64) -> impl FnOnce(&mut StoredOrder) {
    move |order| {
        order.status = OrderStatus::Shipped;
        order.shipped_at = Some(now() - Duration::days(days));
        order.delivered_at = None;
    }
}

/// A thread about `order_id` whose clock ran, breached or not.
fn thread(thread_id: &str, order_id: &str, breached: bool) -> Item {
    json!({
        "pk": format!("thread#{thread_id}"), "thread_id": thread_id, "seller_id": SELLER, "order_id": order_id,
        "buyer": {"id": BUYER, "name": "Li Wei", "email": "li.wei@example.cn", "locale": "zh"},
        "subject": "Where is my order?", "state": "awaiting_seller", "version": 2,
        "clock": {"started_at": "2026-11-25T08:00:00Z", "due_at": "2026-11-26T08:00:00Z", "message_id": "m1",
                  "reminded": true, "breached": breached}
    })
    .as_object()
    .cloned()
    .unwrap()
}

/// An opening (order, reason, what it adds, when), and what it must come to: opened, or
/// refused with a code.
type RuleCase = (
    &'static str,
    &'static str,
    Value,
    DateTime<Utc>,
    Result<(), &'static str>,
);

#[tokio::test]
async fn every_reason_has_its_rule_each_way() {
    let shop = shop().await;
    let later = now() + Duration::days(11);
    shop.order_like("ord_transit", in_transit(20)).await;
    shop.order_like("ord_recent", in_transit(5)).await;
    shop.order_like("ord_unshipped_late", |order| {
        order.status = OrderStatus::Accepted;
        (order.shipped_at, order.delivered_at) = (None, None);
        order.ship_by = now() - Duration::days(2);
    })
    .await;
    shop.order_like("ord_unshipped", |order| {
        order.status = OrderStatus::Accepted;
        (order.shipped_at, order.delivered_at) = (None, None);
        order.ship_by = now() + Duration::days(1);
    })
    .await;
    shop.order_like("ord_old", |order| {
        order.delivered_at = Some(now() - Duration::days(120))
    })
    .await;
    shop.order_like("ord_cancelled", |order| order.status = OrderStatus::Cancelled)
        .await;
    shop.order_like("ord_refused", |_| {}).await;
    shop.order_like("ord_paid", |_| {}).await;
    shop.order_like("ord_silent", |_| {}).await;
    shop.store
        .insert(Table::Threads, thread("thr_breached", "ord_silent", true));
    shop.store
        .insert(Table::Threads, thread("thr_answered", "ord_refused", false));
    // A refund the seller rejected, of ord_refused; one approved, of ord_paid.
    let mut pending = sample("16-refund.requested.pending");
    pending["data"]["order_id"] = json!("ord_refused");
    assert_eq!(shop.send(&pending).await.0, 202);
    let reject = decision(1, "ref_3002", json!({"decision": "reject", "reason": "used"}));
    assert_eq!(shop.send(&reject).await.0, 202);
    let mut automatic = sample("15-refund.requested.automatic");
    automatic["data"]["order_id"] = json!("ord_paid");
    assert_eq!(shop.send(&automatic).await.0, 202);

    let cases: Vec<RuleCase> = vec![
        ("ord_transit", "not_received", json!({}), now(), Ok(())),
        (
            "ord_recent",
            "not_received",
            json!({}),
            now(),
            Err("too_early_for_not_received"),
        ),
        ("ord_1001", "not_received", json!({}), now(), Err("already_delivered")),
        ("ord_unshipped_late", "not_received", json!({}), now(), Ok(())),
        (
            "ord_unshipped",
            "not_received",
            json!({}),
            now(),
            Err("too_early_for_not_received"),
        ),
        (
            "ord_1001",
            "not_as_described",
            json!({"lines": [{"line_id": "l1", "quantity": 1}]}),
            now(),
            Ok(()),
        ),
        ("ord_recent", "not_as_described", json!({}), now(), Err("not_delivered")),
        (
            "ord_old",
            "not_as_described",
            json!({}),
            now(),
            Err("outside_claim_window"),
        ),
        (
            "ord_refused",
            "refund_refused",
            json!({"refund_id": "ref_3001"}),
            now(),
            Err("refund_not_rejected"),
        ),
        (
            "ord_paid",
            "refund_refused",
            json!({"refund_id": "ref_3001"}),
            now(),
            Err("refund_not_rejected"),
        ),
        (
            "ord_refused",
            "refund_refused",
            json!({"refund_id": "ref_3002"}),
            now(),
            Ok(()),
        ),
        (
            "ord_paid",
            "refund_not_paid",
            json!({"refund_id": "ref_3001"}),
            now() + Duration::days(2),
            Err("too_early_for_refund_not_paid"),
        ),
        (
            "ord_paid",
            "refund_not_paid",
            json!({"refund_id": "ref_9999"}),
            later,
            Err("refund_not_approved"),
        ),
        (
            "ord_paid",
            "refund_not_paid",
            json!({"refund_id": "ref_3001"}),
            later,
            Ok(()),
        ),
        (
            "ord_silent",
            "no_seller_response",
            json!({"thread_id": "thr_answered"}),
            now(),
            Err("question_not_breached"),
        ),
        (
            "ord_unshipped",
            "no_seller_response",
            json!({"thread_id": "thr_breached"}),
            now(),
            Err("question_not_breached"),
        ),
        (
            "ord_silent",
            "no_seller_response",
            json!({"thread_id": "thr_breached"}),
            now(),
            Ok(()),
        ),
        (
            "ord_cancelled",
            "not_as_described",
            json!({}),
            now(),
            Err("order_cancelled"),
        ),
        (
            "ord_transit",
            "not_received",
            json!({}),
            now(),
            Err("claim_already_open"),
        ),
        (
            "ord_1001",
            "not_as_described",
            json!({"buyer_id": "buy_other"}),
            now(),
            Err("buyer_mismatch"),
        ),
        (
            "ord_unknown",
            "not_as_described",
            json!({}),
            now(),
            Err("order_not_found"),
        ),
    ];
    for (n, (order_id, reason, extra, at, expected)) in cases.into_iter().enumerate() {
        let n = 100 + n as u32;
        let (status, answer) = shop.send_at(&opened(n, order_id, reason, extra.clone(), at), at).await;
        let claim = format!("clm_{n}");
        match expected {
            Ok(()) => {
                assert_eq!(
                    (status, answer["state"].as_str()),
                    (202, Some("awaiting_seller")),
                    "{order_id} {reason} {extra}: {answer}"
                );
                assert!(shop.claim(&claim).is_some() && shop.open_mark(order_id).is_some());
            }
            Err(expected) => {
                let status_of = if expected == "order_not_found" { 404 } else { 422 };
                assert_eq!(
                    (status, code(&answer)),
                    (status_of, Some(expected)),
                    "{order_id} {reason} {extra}: {answer}"
                );
                assert!(shop.claim(&claim).is_none(), "nothing stored for {order_id} {reason}");
            }
        }
    }
    assert!(shop.open_mark("ord_recent").is_none() && shop.open_mark("ord_old").is_none());
    assert_eq!(
        shop.tally(counter::CLAIMS_OPENED),
        5,
        "today's opened claims, and only they, are counted"
    );
    let key = tally_key(Function::RefundProcessor, SELLER, later.date_naive());
    assert_eq!(
        number(&shop.store.item(Table::Figures, &key).unwrap(), counter::CLAIMS_OPENED),
        1,
        "and one on its own day"
    );
}

#[tokio::test]
async fn another_sellers_order_and_claims_are_not_found() {
    let shop = shop().await;
    let mut other = sample_order("ord_other");
    other.seller_id = "sel_other".into();
    shop.add_order(&other).await;
    let (status, answer) = shop
        .send(&opened(1, "ord_other", "not_as_described", json!({}), now()))
        .await;
    assert_eq!((status, code(&answer)), (404, Some("order_not_found")));
    assert_eq!(
        shop.send(&opened(2, "ord_1001", "not_as_described", json!({}), now()))
            .await
            .0,
        202
    );
    let not_theirs = [
        claim_event(
            "claim.responded",
            "evt_r",
            json!({"claim_id": "clm_2", "seller_id": "sel_other", "response": "refund"}),
        ),
        claim_event(
            "claim.decided",
            "evt_d",
            json!({"claim_id": "clm_2", "seller_id": "sel_other", "decided_by": "op_7", "decision": "deny", "reason": "no"}),
        ),
        claim_event(
            "claim.withdrawn",
            "evt_w",
            json!({"claim_id": "clm_2", "seller_id": "sel_other", "buyer_id": BUYER}),
        ),
    ];
    for event in not_theirs {
        let (status, answer) = shop.send(&event).await;
        assert_eq!((status, code(&answer)), (404, Some("claim_not_found")), "{answer}");
    }
    assert_eq!(text(&shop.claim("clm_2").unwrap(), "state"), "awaiting_seller");
}

#[tokio::test]
async fn a_full_refund_from_the_seller_closes_the_claim() {
    let shop = shop().await;
    let (status, answer) = shop
        .send(&opened(
            1,
            "ord_1001",
            "not_as_described",
            json!({"amount": "20.00"}),
            now(),
        ))
        .await;
    assert_eq!((status, answer["asked"].as_str()), (202, Some("20.00")), "{answer}");
    assert_eq!(shop.store.take_requests(), 2, "one BatchGetItem, one transaction");
    let respond_by: DateTime<Utc> = answer["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(respond_by - now(), Duration::hours(48));
    let notice = shop.emails().pop().unwrap();
    let EmailContent::SellerDigest(digest) = notice.content else {
        panic!("the seller hears of the claim")
    };
    assert_eq!(
        (digest.claims_awaiting[0].amount.as_str(), notice.locale.as_str()),
        ("20.00", "zh-CN")
    );

    let refund = claim_event(
        "claim.responded",
        "evt_resp_1",
        json!({"claim_id": "clm_1", "response": "refund"}),
    );
    let (status, answer) = shop.send(&refund).await;
    assert_eq!(
        (status, answer["state"].as_str(), answer["refunded"].as_str()),
        (202, Some("resolved_by_seller"), Some("20.00"))
    );
    assert_eq!(shop.send(&refund).await.0, 200, "a duplicate is answered, not applied");
    assert_eq!(
        number(&shop.order()["refunded"].as_object().cloned().unwrap(), "total_minor"),
        2000
    );
    let payouts = shop.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        (payouts[0].amount_minor, payouts[0].paid_by),
        (2000, backoffice::domains::refunds::payout::PaidBy::Seller)
    );
    assert!(shop.open_mark("ord_1001").is_none(), "the order may be claimed again");
    let late = claim_event(
        "claim.decided",
        "evt_dec_1",
        json!({"claim_id": "clm_1", "decided_by": "op_7", "decision": "refund", "paid_by": "marketplace", "reason": "late"}),
    );
    let (status, answer) = shop.send(&late).await;
    assert_eq!((status, code(&answer)), (422, Some("claim_closed")));
    assert_eq!(shop.payouts().len(), 1);
}

#[tokio::test]
async fn the_seller_has_the_hours_its_settings_give_to_respond() {
    let shop = shop().await;
    let mut seller = shop.store.item(Table::Sellers, SELLER).unwrap();
    seller.insert("claim_response_hours".into(), json!(24));
    shop.store.insert(Table::Sellers, seller);
    let (_, answer) = shop
        .send(&opened(1, "ord_1001", "not_as_described", json!({}), now()))
        .await;
    let respond_by: DateTime<Utc> = answer["respond_by"].as_str().unwrap().parse().unwrap();
    assert_eq!(respond_by - now(), Duration::hours(24));
    let reminded = shop.sweep_at(now() + Duration::hours(12)).await;
    assert_eq!(reminded["claims"]["reminded"], 1, "at half its time");
}

#[tokio::test]
async fn a_partial_refund_or_evidence_leaves_the_claim_to_support_staff() {
    let shop = shop().await;
    shop.send(&opened(1, "ord_1001", "not_as_described", json!({}), now()))
        .await;
    let partial = claim_event(
        "claim.responded",
        "evt_resp_1",
        json!({"claim_id": "clm_1", "response": "refund", "amount": "10.00"}),
    );
    let (status, answer) = shop.send(&partial).await;
    assert_eq!(
        (status, answer["state"].as_str(), answer["refunded"].as_str()),
        (202, Some("awaiting_support"), Some("10.00")),
        "{answer}"
    );
    let queue = awaiting_support(&shop.store, 10, None).await.unwrap();
    assert_eq!(queue.items.len(), 1);
    let more = claim_event(
        "claim.responded",
        "evt_resp_2",
        json!({"claim_id": "clm_1", "response": "evidence", "message": "sent twice"}),
    );
    let (status, answer) = shop.send(&more).await;
    assert_eq!((status, code(&answer)), (422, Some("not_awaiting_seller")));

    // Support staff refund the rest, paid by the seller: 61.80 − 10.00.
    let decided = claim_event(
        "claim.decided",
        "evt_dec_1",
        json!({"claim_id": "clm_1", "decided_by": "op_7", "decision": "refund", "paid_by": "seller", "reason": "The lid leaks, as the photos show."}),
    );
    let (status, answer) = shop.send(&decided).await;
    assert_eq!(
        (status, answer["state"].as_str(), answer["refunded"].as_str()),
        (202, Some("refunded"), Some("61.80")),
        "{answer}"
    );
    let order = shop.order();
    assert_eq!(order["refunded"]["total_minor"], json!(6180));
    assert_eq!(shop.tally(counter::CLAIMS_LOST), 1);
    assert!(awaiting_support(&shop.store, 10, None).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn the_clock_reminds_escalates_and_breaches_once_across_four_racing_sweeps() {
    let shop = shop().await;
    shop.send(&opened(1, "ord_1001", "not_as_described", json!({}), now()))
        .await;
    let shop = &shop;
    let racing = |at: DateTime<Utc>| join_all((0..4).map(move |_| shop.sweep_at(at)));
    let counted = |swept: Vec<Value>, name: &str| {
        swept
            .iter()
            .map(|swept| swept["claims"][name].as_i64().unwrap())
            .sum::<i64>()
    };

    assert_eq!(
        counted(racing(now() + Duration::hours(23)).await, "reminded"),
        0,
        "not yet half time"
    );
    assert_eq!(counted(racing(now() + Duration::hours(24)).await, "reminded"), 1);
    let reminders = shop
        .emails()
        .into_iter()
        .filter(|email| matches!(&email.content, EmailContent::SellerDigest(digest) if digest.claims_awaiting.iter().any(|claim| claim.reminder)))
        .count();
    assert_eq!(reminders, 1);
    assert_eq!(counted(racing(now() + Duration::hours(48)).await, "escalated"), 1);
    let claim = shop.claim("clm_1").unwrap();
    assert_eq!(text(&claim, "state"), "awaiting_support");
    let respond = claim_event(
        "claim.responded",
        "evt_resp_1",
        json!({"claim_id": "clm_1", "response": "refund"}),
    );
    let (status, answer) = shop.send_at(&respond, now() + Duration::hours(49)).await;
    assert_eq!(
        (status, code(&answer)),
        (422, Some("not_awaiting_seller")),
        "the seller's time is over"
    );
    assert_eq!(counted(racing(now() + Duration::hours(71)).await, "breached"), 0);
    assert_eq!(counted(racing(now() + Duration::hours(72)).await, "breached"), 1);
    assert_eq!(
        counted(racing(now() + Duration::hours(90)).await, "breached"),
        0,
        "a breach is counted once"
    );
    let claim = shop.claim("clm_1").unwrap();
    assert!(claim["breached"] == json!(true) && claim.get("claims_due").is_none());
    assert_eq!(
        awaiting_support(&shop.store, 10, None).await.unwrap().items.len(),
        1,
        "still theirs to decide"
    );
}

#[tokio::test]
async fn a_marketplace_paid_refund_is_recorded_once_with_its_payout_and_each_party_emailed_once() {
    let shop = shop().await;
    shop.order_like("ord_transit", in_transit(20)).await;
    shop.send(&opened(1, "ord_transit", "not_received", json!({}), now()))
        .await;
    shop.sweep_at(now() + Duration::hours(48)).await;
    let reason = "The carrier lost the parcel <scan 3>";
    let decided = claim_event(
        "claim.decided",
        "evt_dec_1",
        json!({"claim_id": "clm_1", "decided_by": "op_7", "decision": "refund", "paid_by": "marketplace", "reason": reason}),
    );
    for _ in 0..3 {
        let (status, answer) = shop.send(&decided).await;
        assert!(status == 202 || status == 200, "{answer}");
    }
    let mut redecided = decided.clone();
    redecided["id"] = json!("evt_dec_2");
    let (status, answer) = shop.send(&redecided).await;
    assert_eq!((status, code(&answer)), (422, Some("claim_closed")));

    let entry: StoredRefundItem = from_item(shop.refund("claim.clm_1.decision")).unwrap();
    assert_eq!(
        (entry.approved_minor, entry.paid_by, entry.claim_id.as_deref()),
        (Some(6180), PaidByOf::Marketplace, Some("clm_1"))
    );
    let payouts = shop.payouts();
    assert_eq!(payouts.len(), 1);
    assert_eq!(
        (payouts[0].amount_minor, payouts[0].paid_by),
        (6180, PaidByOf::Marketplace)
    );
    for _ in 0..2 {
        shop.deliver_payouts(&payouts).await;
    }
    let sent = shop.payments.0.lock().unwrap().clone();
    assert_eq!(
        (sent.len(), sent[0].paid_by),
        (1, PaidByOf::Marketplace),
        "handed over once, naming who pays"
    );

    let emails = shop.claim_emails();
    assert_eq!(emails.len(), 2, "the buyer and the seller, once each");
    assert_eq!((emails[0].0, emails[0].2.as_str()), (ClaimReader::Buyer, "zh"));
    assert_eq!((emails[1].0, emails[1].2.as_str()), (ClaimReader::Seller, "zh-CN"));
    assert!(
        emails
            .iter()
            .all(|(_, email, _)| email.reason == reason && email.amount.as_deref() == Some("61.80"))
    );
    assert!(
        !shop
            .emails()
            .iter()
            .any(|email| matches!(email.content, EmailContent::RefundConfirmation(_)))
    );
    assert_eq!(
        (shop.tally(counter::CLAIMS_DECIDED), shop.tally(counter::CLAIMS_LOST)),
        (1, 0),
        "the marketplace paid: not against the seller"
    );
}

type StoredRefundItem = backoffice::domains::refunds::records::StoredRefund;
use backoffice::domains::refunds::payout::PaidBy as PaidByOf;

#[tokio::test]
async fn racing_claim_decisions_and_refunds_never_pass_what_was_paid() {
    let shop = shop().await;
    shop.send(&opened(
        1,
        "ord_1001",
        "not_as_described",
        json!({"amount": "50.00"}),
        now(),
    ))
    .await;
    let decisions = (0..15).map(|n| {
        let data = match n % 3 {
            0 => json!({"decision": "refund", "paid_by": "seller"}),
            1 => json!({"decision": "partial", "amount": format!("{}.00", 20 + n), "paid_by": "marketplace"}),
            _ => json!({"decision": "deny"}),
        };
        let mut data = data;
        data["claim_id"] = json!("clm_1");
        data["decided_by"] = json!("op_7");
        data["reason"] = json!("decided");
        claim_event("claim.decided", &format!("evt_dec_{n}"), data)
    });
    let refunds = (0..15).map(|n| {
        let mut event = request(500 + n, json!(null), now());
        event["data"].as_object_mut().unwrap().remove("lines");
        event["data"]["amount"] = json!("25.00");
        event
    });
    let events: Vec<Value> = decisions.chain(refunds).collect();
    let answers = join_all(events.iter().map(|event| shop.send(event))).await;
    let decided = answers.iter().take(15).filter(|(status, _)| *status == 202).count();
    assert_eq!(decided, 1, "one decision wins: {answers:?}");
    let order = shop.order();
    let refunded = order["refunded"]["total_minor"].as_i64().unwrap();
    assert!(refunded <= 6180, "refunded {refunded} of 6180");
    let ledger: i64 = shop
        .store
        .items(Table::Refunds)
        .iter()
        .filter(|item| text(item, "pk").starts_with("refund#") && text(item, "state") == "approved")
        .map(|item| number(item, "approved_minor"))
        .sum();
    assert_eq!(ledger, refunded, "the ledger and the order agree");
}

#[tokio::test]
async fn a_withdrawn_claim_frees_the_order_and_only_its_buyer_may_withdraw() {
    let shop = shop().await;
    shop.send(&opened(1, "ord_1001", "not_as_described", json!({}), now()))
        .await;
    let by = |buyer: &str, id: &str| {
        claim_event(
            "claim.withdrawn",
            id,
            json!({"claim_id": "clm_1", "buyer_id": buyer, "reason": "it arrived"}),
        )
    };
    let (status, answer) = shop.send(&by("buy_other", "evt_w1")).await;
    assert_eq!((status, code(&answer)), (422, Some("not_the_claimant")));
    let (status, answer) = shop.send(&by(BUYER, "evt_w2")).await;
    assert_eq!((status, answer["state"].as_str()), (202, Some("withdrawn")));
    assert!(shop.open_mark("ord_1001").is_none());
    assert_eq!(
        shop.send(&opened(2, "ord_1001", "not_as_described", json!({}), now()))
            .await
            .0,
        202
    );
}

#[tokio::test]
async fn a_duplicate_opening_is_answered_and_a_reused_claim_id_is_a_conflict() {
    let shop = shop().await;
    let first = opened(1, "ord_1001", "not_as_described", json!({}), now());
    assert_eq!(shop.send(&first).await.0, 202);
    let mut again = first.clone();
    again["id"] = json!("evt_claim_again");
    assert_eq!(shop.send(&again).await.0, 200, "the same claim under another event");
    let mut other = again.clone();
    other["id"] = json!("evt_claim_other");
    other["data"]["note"] = json!("other words");
    let (status, answer) = shop.send(&other).await;
    assert_eq!((status, code(&answer)), (409, Some("claim_exists")));
}

#[tokio::test]
async fn support_staff_read_their_queue_oldest_due_first_in_pages_and_each_claims_facts_in_one_read() {
    let shop = shop().await;
    shop.store.insert(Table::Threads, thread("thr_breached", "ord_2", true));
    for n in 0..5u32 {
        let order_id = format!("ord_{n}");
        shop.order_like(&order_id, |_| {}).await;
        let extra = if n == 2 {
            json!({"thread_id": "thr_breached"})
        } else {
            json!({})
        };
        let reason = if n == 2 {
            "no_seller_response"
        } else {
            "not_as_described"
        };
        let at = now() + Duration::minutes(i64::from(n));
        shop.send_at(&opened(n, &order_id, reason, extra, at), at).await;
    }
    // The seller answers the last one first, with evidence: it reaches support staff first.
    let evidence = claim_event(
        "claim.responded",
        "evt_ev",
        json!({"claim_id": "clm_4", "response": "evidence", "tracking": {"carrier": "SF Express", "tracking_number": "SF1234567890"}}),
    );
    assert_eq!(shop.send(&evidence).await.0, 202);
    shop.sweep_at(now() + Duration::hours(49)).await;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = awaiting_support(&shop.store, 2, after).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|claim| claim.claim_id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["clm_4", "clm_0", "clm_1", "clm_2", "clm_3"]);

    let page = awaiting_support(&shop.store, 5, None).await.unwrap();
    let silent = page.items.iter().find(|claim| claim.claim_id == "clm_2").unwrap();
    shop.store.take_requests();
    let ClaimFacts { order, thread, .. } = gather_facts(&shop.store, silent).await.unwrap();
    assert_eq!(shop.store.take_requests(), 1, "one BatchGetItem");
    assert_eq!(order.unwrap().order_id, "ord_2");
    assert_eq!(thread.unwrap().thread_id, "thr_breached");
}

#[tokio::test]
async fn hostile_claim_payloads_are_refused_with_their_codes_and_nothing_is_stored() {
    let shop = shop().await;
    let open = |data: Value| {
        let mut event = opened(1, "ord_1001", "not_as_described", json!({}), now());
        for (name, value) in data.as_object().cloned().unwrap() {
            if value.is_null() {
                event["data"].as_object_mut().unwrap().remove(&name);
            } else {
                event["data"][name] = value;
            }
        }
        event
    };
    // The full list of hostile events runs against the local AWS (tests/tests/claims.rs);
    // here, one of each kind of refusal, over the memory store.
    let cases: Vec<(Value, u16, &str)> = vec![
        (open(json!({"claim_id": "clm 1"})), 400, "invalid_identifier"),
        (open(json!({"reason": "changed_mind"})), 400, "unknown_reason"),
        (open(json!({"surprise": true})), 400, "invalid_field"),
        (open(json!({"amount": "12.345"})), 422, "amount_precision"),
        (open(json!({"amount": "61.81"})), 422, "amount_exceeds_refundable"),
        (
            open(json!({"lines": [{"line_id": "l1", "quantity": 3}]})),
            422,
            "quantity_exceeds_refundable",
        ),
        (open(json!({"reason": "no_seller_response"})), 400, "thread_id_required"),
        (
            open(json!({"created_at": (now() + Duration::hours(1)).to_rfc3339()})),
            422,
            "created_in_future",
        ),
        (
            claim_event(
                "claim.decided",
                "evt_hostile_decision",
                json!({"claim_id": "clm_1", "decided_by": "op_7", "decision": "refund", "reason": "r"}),
            ),
            400,
            "paid_by_required",
        ),
        (
            claim_event(
                "claim.responded",
                "evt_hostile_response",
                json!({"claim_id": "clm_1", "response": "evidence"}),
            ),
            400,
            "evidence_required",
        ),
    ];
    let mut wrong = Vec::new();
    for (event, status, expected) in cases {
        let (answered, answer) = shop.send(&event).await;
        if (answered, code(&answer)) != (i64::from(status), Some(expected)) {
            wrong.push(format!("{}: {answer}", event["data"]));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let stored = shop.store.items(Table::Refunds);
    assert!(stored.is_empty(), "nothing stored: {stored:?}");
    assert!(shop.store.items(Table::Outbox).is_empty());
}
