//! Seller health over the local AWS: a week of orders through order intake's webhook, the
//! hourly run of the function as the template deploys it (DynamoDB, S3), its weekly emails
//! sent through buyer messaging to SES in each seller's language, and the operator report
//! opened in headless Chromium.

use backoffice::domains::email::EmailContent;
use backoffice::domains::health::page::{OperatorReport, render};
use backoffice::domains::health::run::page_key;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::Webhooks;
use backoffice_tests::mail::{emails_to, mailroom};
use backoffice_tests::orders::{envelope, order_data};
use backoffice_tests::stock::{Warehouse, warehouse};
use backoffice_tests::{TEST_SECRET, local_aws, outbox_follow_ups, signed_request, unique_id};
use chrono::{DateTime, Utc};
use serde_json::json;

/// 08:00 on Monday 23 November 2026 in Shanghai; the shop's events are of Sunday the 22nd.
const MONDAY_EIGHT_SHANGHAI: &str = "2026-11-23T00:00:00Z";
const MONDAY_EIGHT_UTC: &str = "2026-11-23T08:00:00Z";

type Health = seller_health::OnAws;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// A seller with its settings, a stocked teapot, and a week: four orders, one shipped late,
/// one shipped without usable tracking, one cancelled by the seller.
async fn seller_with_a_week(locale: &str, time_zone: &str, address: &str) -> Warehouse {
    let warehouse = warehouse().await;
    // Counted first: a count's `seller` contact would replace the settings' one.
    warehouse.count("TEA-POT-01", 100, 0, 3).await;
    let seller = warehouse.seller().to_owned();
    let settings =
        json!({"seller_id": seller, "name": "Tea House", "email": address, "locale": locale, "time_zone": time_zone});
    let body = envelope(&unique_id("evt"), "seller.updated", settings);
    let reply = warehouse
        .alerts
        .handle_webhook(&signed_request(TEST_SECRET, &body), Utc::now())
        .await;
    assert_eq!(reply.status_code, 202, "{:?}", reply.body);
    let shop = &warehouse.shop;
    for n in 0..4 {
        let mut data = order_data(&format!("ord_{seller}_{n}"), &seller, &[("TEA-POT-01", 1, "20.00")]);
        if n == 0 {
            data["ship_by"] = json!("2026-11-21T18:00:00Z");
        }
        assert_eq!(shop.event("order.created", data).await.0, 202);
    }
    for (n, tracking) in [(0, "1Z999AA10123456784"), (1, "1Z999AA10123456785"), (2, "N/A")] {
        let shipped = json!({"order_id": format!("ord_{seller}_{n}"), "seller_id": seller, "carrier": "UPS", "tracking_number": tracking});
        assert_eq!(shop.event("order.shipped", shipped).await.0, 202);
    }
    let cancelled = json!({"order_id": format!("ord_{seller}_3"), "seller_id": seller, "cancelled_by": "seller"});
    assert_eq!(shop.event("order.cancelled", cancelled).await.0, 202);
    warehouse
}

/// The run the schedule stamped `at`, every page of it: the first as the schedule runs it,
/// the rest as the queue would deliver them once the relay has published each page's hand-on
/// (read here from the outbox). Other tests' sellers share this local AWS, so a run has
/// several pages. Each page's answer, in the order run.
async fn whole_run(health: &Health, at: DateTime<Utc>) -> Vec<seller_health::Run> {
    let mut runs = vec![health.run(at).await.expect("the run's first page")];
    let prefix = format!("{}#", page_key(at, 0).trim_end_matches("#0"));
    let dynamodb = aws_sdk_dynamodb::Client::new(&local_aws().sdk_config().await);
    let mut done = std::collections::BTreeSet::new();
    loop {
        let pages: Vec<_> = outbox_follow_ups(&dynamodb, &prefix)
            .await
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::SellerHealthPage(page) if done.insert(page.dedupe_key.clone()) => Some(page),
                _ => None,
            })
            .collect();
        if pages.is_empty() {
            return runs;
        }
        for page in pages {
            runs.push(health.run_page(&page, at).await.expect("a page"));
        }
    }
}

/// What the runs' weekly email for `seller`'s week before Monday the 23rd asks buyer messaging
/// to send (the other test's run of the 30th reports the week after).
async fn weekly_email(warehouse: &Warehouse) -> Vec<backoffice::domains::email::EmailRequest> {
    let prefix = Function::SellerHealth.key(&["weekly", warehouse.seller(), "2026-11-23"]);
    outbox_follow_ups(&warehouse.shop.dynamodb, &prefix)
        .await
        .into_iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::Email(email) if matches!(email.content, EmailContent::SellerWeekly(_)) => Some(email),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn each_seller_gets_its_week_once_in_its_language_through_ses() {
    let (chinese, english) = (
        format!("{}@example.cn", unique_id("seller")),
        format!("{}@example.com", unique_id("seller")),
    );
    let shanghai = seller_with_a_week("zh-CN", "Asia/Shanghai", &chinese).await;
    let london = seller_with_a_week("en-GB", "Europe/London", &english).await;
    let health: Health = local_aws().deployed(&shanghai.shop.config);

    // Other tests' runs share this local AWS and may send these sellers' reports first:
    // whoever runs, each seller's week is sent once.
    let first = whole_run(&health, at(MONDAY_EIGHT_SHANGHAI)).await;
    let reported: usize = first.iter().map(|run| run.reports_sent + run.sent_before).sum();
    assert!(reported >= 1, "{first:?}");
    assert_eq!(weekly_email(&shanghai).await.len(), 1);
    whole_run(&health, at(MONDAY_EIGHT_SHANGHAI)).await;
    whole_run(&health, at(MONDAY_EIGHT_UTC)).await;
    let (zh, en) = (weekly_email(&shanghai).await, weekly_email(&london).await);
    assert_eq!((zh.len(), en.len()), (1, 1), "once per seller and week");

    let mailroom = mailroom().await;
    for request in [&zh[0], &en[0]] {
        assert!(mailroom.deliver(request).await.batch_item_failures.is_empty());
    }
    let zh = emails_to(&chinese).await;
    let en = emails_to(&english).await;
    assert_eq!((zh.len(), en.len()), (1, 1));
    assert!(zh[0].subject.contains("项指标不达标"), "{}", zh[0].subject);
    assert!(
        zh[0].text.contains("迟发率（30 天）: 33.3% (1/3), < 4%: 不达标"),
        "{}",
        zh[0].text
    );
    assert!(
        zh[0].text.contains("有效追踪率（30 天）: 66.7% (2/3), > 95%: 不达标"),
        "{}",
        zh[0].text
    );
    assert!(zh[0].text.contains("卖家取消率（7 天）: 25.0% (1/4)"), "{}", zh[0].text);
    assert!(
        en[0]
            .subject
            .starts_with("Your week 16 November 2026 – 22 November 2026"),
        "{}",
        en[0].subject
    );
    assert!(en[0].text.contains("Orders: 4 (week before: 0)"), "{}", en[0].text);
    assert!(en[0].text.contains("Revenue: €80.00"), "{}", en[0].text);
    // The week's best sellers, from the `TopSkus` index.
    assert!(en[0].text.contains("TEA-POT-01: 4 units"), "{}", en[0].text);
    assert!(en[0].html.contains("<table role=\"presentation\""));
}

#[tokio::test]
async fn the_operator_report_lands_in_the_bucket_and_renders_every_chart_in_chromium() {
    let address = format!("{}@example.com", unique_id("seller"));
    let _seller = seller_with_a_week("en", "UTC", &address).await;
    let config = local_aws().sdk_config().await;
    let health: Health = local_aws().deployed(&config);
    // Its own Monday: the other test's runs write the 23rd's report, once.
    let runs = whole_run(&health, at("2026-11-30T08:00:00Z")).await;
    let key = runs
        .iter()
        .find_map(|run| run.operator_report.clone())
        .expect("the run's last page writes the operator report");

    let bucket = &local_aws().provisioned.buckets["ReportsBucket"];
    let object = local_cloud::provision::s3_client(&config)
        .get_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .expect("the report is in the bucket");
    assert_eq!(object.content_type(), Some("text/html; charset=utf-8"));
    let html = object.body.collect().await.expect("its body").into_bytes();
    let page = local_cloud::paths::scratch().join("operator-report.html");
    std::fs::create_dir_all(local_cloud::paths::scratch()).unwrap();
    std::fs::write(&page, &html).unwrap();

    let screenshot = local_cloud::paths::scratch().join("operator-report.png");
    let rendered = local_cloud::browser::open(&page, Some(&screenshot)).expect("chromium opens the page");
    assert!(rendered.console.is_empty(), "{:?}", rendered.console);
    for chart in [
        "orders",
        "backorders",
        "stock_alerts",
        "negative_reviews",
        "refunds",
        "late_shipments",
        "breaches",
        "negative_reasons",
        "response_times",
    ] {
        let figure = format!("data-chart=\"{chart}\"");
        let at = rendered
            .dom
            .find(&figure)
            .unwrap_or_else(|| panic!("{chart} is on the page"));
        assert!(rendered.dom[at..].contains("<svg"), "{chart} has its chart");
    }
    assert!(
        rendered.dom.contains("Late shipment rate (30 days)"),
        "the failing seller is listed"
    );
    assert!(std::fs::metadata(&screenshot).expect("a screenshot").len() > 10_000);
}

/// The check above can fail: a page that errors on its console or loads from the network is
/// caught by the same reading.
#[tokio::test]
async fn a_page_that_errors_or_reaches_the_network_is_caught() {
    let mut page = render(&OperatorReport {
        generated_at: Utc::now(),
        days: Vec::new(),
        series: Vec::new(),
        negative_reasons: Vec::new(),
        response_times: Vec::new(),
        sellers_at_risk: Vec::new(),
        sellers: 0,
    });
    page = page.replace(
        "</body>",
        "<script>console.error('broken chart')</script><img src=\"https://example.com/x.png\"></body>",
    );
    let path = local_cloud::paths::scratch().join("broken-report.html");
    std::fs::create_dir_all(local_cloud::paths::scratch()).unwrap();
    std::fs::write(&path, page).unwrap();
    let rendered = local_cloud::browser::open(&path, None).expect("chromium opens the page");
    assert!(
        rendered.console.iter().any(|line| line.contains("broken chart")),
        "{:?}",
        rendered.console
    );
}
