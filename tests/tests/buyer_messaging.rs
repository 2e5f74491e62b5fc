//! Buyer messaging against the local AWS: email requests in through the handler as Lambda
//! delivers them, the emails read back from what SES accepted, records from DynamoDB.

use backoffice::domains::email::request::{
    ClaimAwaiting, ClaimEmail, ClaimReader, QuestionDue, RefundAwaiting, RefundEmail, RefundEmailLine, ReplyEmail,
    ReviewAlert, ReviewTrendAlert, SellerDigest, StockAlert, StockLevel,
};
use backoffice::domains::email::{EmailContent, EmailTemplate, RecipientRole};
use backoffice_tests::mail::{
    Throttled, buyer, emails_to, mailroom, mailroom_with, new_address, queued, request, sample_order,
};
use backoffice_tests::unique_id;
use serde_json::json;

fn state_of(record: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> (&str, &str) {
    let text = |name: &str| {
        record
            .get(name)
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
            .unwrap_or("")
    };
    (text("state"), text("reason"))
}

fn digest() -> SellerDigest {
    SellerDigest {
        seller_id: "sel_teahouse".into(),
        stock: vec![
            StockAlert {
                sku: "TEA-POT-1".into(),
                level: StockLevel::Low,
                available: 3,
                days_of_cover: None,
                lead_time_days: None,
            },
            StockAlert {
                sku: "TEA-CUP-6".into(),
                level: StockLevel::RunningOut,
                available: 25,
                days_of_cover: Some(2),
                lead_time_days: Some(5),
            },
        ],
        reviews: vec![ReviewAlert {
            sku: "TEA-POT-1".into(),
            rating: 1,
            reasons: vec!["quality".into()],
            verified: true,
            excerpt: "Cracked on first use".into(),
        }],
        review_trends: vec![ReviewTrendAlert {
            sku: "TEA-POT-1".into(),
            trend: "quality".into(),
            reviews: 3,
            average: None,
            window_days: 7,
        }],
        refunds_awaiting: vec![RefundAwaiting {
            refund_id: "ref_77".into(),
            order_id: "ord_1001".into(),
            currency: "USD".into(),
            amount: "499.99".into(),
            due_at: Some("2026-11-24T10:00:00Z".parse().unwrap()),
            reminder: false,
            reason: Some("defective".into()),
            note: Some("Lid <leaks> & drips".into()),
        }],
        questions_due: vec![QuestionDue {
            question_id: "q_9".into(),
            due_at: "2026-11-23T10:00:00Z".parse().unwrap(),
            excerpt: "Is the pot dishwasher safe?".into(),
            reminder: false,
            overdue: false,
        }],
        claims_awaiting: vec![ClaimAwaiting {
            claim_id: "clm_5".into(),
            order_id: "ord_1001".into(),
            reason: "not_received".into(),
            currency: "USD".into(),
            amount: "499.99".into(),
            due_at: "2026-11-25T10:00:00Z".parse().unwrap(),
            reminder: false,
            note: Some("Never <came>".into()),
        }],
        late_orders: Vec::new(),
    }
}

fn refund(reason: Option<&str>) -> RefundEmail {
    RefundEmail {
        refund_id: "ref_77".into(),
        order_id: "ord_1001".into(),
        currency: "USD".into(),
        amount: "499.99".into(),
        reason: reason.map(str::to_owned),
        lines: vec![RefundEmailLine {
            sku: "TEA-POT-1".into(),
            title: Some("Yixing clay teapot".into()),
            quantity: 1,
            unit_price: "499.99".into(),
            amount: "499.99".into(),
        }],
    }
}

/// Text in English and in Chinese.
type Both = [&'static str; 2];

/// Each template, its subject in each language, and text its email must show.
fn every_template() -> Vec<(EmailContent, Both, Vec<Both>)> {
    let order = sample_order;
    let lines = ["Yixing clay teapot (TEA-POT-1)", "TEA-CUP-6"];
    vec![
        (
            EmailContent::OrderConfirmation(order()),
            ["Your order ord_1001 is confirmed", "您的订单 ord_1001 已确认"],
            vec![
                lines,
                ["$1,049.97", "US$1,049.97"],
                ["25 November 2026", "2026年11月25日"],
            ],
        ),
        (
            EmailContent::BackorderNotice(order()),
            [
                "Your order ord_1001 is waiting for stock",
                "您的订单 ord_1001 正在等待补货",
            ],
            vec![lines, ["2 December 2026", "2026年12月2日"]],
        ),
        (
            EmailContent::BackorderFilled(order()),
            ["Your order ord_1001 is being prepared", "您的订单 ord_1001 正在备货"],
            vec![lines, ["back in stock", "已经到货"]],
        ),
        (
            EmailContent::Cancellation(order()),
            ["Your order ord_1001 has been cancelled", "您的订单 ord_1001 已取消"],
            vec![lines, ["$999.98", "US$999.98"]],
        ),
        (
            EmailContent::ShippingConfirmation(order()),
            ["Your order ord_1001 has shipped", "您的订单 ord_1001 已发货"],
            vec![
                lines,
                ["Carrier: UPS", "承运商: UPS"],
                ["Tracking number: 1Z999AA10123456784", "运单号: 1Z999AA10123456784"],
                [
                    "Track your parcel: https://track.example/1Z999AA10123456784",
                    "查询物流: https://track.example/1Z999AA10123456784",
                ],
            ],
        ),
        (
            EmailContent::DelayNotice(order()),
            ["Your order ord_1001 is delayed", "您的订单 ord_1001 发货延迟"],
            vec![["25 November 2026", "2026年11月25日"]],
        ),
        (
            EmailContent::ReviewRequest(order()),
            ["How was your order ord_1001?", "您对订单 ord_1001 满意吗？"],
            vec![lines],
        ),
        (
            EmailContent::RefundConfirmation(refund(None)),
            ["Your refund for order ord_1001", "订单 ord_1001 的退款"],
            vec![
                [
                    "We have refunded $499.99 for order ord_1001",
                    "我们已为订单 ord_1001 退款US$499.99",
                ],
                ["Yixing clay teapot (TEA-POT-1)", "Yixing clay teapot (TEA-POT-1)"],
                ["Refund total", "退款总额"],
            ],
        ),
        (
            EmailContent::RefundRejected(refund(Some("Used items cannot be returned"))),
            ["Your refund request for order ord_1001", "订单 ord_1001 的退款申请"],
            vec![
                ["> Used items cannot be returned", "> Used items cannot be returned"],
                ["$499.99", "US$499.99"],
                ["Yixing clay teapot (TEA-POT-1)", "Yixing clay teapot (TEA-POT-1)"],
            ],
        ),
        (
            EmailContent::ClaimDecided(ClaimEmail {
                claim_id: "clm_5".into(),
                order_id: "ord_1001".into(),
                reader: ClaimReader::Buyer,
                outcome: "refund".into(),
                currency: "USD".into(),
                amount: Some("499.99".into()),
                paid_by: Some("marketplace".into()),
                reason: "The carrier lost it <scan 3>".into(),
            }),
            [
                "Decision on claim clm_5 for order ord_1001",
                "订单 ord_1001 的申诉 clm_5 处理结果",
            ],
            vec![
                ["$499.99 is refunded to you", "将向您退款US$499.99"],
                ["> The carrier lost it <scan 3>", "> The carrier lost it <scan 3>"],
            ],
        ),
        (
            EmailContent::QuestionReply(ReplyEmail {
                question_id: "q_9".into(),
                order_id: Some("ord_1001".into()),
                question: "Is the pot dishwasher safe?".into(),
                reply: "Please wash it by hand.".into(),
            }),
            [
                "Re: your question about order ord_1001",
                "回复：您关于订单 ord_1001 的咨询",
            ],
            vec![
                ["> Is the pot dishwasher safe?", "> Is the pot dishwasher safe?"],
                ["> Please wash it by hand.", "> Please wash it by hand."],
            ],
        ),
        (
            EmailContent::SellerDigest(digest()),
            ["7 items need your attention", "7 项事务需要您处理"],
            vec![
                ["TEA-POT-1: low stock, 3 available", "TEA-POT-1：库存偏低，可售 3 件"],
                [
                    "TEA-CUP-6: running out, 25 available, about 2 days of cover; a restock takes 5 days",
                    "TEA-CUP-6：即将售罄，可售 25 件，约可维持 2 天，补货需 5 天",
                ],
                [
                    "TEA-POT-1: 1★ review (quality) (verified purchase): “Cracked on first use”",
                    "TEA-POT-1：1 星评价（质量）（已验证购买）：“Cracked on first use”",
                ],
                [
                    "TEA-POT-1: 3 negative reviews about quality in 7 days",
                    "TEA-POT-1：7 天内 3 条差评提到质量",
                ],
                [
                    "Refund ref_77 of $499.99 for order ord_1001, defective “Lid <leaks> & drips”: decide by 24 November 2026 10:00 UTC, or it is approved for you",
                    "订单 ord_1001 的退款 ref_77（US$499.99），质量问题：“Lid <leaks> & drips”，请于2026年11月24日 10:00 UTC前处理，逾期将自动同意",
                ],
                [
                    "Claim clm_5 on order ord_1001 (not received) for $499.99 “Never <came>”: respond by 25 November 2026 10:00 UTC, or the marketplace decides",
                    "订单 ord_1001 的申诉 clm_5（未收到货，US$499.99）：“Never <came>”，请于2026年11月25日 10:00 UTC前回应，逾期将交由平台客服裁定",
                ],
                [
                    "answer by 23 November 2026 10:00 UTC",
                    "请于2026年11月23日 10:00 UTC前回复",
                ],
            ],
        ),
    ]
}

/// What a reader of the HTML part sees: tags gone, entities read, whitespace collapsed.
fn visible_text(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    let text = text
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#38;", "&");
    collapse(&text)
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn every_template_arrives_in_english_and_chinese_with_its_subject_and_content() {
    let mailroom = mailroom().await;
    for (content, subjects, shows) in every_template() {
        for (language, locale) in [(0, "en"), (1, "zh")] {
            let address = new_address();
            let mut recipient = buyer(&address, "Li Wei");
            if matches!(content, EmailContent::SellerDigest(_)) {
                recipient.role = RecipientRole::Seller;
            }
            let template = content.template();
            let response = mailroom.deliver(&request(recipient, locale, content.clone())).await;
            assert!(response.batch_item_failures.is_empty(), "{template:?} {locale}");

            let emails = emails_to(&address).await;
            assert_eq!(emails.len(), 1, "{template:?} {locale}: one email");
            let email = &emails[0];
            assert_eq!(email.subject, subjects[language], "{template:?} {locale}");
            assert_eq!(email.to, format!("Li Wei <{address}>"));
            assert_eq!(email.header("From"), Some("orders@example.com"));
            assert_eq!(email.header("Content-Language"), Some(locale));
            // Labels and values are one line in text and two cells in HTML.
            let html = visible_text(&email.html).replace(": ", " ");
            for shown in &shows {
                let shown = shown[language];
                assert!(
                    email.text.contains(shown),
                    "{template:?} {locale}: {shown:?} in\n{}",
                    email.text
                );
                if !shown.contains("://") {
                    let words = collapse(&shown.trim_start_matches("> ").replace(": ", " "));
                    assert!(html.contains(&words), "{template:?} {locale}: {words:?} in\n{html}");
                }
            }
            if template == EmailTemplate::ShippingConfirmation {
                assert!(email.html.contains("href=\"https://track.example/1Z999AA10123456784\""));
            }
            let greeting = if locale == "zh" {
                "Li Wei，您好："
            } else {
                "Hello Li Wei,"
            };
            assert!(email.text.starts_with(greeting), "{template:?} {locale}");
        }
    }
}

#[tokio::test]
async fn an_unknown_locale_gets_english() {
    let mailroom = mailroom().await;
    let address = new_address();
    mailroom
        .deliver(&request(
            buyer(&address, "Jean"),
            "fr-FR",
            EmailContent::OrderConfirmation(sample_order()),
        ))
        .await;
    assert_eq!(emails_to(&address).await[0].subject, "Your order ord_1001 is confirmed");
}

#[tokio::test]
async fn a_duplicate_request_sends_one_email() {
    let mailroom = mailroom().await;
    let address = new_address();
    let confirmation = request(
        buyer(&address, "Li Wei"),
        "zh",
        EmailContent::OrderConfirmation(sample_order()),
    );

    assert!(mailroom.deliver(&confirmation).await.batch_item_failures.is_empty());
    assert!(
        mailroom.deliver(&confirmation).await.batch_item_failures.is_empty(),
        "a duplicate is done, not failed"
    );
    let emails = emails_to(&address).await;
    assert_eq!(emails.len(), 1);
    let record = mailroom.record(&confirmation.dedupe_key).await.expect("recorded");
    assert_eq!(state_of(&record).0, "sent");
    assert_eq!(record["message_id"].as_s().unwrap(), &emails[0].message_id);
    assert!(
        record
            .values()
            .all(|value| value.as_s().map_or(true, |text| !text.contains(&address))),
        "the record names the recipient by id, not address"
    );
}

#[tokio::test]
async fn two_consumers_racing_for_one_request_send_one_email() {
    let mailroom = mailroom().await;
    for _ in 0..5 {
        let address = new_address();
        let confirmation = request(
            buyer(&address, "Li Wei"),
            "en",
            EmailContent::OrderConfirmation(sample_order()),
        );
        let (first, second) = tokio::join!(
            mailroom.deliver_batch(vec![queued(&confirmation, &unique_id("msg"), 1)]),
            mailroom.deliver_batch(vec![queued(&confirmation, &unique_id("msg"), 1)]),
        );
        if first.batch_item_failures.len() + second.batch_item_failures.len() == 1 {
            // The loser found the winner's lease; its retry finds the email sent.
            assert!(mailroom.deliver(&confirmation).await.batch_item_failures.is_empty());
        }
        assert_eq!(emails_to(&address).await.len(), 1);
    }
    // The lease case a race can land on is proven deterministically below.
}

#[tokio::test]
async fn a_throttled_send_is_retried_by_the_queue_and_sends_once() {
    let mailroom = mailroom_with(Throttled::new).await;
    let address = new_address();
    let confirmation = request(
        buyer(&address, "Li Wei"),
        "en",
        EmailContent::OrderConfirmation(sample_order()),
    );
    let message_id = unique_id("msg");

    mailroom.mailer.fail_next(1);
    let failed = mailroom
        .deliver_batch(vec![queued(&confirmation, &message_id, 1)])
        .await;
    assert_eq!(failed.batch_item_failures.len(), 1, "reported for the queue to retry");
    assert!(emails_to(&address).await.is_empty());
    assert!(
        mailroom.record(&confirmation.dedupe_key).await.is_none(),
        "the failed attempt gave its key back"
    );

    let retried = mailroom
        .deliver_batch(vec![queued(&confirmation, &message_id, 2)])
        .await;
    assert!(retried.batch_item_failures.is_empty());
    assert_eq!(emails_to(&address).await.len(), 1);
    mailroom.deliver(&confirmation).await;
    assert_eq!(emails_to(&address).await.len(), 1, "and only once");
}

#[tokio::test]
async fn script_in_a_product_title_arrives_escaped() {
    let mailroom = mailroom().await;
    let address = new_address();
    let mut order = sample_order();
    order.lines[0].title = Some("<script>alert(1)</script>".into());
    mailroom
        .deliver(&request(
            buyer(&address, "<b>Li</b>"),
            "en",
            EmailContent::OrderConfirmation(order),
        ))
        .await;
    let email = &emails_to(&address).await[0];
    assert!(!email.html.contains("<script>"), "{}", email.html);
    assert!(!email.html.contains("<b>"));
    assert!(
        email
            .html
            .contains("&#60;script&#62;alert(1)&#60;/script&#62; (TEA-POT-1)")
    );
    assert!(email.html.contains("Hello &#60;b&#62;Li&#60;/b&#62;,"));
    assert!(
        email.text.contains("<script>alert(1)</script> (TEA-POT-1)"),
        "plain text needs no escaping"
    );
}

#[tokio::test]
async fn a_line_break_in_a_name_adds_no_header() {
    let mailroom = mailroom().await;
    let address = new_address();
    mailroom
        .deliver(&request(
            buyer(&address, "Mallory\r\nBcc: x@evil.test"),
            "en",
            EmailContent::OrderConfirmation(sample_order()),
        ))
        .await;
    let email = &emails_to(&address).await[0];
    let names: Vec<&str> = email.headers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "From",
            "To",
            "Subject",
            "MIME-Version",
            "Content-Language",
            "Content-Type"
        ]
    );
    assert!(
        email.destinations.iter().all(|d| !d.contains("evil.test")),
        "{:?}",
        email.destinations
    );
    assert!(!email.raw.contains("evil.test"), "only ever inside an encoded word");
    assert_eq!(email.to, format!("Mallory Bcc: x@evil.test <{address}>"));
}

#[tokio::test]
async fn opted_out_buyers_get_transactional_email_but_no_optional_email() {
    let mailroom = mailroom().await;
    let address = new_address();
    let recipient = buyer(&address, "Li Wei");
    let opt = |choice: &str| json!({"buyer_id": recipient.id, "optional_email": choice});

    let (status, body) = mailroom
        .event("buyer.preferences", "2026-11-22T10:00:00Z", opt("opted_out"))
        .await;
    assert_eq!((status, body["superseded"].clone()), (202, json!(false)), "{body}");
    let review = request(recipient.clone(), "en", EmailContent::ReviewRequest(sample_order()));
    let confirmation = request(recipient.clone(), "en", EmailContent::OrderConfirmation(sample_order()));
    mailroom.deliver(&review).await;
    mailroom.deliver(&confirmation).await;
    let subjects: Vec<String> = emails_to(&address).await.into_iter().map(|e| e.subject).collect();
    assert_eq!(subjects, ["Your order ord_1001 is confirmed"]);
    let skipped = mailroom.record(&review.dedupe_key).await.expect("the skip is recorded");
    assert_eq!(state_of(&skipped), ("skipped", "opted_out"));

    // An older event arriving late changes nothing; a newer opt-in does.
    let (status, body) = mailroom
        .event("buyer.preferences", "2026-11-22T09:00:00Z", opt("opted_in"))
        .await;
    assert_eq!((status, body["superseded"].clone()), (202, json!(true)), "{body}");
    let second_review = request(recipient.clone(), "en", EmailContent::ReviewRequest(sample_order()));
    mailroom.deliver(&second_review).await;
    assert_eq!(emails_to(&address).await.len(), 1, "still opted out");
    mailroom
        .event("buyer.preferences", "2026-11-22T11:00:00Z", opt("opted_in"))
        .await;
    let third_review = request(recipient, "en", EmailContent::ReviewRequest(sample_order()));
    mailroom.deliver(&third_review).await;
    assert_eq!(emails_to(&address).await.len(), 2, "opted in again");
}

#[tokio::test]
async fn bad_preferences_are_refused_naming_the_field() {
    let mailroom = mailroom().await;
    let (status, body) = mailroom
        .event(
            "buyer.preferences",
            "2026-11-22T10:00:00Z",
            json!({"buyer_id": "buy_1", "optional_email": "maybe"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "data.optional_email");
    let (status, body) = mailroom
        .event(
            "buyer.preferences",
            "2026-11-22T10:00:00Z",
            json!({"buyer_id": "buy 1!", "optional_email": "opted_out"}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["field"], "data.buyer_id");
}

fn bounce(address: &str, kind: &str) -> serde_json::Value {
    json!({
        "eventType": "Bounce",
        "bounce": {
            "bounceType": kind,
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
            "timestamp": "2026-11-22T10:00:00.000Z",
            "feedbackId": unique_id("feedback")
        },
        "mail": {"timestamp": "2026-11-22T09:59:58.000Z", "messageId": unique_id("ses"), "destination": [address]}
    })
}

#[tokio::test]
async fn bounced_and_complaining_addresses_get_no_email_at_all() {
    let mailroom = mailroom().await;
    let (bounced, soft, complained) = (new_address(), new_address(), new_address());
    assert!(
        mailroom
            .feedback(&bounce(&bounced.to_uppercase(), "Permanent"))
            .await
            .batch_item_failures
            .is_empty()
    );
    assert!(
        mailroom
            .feedback(&bounce(&soft, "Transient"))
            .await
            .batch_item_failures
            .is_empty()
    );
    let complaint = json!({
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": complained}], "feedbackId": unique_id("feedback"), "complaintFeedbackType": "abuse"},
        "mail": {"messageId": unique_id("ses")}
    });
    assert!(mailroom.feedback(&complaint).await.batch_item_failures.is_empty());

    for (address, reason) in [
        (&bounced, Some("hard_bounced")),
        (&soft, None),
        (&complained, Some("complained")),
    ] {
        let confirmation = request(
            buyer(address, "Li Wei"),
            "en",
            EmailContent::OrderConfirmation(sample_order()),
        );
        mailroom.deliver(&confirmation).await;
        let record = mailroom.record(&confirmation.dedupe_key).await.expect("recorded");
        match reason {
            Some(reason) => {
                assert!(emails_to(address).await.is_empty(), "not even a transactional email");
                assert_eq!(state_of(&record), ("skipped", reason));
            }
            None => assert_eq!(
                emails_to(address).await.len(),
                1,
                "a transient bounce suppresses nothing"
            ),
        }
    }
}

#[tokio::test]
async fn a_poison_request_fails_alone() {
    let mailroom = mailroom().await;
    let address = new_address();
    let good = request(
        buyer(&address, "Li Wei"),
        "en",
        EmailContent::OrderConfirmation(sample_order()),
    );
    let mut poison = queued(&good, "poison", 1);
    poison.body = Some(json!({"kind": "email", "template": "no_such_template"}).to_string());
    let response = mailroom
        .deliver_batch(vec![poison, queued(&good, &unique_id("msg"), 1)])
        .await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["poison"]);
    assert_eq!(emails_to(&address).await.len(), 1);
}

/// Writes a `sending` record for `key` as another attempt would have left it.
async fn leased_by_another<M>(mailroom: &backoffice_tests::mail::Mailroom<M>, key: &str, lease_until: i64) {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    mailroom
        .dynamodb
        .put_item()
        .table_name(backoffice_tests::local_aws().table("EmailsTable"))
        .item("dedupe_key", S(key.to_owned()))
        .item("state", S("sending".to_owned()))
        .item("attempt", S("another-attempt".to_owned()))
        .item("lease_until", N(lease_until.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_live_lease_makes_a_second_consumer_wait_and_an_expired_one_is_taken_over() {
    let mailroom = mailroom().await;
    let now = chrono::Utc::now().timestamp();
    let address = new_address();
    let confirmation = request(
        buyer(&address, "Li Wei"),
        "en",
        EmailContent::OrderConfirmation(sample_order()),
    );

    leased_by_another(&mailroom, &confirmation.dedupe_key, now + 60).await;
    let waiting = mailroom.deliver(&confirmation).await;
    assert_eq!(waiting.batch_item_failures.len(), 1, "retried later, not sent");
    assert!(emails_to(&address).await.is_empty());

    // The other attempt died: once its lease has run out, the retry sends.
    leased_by_another(&mailroom, &confirmation.dedupe_key, now - 1).await;
    assert!(mailroom.deliver(&confirmation).await.batch_item_failures.is_empty());
    assert_eq!(emails_to(&address).await.len(), 1);
    let record = mailroom.record(&confirmation.dedupe_key).await.unwrap();
    assert_eq!(state_of(&record).0, "sent");
    assert_ne!(record["attempt"].as_s().unwrap(), "another-attempt");
}

#[tokio::test]
async fn an_attempt_that_lost_its_lease_can_neither_mark_nor_give_back_the_key() {
    use backoffice::domains::email::EmailTemplate;
    use backoffice::domains::email::ledger::{Attempt, Entry};

    let mailroom = mailroom().await;
    let aws = backoffice_tests::local_aws();
    let ledger = aws.aws_for::<buyer_messaging::OnAws>(&aws.sdk_config().await).storage;
    let key = unique_id("test#email");
    let attempt = |id: &str| Attempt {
        dedupe_key: key.clone(),
        attempt_id: id.to_owned(),
        template: EmailTemplate::OrderConfirmation,
        role: RecipientRole::Buyer,
        recipient_id: "buy_1".into(),
        locale: "en".into(),
    };
    let start = chrono::Utc::now();
    assert_eq!(attempt("slow").begin(&ledger, start).await.unwrap(), Entry::Taken);
    assert_eq!(attempt("fast").begin(&ledger, start).await.unwrap(), Entry::InFlight);
    let later = start + chrono::Duration::seconds(61);
    assert_eq!(attempt("fast").begin(&ledger, later).await.unwrap(), Entry::Taken);

    attempt("slow").abandon(&ledger).await.unwrap();
    attempt("slow").sent(&ledger, "ses-slow", later).await.unwrap();
    let record = mailroom.record(&key).await.unwrap();
    assert_eq!(
        (state_of(&record).0, record["attempt"].as_s().unwrap().as_str()),
        ("sending", "fast"),
        "the slow attempt changed nothing"
    );
    attempt("fast").sent(&ledger, "ses-fast", later).await.unwrap();
    assert_eq!(attempt("third").begin(&ledger, later).await.unwrap(), Entry::Sent);
}

/// The crash window the postman documents, closed: SES took the email and the answer was lost
/// (as when the attempt is killed right after the send). SES's `Send` event, tagged with the
/// email's reference, reaches the feedback topic and queue; once recorded, the retry after the
/// lease records the email sent, with SES's id, and sends nothing.
#[tokio::test]
async fn a_send_whose_answer_is_lost_is_not_sent_again_once_ses_reported_it() {
    let mailroom = mailroom_with(Throttled::new).await;
    let address = new_address();
    let confirmation = request(
        buyer(&address, "Li Wei"),
        "en",
        EmailContent::OrderConfirmation(sample_order()),
    );

    mailroom.mailer.lose_next_answer();
    assert_eq!(mailroom.deliver(&confirmation).await.batch_item_failures.len(), 1);
    let taken = emails_to(&address).await;
    assert_eq!(taken.len(), 1, "SES has it");
    let record = mailroom.record(&confirmation.dedupe_key).await.unwrap();
    assert_eq!(state_of(&record).0, "sending", "the lease is kept, not given back");
    assert_eq!(
        mailroom.deliver(&confirmation).await.batch_item_failures.len(),
        1,
        "a quick retry waits out the lease"
    );

    assert!(mailroom.deliver_feedback().await.batch_item_failures.is_empty());
    let lapsed = chrono::Utc::now().timestamp() - 1;
    leased_by_another(&mailroom, &confirmation.dedupe_key, lapsed).await;
    assert!(mailroom.deliver(&confirmation).await.batch_item_failures.is_empty());
    assert_eq!(emails_to(&address).await.len(), 1, "not sent again");
    let record = mailroom.record(&confirmation.dedupe_key).await.unwrap();
    assert_eq!(state_of(&record).0, "sent");
    assert_eq!(record["message_id"].as_s().unwrap(), &taken[0].message_id);
}
