//! Stock alerts' handler over the in-memory store: counts and restocks through the webhook,
//! stock changes as the queue delivers them, backorders filled, one digest per problem. The
//! same handler over DynamoDB is proven in `tests/tests/stock_alerts.rs`.

use backoffice::domains::orders::schema::OrderCreatedData;
use backoffice::domains::orders::{EventContext, OrderStatus, place_order, validate};
use backoffice::domains::stock::inventory::sku_key;
use backoffice::follow_ups::StockChangeReason;
use backoffice::mechanisms::idempotency::Claim;
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{MemoryStorage, Table, number, text};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "whsec_unit";
const SELLER: &str = "sel_teahouse";

fn now() -> DateTime<Utc> {
    "2026-11-25T08:00:00Z".parse().unwrap()
}

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

struct Warehouse {
    alerts: StockAlerts<MemoryStorage>,
    store: MemoryStorage,
}

fn warehouse() -> Warehouse {
    warehouse_with(Pages::default())
}

fn warehouse_with(pages: Pages) -> Warehouse {
    let store = MemoryStorage::new();
    Warehouse {
        alerts: StockAlerts::new(WebhookSecret::new(SECRET), store.clone()).with_pages(pages),
        store,
    }
}

impl Warehouse {
    async fn send(&self, event: &Value) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), &event.to_string(), now());
        let response = self.alerts.handle_webhook(&request, now()).await;
        let answer = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        (response.status_code, answer)
    }

    /// An adjustment of the sample `name` under a new id, made now, its `data` edited.
    async fn adjust(&self, name: &str, id: &str, edit: impl FnOnce(&mut Value)) -> (i64, Value) {
        let mut event = sample(name);
        event["id"] = json!(id);
        event["created_at"] = json!(now().to_rfc3339());
        edit(&mut event["data"]);
        self.send(&event).await
    }

    /// A batch of the stock change queue: one message per change of `sku`, as Lambda hands it.
    async fn changed(&self, sku: &str, reasons: &[StockChangeReason]) -> Value {
        let records: Vec<Value> = reasons
            .iter()
            .enumerate()
            .map(|(n, reason)| {
                let change = FollowUp::StockChange(StockChange {
                    dedupe_key: format!("test#stock#{n}"),
                    seller_id: SELLER.to_owned(),
                    skus: vec![sku.to_owned()],
                    reason: *reason,
                    order_id: None,
                    after: None,
                });
                json!({"eventSource": "aws:sqs", "messageId": format!("m{n}"), "body": serde_json::to_string(&change).unwrap()})
            })
            .collect();
        self.alerts.handle(json!({"Records": records}), now()).await.unwrap()
    }

    /// What was handed on to the stock change queue through the outbox, under keys starting
    /// with `prefix`.
    fn handed_on(&self, prefix: &str) -> Vec<FollowUp> {
        self.store
            .items(Table::Outbox)
            .iter()
            .filter(|entry| text(entry, "key").starts_with(prefix))
            .flat_map(|entry| serde_json::from_str::<Vec<FollowUp>>(text(entry, "follow_ups")).unwrap())
            .collect()
    }

    /// Delivers whatever was handed on under `prefix` and not delivered yet, a message each,
    /// until nothing new is handed on; answers how many were delivered.
    async fn deliver_handed_on(&self, prefix: &str) -> usize {
        let mut delivered: Vec<String> = Vec::new();
        loop {
            let new: Vec<FollowUp> = self
                .handed_on(prefix)
                .into_iter()
                .filter(|follow_up| !delivered.iter().any(|key| key == follow_up.dedupe_key()))
                .collect();
            if new.is_empty() {
                return delivered.len();
            }
            let records: Vec<Value> = new
                .iter()
                .map(|follow_up| {
                    json!({"eventSource": "aws:sqs", "messageId": follow_up.dedupe_key(), "body": serde_json::to_string(follow_up).unwrap()})
                })
                .collect();
            let answer = self.alerts.handle(json!({"Records": records}), now()).await.unwrap();
            assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
            delivered.extend(new.iter().map(|follow_up| follow_up.dedupe_key().to_owned()));
        }
    }

    /// A backordered order of one kettle, as order intake places it.
    async fn backordered_kettle(&self, order_id: &str) {
        let mut event = sample("02-order.created.backordered");
        event["data"]["order_id"] = json!(order_id);
        let data: OrderCreatedData = serde_json::from_value(event["data"].clone()).unwrap();
        let order = validate::new_order(data).unwrap();
        let context = EventContext {
            id: format!("evt_{order_id}"),
            fingerprint: "f".into(),
            at: now(),
        };
        let claim = Claim::webhook(Function::OrderIntake, &context.id, "f", now());
        place_order(&self.store, &order, &context, &claim).await.unwrap();
    }

    fn status(&self, order_id: &str) -> String {
        text(&self.store.item(Table::Orders, order_id).unwrap(), "status").to_owned()
    }

    fn stock(&self, sku: &str) -> (i64, i64, i64) {
        let item = self.store.item(Table::Inventory, &sku_key(SELLER, sku)).unwrap();
        (
            number(&item, "on_hand"),
            number(&item, "reserved"),
            number(&item, "available"),
        )
    }

    fn digests(&self) -> usize {
        let prefix = Function::StockAlerts.key(&["digest", SELLER]);
        let outbox = self.store.items(Table::Outbox);
        outbox
            .iter()
            .filter(|entry| text(entry, "key").starts_with(&prefix))
            .count()
    }
}

#[tokio::test]
async fn a_count_creates_the_sku_and_a_restock_adds_to_it() {
    let warehouse = warehouse();
    let (status, answer) = warehouse.send(&sample("00-inventory.adjusted.3-kettle")).await;
    assert_eq!((status, answer["on_hand"]["set"].as_i64()), (202, Some(0)), "{answer}");
    assert_eq!(
        warehouse.store.take_requests(),
        2,
        "the update found no SKU, then the count created it"
    );
    let (status, _) = warehouse.send(&sample("08-inventory.adjusted.restock")).await;
    assert_eq!(status, 202);
    assert_eq!(warehouse.store.take_requests(), 1);
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 0, 4));
}

#[tokio::test]
async fn a_restock_of_a_sku_the_seller_lacks_is_refused_and_nothing_is_stored() {
    let warehouse = warehouse();
    let (status, answer) = warehouse.send(&sample("08-inventory.adjusted.restock")).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (422, Some("unknown_sku")));
    assert!(warehouse.store.items(Table::Inventory).is_empty());
    assert!(warehouse.store.items(Table::Idempotency).is_empty());
    assert!(warehouse.store.items(Table::Outbox).is_empty());
}

#[tokio::test]
async fn sixteen_concurrent_deliveries_of_a_restock_add_it_once() {
    let warehouse = warehouse();
    warehouse.send(&sample("00-inventory.adjusted.3-kettle")).await;
    let restock = sample("08-inventory.adjusted.restock");
    let answers = join_all((0..16).map(|_| warehouse.send(&restock))).await;
    let mut statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [[200; 15].as_slice(), &[202]].concat(), "{statuses:?}");
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 0, 4));
}

/// The claim of `event_id` gone, as DynamoDB's TTL sweeps it seven days on.
fn claim_expired(warehouse: &Warehouse, event_id: &str) {
    let key = Function::StockAlerts.key(&["webhook", event_id]);
    assert!(warehouse.store.item(Table::Idempotency, &key).is_some());
    warehouse.store.forget(Table::Idempotency, &key);
}

#[tokio::test]
async fn a_restock_or_a_count_delivered_again_after_its_claim_expired_changes_nothing() {
    let warehouse = warehouse();
    warehouse.send(&sample("00-inventory.adjusted.3-kettle")).await;
    let restock = sample("08-inventory.adjusted.restock");
    warehouse.send(&restock).await;
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 0, 4));

    claim_expired(&warehouse, restock["id"].as_str().unwrap());
    let (status, answer) = warehouse.send(&restock).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 0, 4), "added once, ever");

    // The first count (0 on hand), again after the restock and after its claim expired.
    let count = sample("00-inventory.adjusted.3-kettle");
    claim_expired(&warehouse, count["id"].as_str().unwrap());
    let (status, answer) = warehouse.send(&count).await;
    assert_eq!((status, answer["superseded"].as_bool()), (202, Some(true)), "{answer}");
    assert_eq!(
        warehouse.stock("TEA-KETTLE-02"),
        (4, 0, 4),
        "a count never turns stock back"
    );

    // A count taken after the last one applies.
    let (status, _) = warehouse
        .adjust("00-inventory.adjusted.3-kettle", "evt_count_later", |data| {
            data["on_hand"] = json!({"set": 9});
        })
        .await;
    assert_eq!(status, 202);
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (9, 0, 9));
}

/// A count or settings dated ahead would win over every real one until that day: refused.
#[tokio::test]
async fn a_count_or_seller_settings_from_the_future_are_refused() {
    let warehouse = warehouse();
    let mut count = sample("00-inventory.adjusted.3-kettle");
    count["created_at"] = json!("2027-01-01T00:00:00Z");
    let mut settings = sample("00-seller.updated");
    settings["created_at"] = json!((now() + chrono::Duration::minutes(6)).to_rfc3339());
    for event in [count, settings] {
        let (status, answer) = warehouse.send(&event).await;
        assert_eq!(
            (
                status,
                answer["error"]["code"].as_str(),
                answer["error"]["field"].as_str()
            ),
            (422, Some("created_at_in_future"), Some("created_at")),
            "{answer}"
        );
    }
    assert!(warehouse.store.items(Table::Inventory).is_empty());
    assert!(warehouse.store.items(Table::Sellers).is_empty());
}

#[tokio::test]
async fn a_problem_raises_one_digest_however_often_its_change_arrives() {
    let warehouse = warehouse();
    warehouse.send(&sample("00-inventory.adjusted.1-teapot")).await;
    let (status, _) = warehouse
        .adjust("00-inventory.adjusted.1-teapot", "evt_count_low", |data| {
            data["on_hand"] = json!({"set": 2});
        })
        .await;
    assert_eq!(status, 202);
    let answer = warehouse
        .changed("TEA-POT-01", &[StockChangeReason::Counted, StockChangeReason::Counted])
        .await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    warehouse.changed("TEA-POT-01", &[StockChangeReason::Counted]).await;
    assert_eq!(warehouse.digests(), 1, "low once, whatever the redeliveries");
    let item = warehouse
        .store
        .item(Table::Inventory, &sku_key(SELLER, "TEA-POT-01"))
        .unwrap();
    assert_eq!(text(&item, "alert_level"), "low");
}

/// A backordered order that cannot be read poisons every change that tries to fill the
/// seller's backorders; the seller's other changes in the batch still go through.
#[tokio::test]
async fn a_poison_change_fails_alone_and_its_sellers_other_changes_are_applied() {
    let warehouse = warehouse();
    warehouse.send(&sample("00-inventory.adjusted.1-teapot")).await;
    warehouse
        .adjust("00-inventory.adjusted.1-teapot", "evt_count_low", |data| {
            data["on_hand"] = json!({"set": 2});
        })
        .await;
    let unreadable = json!({"order_id": "ord_garbled", "seller_id": SELLER, "status_placed": "backordered#2026-11-20T00:00:00+00:00", "status": 42});
    warehouse
        .store
        .insert(Table::Orders, unreadable.as_object().cloned().unwrap());

    let answer = warehouse
        .changed(
            "TEA-POT-01",
            &[StockChangeReason::Restocked, StockChangeReason::Reserved],
        )
        .await;
    assert_eq!(
        answer["batchItemFailures"],
        json!([{"itemIdentifier": "m0"}]),
        "{answer}"
    );
    let item = warehouse
        .store
        .item(Table::Inventory, &sku_key(SELLER, "TEA-POT-01"))
        .unwrap();
    assert_eq!(
        text(&item, "alert_level"),
        "low",
        "the reservation's assessment was applied"
    );
    assert_eq!(warehouse.digests(), 1);
}

#[tokio::test]
async fn a_restock_fills_the_backorder_waiting_for_it() {
    let warehouse = warehouse();
    warehouse.send(&sample("00-inventory.adjusted.3-kettle")).await;
    let event = sample("02-order.created.backordered");
    let data: OrderCreatedData = serde_json::from_value(event["data"].clone()).unwrap();
    let order = validate::new_order(data).unwrap();
    let context = EventContext {
        id: "evt_backorder".into(),
        fingerprint: "f".into(),
        at: now(),
    };
    let claim = Claim::webhook(Function::OrderIntake, "evt_backorder", "f", now());
    place_order(&warehouse.store, &order, &context, &claim).await.unwrap();

    warehouse.send(&sample("08-inventory.adjusted.restock")).await;
    let answer = warehouse
        .changed("TEA-KETTLE-02", &[StockChangeReason::Restocked])
        .await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let filled = warehouse.store.item(Table::Orders, "ord_1002").unwrap();
    assert_eq!(text(&filled, "status"), OrderStatus::Accepted.as_str());
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 1, 3));
    let accepted = warehouse
        .store
        .item(Table::Outbox, "order-intake#ord_1002#accepted")
        .unwrap();
    assert!(text(&accepted, "follow_ups").contains("backorder_filled"));
}

#[tokio::test]
async fn the_sweep_assesses_the_watchlist_and_no_more() {
    let warehouse = warehouse();
    for name in ["00-inventory.adjusted.1-teapot", "00-inventory.adjusted.3-kettle"] {
        warehouse.send(&sample(name)).await;
    }
    let summary = warehouse.alerts.sweep("2026-11-25T08:00", None, now()).await.unwrap();
    assert_eq!(
        (summary.skus_assessed, summary.alerts_raised, summary.digests),
        (2, 1, 1)
    );
    let steady = warehouse.alerts.sweep("2026-11-25T08:00", None, now()).await.unwrap();
    assert_eq!(
        (steady.skus_assessed, steady.alerts_raised),
        (1, 0),
        "the healthy teapot left the watchlist; the kettle stays out, said once"
    );
}

#[tokio::test]
async fn a_sellers_settings_are_kept_whole_and_an_older_event_changes_nothing() {
    let warehouse = warehouse();
    let (status, answer) = warehouse.send(&sample("00-seller.updated")).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer["auto_approve_limit"],
        json!({"amount": "30.00", "currency": "EUR"})
    );
    let seller = warehouse.store.item(Table::Sellers, SELLER).unwrap();
    assert_eq!(
        (number(&seller, "auto_approve_minor"), number(&seller, "decision_hours")),
        (3000, 48)
    );

    let mut older = sample("00-seller.updated");
    older["id"] = json!("evt_older_settings");
    older["created_at"] = json!("2026-11-01T00:00:00Z");
    older["data"]["decision_hours"] = json!(1);
    let (status, answer) = warehouse.send(&older).await;
    assert_eq!((status, answer["superseded"].clone()), (202, json!(true)));
    let seller = warehouse.store.item(Table::Sellers, SELLER).unwrap();
    assert_eq!(number(&seller, "decision_hours"), 48, "the newer settings stand");

    // A count naming the seller's contact changes the contact only.
    warehouse.send(&sample("00-inventory.adjusted.1-teapot")).await;
    let seller = warehouse.store.item(Table::Sellers, SELLER).unwrap();
    assert_eq!(number(&seller, "auto_approve_minor"), 3000);
    assert_eq!(text(&seller, "email"), "alerts@teahouse.example");
}

#[tokio::test]
async fn bad_seller_settings_are_refused_naming_the_field() {
    let warehouse = warehouse();
    for (field, value, code) in [
        ("return_window_days", json!(366), "out_of_range"),
        ("decision_hours", json!(0), "out_of_range"),
        ("claim_response_hours", json!(6), "out_of_range"),
        ("claim_response_hours", json!(241), "out_of_range"),
        (
            "auto_approve_limit",
            json!({"amount": "1.234", "currency": "EUR"}),
            "invalid_money",
        ),
        (
            "auto_approve_limit",
            json!({"amount": "10", "currency": "XXX"}),
            "invalid_money",
        ),
        ("review_alert_threshold", json!("5.5"), "invalid_threshold"),
        ("email", json!("not an address"), "invalid_email"),
        ("locale", json!("zh CN"), "invalid_locale"),
    ] {
        let mut event = sample("00-seller.updated");
        event["id"] = json!(format!("evt_bad_{field}_{code}"));
        event["data"][field] = value;
        let (status, answer) = warehouse.send(&event).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some(code)),
            "{field}: {answer}"
        );
        assert_eq!(answer["error"]["field"], format!("data.{field}"));
    }
    assert!(warehouse.store.items(Table::Sellers).is_empty());
}

/// A sweep takes a page of the watchlist per invocation or message, and hands the next page on
/// once, whatever the schedule's redeliveries: five low SKUs in pages of two are assessed in
/// three pages, each SKU once.
#[tokio::test]
async fn the_sweep_assesses_a_page_at_a_time_and_hands_each_next_page_on_once() {
    let warehouse = warehouse_with(Pages {
        sweep: 2,
        ..Pages::default()
    });
    for n in 1..=5 {
        warehouse
            .adjust("00-inventory.adjusted.1-teapot", &format!("evt_count_{n}"), |data| {
                data["sku"] = json!(format!("TEA-CUP-{n}"));
                data["on_hand"] = json!({"set": 1});
            })
            .await;
    }
    let run = "2026-11-25T08:00";
    let first = warehouse.alerts.sweep(run, None, now()).await.unwrap();
    assert_eq!(
        (first.skus_assessed, first.alerts_raised, first.continues),
        (2, 2, true)
    );
    let again = warehouse.alerts.sweep(run, None, now()).await.unwrap();
    assert_eq!(
        (again.skus_assessed, again.alerts_raised),
        (2, 0),
        "the schedule fired twice"
    );
    let prefix = format!("stock-alerts#sweep#{run}#");
    assert_eq!(
        warehouse.handed_on(&prefix).len(),
        1,
        "the second page is handed on once"
    );

    assert_eq!(warehouse.deliver_handed_on(&prefix).await, 2, "pages two and three");
    for n in 1..=5 {
        let item = warehouse
            .store
            .item(Table::Inventory, &sku_key(SELLER, &format!("TEA-CUP-{n}")))
            .unwrap();
        assert_eq!(text(&item, "alert_level"), "low", "TEA-CUP-{n}");
    }
    assert_eq!(warehouse.digests(), 3, "a digest per page with something new");
    let next_hour = warehouse.alerts.sweep("2026-11-25T09:00", None, now()).await.unwrap();
    assert!(next_hour.continues);
    assert_eq!(
        warehouse.handed_on("stock-alerts#sweep#2026-11-25T09:00#").len(),
        1,
        "the next sweep pages afresh"
    );
}

/// A restock reads a page of the seller's backorders per message and hands the rest on: three
/// backordered kettles in pages of two are all filled, oldest first, each once, although the
/// restock is delivered twice.
#[tokio::test]
async fn backorders_are_filled_a_page_at_a_time_and_a_redelivery_fills_nothing_twice() {
    let warehouse = warehouse_with(Pages {
        backorders: 2,
        ..Pages::default()
    });
    warehouse.send(&sample("00-inventory.adjusted.3-kettle")).await;
    for order_id in ["ord_k1", "ord_k2", "ord_k3"] {
        warehouse.backordered_kettle(order_id).await;
    }
    warehouse.send(&sample("08-inventory.adjusted.restock")).await;

    let answer = warehouse
        .changed("TEA-KETTLE-02", &[StockChangeReason::Restocked])
        .await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    let statuses = |warehouse: &Warehouse| ["ord_k1", "ord_k2", "ord_k3"].map(|id| warehouse.status(id));
    assert_eq!(statuses(&warehouse), ["accepted", "accepted", "backordered"]);

    // Delivered again before its continuation: the page now starts at the third order.
    warehouse
        .changed("TEA-KETTLE-02", &[StockChangeReason::Restocked])
        .await;
    assert_eq!(warehouse.deliver_handed_on("test#stock#0#after#").await, 1);
    assert_eq!(statuses(&warehouse), ["accepted", "accepted", "accepted"]);
    assert_eq!(warehouse.stock("TEA-KETTLE-02"), (4, 3, 1), "each order reserved once");
}
