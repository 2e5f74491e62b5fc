//! Order intake's handler over the in-memory store: the sample story's orders, their stock,
//! their answers and what each costs, with no AWS at all. The same handler over DynamoDB is
//! proven in `tests/tests/order_intake.rs`.

use backoffice::domains::figures::tally::top_skus;
use backoffice::domains::stock::inventory::sku_key;
use backoffice::domains::stock::records::new_stock_item;
use backoffice::follow_ups::{FollowUp, KeptFollowUps};
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{Item, MemoryStorage, Table, item_size, number, text};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "whsec_unit";
const SELLER: &str = "sel_teahouse";

struct Shop {
    intake: OrderIntake<MemoryStorage, KeptFollowUps>,
    store: MemoryStorage,
    topic: KeptFollowUps,
}

/// The sample catalogue's stock (`events/seed/inventory.json`), and order intake over it.
fn shop() -> Shop {
    let (store, topic) = (MemoryStorage::new(), KeptFollowUps::default());
    for (sku, on_hand) in [("TEA-POT-01", 12), ("TEA-CUP-06", 40), ("TEA-KETTLE-02", 0)] {
        store.insert(Table::Inventory, new_stock_item(SELLER, sku, on_hand, 0, 14));
    }
    let intake = OrderIntake::new(WebhookSecret::new(SECRET), store.clone(), topic.clone());
    store.take_requests();
    Shop { intake, store, topic }
}

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

/// A sample event of `events/`, as the marketplace sends it.
fn sample(name: &str) -> String {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The sample with its `data` changed by `edit`, under a new id.
fn edited(name: &str, id: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut event: Value = serde_json::from_str(&sample(name)).unwrap();
    event["id"] = json!(id);
    edit(&mut event["data"]);
    event.to_string()
}

impl Shop {
    async fn send(&self, body: &str) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), body, now());
        let response = self.intake.handle_webhook(&request, now()).await;
        let answer = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        (response.status_code, answer)
    }

    fn stock(&self, sku: &str) -> (i64, i64, i64) {
        let item = self.store.item(Table::Inventory, &sku_key(SELLER, sku)).unwrap();
        (
            number(&item, "on_hand"),
            number(&item, "reserved"),
            number(&item, "available"),
        )
    }

    fn outbox_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .store
            .items(Table::Outbox)
            .iter()
            .map(|item: &Item| text(item, "key").to_owned())
            .collect();
        keys.sort();
        keys
    }
}

#[tokio::test]
async fn an_order_reserves_every_line_in_one_request() {
    let shop = shop();
    let (status, answer) = shop.send(&sample("01-order.created")).await;
    assert_eq!(
        (status, answer["order_status"].as_str()),
        (202, Some("accepted")),
        "{answer}"
    );
    assert_eq!(shop.store.take_requests(), 1);
    assert_eq!(shop.stock("TEA-POT-01"), (12, 2, 10));
    assert_eq!(shop.stock("TEA-CUP-06"), (40, 1, 39));
    assert_eq!(shop.outbox_keys(), ["order-intake#ord_1001#accepted"]);
}

/// The most lines an order may have fill one transaction: with the seller's day of figures,
/// one more would be refused by DynamoDB (and by the in-memory store, which keeps its limit).
#[tokio::test]
async fn the_longest_order_the_schema_takes_fits_one_transaction() {
    let shop = shop();
    let skus: Vec<String> = (0..backoffice::domains::orders::validate::MAX_LINES)
        .map(|n| format!("LONG-{n:02}"))
        .collect();
    for sku in &skus {
        shop.store
            .insert(Table::Inventory, new_stock_item(SELLER, sku, 5, 0, 14));
    }
    let body = edited("01-order.created", "evt_longest", |data| {
        data["lines"] = skus
            .iter()
            .enumerate()
            .map(|(n, sku)| json!({"line_id": format!("l{n}"), "sku": sku, "quantity": 1, "unit_price": "1.00", "title": "🫖".repeat(200)}))
            .collect();
        data["total"] = json!(format!("{}.00", skus.len()));
    });
    let (status, answer) = shop.send(&body).await;
    assert_eq!(
        (status, answer["order_status"].as_str()),
        (202, Some("accepted")),
        "{answer}"
    );
    assert_eq!(shop.store.take_requests(), 1);
    assert_eq!(shop.stock("LONG-47"), (5, 1, 4));
}

/// A seller selling 7,000 SKUs of the longest names in one day: more than a day tally could
/// hold if it kept a counter per SKU. Every order is taken, the day tally keeps its few
/// counters, and each SKU's units are in its own week item, which `TopSkus` ranks.
#[tokio::test]
async fn a_day_of_seven_thousand_skus_keeps_the_sellers_tally_small() {
    let shop = shop();
    let lines = backoffice::domains::orders::validate::MAX_LINES;
    let skus: Vec<String> = (0..7_000).map(|n| format!("{n:05}-{}", "S".repeat(58))).collect();
    for sku in &skus {
        shop.store
            .insert(Table::Inventory, new_stock_item(SELLER, sku, 50, 0, 14));
    }
    for (n, chunk) in skus.chunks(lines).enumerate() {
        let body = edited("01-order.created", &format!("evt_wide_{n}"), |data| {
            data["order_id"] = json!(format!("ord_wide_{n}"));
            data["lines"] = chunk
                .iter()
                .enumerate()
                .map(|(l, sku)| json!({"line_id": format!("l{l}"), "sku": sku, "quantity": best_sellers(n * lines + l), "unit_price": "1.00", "title": "Tea"}))
                .collect();
            let units: usize = (0..chunk.len()).map(|l| best_sellers(n * lines + l)).sum();
            data["total"] = json!(format!("{units}.00"));
        });
        let (status, answer) = shop.send(&body).await;
        assert_eq!(status, 202, "order {n}: {answer}");
    }
    let tallies = shop.store.items(Table::Figures);
    let day = tallies
        .iter()
        .find(|item| text(item, "pk") == format!("order-intake#{SELLER}#2026-11-22"))
        .expect("the day's tally");
    assert!(item_size(day) < 1024, "the day tally: {} bytes", item_size(day));
    assert_eq!(number(day, "orders"), skus.len().div_ceil(lines) as i64);
    // The sample's orders were placed on Sunday 22 November, in the week of Monday the 16th.
    let monday = "2026-11-16".parse().unwrap();
    let top = top_skus(&shop.store, SELLER, monday, 3).await.unwrap();
    let sold = |n: usize| (skus[n].clone(), best_sellers(n) as i64);
    assert_eq!(top, vec![sold(6_500), sold(2_000), sold(100)]);
}

/// Units of the `n`th SKU: one, but for three best sellers.
fn best_sellers(n: usize) -> usize {
    match n {
        100 => 5,
        2_000 => 7,
        6_500 => 9,
        _ => 1,
    }
}

#[tokio::test]
async fn a_short_line_backorders_the_order_and_reserves_nothing() {
    let shop = shop();
    let both = edited("01-order.created", "evt_short", |data| {
        data["lines"][1]["sku"] = json!("TEA-KETTLE-02");
    });
    let (status, answer) = shop.send(&both).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["order_status"], "backordered");
    assert_eq!(answer["short_skus"], json!(["TEA-KETTLE-02"]));
    assert_eq!(
        shop.store.take_requests(),
        2,
        "the reservation found the short line, then the backorder"
    );
    assert_eq!(shop.stock("TEA-POT-01"), (12, 0, 12), "nothing reserved");
}

#[tokio::test]
async fn an_unknown_sku_is_refused_and_nothing_is_stored() {
    let shop = shop();
    let unknown = edited("01-order.created", "evt_unknown", |data| {
        data["lines"][0]["sku"] = json!("NO-SUCH-SKU");
    });
    let (status, answer) = shop.send(&unknown).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("unknown_sku")));
    assert_eq!(answer["error"]["field"], "data.lines[0].sku");
    assert!(shop.store.items(Table::Orders).is_empty());
    assert!(shop.store.items(Table::Idempotency).is_empty());
}

#[tokio::test]
async fn a_duplicate_is_answered_with_the_first_outcome_for_one_request() {
    let shop = shop();
    let order = sample("01-order.created");
    shop.send(&order).await;
    shop.store.take_requests();
    let (status, answer) = shop.send(&order).await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(answer["order_status"], "accepted");
    assert_eq!(shop.store.take_requests(), 1, "the failed write returned the claim");
    assert_eq!(shop.stock("TEA-POT-01"), (12, 2, 10), "reserved once");
}

#[tokio::test]
async fn sixteen_concurrent_deliveries_of_each_order_event_are_one_202_and_fifteen_duplicates() {
    let shop = shop();
    for name in [
        "01-order.created",
        "03-order.shipped",
        "05-order.delivered",
        "07-order.created.backordered",
        "06-order.cancelled",
    ] {
        let body = match name {
            // Cancel the backordered order of this story, not the sample's other one.
            "06-order.cancelled" => edited(name, "evt_cancel_1003", |data| data["order_id"] = json!("ord_1003")),
            _ => sample(name),
        };
        let answers = join_all((0..16).map(|_| shop.send(&body))).await;
        let mut statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
        statuses.sort();
        assert_eq!(
            statuses,
            [[200; 15].as_slice(), &[202]].concat(),
            "{name}: {statuses:?}"
        );
    }
    assert_eq!(shop.stock("TEA-POT-01"), (10, 0, 10), "shipped once");
}

#[tokio::test]
async fn cancel_releases_ship_consumes_and_another_sellers_order_is_not_found() {
    let shop = shop();
    shop.send(&sample("01-order.created")).await;
    let theirs = edited("03-order.shipped", "evt_theirs", |data| {
        data["seller_id"] = json!("sel_other")
    });
    assert_eq!(shop.send(&theirs).await.0, 404);
    let cancel = edited("06-order.cancelled", "evt_cancel_1001", |data| {
        data["order_id"] = json!("ord_1001")
    });
    let (status, answer) = shop.send(&cancel).await;
    assert_eq!((status, answer["order_status"].as_str()), (202, Some("cancelled")));
    assert_eq!(shop.stock("TEA-POT-01"), (12, 0, 12), "released");
    let (status, answer) = shop.send(&sample("03-order.shipped")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("invalid_transition"))
    );
}

#[tokio::test]
async fn a_tracking_link_to_anywhere_but_a_carrier_is_refused_and_nothing_ships() {
    let shop = shop();
    shop.send(&sample("01-order.created")).await;
    let phishing = edited("03-order.shipped", "evt_phish", |data| {
        data["tracking_url"] = json!("https://www.dhl.com.parcel-help.example/pay-customs")
    });
    let (status, answer) = shop.send(&phishing).await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].as_str(),
            answer["error"]["field"].as_str()
        ),
        (422, Some("untrusted_tracking_url"), Some("data.tracking_url"))
    );
    assert_eq!(shop.stock("TEA-POT-01"), (12, 2, 10), "still reserved, not shipped");
    let (status, answer) = shop.send(&sample("03-order.shipped")).await;
    assert_eq!(
        (status, answer["order_status"].as_str()),
        (202, Some("shipped")),
        "DHL's own link"
    );
}

#[tokio::test]
async fn a_store_outage_defers_the_event_and_stores_nothing() {
    let shop = shop();
    shop.store.fail_next(1);
    let (status, answer) = shop.send(&sample("01-order.created")).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (503, Some("dependency_unavailable"))
    );
    assert!(shop.store.items(Table::Orders).is_empty());
    assert_eq!(
        shop.send(&sample("01-order.created")).await.0,
        202,
        "sent again, it applies"
    );
}

#[tokio::test]
async fn the_outbox_stream_is_relayed_to_the_topic() {
    let shop = shop();
    shop.send(&sample("01-order.created")).await;
    let entry = &shop.store.items(Table::Outbox)[0];
    let stream = json!({"Records": [{
        "eventSource": "aws:dynamodb",
        "eventName": "INSERT",
        "dynamodb": {"SequenceNumber": "1", "NewImage": {
            "key": {"S": text(entry, "key")},
            "follow_ups": {"S": text(entry, "follow_ups")},
        }},
    }]});
    let answer = shop.intake.handle(stream, now()).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let relayed = shop.topic.take();
    let kinds: Vec<&str> = relayed.iter().map(FollowUp::kind).collect();
    assert_eq!(kinds, ["stock_change", "email"]);
}
