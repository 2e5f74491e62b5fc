//! Order intake against the local AWS: the real handler, DynamoDB transactions and SNS fan-out.

use backoffice::domains::orders::OrderStatus;
use backoffice::mechanisms::webhook::Webhooks;
use backoffice_tests::orders::{envelope, order_data, shop};
use backoffice_tests::{TEST_SECRET, signed_request, unique_id};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// The sample events of `events/`, rewritten to this test's seller and order ids.
fn samples(seller: &str, prefix: &str) -> Vec<(String, String)> {
    let dir = local_cloud::paths::events_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    // `NN-order.<type>…json`: the events order intake takes.
    files.retain(|path| {
        let name = path.file_name().unwrap().to_string_lossy();
        name.split_once('-').is_some_and(|(_, rest)| rest.starts_with("order."))
    });
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .replace("sel_teahouse", seller)
                .replace("ord_10", &format!("{prefix}_10"))
                .replace("evt_demo", &unique_id("evt"));
            (path.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_is_accepted_and_has_its_effect() {
    let shop = shop().await;
    for seed in local_cloud::seed::load(&local_cloud::paths::events_dir().join("seed/inventory.json")).unwrap() {
        shop.stock(&seed.sku, seed.on_hand, seed.lead_time_days).await;
    }
    let prefix = unique_id("ord");
    for (name, body) in samples(&shop.seller, &prefix) {
        let (status, answer) = shop.send(&body).await;
        assert_eq!(
            (status, answer["status"].as_str()),
            (202, Some("accepted")),
            "{name}: {answer}"
        );
    }
    let delivered = shop.order(&format!("{prefix}_1001")).await.unwrap();
    assert_eq!(delivered.status, OrderStatus::Delivered);
    assert_eq!(delivered.shipment.as_ref().unwrap().tracking_number, "JD014600003828");
    assert!(delivered.delivered_at.is_some(), "delivery starts the return window");
    let cancelled = shop.order(&format!("{prefix}_1002")).await.unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(
        cancelled.short_lines[0].sku, "TEA-KETTLE-02",
        "it was backordered: the kettle was out"
    );
    // Two pots and a cup shipped, a cup reserved for the late order; the kettle was never
    // reserved.
    assert_eq!(shop.levels("TEA-POT-01").await, (10, 0, 10));
    assert_eq!(shop.levels("TEA-CUP-06").await, (39, 1, 38));
    assert_eq!(shop.levels("TEA-KETTLE-02").await, (0, 0, 0));
}

#[tokio::test]
async fn an_order_reserves_every_line_or_is_backordered_with_nothing_reserved() {
    let shop = shop().await;
    shop.stock("A", 5, 3).await;
    shop.stock("B", 1, 10).await;
    let order_id = unique_id("ord");
    let (status, answer) = shop
        .event(
            "order.created",
            order_data(&order_id, &shop.seller, &[("A", 2, "1.00"), ("B", 2, "1.00")]),
        )
        .await;
    assert_eq!(
        (status, answer["order_status"].as_str()),
        (202, Some("backordered")),
        "{answer}"
    );
    assert_eq!(answer["short_skus"], json!(["B"]));
    assert_eq!(shop.levels("A").await, (5, 0, 5), "no half-reservation");
    let order = shop.order(&order_id).await.unwrap();
    assert_eq!(
        order.expected_by,
        Some(order.placed_at + chrono::Duration::days(10)),
        "the short SKU's lead time"
    );

    let accepted = unique_id("ord");
    let (status, answer) = shop
        .event(
            "order.created",
            order_data(&accepted, &shop.seller, &[("A", 2, "1.00"), ("B", 1, "1.00")]),
        )
        .await;
    assert_eq!((status, answer["order_status"].as_str()), (202, Some("accepted")));
    assert_eq!(shop.levels("A").await, (5, 2, 3));
    assert_eq!(shop.levels("B").await, (1, 1, 0));
}

#[tokio::test]
async fn an_unknown_sku_is_422_and_stores_nothing() {
    let shop = shop().await;
    shop.stock("A", 5, 3).await;
    let order_id = unique_id("ord");
    let (status, answer) = shop
        .event(
            "order.created",
            order_data(&order_id, &shop.seller, &[("A", 1, "1.00"), ("NOPE", 1, "1.00")]),
        )
        .await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].as_str(),
            answer["error"]["field"].as_str()
        ),
        (422, Some("unknown_sku"), Some("data.lines[1].sku"))
    );
    assert!(shop.order(&order_id).await.is_none());
    assert_eq!(shop.levels("A").await, (5, 0, 5));
}

#[tokio::test]
async fn every_transition_is_allowed_or_refused_as_the_lifecycle_says() {
    let shop = shop().await;
    shop.stock("A", 100, 3).await;
    let ref_data = |order_id: &str| json!({"order_id": order_id, "seller_id": shop.seller});
    let shipped_data = |order_id: &str| json!({"order_id": order_id, "seller_id": shop.seller, "carrier": "DHL", "tracking_number": "T1"});
    for start in [
        OrderStatus::Accepted,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ] {
        for (event_type, allowed_from) in [
            ("order.cancelled", vec![OrderStatus::Accepted]),
            ("order.shipped", vec![OrderStatus::Accepted]),
            ("order.delivered", vec![OrderStatus::Shipped]),
        ] {
            let order_id = unique_id("ord");
            shop.event(
                "order.created",
                order_data(&order_id, &shop.seller, &[("A", 1, "1.00")]),
            )
            .await;
            let path: &[&str] = match start {
                OrderStatus::Shipped => &["order.shipped"],
                OrderStatus::Delivered => &["order.shipped", "order.delivered"],
                OrderStatus::Cancelled => &["order.cancelled"],
                _ => &[],
            };
            for step in path {
                let data = if *step == "order.shipped" {
                    shipped_data(&order_id)
                } else {
                    ref_data(&order_id)
                };
                assert_eq!(shop.event(step, data).await.0, 202);
            }
            let data = if event_type == "order.shipped" {
                shipped_data(&order_id)
            } else {
                ref_data(&order_id)
            };
            let (status, answer) = shop.event(event_type, data).await;
            if allowed_from.contains(&start) {
                assert_eq!(status, 202, "{start} + {event_type}: {answer}");
            } else {
                assert_eq!(
                    (status, answer["error"]["code"].as_str()),
                    (422, Some("invalid_transition")),
                    "{start} + {event_type}"
                );
                let message = answer["error"]["message"].as_str().unwrap();
                assert!(message.contains(start.as_str()), "names both states: {message}");
                assert_eq!(shop.order(&order_id).await.unwrap().status, start, "nothing changed");
            }
        }
    }
}

#[tokio::test]
async fn cancel_releases_and_ship_consumes_the_reservation() {
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let cancelled = unique_id("ord");
    let shipped = unique_id("ord");
    shop.event(
        "order.created",
        order_data(&cancelled, &shop.seller, &[("A", 3, "1.00")]),
    )
    .await;
    shop.event("order.created", order_data(&shipped, &shop.seller, &[("A", 2, "1.00")]))
        .await;
    assert_eq!(shop.levels("A").await, (10, 5, 5));
    shop.event(
        "order.cancelled",
        json!({"order_id": cancelled, "seller_id": shop.seller}),
    )
    .await;
    assert_eq!(shop.levels("A").await, (10, 2, 8), "cancel gives the reservation back");
    shop.event(
        "order.shipped",
        json!({"order_id": shipped, "seller_id": shop.seller, "carrier": "UPS", "tracking_number": "1Z"}),
    )
    .await;
    assert_eq!(
        shop.levels("A").await,
        (8, 0, 8),
        "shipping takes on hand and reserved down together"
    );
}

#[tokio::test]
async fn an_event_for_another_sellers_order_is_404() {
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let order_id = unique_id("ord");
    shop.event(
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 1, "1.00")]),
    )
    .await;
    let (status, answer) = shop
        .event(
            "order.cancelled",
            json!({"order_id": order_id, "seller_id": "sel_someone_else"}),
        )
        .await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("order_not_found"))
    );
    assert_eq!(shop.order(&order_id).await.unwrap().status, OrderStatus::Accepted);
}

#[tokio::test]
async fn duplicate_webhook_is_harmless_and_a_reused_id_is_refused() {
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let id = unique_id("evt");
    let order_id = unique_id("ord");
    let body = envelope(
        &id,
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 4, "2.50")]),
    );
    let (status, first) = shop.send(&body).await;
    assert_eq!((status, first["order_status"].as_str()), (202, Some("accepted")));
    let (status, again) = shop.send(&body).await;
    assert_eq!(
        (status, again["status"].as_str(), again["order_id"].as_str()),
        (200, Some("duplicate"), Some(order_id.as_str()))
    );
    assert_eq!(shop.levels("A").await, (10, 4, 6), "reserved once");
    let other = envelope(
        &id,
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 5, "2.50")]),
    );
    assert_eq!(shop.send(&other).await.0, 409);
    let another_event_same_order = envelope(
        &unique_id("evt"),
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 4, "2.50")]),
    );
    let (status, answer) = shop.send(&another_event_same_order).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("order_exists")));
    assert_eq!(shop.levels("A").await, (10, 4, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn last_units_are_never_oversold() {
    let shop = shop().await;
    for round in 0..10 {
        let scarce = format!("SCARCE-{round}");
        shop.stock(&scarce, 20, 7).await;
        shop.stock("PLENTY", 10_000, 1).await;
        let orders: Vec<String> = (0..64).map(|_| unique_id("ord")).collect();
        let answers = join_all(orders.iter().map(|order_id| {
            shop.event(
                "order.created",
                order_data(order_id, &shop.seller, &[(&scarce, 1, "5.00"), ("PLENTY", 1, "1.00")]),
            )
        }))
        .await;
        let statuses: Vec<&str> = answers
            .iter()
            .map(|(_, answer)| answer["order_status"].as_str().unwrap_or("refused"))
            .collect();
        let accepted = statuses.iter().filter(|status| **status == "accepted").count();
        let backordered = statuses.iter().filter(|status| **status == "backordered").count();
        assert_eq!((accepted, backordered), (20, 44), "round {round}: {statuses:?}");
        assert_eq!(
            shop.levels(&scarce).await,
            (20, 20, 0),
            "round {round}: never below zero"
        );
        // No order is half-reserved: the plentiful line was reserved exactly for the accepted ones.
        assert_eq!(shop.levels("PLENTY").await, (10_000, 20, 9_980), "round {round}");
    }
}

fn hostile_cases(seller: &str) -> Vec<(&'static str, String, u16, &'static str)> {
    let order = |mutate: &dyn Fn(&mut Value)| {
        let mut data = order_data(&unique_id("ord"), seller, &[("A", 1, "1.00")]);
        mutate(&mut data);
        envelope(&unique_id("evt"), "order.created", data)
    };
    let many_lines = |count: usize| {
        let lines: Vec<(String, i64, &str)> = (0..count).map(|i| (format!("SKU-{i}"), 1, "1.00")).collect();
        let lines: Vec<(&str, i64, &str)> = lines.iter().map(|(sku, q, p)| (sku.as_str(), *q, *p)).collect();
        envelope(
            &unique_id("evt"),
            "order.created",
            order_data(&unique_id("ord"), seller, &lines),
        )
    };
    vec![
        ("not JSON", "{\"id\": ".to_owned(), 400, "malformed_json"),
        ("JSON array", "[]".to_owned(), 400, "malformed_envelope"),
        (
            "no id",
            json!({"type": "order.created", "created_at": "2026-11-22T10:00:00Z", "data": {}}).to_string(),
            400,
            "missing_field",
        ),
        (
            "id with script",
            envelope("evt_<script>", "order.created", json!({})),
            400,
            "invalid_event_id",
        ),
        (
            "unknown type",
            envelope(&unique_id("evt"), "order.exploded", json!({})),
            400,
            "unknown_event_type",
        ),
        (
            "review to order intake",
            envelope(&unique_id("evt"), "review.created", json!({})),
            422,
            "wrong_endpoint",
        ),
        (
            "bad created_at",
            json!({"id": unique_id("evt"), "type": "order.created", "created_at": "yesterday", "data": {}}).to_string(),
            400,
            "invalid_timestamp",
        ),
        (
            "data is a string",
            envelope(&unique_id("evt"), "order.created", json!("order")).to_string(),
            400,
            "invalid_field",
        ),
        (
            "empty data",
            envelope(&unique_id("evt"), "order.created", json!({})),
            400,
            "missing_field",
        ),
        (
            "missing buyer",
            order(&|d| {
                d.as_object_mut().unwrap().remove("buyer");
            }),
            400,
            "missing_field",
        ),
        (
            "missing email",
            order(&|d| {
                d["buyer"].as_object_mut().unwrap().remove("email");
            }),
            400,
            "missing_field",
        ),
        (
            "bad email",
            order(&|d| d["buyer"]["email"] = json!("li.wei at example")),
            400,
            "invalid_email",
        ),
        (
            "email header injection",
            order(&|d| d["buyer"]["email"] = json!("a@b.cn\r\nBcc: x@evil.test")),
            400,
            "invalid_email",
        ),
        (
            "script in name",
            order(&|d| d["buyer"]["name"] = json!("<script>alert(1)</script>")),
            400,
            "invalid_text",
        ),
        (
            "CRLF in name",
            order(&|d| d["buyer"]["name"] = json!("Li\r\nBcc: x@evil.test")),
            400,
            "invalid_text",
        ),
        (
            "script in address",
            order(&|d| d["shipping_address"]["line1"] = json!("<img src=x onerror=alert(1)>")),
            400,
            "invalid_text",
        ),
        (
            "name of 5000 chars",
            order(&|d| d["buyer"]["name"] = json!("x".repeat(5000))),
            400,
            "invalid_text",
        ),
        (
            "bad locale",
            order(&|d| d["buyer"]["locale"] = json!("../../etc/passwd")),
            400,
            "invalid_locale",
        ),
        (
            "zero quantity",
            order(&|d| d["lines"][0]["quantity"] = json!(0)),
            400,
            "invalid_quantity",
        ),
        (
            "negative quantity",
            order(&|d| d["lines"][0]["quantity"] = json!(-1)),
            400,
            "invalid_quantity",
        ),
        (
            "huge quantity",
            order(&|d| d["lines"][0]["quantity"] = json!(4_000_000_000i64)),
            400,
            "invalid_quantity",
        ),
        (
            "quantity beyond i64",
            order(&|d| d["lines"][0]["quantity"] = json!(1e30)),
            400,
            "invalid_field",
        ),
        (
            "fractional quantity",
            order(&|d| d["lines"][0]["quantity"] = json!(1.5)),
            400,
            "invalid_field",
        ),
        (
            "quantity as string",
            order(&|d| d["lines"][0]["quantity"] = json!("1")),
            400,
            "invalid_field",
        ),
        (
            "float price",
            order(&|d| d["lines"][0]["unit_price"] = json!(1.0)),
            400,
            "invalid_field",
        ),
        ("float total", order(&|d| d["total"] = json!(1.0)), 400, "invalid_field"),
        (
            "negative price",
            order(&|d| d["lines"][0]["unit_price"] = json!("-1.00")),
            400,
            "invalid_money",
        ),
        (
            "three decimals",
            order(&|d| d["lines"][0]["unit_price"] = json!("1.001")),
            400,
            "invalid_money",
        ),
        (
            "exponent price",
            order(&|d| d["lines"][0]["unit_price"] = json!("1e2")),
            400,
            "invalid_money",
        ),
        (
            "unknown currency",
            order(&|d| d["currency"] = json!("BTC")),
            400,
            "unknown_currency",
        ),
        (
            "lowercase currency",
            order(&|d| d["currency"] = json!("eur")),
            400,
            "unknown_currency",
        ),
        (
            "total mismatch",
            order(&|d| d["total"] = json!("100.00")),
            422,
            "total_mismatch",
        ),
        ("no lines", order(&|d| d["lines"] = json!([])), 400, "no_lines"),
        (
            "lines not a list",
            order(&|d| d["lines"] = json!({"sku": "A"})),
            400,
            "invalid_field",
        ),
        ("empty line", order(&|d| d["lines"] = json!([{}])), 400, "missing_field"),
        (
            "unicode SKU",
            order(&|d| d["lines"][0]["sku"] = json!("茶壶-01")),
            400,
            "invalid_sku",
        ),
        (
            "SKU with spaces",
            order(&|d| d["lines"][0]["sku"] = json!("TEA POT")),
            400,
            "invalid_sku",
        ),
        (
            "duplicate SKU",
            order(
                &|d| d["lines"] = json!([{"line_id": "a", "sku": "A", "quantity": 1, "unit_price": "1.00"}, {"line_id": "b", "sku": "A", "quantity": 1, "unit_price": "1.00"}]),
            ),
            400,
            "duplicate_sku",
        ),
        ("99 lines", many_lines(99), 400, "too_many_lines"),
        ("150 lines", many_lines(150), 400, "too_many_lines"),
        (
            "bad ship_by",
            order(&|d| d["ship_by"] = json!("2026-13-45")),
            400,
            "invalid_timestamp",
        ),
        (
            "country name",
            order(&|d| d["shipping_address"]["country"] = json!("China")),
            400,
            "invalid_country",
        ),
        (
            "order id with slash",
            order(&|d| d["order_id"] = json!("../ord")),
            400,
            "invalid_identifier",
        ),
        (
            "unknown SKU",
            order(&|d| d["lines"][0]["sku"] = json!("NOT-IN-CATALOGUE")),
            422,
            "unknown_sku",
        ),
        (
            "300 KiB body",
            order(&|d| d["buyer"]["name"] = json!("x".repeat(300 * 1024))),
            413,
            "payload_too_large",
        ),
    ]
}

#[tokio::test]
async fn hostile_or_malformed_payloads_get_their_status_and_store_nothing() {
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let cases = hostile_cases(&shop.seller);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, body, status, code) in cases {
        let (got, answer) = shop.send(&body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (i64::from(status), Some(code)),
            "{name}: {answer}"
        );
        if let Some(order_id) = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["data"]["order_id"].as_str().map(str::to_owned))
        {
            assert!(shop.order(&order_id).await.is_none(), "{name}: nothing stored");
        }
    }
    assert_eq!(shop.levels("A").await, (10, 0, 10), "no stock moved");
}

#[tokio::test]
async fn bad_signatures_are_401_and_store_nothing() {
    let shop = shop().await;
    shop.stock("A", 10, 3).await;
    let order_id = unique_id("ord");
    let body = envelope(
        &unique_id("evt"),
        "order.created",
        order_data(&order_id, &shop.seller, &[("A", 1, "1.00")]),
    );
    let now = chrono::Utc::now();
    let cases = [
        (signed_request("wrong-secret", &body), "signature_invalid"),
        (
            {
                let mut r = signed_request(TEST_SECRET, &body);
                r.headers.remove("marketplace-signature");
                r
            },
            "signature_missing",
        ),
        (
            {
                let mut r = signed_request(TEST_SECRET, &body);
                r.headers.insert("marketplace-signature", "t=1,v1=zz".parse().unwrap());
                r
            },
            "signature_malformed",
        ),
        (
            {
                let mut r = signed_request(TEST_SECRET, &body);
                r.body = Some(body.replace("\"quantity\":1", "\"quantity\":9"));
                r
            },
            "signature_invalid",
        ),
    ];
    for (request, code) in cases {
        let (status, answer) = backoffice_tests::orders::answer(&shop.intake.handle_webhook(&request, now).await);
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some(code)));
    }
    let stale = signed_request(TEST_SECRET, &body);
    let (status, _) = backoffice_tests::orders::answer(
        &shop
            .intake
            .handle_webhook(&stale, now + chrono::Duration::seconds(301))
            .await,
    );
    assert_eq!(status, 401);
    assert!(shop.order(&order_id).await.is_none());
    assert_eq!(shop.levels("A").await, (10, 0, 10));
}

#[tokio::test]
async fn a_backordered_order_cancels_freely_and_ships_only_from_available_stock() {
    let shop = shop().await;
    shop.stock("OUT", 0, 9).await;
    let cancelled = unique_id("ord");
    let shipped = unique_id("ord");
    for order_id in [&cancelled, &shipped] {
        let (_, answer) = shop
            .event(
                "order.created",
                order_data(order_id, &shop.seller, &[("OUT", 2, "1.00")]),
            )
            .await;
        assert_eq!(answer["order_status"], "backordered");
    }
    let (status, _) = shop
        .event(
            "order.cancelled",
            json!({"order_id": cancelled, "seller_id": shop.seller}),
        )
        .await;
    assert_eq!(status, 202);
    assert_eq!(
        shop.levels("OUT").await,
        (0, 0, 0),
        "nothing was reserved, nothing is released"
    );
    let (status, _) = shop
        .event(
            "order.delivered",
            json!({"order_id": shipped, "seller_id": shop.seller}),
        )
        .await;
    assert_eq!(status, 422, "not shipped yet");

    let ship = json!({"order_id": shipped, "seller_id": shop.seller, "carrier": "DHL", "tracking_number": "T9"});
    let (status, answer) = shop.event("order.shipped", ship.clone()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("insufficient_stock"))
    );
    assert_eq!(shop.order(&shipped).await.unwrap().status, OrderStatus::Backordered);
    shop.stock("OUT", 5, 9).await;
    let (status, _) = shop.event("order.shipped", ship).await;
    assert_eq!(status, 202);
    assert_eq!(shop.levels("OUT").await, (3, 0, 3), "shipped from what was available");
}
