//! Stock alerts against the local AWS: adjustments through the real webhook handler, stock
//! changes as the queue hands them over, the sweep as the schedule runs it; alert states read
//! from the inventory table, digests from the outbox they are relayed from.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use backoffice::domains::email::request::StockLevel;
use backoffice::domains::email::{EmailTemplate, RecipientRole};
use backoffice::domains::orders::OrderStatus;
use backoffice::follow_ups::{FollowUp, StockChangeReason};
use backoffice_tests::orders::order_data;
use backoffice_tests::stock::{ONE_AT_A_TIME, Warehouse, digests_of, warehouse};
use backoffice_tests::{outbox_follow_ups, unique_id};
use futures_util::future::join_all;
use serde_json::json;
use stock_alerts::Pages;

/// Each digest's SKUs and levels, sorted.
async fn alerted(warehouse: &Warehouse) -> Vec<Vec<(String, StockLevel)>> {
    let mut digests: Vec<Vec<(String, StockLevel)>> = warehouse
        .digests()
        .await
        .into_iter()
        .map(|digest| {
            let mut skus: Vec<_> = digest.stock.into_iter().map(|alert| (alert.sku, alert.level)).collect();
            skus.sort_by(|a, b| a.0.cmp(&b.0));
            skus
        })
        .collect();
    digests.sort();
    digests
}

fn sku_levels(pairs: &[(&str, StockLevel)]) -> Vec<(String, StockLevel)> {
    pairs.iter().map(|(sku, level)| ((*sku).to_owned(), *level)).collect()
}

/// An order of this seller placed `days_ago`, as the marketplace would send it then.
async fn order_placed(warehouse: &Warehouse, sku: &str, quantity: i64, days_ago: i64) -> (i64, serde_json::Value) {
    let created_at = chrono::Utc::now() - chrono::Duration::days(days_ago);
    let body = json!({
        "id": unique_id("evt"),
        "type": "order.created",
        "created_at": created_at.to_rfc3339(),
        "data": order_data(&unique_id("ord"), warehouse.seller(), &[(sku, quantity, "1.00")]),
    });
    warehouse.shop.send(&body.to_string()).await
}

/// None of the kettle in stock, then an order of each `(quantity, days_ago)`: each one
/// backordered. Answers their ids, oldest first.
async fn backordered_kettles(warehouse: &Warehouse, orders: &[(i64, i64)]) -> Vec<String> {
    warehouse.count("KETTLE", 0, 0, 14).await;
    let mut backordered = Vec::new();
    for (quantity, days_ago) in orders {
        let (status, body) = order_placed(warehouse, "KETTLE", *quantity, *days_ago).await;
        assert_eq!(
            (status, body["order_status"].as_str()),
            (202, Some("backordered")),
            "{body}"
        );
        backordered.push(body["order_id"].as_str().unwrap().to_owned());
    }
    backordered
}

#[tokio::test]
async fn low_and_out_are_raised_by_a_stock_change_in_one_digest() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("LOW", 4, 5, 3).await;
    warehouse.count("OUT", 0, 2, 3).await;
    warehouse.count("FINE", 50, 5, 3).await;
    assert!(
        warehouse
            .changed(&["LOW", "OUT", "FINE"], StockChangeReason::Counted)
            .await
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(
        alerted(&warehouse).await,
        [sku_levels(&[("LOW", StockLevel::Low), ("OUT", StockLevel::Out)])]
    );
    let low = warehouse.item("LOW").await;
    assert_eq!(low["alert_level"].as_s().unwrap(), "low");
    assert!(low.contains_key("watch"), "a SKU with a problem stays on the watchlist");
    assert!(
        !warehouse.item("FINE").await.contains_key("watch"),
        "a healthy SKU leaves it"
    );
}

#[tokio::test]
async fn the_sweep_raises_what_no_event_did_and_repeats_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("LOW", 4, 5, 3).await;
    warehouse.count("OUT", 0, 2, 3).await;
    // Selling 10 a day for a week, with no stock change ever delivered to stock alerts: only
    // the reservations' own marks put it on the watchlist.
    warehouse.count("RUN", 95, 5, 5).await;
    warehouse.changed(&["RUN"], StockChangeReason::Counted).await;
    for days_ago in 0..7 {
        let (status, body) = order_placed(&warehouse, "RUN", 10, days_ago).await;
        assert_eq!(status, 202, "{body}");
    }

    let first = warehouse.sweep().await;
    assert!(first.alerts_raised >= 3 && first.digests >= 1, "{first:?}");
    assert_eq!(
        alerted(&warehouse).await,
        [sku_levels(&[
            ("LOW", StockLevel::Low),
            ("OUT", StockLevel::Out),
            ("RUN", StockLevel::RunningOut)
        ])]
    );

    // Staying low is not news: not to the next sweep, not to the next order.
    warehouse.sweep().await;
    let (status, body) = order_placed(&warehouse, "LOW", 1, 0).await;
    assert_eq!(status, 202, "{body}");
    warehouse.changed(&["LOW"], StockChangeReason::Reserved).await;
    warehouse.sweep().await;
    assert_eq!(alerted(&warehouse).await.len(), 1, "still one digest");
}

#[tokio::test]
async fn a_restock_clears_the_alert_and_a_later_drop_alerts_again() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("POT", 2, 5, 3).await;
    warehouse.changed(&["POT"], StockChangeReason::Counted).await;
    assert_eq!(alerted(&warehouse).await, [sku_levels(&[("POT", StockLevel::Low)])]);

    let (status, body) = warehouse.adjust(json!({"sku": "POT", "on_hand": {"add": 10}})).await;
    assert_eq!(status, 202, "{body}");
    warehouse.changed(&["POT"], StockChangeReason::Restocked).await;
    let pot = warehouse.item("POT").await;
    assert_eq!(pot["alert_level"].as_s().unwrap(), "healthy");
    assert!(pot.contains_key("alert_cleared_at"), "the clearing is recorded");
    assert_eq!(alerted(&warehouse).await.len(), 1, "clearing sends nothing");

    let (status, _) = order_placed(&warehouse, "POT", 9, 0).await;
    assert_eq!(status, 202);
    warehouse.changed(&["POT"], StockChangeReason::Reserved).await;
    let digests = alerted(&warehouse).await;
    assert_eq!(digests.len(), 2, "low again after the drop: {digests:?}");

    let (status, _) = order_placed(&warehouse, "POT", 3, 0).await;
    assert_eq!(status, 202);
    warehouse.changed(&["POT"], StockChangeReason::Reserved).await;
    let digests = alerted(&warehouse).await;
    assert_eq!(digests.len(), 3, "out after low is a new, worse problem: {digests:?}");
    assert!(digests.contains(&sku_levels(&[("POT", StockLevel::Out)])));
}

#[tokio::test]
async fn a_sku_selling_ten_a_day_with_25_available_and_a_5_day_lead_time_is_running_out() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("TEA", 95, 5, 5).await;
    for days_ago in 0..7 {
        let (status, body) = order_placed(&warehouse, "TEA", 10, days_ago).await;
        assert_eq!(status, 202, "{body}");
    }
    assert!(
        warehouse
            .changed(&["TEA"], StockChangeReason::Reserved)
            .await
            .batch_item_failures
            .is_empty()
    );
    let digests = warehouse.digests().await;
    assert_eq!(digests.len(), 1);
    let alert = &digests[0].stock[0];
    assert_eq!(
        (alert.level, alert.available, alert.days_of_cover, alert.lead_time_days),
        (StockLevel::RunningOut, 25, Some(2), Some(5))
    );
}

#[tokio::test]
async fn one_digest_per_seller_per_sweep_naming_only_its_own_skus() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (first, second) = (warehouse().await, warehouse().await);
    for warehouse in [&first, &second] {
        for sku in ["A", "B", "C"] {
            warehouse.count(sku, 1, 5, 3).await;
        }
    }
    let summary = first.sweep().await;
    assert!(summary.digests >= 2, "{summary:?}");
    assert!(summary.items_read >= 6);
    for warehouse in [&first, &second] {
        let digests = digests_of(&warehouse.shop.dynamodb, warehouse.seller()).await;
        assert_eq!(digests.len(), 1, "one digest for {}", warehouse.seller());
        assert_eq!(digests[0].seller_id, warehouse.seller());
        let skus: Vec<&str> = digests[0].stock.iter().map(|alert| alert.sku.as_str()).collect();
        assert_eq!(skus.len(), 3, "{skus:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_restocks_racing_fifty_orders_never_oversell() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("HOT", 10, 0, 3).await;
    let orders = (0..50).map(|_| order_placed(&warehouse, "HOT", 1, 0));
    let restocks = (0..50).map(|_| warehouse.adjust(json!({"sku": "HOT", "on_hand": {"add": 1}})));
    let (orders, restocks) = futures_util::join!(join_all(orders), join_all(restocks));
    assert!(restocks.iter().all(|(status, _)| *status == 202), "{restocks:?}");
    let accepted = orders
        .iter()
        .filter(|(_, body)| body["order_status"] == OrderStatus::Accepted.as_str())
        .count() as i64;
    let (on_hand, reserved, available) = warehouse.shop.levels("HOT").await;
    assert_eq!(on_hand, 60, "every restock counted once");
    assert_eq!(reserved, accepted, "every accepted order reserved, nothing else");
    assert_eq!(available, on_hand - reserved);
    assert!(available >= 0 && accepted <= 60);
}

#[tokio::test]
async fn a_restock_fills_backorders_oldest_first_each_whole() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    let backordered = backordered_kettles(&warehouse, &[(2, 3), (3, 2), (1, 1)]).await;
    // Four arrive: the oldest (2) is filled; the next (3) does not fit whole and waits;
    // the youngest (1) fits.
    let (status, _) = warehouse.adjust(json!({"sku": "KETTLE", "on_hand": {"add": 4}})).await;
    assert_eq!(status, 202);
    let restocked = warehouse.change_event(&[(&["KETTLE"], StockChangeReason::Restocked)]);
    assert!(
        warehouse
            .deliver(restocked.clone())
            .await
            .batch_item_failures
            .is_empty()
    );
    let mut statuses = Vec::new();
    for order_id in &backordered {
        statuses.push(warehouse.shop.order(order_id).await.unwrap().status);
    }
    assert_eq!(
        statuses,
        [OrderStatus::Accepted, OrderStatus::Backordered, OrderStatus::Accepted]
    );
    assert_eq!(warehouse.shop.levels("KETTLE").await, (4, 3, 1));

    // The buyers of the filled orders are told their order is being prepared.
    for order_id in [&backordered[0], &backordered[2]] {
        let entry = warehouse
            .shop
            .dynamodb
            .get_item()
            .table_name(backoffice_tests::local_aws().table("OutboxTable"))
            .key(
                "key",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("order-intake#{order_id}#accepted")),
            )
            .send()
            .await
            .unwrap()
            .item
            .expect("the fill's follow-ups wait in the outbox");
        let follow_ups: Vec<FollowUp> = serde_json::from_str(entry["follow_ups"].as_s().unwrap()).unwrap();
        assert!(follow_ups.iter().any(|f| matches!(f, FollowUp::Email(e)
            if e.content.template() == EmailTemplate::BackorderFilled && e.recipient.role == RecipientRole::Buyer)));
    }

    // The queue delivers the same restock again: the youngest order (1) would fit the last
    // unit, but it is filled already, so nothing is reserved twice.
    assert!(warehouse.deliver(restocked).await.batch_item_failures.is_empty());
    assert_eq!(warehouse.shop.levels("KETTLE").await, (4, 3, 1));
}

/// Pages over DynamoDB: the sweep and backorder filling each take a page of two and hand the
/// rest on through the outbox; every SKU is assessed and every backorder filled, each once.
#[tokio::test]
async fn the_sweep_and_backorder_filling_go_a_page_at_a_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await.with_pages(Pages {
        sweep: 2,
        backorders: 2,
    });
    let cups: Vec<String> = (1..=5).map(|n| format!("CUP-{n}")).collect();
    for cup in &cups {
        warehouse.count(cup, 1, 5, 3).await;
    }
    let summary = warehouse.sweep().await;
    assert!(summary.skus_assessed >= cups.len(), "{summary:?}");
    let mut said: Vec<String> = warehouse
        .digests()
        .await
        .into_iter()
        .flat_map(|digest| digest.stock.into_iter().map(|alert| alert.sku))
        .collect();
    said.sort();
    assert_eq!(said, cups, "each low cup in one digest, once");

    let backordered = backordered_kettles(&warehouse, &[(1, 3), (1, 2), (1, 1)]).await;
    let (status, _) = warehouse.adjust(json!({"sku": "KETTLE", "on_hand": {"add": 4}})).await;
    assert_eq!(status, 202);
    let restocked = warehouse.change_event(&[(&["KETTLE"], StockChangeReason::Restocked)]);
    let FollowUp::StockChange(change) = serde_json::from_str(restocked.records[0].body.as_deref().unwrap()).unwrap()
    else {
        panic!("a stock change")
    };
    assert!(warehouse.deliver(restocked).await.batch_item_failures.is_empty());
    assert_eq!(
        warehouse.shop.levels("KETTLE").await,
        (4, 2, 2),
        "the first page: two orders"
    );

    let continued = outbox_follow_ups(&warehouse.shop.dynamodb, &format!("{}#after#", change.dedupe_key)).await;
    assert_eq!(continued.len(), 1, "the rest handed on once: {continued:?}");
    assert!(
        warehouse
            .deliver(queued(&continued[0]))
            .await
            .batch_item_failures
            .is_empty()
    );
    for order_id in &backordered {
        assert_eq!(
            warehouse.shop.order(order_id).await.unwrap().status,
            OrderStatus::Accepted
        );
    }
    assert_eq!(warehouse.shop.levels("KETTLE").await, (4, 3, 1));
}

/// A batch of one follow-up, as the stock change queue delivers it.
fn queued(follow_up: &FollowUp) -> SqsEvent {
    let mut message = SqsMessage::default();
    message.message_id = Some(unique_id("msg"));
    message.body = Some(serde_json::to_string(follow_up).unwrap());
    message.event_source = Some("aws:sqs".to_owned());
    let mut event = SqsEvent::default();
    event.records = vec![message];
    event
}

async fn warehouse_of_another_seller() -> Warehouse {
    warehouse().await
}

#[tokio::test]
async fn bad_adjustments_are_refused_with_nothing_changed() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let (warehouse, other) = (warehouse().await, warehouse_of_another_seller().await);
    warehouse.count("POT", 7, 2, 3).await;
    other.count("POT", 5, 2, 3).await;
    let before = (warehouse.item("POT").await, other.item("POT").await);

    for (data, status, field) in [
        (json!({"sku": "POT", "on_hand": {"set": -1}}), 400, "data.on_hand.set"),
        (json!({"sku": "POT", "on_hand": {"add": -3}}), 400, "data.on_hand.add"),
        (json!({"sku": "POT", "on_hand": {"add": 1.5}}), 400, "data.on_hand.add"),
        (
            json!({"sku": "POT", "on_hand": {"set": 4}, "safety_stock": 0.5}),
            400,
            "data.safety_stock",
        ),
        (json!({"on_hand": {"set": 4}}), 400, "data.sku"),
        (
            json!({"seller_id": "sel bad!", "sku": "POT", "on_hand": {"set": 4}}),
            400,
            "data.seller_id",
        ),
        // Another seller's restock of a SKU it does not have: its own catalogue, not ours.
        (
            json!({"seller_id": unique_id("sel"), "sku": "POT", "on_hand": {"add": 4}}),
            422,
            "data.sku",
        ),
    ] {
        let (got, body) = warehouse.adjust(data.clone()).await;
        assert_eq!(got, status, "{data}: {body}");
        assert_eq!(body["error"]["field"], field, "{data}: {body}");
    }
    let (got, body) = warehouse.adjust(json!({"sku": "NEW", "on_hand": {"add": 4}})).await;
    assert_eq!(
        (got, body["error"]["code"].as_str()),
        (422, Some("unknown_sku")),
        "{body}"
    );
    assert_eq!(
        (warehouse.item("POT").await, other.item("POT").await),
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn a_count_creates_an_unknown_sku_and_never_drops_below_what_orders_reserved() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    let (status, body) = warehouse
        .adjust(json!({"sku": "NEW-1", "on_hand": {"set": 6}, "safety_stock": 2, "lead_time_days": 4}))
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["on_hand"], json!({"set": 6}));
    assert_eq!(warehouse.shop.levels("NEW-1").await, (6, 0, 6));
    let (status, _) = order_placed(&warehouse, "NEW-1", 4, 0).await;
    assert_eq!(status, 202);
    let (status, body) = warehouse.adjust(json!({"sku": "NEW-1", "on_hand": {"set": 3}})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("count_below_reserved")),
        "{body}"
    );
    let (status, _) = warehouse.adjust(json!({"sku": "NEW-1", "on_hand": {"set": 5}})).await;
    assert_eq!(status, 202);
    assert_eq!(warehouse.shop.levels("NEW-1").await, (5, 4, 1));
}

/// The SDK retries a transaction whose answer was lost (a reset connection after DynamoDB
/// applied it) with the request token it filled for the call, so DynamoDB answers the retry
/// as the success it was. The local AWS used to ignore the token: the retry failed on its own
/// claim and a committed restock was answered `200 duplicate` instead of `202`.
#[tokio::test]
async fn an_sdk_retry_of_a_committed_restock_is_answered_202_and_applied_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("TOKEN-1", 5, 0, 3).await;
    warehouse.shop.requests.take();
    warehouse.shop.requests.lose_next_answer("TransactWriteItems");
    let (status, body) = warehouse.adjust(json!({"sku": "TOKEN-1", "on_hand": {"add": 2}})).await;
    assert_eq!((status, body["status"].as_str()), (202, Some("accepted")), "{body}");
    assert_eq!(
        warehouse.shop.requests.take(),
        2,
        "the transaction, and the SDK's retry of it"
    );
    assert_eq!(warehouse.shop.levels("TOKEN-1").await, (7, 0, 7), "added once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_restocks_filling_the_same_backorders_at_once_fill_each_once() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    warehouse.count("LAMP", 0, 0, 10).await;
    let mut orders = Vec::new();
    for days_ago in (1..=6).rev() {
        let (status, body) = order_placed(&warehouse, "LAMP", 1, days_ago).await;
        assert_eq!(
            (status, body["order_status"].as_str()),
            (202, Some("backordered")),
            "{body}"
        );
        orders.push(body["order_id"].as_str().unwrap().to_owned());
    }
    warehouse.adjust(json!({"sku": "LAMP", "on_hand": {"add": 4}})).await;
    let (first, second) = tokio::join!(
        warehouse.changed(&["LAMP"], StockChangeReason::Restocked),
        warehouse.changed(&["LAMP"], StockChangeReason::Restocked),
    );
    // A loser that kept colliding is retried by the queue; its retry finds nothing to do.
    if !(first.batch_item_failures.is_empty() && second.batch_item_failures.is_empty()) {
        warehouse.changed(&["LAMP"], StockChangeReason::Restocked).await;
    }
    let mut accepted = Vec::new();
    for order_id in &orders {
        accepted.push(warehouse.shop.order(order_id).await.unwrap().status == OrderStatus::Accepted);
    }
    assert_eq!(
        accepted,
        [true, true, true, true, false, false],
        "the four oldest, each once"
    );
    assert_eq!(warehouse.shop.levels("LAMP").await, (4, 4, 0));
}

#[tokio::test]
async fn a_burst_of_stock_changes_for_one_seller_makes_one_digest() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    for sku in ["CUP-A", "CUP-B", "CUP-C"] {
        warehouse.count(sku, 2, 5, 3).await;
    }
    let burst = warehouse.change_event(&[
        (&["CUP-A"], StockChangeReason::Counted),
        (&["CUP-B"], StockChangeReason::Counted),
        (&["CUP-C", "CUP-A"], StockChangeReason::Counted),
    ]);
    assert!(warehouse.deliver(burst).await.batch_item_failures.is_empty());
    assert_eq!(
        alerted(&warehouse).await,
        [sku_levels(&[
            ("CUP-A", StockLevel::Low),
            ("CUP-B", StockLevel::Low),
            ("CUP-C", StockLevel::Low)
        ])]
    );
}

#[tokio::test]
async fn alerts_for_a_seller_without_a_contact_wait_on_the_watchlist_until_one_arrives() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    let (status, _) = warehouse
        .adjust(json!({"sku": "VASE", "on_hand": {"set": 1}, "safety_stock": 3, "lead_time_days": 3}))
        .await;
    assert_eq!(status, 202);
    let response = warehouse.changed(&["VASE"], StockChangeReason::Counted).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "the message is done, not poison"
    );
    assert!(warehouse.digests().await.is_empty());
    let vase = warehouse.item("VASE").await;
    assert!(vase.contains_key("watch"), "kept on the watchlist");
    assert!(!vase.contains_key("alert_level"), "not recorded as told");

    warehouse.count("OTHER", 50, 3, 3).await;
    let summary = warehouse.sweep().await;
    assert!(!summary.sellers_without_contact.contains(&warehouse.seller().to_owned()));
    assert_eq!(alerted(&warehouse).await, [sku_levels(&[("VASE", StockLevel::Low)])]);
}

#[tokio::test]
async fn a_burst_over_more_skus_than_one_transaction_holds_is_assessed_in_chunks() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let warehouse = warehouse().await;
    let skus: Vec<String> = (0..100).map(|n| format!("BULK-{n:03}")).collect();
    for sku in &skus {
        warehouse.count(sku, 1, 5, 3).await;
    }
    let (first, second): (Vec<&str>, Vec<&str>) = skus.iter().map(String::as_str).partition(|sku| sku < &"BULK-050");
    let burst = warehouse.change_event(&[
        (&first, StockChangeReason::Counted),
        (&second, StockChangeReason::Counted),
    ]);
    assert!(
        warehouse.deliver(burst).await.batch_item_failures.is_empty(),
        "within DynamoDB's 100 items a transaction"
    );
    let digests = warehouse.digests().await;
    let alerted: usize = digests.iter().map(|digest| digest.stock.len()).sum();
    assert_eq!(alerted, 100, "every SKU alerted once");
    assert_eq!(digests.len(), 2, "one digest per 90 SKUs");
}
