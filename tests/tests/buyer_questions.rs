//! Buyer questions against the local AWS: questions and replies through the webhook handler,
//! threads in DynamoDB, their emails through the outbox, the email queue's handler and SES.

use backoffice::domains::email::EmailContent;
use backoffice_tests::mail::emails_to;
use backoffice_tests::questions::help_desk;
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

#[tokio::test]
async fn where_is_my_order_is_answered_from_the_order_for_shipped_backordered_and_unshipped_orders() {
    let desk = help_desk().await;
    let shipped = desk.order("zh-CN", 10, true).await;
    let asked = desk.question(json!({"order_id": shipped}));
    let (status, answer) = desk.send(&asked).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (answer["intent"].as_str(), answer["action"].as_str()),
        (Some("where_is_my_order"), Some("answered_automatically"))
    );
    desk.relay(asked["data"]["message_id"].as_str().unwrap(), 1).await;
    let sent = emails_to(&desk.buyer_email).await;
    let reply = sent
        .iter()
        .find(|email| email.subject.contains("到哪了"))
        .expect("the answer");
    for shown in ["DHL", "JD014600003828", "发货", "我的订单到哪了"] {
        assert!(reply.text.contains(shown), "{shown} in {}", reply.text);
    }
    assert!(
        reply
            .html
            .contains("href=\"https://www.dhl.com/track?id=JD014600003828\"")
    );

    let backordered = desk.order("en", 0, false).await;
    let asked = desk.question(json!({"order_id": backordered, "text": "Has my order shipped yet?",
        "buyer": {"id": "buy_1", "name": "Li Wei", "email": desk.buyer_email, "locale": "en"}}));
    let (_, answer) = desk.send(&asked).await;
    assert_eq!(answer["action"], "answered_automatically", "{answer}");
    let email = &desk.emails_of(asked["data"]["message_id"].as_str().unwrap()).await[0];
    let EmailContent::OrderStatusReply(status) = &email.content else {
        panic!("{email:?}")
    };
    assert_eq!(
        (status.status.as_str(), status.order.expected_by.is_some()),
        ("backordered", true)
    );

    let waiting = desk.order("en", 10, false).await;
    let asked = desk.question(json!({"order_id": waiting, "text": "when will it ship?"}));
    let (_, answer) = desk.send(&asked).await;
    assert_eq!(answer["action"], "answered_automatically", "{answer}");
    let email = &desk.emails_of(asked["data"]["message_id"].as_str().unwrap()).await[0];
    let EmailContent::OrderStatusReply(status) = &email.content else {
        panic!("{email:?}")
    };
    assert_eq!(status.status, "accepted", "told its ship-by date");

    // Naming no order, with three open: which one is a question for the seller.
    let (_, answer) = desk.send(&desk.question(json!({"text": "where is my order?"}))).await;
    assert_eq!(answer["action"], "sent_to_seller", "{answer}");
}

#[tokio::test]
async fn where_is_my_order_naming_none_is_answered_from_the_buyers_only_open_order() {
    let desk = help_desk().await;
    let order = desk.order("en", 10, true).await;
    let (_, answer) = desk
        .send(&desk.question(json!({"text": "tracking hasn't updated in days"})))
        .await;
    assert_eq!(answer["action"], "answered_automatically", "{answer}");
    let thread = desk.thread(answer["thread_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(thread["order_id"].as_s().unwrap(), &order);
}

#[tokio::test]
async fn an_order_named_in_the_question_is_answered_from_it_and_another_buyers_is_not() {
    let desk = help_desk().await;
    desk.order("en", 10, true).await;
    let second = desk.order("en", 10, true).await;
    let asked = desk.question(json!({"text": format!("where is my order #{second}? no tracking since Monday")}));
    let (_, answer) = desk.send(&asked).await;
    assert_eq!(answer["action"], "answered_automatically", "{answer}");
    let thread = desk.thread(answer["thread_id"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        thread["order_id"].as_s().unwrap(),
        &second,
        "the order the buyer named, of two open"
    );
    // Another buyer naming it in words learns nothing of it.
    let stranger = json!({"id": "buy_2", "name": "Emma", "email": "emma@example.co.uk", "locale": "en"});
    let theirs = desk.question(json!({"buyer": stranger, "text": format!("订单号：{second} 到哪了")}));
    let (_, answer) = desk.send(&theirs).await;
    assert_eq!(answer["action"], "sent_to_seller", "{answer}");
    let thread = desk.thread(answer["thread_id"].as_str().unwrap()).await.unwrap();
    assert!(!thread.contains_key("order_id"), "the thread is about no order of hers");
}

#[tokio::test]
async fn a_question_about_another_buyers_or_an_unknown_order_goes_to_the_seller() {
    let desk = help_desk().await;
    let order = desk.order("zh-CN", 10, true).await;
    let stranger = json!({"id": "buy_2", "name": "Emma", "email": "emma@example.co.uk", "locale": "en"});
    for order_id in [order.as_str(), "ord_unknown"] {
        let asked = desk.question(json!({"order_id": order_id, "buyer": stranger, "text": "Where is my order??"}));
        let (status, answer) = desk.send(&asked).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["action"], "sent_to_seller", "{order_id}");
        let due: chrono::DateTime<Utc> = answer["reply_due"].as_str().unwrap().parse().unwrap();
        assert!((due - Utc::now() - Duration::hours(24)).num_seconds().abs() < 60);
        let notice = &desk.emails_of(asked["data"]["message_id"].as_str().unwrap()).await[0];
        let EmailContent::SellerDigest(digest) = &notice.content else {
            panic!("{notice:?}")
        };
        assert_eq!(digest.questions_due[0].excerpt, "Where is my order??");
    }
}

#[tokio::test]
async fn a_reply_stops_the_clock_and_reaches_the_buyer_once() {
    let desk = help_desk().await;
    let asked = desk.question(json!({"text": "Is the teapot dishwasher safe? <b>thanks</b>"}));
    let (_, answer) = desk.send(&asked).await;
    let thread_id = answer["thread_id"].as_str().unwrap().to_owned();
    assert!(desk.thread(&thread_id).await.unwrap().contains_key("clock_open"));
    let reply = desk.reply(&thread_id, json!({"text": "Please wash it by hand."}));
    let at = Utc::now() + Duration::hours(2);
    let (status, answer) = desk.send_at(&reply, at).await;
    assert_eq!(
        (status, answer["thread_state"].as_str()),
        (202, Some("answered")),
        "{answer}"
    );
    assert!(answer["first_response_seconds"].as_i64().unwrap() >= 7199);
    assert_eq!(desk.send_at(&reply, at).await.0, 200, "a duplicate");
    let thread = desk.thread(&thread_id).await.unwrap();
    assert!(!thread.contains_key("clock_open"), "off the clock");
    desk.relay(reply["data"]["message_id"].as_str().unwrap(), 2).await;
    let sent = emails_to(&desk.buyer_email).await;
    assert_eq!(sent.len(), 1, "once, though delivered twice");
    assert!(sent[0].text.contains("Please wash it by hand."));
    assert!(
        sent[0].html.contains("&#60;b&#62;thanks&#60;/b&#62;"),
        "the question escaped: {}",
        sent[0].html
    );
}

#[tokio::test]
async fn no_response_needed_and_a_prohibited_reply() {
    let desk = help_desk().await;
    let (_, answer) = desk.send(&desk.question(json!({"text": "谢谢老板，东西很好"}))).await;
    let thread_id = answer["thread_id"].as_str().unwrap().to_owned();
    // Its messages and state: the clock's sweep of another test may remind it meanwhile.
    let before = (
        desk.message_ids(&thread_id).await,
        desk.thread(&thread_id).await.unwrap()["state"].clone(),
    );
    for text in [
        "Call me on 138 0013 8000",
        "Mail lin@teahouse.example",
        "Cheaper on www.teahouse-lin.cn",
    ] {
        let reply = desk.reply(&thread_id, json!({"text": text}));
        let (status, answer) = desk.send(&reply).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("prohibited_content")),
            "{text}: {answer}"
        );
        assert!(
            desk.emails_of(reply["data"]["message_id"].as_str().unwrap())
                .await
                .is_empty()
        );
    }
    let after = (
        desk.message_ids(&thread_id).await,
        desk.thread(&thread_id).await.unwrap()["state"].clone(),
    );
    assert_eq!(after, before, "nothing changed");
    let (status, answer) = desk
        .send(&desk.reply(&thread_id, json!({"no_response_needed": true})))
        .await;
    assert_eq!(
        (status, answer["thread_state"].as_str()),
        (202, Some("no_response_needed")),
        "{answer}"
    );
    assert!(!desk.thread(&thread_id).await.unwrap().contains_key("clock_open"));
}

#[tokio::test]
async fn a_duplicate_and_sixteen_racing_duplicates_have_one_effect() {
    let desk = help_desk().await;
    let order = desk.order("zh-CN", 10, true).await;
    let asked = desk.question(json!({"order_id": order}));
    let answers = join_all((0..16).map(|_| desk.send(&asked))).await;
    let mut statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [[200; 15].as_slice(), &[202]].concat(), "{answers:?}");
    let message_id = asked["data"]["message_id"].as_str().unwrap();
    assert_eq!(desk.emails_of(message_id).await.len(), 1);
    let mut again = asked.clone();
    again["id"] = json!(backoffice_tests::unique_id("evt"));
    assert_eq!(desk.send(&again).await.0, 200, "the same message under another event");
    again["data"]["text"] = json!("another text under the same message id");
    again["id"] = json!(backoffice_tests::unique_id("evt"));
    let (status, answer) = desk.send(&again).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("message_exists")),
        "{answer}"
    );
}

/// A valid message's field, spoiled: (what, field path, value or `None` to remove it, code).
fn hostile() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    let long = "x".repeat(5_001);
    vec![
        ("no message id", "message_id", None, "missing_field"),
        (
            "message id with a space",
            "message_id",
            Some(json!("msg 1")),
            "invalid_identifier",
        ),
        (
            "message id too long",
            "message_id",
            Some(json!("m".repeat(65))),
            "invalid_identifier",
        ),
        ("message id a number", "message_id", Some(json!(7)), "invalid_field"),
        (
            "thread id with a slash",
            "thread_id",
            Some(json!("thr/1")),
            "invalid_identifier",
        ),
        ("thread id empty", "thread_id", Some(json!("")), "invalid_identifier"),
        ("no buyer", "buyer", None, "missing_field"),
        ("buyer a string", "buyer", Some(json!("buy_1")), "invalid_field"),
        (
            "buyer without email",
            "buyer",
            Some(json!({"id": "buy_1", "name": "Li", "locale": "zh"})),
            "missing_field",
        ),
        (
            "buyer email invalid",
            "buyer",
            Some(json!({"id": "buy_1", "name": "Li", "email": "li@", "locale": "zh"})),
            "invalid_email",
        ),
        (
            "buyer email with CRLF",
            "buyer",
            Some(json!({"id": "buy_1", "name": "Li", "email": "li@x.cn\r\nBcc: a@b.c", "locale": "zh"})),
            "invalid_email",
        ),
        (
            "buyer name with markup",
            "buyer",
            Some(json!({"id": "buy_1", "name": "<b>Li</b>", "email": "li@x.cn", "locale": "zh"})),
            "invalid_text",
        ),
        (
            "buyer name empty",
            "buyer",
            Some(json!({"id": "buy_1", "name": " ", "email": "li@x.cn", "locale": "zh"})),
            "invalid_text",
        ),
        (
            "buyer locale invalid",
            "buyer",
            Some(json!({"id": "buy_1", "name": "Li", "email": "li@x.cn", "locale": "chinese!"})),
            "invalid_locale",
        ),
        (
            "buyer id invalid",
            "buyer",
            Some(json!({"id": "buy 1", "name": "Li", "email": "li@x.cn", "locale": "zh"})),
            "invalid_identifier",
        ),
        (
            "buyer id too long",
            "buyer",
            Some(json!({"id": "b".repeat(65), "name": "Li", "email": "li@x.cn", "locale": "zh"})),
            "invalid_identifier",
        ),
        ("no seller", "seller_id", None, "missing_field"),
        (
            "seller id invalid",
            "seller_id",
            Some(json!("sel#1")),
            "invalid_identifier",
        ),
        ("seller id null", "seller_id", Some(Value::Null), "invalid_field"),
        (
            "order id invalid",
            "order_id",
            Some(json!("ord 1")),
            "invalid_identifier",
        ),
        (
            "order id an object",
            "order_id",
            Some(json!({"id": 1})),
            "invalid_field",
        ),
        (
            "subject too long",
            "subject",
            Some(json!("s".repeat(201))),
            "invalid_text",
        ),
        (
            "subject with a line break",
            "subject",
            Some(json!("a\nb")),
            "invalid_text",
        ),
        ("subject a number", "subject", Some(json!(12)), "invalid_field"),
        ("no text", "text", None, "missing_field"),
        ("empty text", "text", Some(json!("   ")), "empty_text"),
        ("text too long", "text", Some(json!(long)), "invalid_text"),
        (
            "text with a NUL",
            "text",
            Some(json!("hello\u{0}world")),
            "invalid_text",
        ),
        (
            "text with an escape",
            "text",
            Some(json!("hello\u{1b}[31m")),
            "invalid_text",
        ),
        ("text an array", "text", Some(json!(["hi"])), "invalid_field"),
        ("no created_at", "created_at", None, "missing_field"),
        (
            "created_at not a date",
            "created_at",
            Some(json!("yesterday")),
            "invalid_timestamp",
        ),
        (
            "created_at a number",
            "created_at",
            Some(json!(1700000000)),
            "invalid_field",
        ),
        ("an unknown field", "priority", Some(json!("urgent")), "invalid_field"),
    ]
}

/// A valid reply's field, spoiled.
fn hostile_replies() -> Vec<(&'static str, &'static str, Option<Value>, &'static str)> {
    vec![
        ("reply without thread", "thread_id", None, "missing_field"),
        (
            "reply thread invalid",
            "thread_id",
            Some(json!("thr 1")),
            "invalid_identifier",
        ),
        ("reply without text or flag", "text", None, "text_or_no_response"),
        (
            "reply with text and the flag",
            "no_response_needed",
            Some(json!(true)),
            "text_or_no_response",
        ),
        ("reply text empty", "text", Some(json!("")), "empty_text"),
        (
            "reply text too long",
            "text",
            Some(json!("y".repeat(5_001))),
            "invalid_text",
        ),
        (
            "reply flag a string",
            "no_response_needed",
            Some(json!("yes")),
            "invalid_field",
        ),
        (
            "reply message id invalid",
            "message_id",
            Some(json!("msg\n1")),
            "invalid_identifier",
        ),
        (
            "reply of another seller",
            "seller_id",
            Some(json!("sel_other")),
            "thread_not_found",
        ),
        (
            "reply to an unknown thread",
            "thread_id",
            Some(json!("thr_unknown")),
            "thread_not_found",
        ),
        (
            "reply with an unknown field",
            "cc",
            Some(json!("boss@example.com")),
            "invalid_field",
        ),
    ]
}

fn spoil(event: &mut Value, field: &str, value: &Option<Value>) {
    let data = event["data"].as_object_mut().unwrap();
    match value {
        Some(value) => data.insert(field.to_owned(), value.clone()),
        None => data.remove(field),
    };
}

#[tokio::test]
async fn hostile_messages_are_refused_with_their_code_and_nothing_is_stored() {
    let desk = help_desk().await;
    let (_, answer) = desk
        .send(&desk.question(json!({"text": "Is it dishwasher safe?"})))
        .await;
    let thread_id = answer["thread_id"].as_str().unwrap().to_owned();
    // Its messages and state: the clock's sweep of another test may remind it meanwhile.
    let before = (
        desk.message_ids(&thread_id).await,
        desk.thread(&thread_id).await.unwrap()["state"].clone(),
    );
    let mut refused = 0;
    for (what, field, value, code) in hostile() {
        let mut event = desk.question(json!({}));
        spoil(&mut event, field, &value);
        let (status, answer) = desk.send(&event).await;
        assert!((400..500).contains(&status), "{what}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        let message_id = event["data"]["message_id"].as_str().unwrap_or_default();
        if !message_id.is_empty() {
            assert!(
                desk.thread(&format!("thr_{message_id}")).await.is_none(),
                "{what}: no thread stored"
            );
            assert!(desk.emails_of(message_id).await.is_empty(), "{what}: nothing sent");
        }
        refused += 1;
    }
    for (what, field, value, code) in hostile_replies() {
        let mut event = desk.reply(&thread_id, json!({"text": "Yes, it is."}));
        spoil(&mut event, field, &value);
        let (status, answer) = desk.send(&event).await;
        assert!((400..500).contains(&status), "{what}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        refused += 1;
    }
    let after = (
        desk.message_ids(&thread_id).await,
        desk.thread(&thread_id).await.unwrap()["state"].clone(),
    );
    assert_eq!(after, before, "the thread untouched");
    assert!(refused >= 40, "{refused} hostile payloads");
}

fn schedule(at: chrono::DateTime<Utc>) -> Value {
    local_cloud::schedule::scheduled_event("ReplyClock", at)
}

#[tokio::test]
async fn the_clock_reminds_and_records_the_breach_once_each_with_the_clock_moved_by_the_test() {
    use backoffice::mechanisms::lambda::Handler;
    let desk = help_desk().await;
    let asked = desk.question(json!({"text": "Do you ship to Hong Kong?"}));
    let (_, answer) = desk.send(&asked).await;
    let (message_id, thread_id) = (
        asked["data"]["message_id"].as_str().unwrap(),
        answer["thread_id"].as_str().unwrap(),
    );
    let sweep = async |hours: i64| {
        let at = Utc::now() + Duration::hours(hours) + Duration::minutes(1);
        desk.mailroom.messaging.handle(schedule(at), at).await.unwrap()
    };
    let clock = async || {
        let thread = desk.thread(thread_id).await.unwrap();
        let clock: Value = serde_json::to_value(backoffice::adapters::dynamodb::item_of(thread)).unwrap();
        (
            clock["clock"]["reminded"].as_bool(),
            clock["clock"]["breached"].as_bool(),
        )
    };
    sweep(19).await;
    assert_eq!(clock().await, (Some(false), Some(false)), "not yet");
    sweep(20).await;
    sweep(20).await;
    assert_eq!(clock().await, (Some(true), Some(false)));
    join_all((0..3).map(|_| sweep(24))).await;
    sweep(25).await;
    assert_eq!(clock().await, (Some(true), Some(true)));
    let notices = desk.emails_of(message_id).await;
    let kinds: Vec<(bool, bool)> = notices
        .iter()
        .filter_map(|email| match &email.content {
            EmailContent::SellerDigest(digest) => digest.questions_due.first().map(|due| (due.reminder, due.overdue)),
            _ => None,
        })
        .collect();
    assert_eq!(kinds.len(), 3, "asked, reminded, overdue: {kinds:?}");
    let [day, ..] = backoffice::domains::questions::figures::response_figures(
        &backoffice_tests::local_aws()
            .aws_for::<buyer_messaging::OnAws>(&backoffice_tests::local_aws().sdk_config().await)
            .storage,
        desk.seller(),
        Utc::now().date_naive(),
    )
    .await
    .unwrap();
    assert_eq!(
        (day.received, day.breaches),
        (1, 1),
        "the breach counted once though four sweeps saw it"
    );
}

#[tokio::test]
async fn a_late_order_gets_one_delay_notice_and_one_alert_even_when_sweeps_race() {
    use backoffice::mechanisms::lambda::Handler;
    let desk = help_desk().await;
    let late = desk.late_order().await;
    let now = Utc::now();
    join_all((0..3).map(|_| desk.mailroom.messaging.handle(schedule(now), now))).await;
    desk.mailroom.messaging.handle(schedule(now), now).await.unwrap();
    let storage = backoffice_tests::local_aws()
        .aws_for::<buyer_messaging::OnAws>(&backoffice_tests::local_aws().sdk_config().await)
        .storage;
    let [day, ..] =
        backoffice::domains::questions::figures::response_figures(&storage, desk.seller(), now.date_naive())
            .await
            .unwrap();
    assert_eq!(day.late_shipments, 1, "counted once though four sweeps found it");
    let prefix = backoffice::mechanisms::function::Function::BuyerMessaging.key(&["late", &late, ""]);
    let follow_ups = backoffice_tests::outbox_follow_ups(&desk.mailroom.dynamodb, &prefix).await;
    assert_eq!(
        follow_ups.len(),
        2,
        "the buyer's notice and the seller's alert: {follow_ups:?}"
    );
    for follow_up in follow_ups {
        let backoffice::follow_ups::FollowUp::Email(email) = follow_up else {
            panic!()
        };
        assert!(desk.mailroom.deliver(&email).await.batch_item_failures.is_empty());
    }
    let delay = emails_to(&desk.buyer_email).await;
    assert_eq!(delay.len(), 1);
    assert!(delay[0].subject.contains(&late), "{}", delay[0].subject);
    // A later sweep announces nothing again.
    desk.mailroom.messaging.handle(schedule(now), now).await.unwrap();
    assert_eq!(emails_to(&desk.buyer_email).await.len(), 1);
}
