//! Order intake's follow-ups, read off the real queues the follow-up topic feeds. The tests of
//! this binary share those queues, so they take turns.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use backoffice::domains::orders::validate::MAX_LINES;
use backoffice::follow_ups::{EmailTemplate, FollowUp, StockChangeReason};
use backoffice::mechanisms::outbox::MAX_PUBLISH_BYTES;
use backoffice_tests::orders::{Outage, envelope, order_data, shop, shop_with};
use backoffice_tests::{local_aws, receive_all, unique_id};
use serde_json::json;
use tokio::sync::Mutex;

static QUEUES: Mutex<()> = Mutex::const_new(());

/// Every message now on the stock-change and email queues, removed from them.
async fn drain() -> Vec<FollowUp> {
    let aws = local_aws();
    let sqs = aws_sdk_sqs::Client::new(&aws.sdk_config().await);
    let mut found = Vec::new();
    for queue in ["StockChangeQueue", "EmailQueue"] {
        let url = &aws.provisioned.queues[queue].url;
        for message in receive_all(&sqs, url).await {
            found.push(serde_json::from_str(message.body.as_deref().unwrap()).expect("a follow-up"));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle.unwrap())
                .send()
                .await
                .unwrap();
        }
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        assert_eq!(
            attributes.attributes.unwrap()[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible],
            "0",
            "nothing left in flight on {queue}"
        );
    }
    found
}

fn of_order<'a>(follow_ups: &'a [FollowUp], order_id: &str) -> Vec<&'a FollowUp> {
    follow_ups
        .iter()
        .filter(|follow_up| match follow_up {
            FollowUp::StockChange(change) => change.order_id.as_deref() == Some(order_id),
            FollowUp::Email(email) => email.content.order().is_some_and(|order| order.order_id == order_id),
            FollowUp::StockSweep(_)
            | FollowUp::ReviewNotice(_)
            | FollowUp::RefundPayout(_)
            | FollowUp::SellerHealthPage(_)
            | FollowUp::ErasurePage(_)
            | FollowUp::BuyerExport(_)
            | FollowUp::ClosurePage(_) => false,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_land_once_per_change_even_after_a_failed_publish_and_a_retry() {
    let _turn = QUEUES.lock().await;
    drain().await;
    let shop = shop_with(Outage::new).await;
    shop.stock("A", 10, 3).await;
    let order_id = unique_id("ord");
    let created = envelope(
        &unique_id("evt"),
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 2, "3.00")]),
    );

    let (status, answer) = shop.send(&created).await;
    assert_eq!((status, answer["order_status"].as_str()), (202, Some("accepted")));
    assert_eq!(shop.levels("A").await, (10, 2, 8));

    shop.publisher.fail_next();
    let answer = shop.relay().await;
    assert_eq!(answer.batch_item_failures.len(), 1, "the failed publish is reported");
    assert!(drain().await.is_empty(), "nothing published while the topic was down");

    assert!(shop.relay().await.batch_item_failures.is_empty(), "the retry relays");
    let (status, _) = shop.send(&created).await;
    assert_eq!(status, 200, "a duplicate webhook is answered from its claim");
    assert!(shop.relay().await.batch_item_failures.is_empty());
    assert_eq!(shop.levels("A").await, (10, 2, 8), "reserved once");

    tokio::time::sleep(Duration::from_millis(300)).await;
    let landed = drain().await;
    let ours = of_order(&landed, &order_id);
    assert_eq!(ours.len(), 2, "{ours:#?}");
    assert!(
        ours.iter().any(
            |f| matches!(f, FollowUp::StockChange(c) if c.reason == StockChangeReason::Reserved && c.skus == ["A"])
        )
    );
    assert!(ours.iter().any(
        |f| matches!(f, FollowUp::Email(e) if e.content.template() == EmailTemplate::OrderConfirmation
        && e.locale == "zh" && e.content.order().unwrap().total == "6.00" && e.recipient.email.expose() == "li.wei@example.cn")
    ));
}

/// Eight of the largest orders the schema takes (48 lines, each titled with 200 four-byte
/// characters) have emails of about 45 KB each: more than one `PublishBatch` of 256 KiB, which
/// the local AWS refuses as SNS does. All of them land, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_orders_reach_the_queues_in_publishes_sns_takes() {
    let _turn = QUEUES.lock().await;
    drain().await;
    let shop = shop().await;
    let skus: Vec<String> = (0..MAX_LINES).map(|n| format!("LONG-{n:02}")).collect();
    for sku in &skus {
        shop.stock(sku, 10, 0).await;
    }
    let title = "🫖".repeat(200);
    let lines: Vec<(&str, i64, &str)> = skus.iter().map(|sku| (sku.as_str(), 1, "1.00")).collect();
    let mut orders = Vec::new();
    for _ in 0..8 {
        let order_id = unique_id("ord");
        let mut data = order_data(&order_id, &shop.seller, &lines);
        for line in data["lines"].as_array_mut().unwrap() {
            line["title"] = json!(title);
        }
        let (status, answer) = shop.send(&envelope(&unique_id("evt"), "order.created", data)).await;
        assert_eq!(status, 202, "{answer}");
        orders.push(order_id);
    }

    let answer = shop.relay().await;
    assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let landed = drain().await;
    let emails: Vec<usize> = orders
        .iter()
        .flat_map(|order_id| of_order(&landed, order_id))
        .filter(|follow_up| matches!(follow_up, FollowUp::Email(_)))
        .map(FollowUp::published_bytes)
        .collect();
    assert_eq!(emails.len(), orders.len(), "one confirmation per order");
    assert!(emails.iter().sum::<usize>() > MAX_PUBLISH_BYTES, "{emails:?}");
    for order_id in &orders {
        assert_eq!(of_order(&landed, order_id).len(), 2, "a stock change and an email");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_sends_its_own_follow_ups_once() {
    let _turn = QUEUES.lock().await;
    drain().await;
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    shop.stock("OUT", 0, 12).await;
    let shipped = unique_id("ord");
    let backordered = unique_id("ord");
    shop.event("order.created", order_data(&shipped, &shop.seller, &[("A", 1, "3.00")]))
        .await;
    let ship = envelope(
        &unique_id("evt"),
        "order.shipped",
        json!({"order_id": shipped, "seller_id": shop.seller, "carrier": "DHL", "tracking_number": "JD0146"}),
    );
    assert_eq!(shop.send(&ship).await.0, 202);
    assert_eq!(shop.send(&ship).await.0, 200);
    shop.event(
        "order.delivered",
        json!({"order_id": shipped, "seller_id": shop.seller}),
    )
    .await;
    shop.event(
        "order.created",
        order_data(&backordered, &shop.seller, &[("OUT", 1, "3.00")]),
    )
    .await;

    assert!(shop.relay().await.batch_item_failures.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let landed = drain().await;
    let templates = |order_id: &str| -> Vec<EmailTemplate> {
        of_order(&landed, order_id)
            .iter()
            .filter_map(|f| match f {
                FollowUp::Email(e) => Some(e.content.template()),
                _ => None,
            })
            .collect()
    };
    let mut shipped_templates = templates(&shipped);
    shipped_templates.sort_by_key(|template| format!("{template:?}"));
    assert_eq!(
        shipped_templates,
        [
            EmailTemplate::OrderConfirmation,
            EmailTemplate::ReviewRequest,
            EmailTemplate::ShippingConfirmation
        ],
        "confirmation, shipping, and the review request on delivery"
    );
    let shipping = of_order(&landed, &shipped).into_iter().find_map(|f| match f {
        FollowUp::Email(e) if e.content.template() == EmailTemplate::ShippingConfirmation => Some(e.clone()),
        _ => None,
    });
    let shipping = shipping.unwrap();
    let shipment = shipping.content.order().unwrap().shipment.as_ref().unwrap();
    assert_eq!(shipment.tracking_number, "JD0146");
    assert_eq!(templates(&backordered), [EmailTemplate::BackorderNotice]);
    let backorder_stock = of_order(&landed, &backordered).into_iter().find_map(|f| match f {
        FollowUp::StockChange(c) => Some(c.clone()),
        _ => None,
    });
    assert_eq!(backorder_stock.unwrap().reason, StockChangeReason::Backordered);
    assert_eq!(
        of_order(&landed, &shipped).len(),
        5,
        "two changes with two follow-ups each, delivery's one, nothing twice"
    );
}

#[tokio::test]
async fn an_order_created_is_one_aws_request_and_a_backorder_two_whatever_its_lines() {
    let _turn = QUEUES.lock().await;
    let shop = shop().await;
    let skus: Vec<String> = (0..20).map(|i| format!("SKU-{i}")).collect();
    for sku in &skus {
        shop.stock(sku, 100, 3).await;
    }
    shop.stock("NONE", 0, 3).await;
    for count in [1, 20] {
        let mut lines: Vec<(&str, i64, &str)> = skus[..count].iter().map(|sku| (sku.as_str(), 1, "1.00")).collect();
        shop.requests.take();
        let (status, answer) = shop
            .event("order.created", order_data(&unique_id("ord"), &shop.seller, &lines))
            .await;
        assert_eq!((status, answer["order_status"].as_str()), (202, Some("accepted")));
        assert_eq!(shop.requests.take(), 1, "{count} lines: one transaction");

        lines[count - 1] = ("NONE", 1, "1.00");
        let (status, answer) = shop
            .event("order.created", order_data(&unique_id("ord"), &shop.seller, &lines))
            .await;
        assert_eq!((status, answer["order_status"].as_str()), (202, Some("backordered")));
        assert_eq!(
            shop.requests.take(),
            2,
            "{count} lines, one short: the transaction that found it short, then the backorder"
        );
    }
    shop.relay().await;
    assert_eq!(
        shop.requests.take(),
        1,
        "four orders' follow-ups relayed in one publish"
    );
    drain().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_the_claim_expired_is_a_duplicate_and_sends_nothing_again() {
    let _turn = QUEUES.lock().await;
    drain().await;
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let order_id = unique_id("ord");
    shop.event(
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 1, "3.00")]),
    )
    .await;
    let shipped_id = unique_id("evt");
    let shipped = envelope(
        &shipped_id,
        "order.shipped",
        json!({"order_id": order_id, "seller_id": shop.seller, "carrier": "DHL", "tracking_number": "JD77"}),
    );
    assert_eq!(shop.send(&shipped).await.0, 202);
    assert_eq!(
        shop.event(
            "order.delivered",
            json!({"order_id": order_id, "seller_id": shop.seller})
        )
        .await
        .0,
        202
    );
    shop.forget_claim(&shipped_id).await;

    let (status, answer) = shop.send(&shipped).await;
    assert_eq!(
        (status, answer["status"].as_str(), answer["order_status"].as_str()),
        (200, Some("duplicate"), Some("shipped")),
        "answered with what the event did, though the order is delivered now: {answer}"
    );
    shop.relay().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let landed = drain().await;
    let shipping: Vec<_> = of_order(&landed, &order_id)
        .into_iter()
        .filter_map(|f| match f {
            FollowUp::Email(e) if e.content.template() == EmailTemplate::ShippingConfirmation => {
                Some(e.content.order()?.shipment.as_ref()?.tracking_number.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(shipping, ["JD77"], "the shipping email, once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_event_id_stays_refused_after_its_claim_expired() {
    let _turn = QUEUES.lock().await;
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let id = unique_id("evt");
    let order_id = unique_id("ord");
    let first = envelope(
        &id,
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 1, "3.00")]),
    );
    assert_eq!(shop.send(&first).await.0, 202);
    shop.forget_claim(&id).await;
    let other_body = envelope(
        &id,
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 2, "3.00")]),
    );
    let (status, answer) = shop.send(&other_body).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("event_id_reused"))
    );
    assert_eq!(shop.levels("A").await, (10, 1, 9));
    shop.relay().await;
    drain().await;
}
