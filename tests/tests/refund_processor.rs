//! Refund processing against the local AWS: requests and decisions through the real webhook
//! handler into the refunds, orders and inventory tables; the payout instruction relayed
//! through the real topic to its queue and handed to the payment integration's FIFO queue;
//! the returned units filling a backorder through stock alerts.

use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::outbox::StreamBatch;
use backoffice_tests::local_aws;
use backoffice_tests::refunds::refund_desk;
use backoffice_tests::{receive_all, unique_id};
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use local_cloud::streams::{Position, StreamReader};
use serde_json::{Value, json};

/// Only one test reads the payout queues: what it receives stays hidden from the others.
static PAYOUT_QUEUES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn goodwill(amount: &str) -> Value {
    json!({"amount": amount})
}

#[tokio::test]
async fn a_small_refund_is_one_read_and_one_transaction_approved_and_restocked() {
    let desk = refund_desk().await;
    let order_id = desk
        .delivered_order(&[("CUP", 2, "12.00"), ("POT", 1, "49.80")], 10)
        .await;
    let request = desk.request(
        &order_id,
        json!({"lines": [{"line_id": "l0", "quantity": 1, "restock": true}]}),
    );
    let (status, answer) = desk.send(&request).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (&answer["decision"], &answer["amount"]),
        (&json!("approved"), &json!("12.00"))
    );
    assert_eq!(
        desk.warehouse.shop.requests.take(),
        2,
        "BatchGetItem (refund, order, buyer history, seller) and TransactWriteItems"
    );
    let order = desk.order(&order_id).await;
    assert_eq!(order["refund_status"], "partially_refunded");
    assert_eq!(order["refunded"]["lines"]["l0"]["quantity"], 1);
    assert_eq!(
        desk.warehouse.shop.levels("CUP").await.0,
        9,
        "8 after the order shipped 2, and 1 back"
    );
    let refund_id = request["data"]["refund_id"].as_str().unwrap();
    let kinds: Vec<&str> = desk
        .follow_ups_of(refund_id)
        .await
        .iter()
        .map(FollowUp::kind)
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(kinds, ["stock_change", "email", "refund_payout"]);
}

#[tokio::test]
async fn the_windows_last_day_is_accepted_and_the_next_refused() {
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("CUP", 5, "1.00")], 10).await;
    let delivered: chrono::DateTime<Utc> = desk.order(&order_id).await["delivered_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let last_day = (delivered + Duration::days(30))
        .date_naive()
        .and_hms_opt(23, 59, 59)
        .unwrap()
        .and_utc();
    let asked_at =
        |at: chrono::DateTime<Utc>| desk.request(&order_id, json!({"amount": "1.00", "created_at": at.to_rfc3339()}));
    // Each sent when it says it was asked: a request's own date may not run ahead of the clock.
    assert_eq!(desk.send_at(&asked_at(last_day), last_day).await.0, 202);
    let late = last_day + Duration::seconds(1);
    let (status, answer) = desk.send_at(&asked_at(late), late).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("outside_return_window"))
    );
}

#[tokio::test]
async fn pending_then_reminded_then_approved_at_the_deadline_and_a_late_decision_refused() {
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("POT", 1, "49.80")], 10).await;
    let request = desk.request(&order_id, json!({"lines": [{"line_id": "l0", "quantity": 1}]}));
    let (status, answer) = desk.send(&request).await;
    assert_eq!(
        (status, answer["decision"].clone()),
        (202, json!("pending")),
        "{answer}"
    );
    let refund_id = request["data"]["refund_id"].as_str().unwrap();
    let due: chrono::DateTime<Utc> = answer["decision_due"].as_str().unwrap().parse().unwrap();

    desk.refunds.sweep(due - Duration::hours(24)).await.unwrap();
    assert_eq!(desk.refund(refund_id).await.unwrap()["reminded"], true);
    desk.refunds.sweep(due).await.unwrap();
    let refund = desk.refund(refund_id).await.unwrap();
    assert_eq!(
        (refund["state"].as_str(), refund["decision_reason"].as_str()),
        (Some("approved"), Some("seller_did_not_respond"))
    );
    let (status, answer) = desk
        .send(&desk.decision(refund_id, json!({"decision": "approve"})))
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("already_decided"))
    );
    assert_eq!(desk.order(&order_id).await["refund_status"], "refunded");
}

#[tokio::test]
async fn a_rejection_is_recorded_with_its_reason_and_emailed() {
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("POT", 1, "49.80")], 10).await;
    let request = desk.request(&order_id, json!({"lines": [{"line_id": "l0", "quantity": 1}]}));
    desk.send(&request).await;
    let refund_id = request["data"]["refund_id"].as_str().unwrap();
    let (status, _) = desk
        .send(&desk.decision(
            refund_id,
            json!({"decision": "reject", "reason": "used, not defective"}),
        ))
        .await;
    assert_eq!(status, 202);
    let emails: Vec<String> = desk
        .follow_ups_of(refund_id)
        .await
        .into_iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::Email(email) => Some(email.content.template().name().to_owned()),
            _ => None,
        })
        .collect();
    assert!(emails.contains(&"refund_rejected".to_owned()), "{emails:?}");
    assert!(desk.order(&order_id).await.get("refund_status").is_none());
}

#[tokio::test]
async fn a_duplicate_and_a_reused_refund_id_with_another_body() {
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("CUP", 5, "1.00")], 10).await;
    let request = desk.request(&order_id, goodwill("2.00"));
    let answers = join_all((0..8).map(|_| desk.send(&request))).await;
    let statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 202).count(),
        1,
        "{answers:?}"
    );
    assert!(statuses.iter().all(|status| matches!(status, 200 | 202)), "{answers:?}");
    let mut other = request.clone();
    other["id"] = json!(unique_id("evt"));
    other["data"]["amount"] = json!("3.00");
    let (status, answer) = desk.send(&other).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("refund_exists")));
    assert_eq!(desk.order(&order_id).await["refunded"]["total_minor"], 200);
}

#[tokio::test]
async fn the_returned_units_fill_a_waiting_backorder() {
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("KETTLE", 1, "59.00")], 1).await;
    let backorder = unique_id("ord");
    let (_, answer) = desk
        .warehouse
        .shop
        .event(
            "order.created",
            backoffice_tests::orders::order_data(&backorder, desk.seller(), &[("KETTLE", 1, "59.00")]),
        )
        .await;
    assert_eq!(answer["order_status"], "backordered", "{answer}");
    let request = desk.request(
        &order_id,
        json!({"lines": [{"line_id": "l0", "quantity": 1, "restock": true}], "reason": "no_longer_needed"}),
    );
    let (_, answer) = desk.send(&request).await;
    assert_eq!(answer["decision"], "pending", "€59.00 is over the €30.00 limit");
    let refund_id = request["data"]["refund_id"].as_str().unwrap();
    assert_eq!(
        desk.send(&desk.decision(refund_id, json!({"decision": "approve"})))
            .await
            .0,
        202
    );
    let stock_change: Vec<FollowUp> = desk
        .follow_ups_of(refund_id)
        .await
        .into_iter()
        .filter(|follow_up| matches!(follow_up, FollowUp::StockChange(_)))
        .collect();
    let FollowUp::StockChange(change) = &stock_change[0] else {
        unreachable!()
    };
    let mut event = desk.warehouse.change_event(&[(&["KETTLE"], change.reason)]);
    event.records[0].body = Some(serde_json::to_string(&stock_change[0]).unwrap());
    assert!(desk.warehouse.deliver(event).await.batch_item_failures.is_empty());
    let filled = desk.warehouse.shop.order(&backorder).await.unwrap();
    assert_eq!(filled.status.as_str(), "accepted", "the returned kettle filled it");
}

#[tokio::test]
async fn one_payout_message_per_approved_refund_even_after_a_replayed_outbox_batch() {
    let _turn = PAYOUT_QUEUES.lock().await;
    let desk = refund_desk().await;
    let order_id = desk.delivered_order(&[("CUP", 5, "1.00")], 10).await;
    let request = desk.request(&order_id, goodwill("2.50"));
    assert_eq!(desk.send(&request).await.1["decision"], "approved");
    let refund_id = request["data"]["refund_id"].as_str().unwrap().to_owned();

    // The outbox record of the approval, relayed by order intake's real relay to the real topic,
    // twice: once as the stream hands it over, once as a replayed dead letter would.
    let aws = local_aws();
    let reader = StreamReader::new(aws.endpoint(), &aws.provisioned.streams["OutboxTable"]);
    let mut iterator = Some(reader.iterator(Position::Oldest).await.unwrap());
    let mut records = Vec::new();
    while let Some(current) = iterator {
        let page = reader.page(&current, 1000).await.unwrap();
        if page.records.is_empty() {
            break;
        }
        records.extend(
            page.records
                .into_iter()
                .filter(|record| record.to_string().contains(&format!("{refund_id}#approved"))),
        );
        iterator = page.next;
    }
    assert_eq!(records.len(), 1);
    for _ in 0..2 {
        let batch: StreamBatch = serde_json::from_value(json!({"Records": records})).unwrap();
        assert!(
            desk.warehouse
                .shop
                .intake
                .relay_follow_ups(batch)
                .await
                .batch_item_failures
                .is_empty()
        );
    }

    let sqs = aws_sdk_sqs::Client::new(&desk.warehouse.shop.config);
    let requests_url = &aws.provisioned.queues["PayoutRequestQueue"].url;
    let payouts: Vec<FollowUp> = receive_all(&sqs, requests_url)
        .await
        .into_iter()
        .filter_map(|message| serde_json::from_str::<FollowUp>(message.body()?).ok())
        .filter(|follow_up| matches!(follow_up, FollowUp::RefundPayout(payout) if payout.refund_id == refund_id))
        .collect();
    assert_eq!(payouts.len(), 2, "the topic delivered the instruction twice");
    assert!(desk.deliver(&payouts).await.batch_item_failures.is_empty());
    assert!(desk.deliver(&payouts[..1]).await.batch_item_failures.is_empty());

    let paid = receive_all(&sqs, &aws.provisioned.queues["RefundPayoutQueue"].url)
        .await
        .into_iter()
        .filter(|message| message.body().is_some_and(|body| body.contains(&refund_id)))
        .count();
    assert_eq!(paid, 1, "one message for the payment integration");
    assert!(
        desk.refund(&refund_id)
            .await
            .unwrap()
            .get("payout_message_id")
            .is_some()
    );
}

#[tokio::test]
async fn partial_refunds_racing_for_one_order_never_pass_what_was_paid() {
    let desk = refund_desk().await;
    // Two rounds in CI (each is a hundred requests against moto); `REFUND_RACE_ROUNDS=50` for a long run.
    let rounds: usize = std::env::var("REFUND_RACE_ROUNDS")
        .ok()
        .and_then(|rounds| rounds.parse().ok())
        .unwrap_or(2);
    for round in 0..rounds {
        // €10.00 paid; fifty refunds of €1.00 race, then the seller approves every pending one at once.
        let order_id = desk.delivered_order(&[("CUP", 10, "1.00")], 100).await;
        let requests: Vec<Value> = (0..50).map(|_| desk.request(&order_id, goodwill("1.00"))).collect();
        join_all(requests.iter().map(|request| desk.send(request))).await;
        let decisions: Vec<Value> = requests
            .iter()
            .map(|request| {
                desk.decision(
                    request["data"]["refund_id"].as_str().unwrap(),
                    json!({"decision": "approve"}),
                )
            })
            .collect();
        join_all(decisions.iter().map(|decision| desk.send(decision))).await;
        let refunded = desk.order(&order_id).await["refunded"]["total_minor"].as_i64().unwrap();
        assert_eq!(refunded, 1000, "round {round}: exactly what was paid, never more");
        let mut approved = 0;
        for request in &requests {
            let refund = desk
                .refund(request["data"]["refund_id"].as_str().unwrap())
                .await
                .unwrap();
            approved += usize::from(refund["state"] == "approved");
        }
        assert_eq!(approved, 10, "round {round}");
    }
}

/// A valid `refund.requested` data object, to be spoiled one field at a time.
fn hostile() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    vec![
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
            "quantity \"1\"",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": "1"}])),
            "invalid_field",
        ),
        (
            "quantity huge",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 10_001}])),
            "invalid_quantity",
        ),
        ("no lines", "lines", Some(json!([])), "invalid_line_count"),
        (
            "91 lines",
            "lines",
            Some(json!(
                (0..91)
                    .map(|n| json!({"line_id": format!("l{n}"), "quantity": 1}))
                    .collect::<Vec<_>>()
            )),
            "invalid_line_count",
        ),
        (
            "a line twice",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1}, {"line_id": "l0", "quantity": 1}])),
            "duplicate_line",
        ),
        (
            "a line id with a space",
            "lines",
            Some(json!([{"line_id": "l 0", "quantity": 1}])),
            "invalid_identifier",
        ),
        (
            "an unknown line",
            "lines",
            Some(json!([{"line_id": "l9", "quantity": 1}])),
            "unknown_line",
        ),
        (
            "too many units",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 6}])),
            "quantity_exceeds_refundable",
        ),
        (
            "a line amount over its price",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "amount": "5.01"}])),
            "amount_exceeds_refundable",
        ),
        (
            "a negative line amount",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "amount": "-1.00"}])),
            "invalid_amount",
        ),
        (
            "a numeric line amount",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "amount": 1.0}])),
            "invalid_field",
        ),
        (
            "an unknown line field",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "price": "0"}])),
            "invalid_field",
        ),
        (
            "restock as text",
            "lines",
            Some(json!([{"line_id": "l0", "quantity": 1, "restock": "yes"}])),
            "invalid_field",
        ),
        ("lines and an amount", "amount", Some(json!("1.00")), "lines_or_amount"),
        ("amount zero", "amount", Some(json!("0.00")), "invalid_amount"),
        ("amount -5", "amount", Some(json!("-5")), "invalid_amount"),
        ("amount 1e3", "amount", Some(json!("1e3")), "invalid_amount"),
        ("amount with a comma", "amount", Some(json!("1,00")), "invalid_amount"),
        ("amount as a number", "amount", Some(json!(1.5)), "invalid_field"),
        (
            "amount of five decimals",
            "amount",
            Some(json!("1.00001")),
            "invalid_amount",
        ),
        (
            "amount over the order",
            "amount",
            Some(json!("25.01")),
            "amount_exceeds_refundable",
        ),
        (
            "amount of three decimals in EUR",
            "amount",
            Some(json!("1.001")),
            "amount_precision",
        ),
        (
            "an unknown currency",
            "currency",
            Some(json!("EURO")),
            "invalid_currency",
        ),
        ("another currency", "currency", Some(json!("USD")), "currency_mismatch"),
        (
            "an unknown reason",
            "reason",
            Some(json!("changed_mind")),
            "unknown_reason",
        ),
        ("a reason number", "reason", Some(json!(3)), "invalid_field"),
        ("missing reason", "reason", None, "missing_field"),
        (
            "a control character in the note",
            "note",
            Some(json!("hi\u{0}")),
            "invalid_text",
        ),
        (
            "a note of 1,001 characters",
            "note",
            Some(json!("a".repeat(1_001))),
            "invalid_text",
        ),
        ("missing refund id", "refund_id", None, "missing_field"),
        (
            "a refund id with a slash",
            "refund_id",
            Some(json!("ref/1")),
            "invalid_identifier",
        ),
        ("an empty order id", "order_id", Some(json!("")), "invalid_identifier"),
        (
            "an order nobody placed",
            "order_id",
            Some(json!("ord_never")),
            "order_not_found",
        ),
        (
            "another seller",
            "seller_id",
            Some(json!("sel_someone_else")),
            "order_not_found",
        ),
        ("another buyer", "buyer_id", Some(json!("buy_2")), "buyer_mismatch"),
        ("missing buyer", "buyer_id", None, "missing_field"),
        (
            "created_at in words",
            "created_at",
            Some(json!("last week")),
            "invalid_timestamp",
        ),
        (
            "created_at ahead of the clock",
            "created_at",
            Some(json!("2099-01-01T00:00:00Z")),
            "created_in_future",
        ),
        ("an unknown field", "refund", Some(json!(true)), "invalid_field"),
    ]
}

#[tokio::test]
async fn hostile_refund_requests_are_refused_with_their_code_and_nothing_is_stored() {
    let desk = refund_desk().await;
    let order_id = desk
        .delivered_order(&[("CUP", 5, "1.00"), ("POT", 1, "20.00")], 10)
        .await;
    let spoils = hostile();
    assert!(spoils.len() >= 40, "{}", spoils.len());
    for (what, field, value, code) in spoils {
        let mut request = desk.request(&order_id, json!({"lines": [{"line_id": "l0", "quantity": 1}]}));
        let data = request["data"].as_object_mut().unwrap();
        match value {
            Some(value) => {
                data.insert(field.to_owned(), value);
            }
            None => {
                data.remove(field);
            }
        }
        if field == "amount" && code != "lines_or_amount" {
            data.remove("lines");
        }
        let refund_id = data
            .get("refund_id")
            .and_then(Value::as_str)
            .unwrap_or("ref_missing")
            .to_owned();
        let (status, answer) = desk.send(&request).await;
        assert!(matches!(status, 400 | 404 | 422), "{what}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(
            answer["error"]["field"]
                .as_str()
                .is_some_and(|named| named.starts_with("data")),
            "{what}: {answer}"
        );
        assert!(desk.refund(&refund_id).await.is_none(), "{what}: stored");
    }
    let order = desk.order(&order_id).await;
    assert!(order.get("refund_status").is_none(), "nothing refunded");
}
