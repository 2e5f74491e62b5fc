//! Seller health over the in-memory store, with a week scripted through the other functions'
//! own handlers (orders placed, shipped late or on time, cancelled, delivered, reviewed,
//! refunded, questions answered): each figure of the week has a known answer. The same run
//! over DynamoDB, SES and S3 is proven in `tests/tests/seller_health.rs`.

use std::sync::{Arc, Mutex};

use backoffice::domains::email::EmailContent;
use backoffice::domains::email::compose::compose;
use backoffice::domains::email::mailer::KeptMail;
use backoffice::domains::figures::measures::{Measure, Status};
use backoffice::domains::figures::week::{STOCK_LISTED, SellerWeek};
use backoffice::domains::health::report::KeptReports;
use backoffice::domains::health::week::WATCHED_READ;
use backoffice::domains::refunds::payout::{Payout, PayoutQueue};
use backoffice::domains::stock::inventory::WATCHLIST;
use backoffice::domains::stock::records::new_stock_item;
use backoffice::follow_ups::{FollowUp, KeptFollowUps};
use backoffice::mechanisms::trigger::TriggerError;
use backoffice::mechanisms::webhook::{WebhookSecret, Webhooks, marketplace_request};
use backoffice::storage::{MemoryStorage, StoreError, text};
use backoffice::values::pii::EmailAddress;
use buyer_messaging::{BuyerMessaging, Settings};
use chrono::{DateTime, Duration, Utc};
use order_intake::OrderIntake;
use refund_processor::RefundProcessor;
use review_monitor::ReviewMonitor;
use serde_json::{Value, json};
use stock_alerts::StockAlerts;

use super::*;

const SECRET: &str = "whsec_unit";
const SELLER: &str = "sel_tea";
/// 08:00 on Monday 23 November 2026 in Shanghai: the seller's report is due.
const MONDAY_EIGHT_SHANGHAI: &str = "2026-11-23T00:00:00Z";

#[derive(Clone, Default)]
struct Payments(Arc<Mutex<Vec<Payout>>>);

impl PayoutQueue for Payments {
    async fn send(&self, payout: &Payout) -> Result<String, StoreError> {
        self.0.lock().unwrap().push(payout.clone());
        Ok("msg".to_owned())
    }
}

/// The marketplace's functions over one store, and seller health beside them.
struct Market {
    store: MemoryStorage,
    intake: OrderIntake<MemoryStorage, KeptFollowUps>,
    stock: StockAlerts<MemoryStorage>,
    reviews: ReviewMonitor<MemoryStorage>,
    refunds: RefundProcessor<MemoryStorage, Payments>,
    messaging: BuyerMessaging<MemoryStorage, KeptMail>,
    health: SellerHealth<MemoryStorage, KeptReports>,
    reports: KeptReports,
    events: usize,
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn market() -> Market {
    let store = MemoryStorage::new();
    let secret = || WebhookSecret::new(SECRET);
    let settings = Settings {
        sender_address: EmailAddress::parse("orders@example.com").unwrap(),
        configuration_set: None,
        feedback_queue_arn: "arn:aws:sqs:us-east-1:123456789012:EmailFeedbackQueue".to_owned(),
        address_salt: Some(backoffice::domains::email::suppressions::AddressSalt::new("salt_unit")),
    };
    let reports = KeptReports::default();
    Market {
        intake: OrderIntake::new(secret(), store.clone(), KeptFollowUps::default()),
        stock: StockAlerts::new(secret(), store.clone()),
        reviews: ReviewMonitor::new(secret(), store.clone()),
        refunds: RefundProcessor::new(secret(), store.clone(), Payments::default()),
        messaging: BuyerMessaging::new(secret(), &settings, store.clone(), KeptMail::default()),
        health: SellerHealth::new(store.clone(), reports.clone()),
        reports,
        store,
        events: 0,
    }
}

impl Market {
    /// Signs and sends an event of `event_type` at `when` to the function that takes it.
    async fn send(&mut self, event_type: &str, when: DateTime<Utc>, data: Value) -> Value {
        self.events += 1;
        let body = json!({"id": format!("evt_{}", self.events), "type": event_type,
            "created_at": when.to_rfc3339(), "data": data})
        .to_string();
        let request = marketplace_request(&WebhookSecret::new(SECRET), &body, when);
        let response = match Function::for_event_type(event_type) {
            Some(Function::OrderIntake) => self.intake.handle_webhook(&request, when).await,
            Some(Function::StockAlerts) => self.stock.handle_webhook(&request, when).await,
            Some(Function::ReviewMonitor) => self.reviews.handle_webhook(&request, when).await,
            Some(Function::RefundProcessor) => self.refunds.handle_webhook(&request, when).await,
            _ => self.messaging.handle_webhook(&request, when).await,
        };
        let answer: Value = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        assert!(
            response.status_code == 202,
            "{event_type}: {} {answer}",
            response.status_code
        );
        answer
    }

    async fn seller(&mut self, seller_id: &str, time_zone: &str) {
        let data = json!({"seller_id": seller_id, "name": "Teahouse Lin", "email": "alerts@teahouse.example",
            "locale": "zh-CN", "time_zone": time_zone, "auto_approve_limit": {"amount": "30.00", "currency": "EUR"}});
        self.send("seller.updated", at("2026-11-01T00:00:00Z"), data).await;
        for (sku, on_hand) in [("TEA-POT-01", 1000), ("TEA-CUP-06", 1000), ("TEA-KETTLE-02", 0)] {
            let mut item = new_stock_item(seller_id, sku, on_hand, 2, 7);
            item.insert("watch".to_owned(), json!(WATCHLIST));
            self.store.insert(Table::Inventory, item);
        }
    }

    /// An order of one teapot at 10.00 EUR, placed at `placed`, to ship within two days.
    async fn order(&mut self, seller_id: &str, order_id: &str, placed: DateTime<Utc>) {
        let data = json!({"order_id": order_id, "seller_id": seller_id,
            "buyer": {"id": "buy_1", "name": "Li Wei", "email": "li.wei@example.cn", "locale": "zh"},
            "currency": "EUR", "lines": [{"line_id": "l1", "sku": "TEA-POT-01", "quantity": 1, "unit_price": "10.00"}],
            "total": "10.00", "ship_by": (placed + Duration::days(2)).to_rfc3339(),
            "shipping_address": {"name": "Li Wei", "line1": "88 Nanjing Road", "city": "Shanghai", "postal_code": "200001", "country": "CN"}});
        self.send("order.created", placed, data).await;
    }

    async fn ship(&mut self, seller_id: &str, order_id: &str, when: DateTime<Utc>, tracking: &str) {
        let data = json!({"order_id": order_id, "seller_id": seller_id, "carrier": "UPS", "tracking_number": tracking});
        self.send("order.shipped", when, data).await;
    }

    fn weekly_emails(&self) -> Vec<(String, SellerWeek)> {
        self.store
            .items(Table::Outbox)
            .iter()
            .filter(|item| text(item, "key").starts_with("seller-health#weekly#"))
            .flat_map(|item| serde_json::from_str::<Vec<FollowUp>>(text(item, "follow_ups")).unwrap())
            .filter_map(|follow_up| match follow_up {
                FollowUp::Email(email) => match email.content {
                    EmailContent::SellerWeekly(week) => Some((email.dedupe_key, *week)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}

/// The week of 16–22 November 2026 (and the one before), with known answers:
/// 41 orders, 1 cancelled by the seller, 40 shipped, 2 late, 1 without usable tracking; a
/// 1-star review of an order and a refund for a defect (2 order defects); 3 reviews; one
/// question answered in two hours.
async fn scripted_week(market: &mut Market) {
    market.seller(SELLER, "Asia/Shanghai").await;
    let monday = at("2026-11-16T02:00:00Z");
    for n in 0..5 {
        market
            .order(SELLER, &format!("ord_before_{n}"), monday - Duration::days(6))
            .await;
    }
    for n in 0..41 {
        let placed = monday + Duration::hours(n * 2);
        market.order(SELLER, &format!("ord_{n}"), placed).await;
    }
    let cancel = json!({"order_id": "ord_40", "seller_id": SELLER, "cancelled_by": "seller"});
    market.send("order.cancelled", monday + Duration::days(3), cancel).await;
    for n in 0..40 {
        let placed = monday + Duration::hours(n * 2);
        let shipped = if n < 2 {
            placed + Duration::days(3)
        } else {
            placed + Duration::hours(20)
        };
        let tracking = if n == 39 { "N/A" } else { "1Z999AA10123456784" };
        market.ship(SELLER, &format!("ord_{n}"), shipped, tracking).await;
    }
    for n in 0..2 {
        let data = json!({"order_id": format!("ord_{n}"), "seller_id": SELLER});
        market.send("order.delivered", monday + Duration::days(4), data).await;
    }
    let review = |id: &str, order: Option<&str>, rating: u8, text: &str| {
        json!({"review_id": id, "seller_id": SELLER, "sku": "TEA-POT-01", "order_id": order, "buyer_id": "buy_1",
            "rating": rating, "title": "Teapot", "text": text, "language": "en", "created_at": (monday + Duration::days(5)).to_rfc3339()})
    };
    let when = monday + Duration::days(5);
    market
        .send(
            "review.created",
            when,
            review(
                "rev_1",
                Some("ord_0"),
                1,
                "The lid broke after one day, it leaks everywhere.",
            ),
        )
        .await;
    market
        .send(
            "review.created",
            when,
            review("rev_2", None, 5, "Beautiful teapot, pours perfectly."),
        )
        .await;
    market
        .send(
            "review.created",
            when,
            review("rev_3", None, 4, "Nice clay, good value."),
        )
        .await;
    let refund = json!({"refund_id": "ref_1", "order_id": "ord_1", "seller_id": SELLER, "buyer_id": "buy_1",
        "lines": [{"line_id": "l1", "quantity": 1, "restock": false}], "currency": "EUR", "reason": "defective",
        "created_at": (monday + Duration::days(5)).to_rfc3339()});
    market
        .send("refund.requested", monday + Duration::days(5), refund)
        .await;
    let asked = monday + Duration::days(1);
    let question = json!({"message_id": "msg_1", "buyer": {"id": "buy_9", "name": "Emma", "email": "emma@example.co.uk", "locale": "en-GB"},
        "seller_id": SELLER, "subject": "Teapot", "text": "Is the teapot dishwasher safe?", "created_at": asked.to_rfc3339()});
    market.send("message.received", asked, question).await;
    let reply =
        json!({"message_id": "msg_2", "thread_id": "thr_msg_1", "seller_id": SELLER, "text": "By hand only, please."});
    market.send("message.replied", asked + Duration::hours(2), reply).await;
}

fn reading(week: &SellerWeek, measure: Measure) -> (i64, i64, Option<i64>, Status) {
    let reading = week.health.iter().find(|reading| reading.measure == measure).unwrap();
    (reading.count, reading.of, reading.rate_bp, reading.status)
}

#[tokio::test]
async fn each_figure_of_a_scripted_week_has_its_known_answer() {
    let mut market = market();
    scripted_week(&mut market).await;
    let run = market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    assert_eq!((run.sellers, run.reports_sent), (1, 1));
    let emails = market.weekly_emails();
    assert_eq!(emails.len(), 1);
    let (key, week) = &emails[0];
    assert_eq!(key, "seller-health#weekly#sel_tea#2026-11-23");
    assert_eq!(
        (week.first_day.to_string(), week.last_day.to_string()),
        ("2026-11-16".into(), "2026-11-22".into())
    );

    // Health: 2 late of 40 shipped is 5%, failing; the rest as scripted.
    assert_eq!(
        reading(week, Measure::LateShipmentRate30),
        (2, 40, Some(500), Status::Failing)
    );
    assert_eq!(
        reading(week, Measure::LateShipmentRate10),
        (2, 40, Some(500), Status::Failing)
    );
    assert_eq!(
        reading(week, Measure::CancelRate),
        (1, 41, Some(244), Status::AtRisk),
        "within a quarter of 2.5%"
    );
    assert_eq!(
        reading(week, Measure::ValidTrackingRate),
        (39, 40, Some(9750), Status::Good)
    );
    assert_eq!(
        reading(week, Measure::OrderDefectRate),
        (2, 46, Some(435), Status::Failing)
    );
    assert_eq!(
        reading(week, Measure::ResponseWithin24h),
        (1, 1, Some(10_000), Status::Good)
    );

    // Sales against the week before.
    assert_eq!((week.sales.orders, week.sales.units), (41, 41));
    assert_eq!(week.sales.revenue.get("EUR"), Some(&41_000));
    assert_eq!(week.sales.top_skus, vec![("TEA-POT-01".to_owned(), 41)]);
    assert_eq!(
        (week.sales_before.orders, week.sales_before.revenue.get("EUR")),
        (5, Some(&5_000))
    );

    // Reviews, refunds, questions, stock.
    assert_eq!(
        (
            week.reviews.reviews,
            week.reviews.average_hundredths,
            week.reviews.negative
        ),
        (3, Some(333), 1)
    );
    assert_eq!(week.reviews.reasons, vec![("quality".to_owned(), 1)]);
    assert_eq!((week.refunds.refunds, week.refunds.automatic), (1, 1));
    assert_eq!(week.refunds.amounts.get("EUR"), Some(&1_000));
    assert_eq!(week.refunds.rate_bp, Some(244), "1 of 41 orders");
    assert_eq!((week.response.received, week.response.answered_within_24h), (1, 1));
    assert_eq!(week.response.median_response_within_minutes, Some(120));
    let at_risk: Vec<&str> = week.stock.iter().map(|sku| sku.sku.as_str()).collect();
    assert_eq!(at_risk, ["TEA-KETTLE-02"], "out of stock; the others have plenty");
}

#[tokio::test]
async fn an_order_with_a_bad_review_a_defect_refund_and_a_claim_is_one_order_defect() {
    let mut market = market();
    scripted_week(&mut market).await;
    let when = at("2026-11-21T02:00:00Z");
    // ord_0 already has its 1-star review: now a defect refund and a claim too.
    let refund = json!({"refund_id": "ref_2", "order_id": "ord_0", "seller_id": SELLER, "buyer_id": "buy_1",
        "amount": "2.00", "currency": "EUR", "reason": "defective",
        "created_at": when.to_rfc3339()});
    market.send("refund.requested", when, refund).await;
    let claim = json!({"claim_id": "clm_1", "order_id": "ord_0", "seller_id": SELLER, "buyer_id": "buy_1",
        "reason": "not_as_described", "created_at": when.to_rfc3339()});
    market.send("claim.opened", when, claim).await;
    // ord_1 already has its defect refund: now a 1-star review of it, then that review removed.
    let review = json!({"review_id": "rev_9", "seller_id": SELLER, "sku": "TEA-POT-01", "order_id": "ord_1",
        "buyer_id": "buy_1", "rating": 1, "title": "Teapot", "text": "Cracked.", "language": "en",
        "created_at": when.to_rfc3339()});
    market.send("review.created", when, review).await;
    let removed = json!({"review_id": "rev_9", "seller_id": SELLER});
    market.send("review.removed", when, removed).await;

    market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    let emails = market.weekly_emails();
    let (_, week) = &emails[0];
    assert_eq!(
        reading(week, Measure::OrderDefectRate),
        (2, 46, Some(435), Status::Failing),
        "two defective orders, each counted once"
    );
    assert_eq!((week.claims.opened, week.claims.decided, week.claims.lost), (1, 0, 0));
}

#[tokio::test]
async fn the_cancel_rate_counts_only_the_sellers_own_cancels() {
    let mut market = market();
    market.seller(SELLER, "UTC").await;
    let monday = at("2026-11-16T02:00:00Z");
    for n in 0..40 {
        market
            .order(SELLER, &format!("ord_{n}"), monday + Duration::hours(n))
            .await;
    }
    for (order, by) in [
        ("ord_0", Some("seller")),
        ("ord_1", Some("buyer")),
        ("ord_2", Some("marketplace")),
        ("ord_3", None),
    ] {
        let mut data = json!({"order_id": order, "seller_id": SELLER});
        if let Some(by) = by {
            data["cancelled_by"] = json!(by);
        }
        market.send("order.cancelled", monday + Duration::days(2), data).await;
    }
    market.health.run(at("2026-11-23T08:00:00Z")).await.unwrap();
    let (_, week) = &market.weekly_emails()[0];
    assert_eq!(
        reading(week, Measure::CancelRate),
        (1, 40, Some(250), Status::Failing),
        "2.5% is not below 2.5%"
    );
}

#[tokio::test]
async fn the_schedule_firing_twice_sends_one_report_per_seller_and_week() {
    let mut market = market();
    scripted_week(&mut market).await;
    market.seller("sel_ny", "America/New_York").await;
    let first = market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    let again = market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    let hour_later = market.health.run(at("2026-11-23T01:00:00Z")).await.unwrap();
    assert_eq!((first.reports_sent, again.reports_sent, again.sent_before), (1, 0, 1));
    assert_eq!((hour_later.reports_sent, hour_later.sent_before), (0, 1));
    // New York's Monday 08:00 is 13:00 UTC: its seller's report comes then, once (Shanghai's,
    // still within its Monday, is found sent).
    let new_york = market.health.run(at("2026-11-23T13:00:00Z")).await.unwrap();
    assert_eq!((new_york.reports_sent, new_york.sent_before), (1, 1));
    let not_yet = market.health.run(at("2026-11-22T23:00:00Z")).await.unwrap();
    assert_eq!(
        not_yet.reports_sent + not_yet.sent_before,
        0,
        "Sunday 23:00 UTC is Monday 07:00 in Shanghai"
    );
    assert_eq!(market.weekly_emails().len(), 2);
}

#[tokio::test]
async fn the_weekly_email_reads_in_the_sellers_language_with_its_statuses_and_bars() {
    let mut market = market();
    scripted_week(&mut market).await;
    market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    let email = market
        .store
        .items(Table::Outbox)
        .iter()
        .filter(|item| text(item, "key").starts_with("seller-health#weekly#"))
        .flat_map(|item| serde_json::from_str::<Vec<FollowUp>>(text(item, "follow_ups")).unwrap())
        .find_map(|follow_up| match follow_up {
            FollowUp::Email(email) => Some(email),
            _ => None,
        })
        .unwrap();
    assert_eq!(email.locale, "zh-CN");
    let chinese = compose(&email).render().unwrap();
    assert!(chinese.subject.contains("3 项指标不达标"), "{}", chinese.subject);
    assert!(
        chinese.text.contains("迟发率（30 天）: 5.0% (2/40), < 4%: 不达标"),
        "{}",
        chinese.text
    );
    assert!(chinese.text.contains("质量: 1"), "{}", chinese.text);
    assert!(chinese.text.contains("TEA-KETTLE-02：已售罄"), "{}", chinese.text);
    let mut english = email.clone();
    english.locale = "en".to_owned();
    let english = compose(&english).render().unwrap();
    assert_eq!(
        english.subject,
        "Your week 16 November 2026 – 22 November 2026: 3 measures failing"
    );
    assert!(english.text.contains("Orders: 41 (week before: 5)"), "{}", english.text);
    assert!(
        english
            .text
            .contains("Late shipment rate (30 days): 5.0% (2/40), < 4%: failing"),
        "{}",
        english.text
    );
    // The bar: 5% against a 4% limit is full, drawn in cells, no image, no script.
    assert!(
        english.html.contains("width:100px;height:10px;background:#cf222e"),
        "{}",
        english.html
    );
    assert!(!english.html.contains("<img") && !english.html.contains("<script"));
}

#[tokio::test]
async fn a_sellers_week_costs_the_same_reads_whatever_it_sold() {
    let mut market = market();
    market.seller("sel_small", "UTC").await;
    market.seller("sel_big", "UTC").await;
    let monday = at("2026-11-16T02:00:00Z");
    for n in 0..3 {
        market
            .order("sel_small", &format!("ord_s{n}"), monday + Duration::hours(n))
            .await;
    }
    for n in 0..120 {
        market
            .order("sel_big", &format!("ord_b{n}"), monday + Duration::minutes(n * 30))
            .await;
    }
    let report_time = at("2026-11-23T08:00:00Z");
    let listed = listed_page(&market.store, 100, None).await.unwrap().items;
    let mut requests = Vec::new();
    for seller in &listed {
        market.store.take_requests();
        let sent = send_weekly_report(
            &market.store,
            seller,
            "2026-11-23".parse().unwrap(),
            Vec::new(),
            report_time,
        )
        .await
        .unwrap();
        assert!(matches!(sent, Report::Sent(_)));
        requests.push(market.store.take_requests());
    }
    assert_eq!(requests[0], requests[1], "{requests:?}");
    // The claim read, the week's tallies (5 functions x 60 days in 100-key batches), its best
    // sellers (one query), one write.
    assert_eq!(requests[0], 1 + 3 + 1 + 1);
}

#[tokio::test]
async fn the_operator_report_is_written_on_monday_with_every_chart() {
    let mut market = market();
    scripted_week(&mut market).await;
    let run = market.health.run(at("2026-11-23T08:00:00Z")).await.unwrap();
    assert_eq!(run.operator_report.as_deref(), Some("operator/2026-11-22.html"));
    let page = market.reports.get("operator/2026-11-22.html").unwrap();
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
        assert!(page.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    assert!(
        page.contains("Late shipment rate (30 days)") && page.contains("sel_tea"),
        "the failing seller is named"
    );
    let tuesday = market.health.run(at("2026-11-24T08:00:00Z")).await.unwrap();
    assert_eq!(tuesday.operator_report, None);
}

#[tokio::test]
async fn a_schedule_stamped_outside_a_retrys_hours_chooses_no_week() {
    let mut market = market();
    scripted_week(&mut market).await;
    let schedule = |time: &str| {
        json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}, "time": time,
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/HourlyReports"]})
    };
    // Invoked on Sunday with next Monday's stamp: before, the week was reported a day early
    // and its claim taken, so the real Monday's run found it sent.
    let sunday = at("2026-11-22T12:00:00Z");
    let forged = market.health.handle(schedule(MONDAY_EIGHT_SHANGHAI), sunday).await;
    assert!(
        matches!(forged, Err(InvocationError::Trigger(TriggerError::OutOfTime { .. }))),
        "{forged:?}"
    );
    assert!(market.weekly_emails().is_empty(), "nothing sent");
    let monday = at(MONDAY_EIGHT_SHANGHAI);
    let run = market
        .health
        .handle(schedule(MONDAY_EIGHT_SHANGHAI), monday)
        .await
        .unwrap();
    assert_eq!(run["reports_sent"], 1, "{run}");
}

#[tokio::test]
async fn a_catalogue_out_of_stock_is_listed_to_its_worst_and_counted() {
    let mut market = market();
    scripted_week(&mut market).await;
    // Five thousand SKUs of 64 characters out of stock: listed whole, the email was past
    // SNS's 256 KiB and its outbox item past DynamoDB's 400 KB.
    for n in 0..5000 {
        let mut item = new_stock_item(SELLER, &format!("{n:0>64}"), 0, 2, 7);
        item.insert("watch".to_owned(), json!(WATCHLIST));
        market.store.insert(Table::Inventory, item);
    }
    let run = market.health.run(at(MONDAY_EIGHT_SHANGHAI)).await.unwrap();
    assert_eq!(run.reports_sent, 1, "{run:?}");
    let emails = market.weekly_emails();
    let (_, week) = &emails[0];
    // A week assesses the seller's first 500 watched SKUs by key (one query, five
    // `BatchGetItem`s): the count is of those.
    assert_eq!(
        (week.stock.len(), week.stock_not_listed),
        (STOCK_LISTED, WATCHED_READ - STOCK_LISTED)
    );
    let entry = market
        .store
        .items(Table::Outbox)
        .into_iter()
        .find(|item| text(item, "key").starts_with("seller-health#weekly#"))
        .unwrap();
    let bytes = text(&entry, "follow_ups").len();
    assert!(bytes < 64 * 1024, "{bytes} bytes");
    let email = serde_json::from_str::<Vec<FollowUp>>(text(&entry, "follow_ups")).unwrap();
    let FollowUp::Email(mut email) = email.into_iter().next().unwrap() else {
        panic!("the weekly email")
    };
    email.locale = "en".to_owned();
    let english = compose(&email).render().unwrap();
    assert!(english.text.contains("and 475 more SKUs"), "{}", english.text);
}

#[tokio::test]
async fn one_sellers_failed_report_is_that_sellers_alone() {
    let mut market = market();
    market.seller("sel_a", "Europe/London").await;
    market.seller("sel_b", "Europe/London").await;
    // sel_a's outbox key already holds another entry, so its transaction is refused; before,
    // that aborted the run for sel_b and the operator report too, every hour of the day.
    let monday = "2026-11-23".parse().unwrap();
    let key = backoffice::domains::health::weekly::claim_key("sel_a", monday);
    market.store.insert(
        Table::Outbox,
        json!({"key": key, "follow_ups": "[]", "digest": "another"})
            .as_object()
            .cloned()
            .unwrap(),
    );
    let run = market.health.run(at("2026-11-23T08:00:00Z")).await.unwrap();
    assert_eq!((run.reports_sent, run.reports_failed), (1, 1), "{run:?}");
    assert!(run.operator_report.is_some(), "{run:?}");
    let to: Vec<String> = market.weekly_emails().into_iter().map(|(key, _)| key).collect();
    assert!(to.iter().all(|key| key.contains("sel_b")) && to.len() == 1, "{to:?}");
}

/// The handed-on pages in the outbox not yet delivered, oldest key first.
fn pages_waiting(store: &MemoryStorage, delivered: &mut std::collections::BTreeSet<String>) -> Vec<FollowUp> {
    let mut pages = Vec::new();
    for item in store.items(Table::Outbox) {
        let key = text(&item, "key").to_owned();
        if key.starts_with("seller-health#page#") && delivered.insert(key) {
            pages.extend(serde_json::from_str::<Vec<FollowUp>>(text(&item, "follow_ups")).unwrap());
        }
    }
    pages
}

fn queued(follow_up: &FollowUp, id: &str) -> aws_lambda_events::event::sqs::SqsMessage {
    let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
    message.message_id = Some(id.to_owned());
    message.body = Some(serde_json::to_string(follow_up).unwrap());
    message
}

/// Seven sellers in pages of two: the schedule (fired twice) starts the run, each page hands
/// the next on once, every page is delivered twice, and still each seller gets one report and
/// the last page writes one operator report of all seven from the pages' parts.
#[tokio::test]
async fn a_run_goes_a_page_at_a_time_and_sends_each_report_once() {
    let mut market = market();
    for n in 0..7 {
        market.seller(&format!("sel_page_{n}"), "UTC").await;
    }
    let health = SellerHealth::new(market.store.clone(), market.reports.clone()).with_page_size(2);
    let monday = at("2026-11-23T08:00:00Z");
    let first = health.run(monday).await.unwrap();
    let again = health.run(monday).await.unwrap();
    assert_eq!((first.sellers, first.continues, first.reports_sent), (2, true, 2));
    assert_eq!(
        (again.reports_sent, again.sent_before),
        (0, 2),
        "a schedule firing twice"
    );
    let mut delivered = std::collections::BTreeSet::new();
    let mut pages_run = 1;
    loop {
        let pages = pages_waiting(&market.store, &mut delivered);
        if pages.is_empty() {
            break;
        }
        for (n, page) in pages.iter().enumerate() {
            let mut batch = aws_lambda_events::event::sqs::SqsEvent::default();
            batch.records = vec![queued(page, &format!("m{n}"))];
            for _ in 0..2 {
                let answer = health.handle_pages(batch.clone(), monday).await;
                assert!(answer.batch_item_failures.is_empty(), "{answer:?}");
            }
            pages_run += 1;
        }
    }
    assert_eq!(pages_run, 4, "pages of 2, 2, 2 and 1 sellers, each handed on once");
    let mut sent: Vec<String> = market
        .weekly_emails()
        .into_iter()
        .map(|(_, week)| week.seller_id)
        .collect();
    sent.sort();
    let all: Vec<String> = (0..7).map(|n| format!("sel_page_{n}")).collect();
    assert_eq!(sent, all, "one report each");
    let report = market
        .reports
        .get("operator/2026-11-22.html")
        .expect("the operator report");
    assert!(report.contains("7 sellers"), "every page's part");
    let later = health.run(at("2026-11-23T09:00:00Z")).await.unwrap();
    assert_eq!(later.operator_report, None, "written once a week");
}
