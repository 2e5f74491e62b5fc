//! Buyer questions through the webhook over the in-memory store: what each question was read
//! as, what it led to in the outbox, and the emails those become when the email queue
//! delivers them. Against DynamoDB and SES: `tests/tests/buyer_questions.rs`.

use backoffice::domains::email::compose::compose;
use backoffice::domains::email::letter::Rendered;
use backoffice::domains::orders::records::put_new;
use backoffice::domains::orders::schema::OrderCreatedData;
use backoffice::domains::orders::{OrderStatus, Shipment, StoredOrder, validate as orders};
use backoffice::domains::questions::records::thread_key;
use backoffice::follow_ups::FollowUp;
use backoffice::storage::{MAX_ITEM_BYTES, WriteSet, item_size};
use chrono::Duration;

use super::*;

const SELLER: &str = "sel_teahouse";

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// A sample order, as order intake stores it, in `status`.
fn order(sample_name: &str, status: OrderStatus) -> StoredOrder {
    let data: OrderCreatedData = serde_json::from_value(sample(sample_name)["data"].clone()).unwrap();
    let event = EventContext {
        id: "evt_placed".into(),
        fingerprint: "f".into(),
        at: now() - Duration::days(2),
    };
    let mut order = StoredOrder::accepted(&orders::new_order(data).unwrap(), &event);
    order.status = status;
    if status == OrderStatus::Shipped {
        order.shipped_at = Some(now() - Duration::days(1));
        order.shipment = Some(Shipment {
            carrier: "DHL".into(),
            tracking_number: "JD014600003828".into(),
            tracking_url: Some("https://www.dhl.com/track?id=JD014600003828".into()),
        });
    }
    if status == OrderStatus::Backordered {
        order.expected_by = Some(now() + Duration::days(5));
    }
    order
}

/// The mailroom, with the seller's contact and two orders: Li Wei's `ord_1001` shipped, Emma
/// Clarke's `ord_1002` backordered.
async fn helpdesk() -> Mailroom {
    let mailroom = mailroom();
    let seller =
        json!({"seller_id": SELLER, "name": "Teahouse Lin", "email": "alerts@teahouse.example", "locale": "zh-CN"});
    mailroom
        .store
        .insert(Table::Sellers, seller.as_object().cloned().unwrap());
    let orders = vec![
        put_new(&order("01-order.created", OrderStatus::Shipped)).unwrap(),
        put_new(&order("02-order.created.backordered", OrderStatus::Backordered)).unwrap(),
    ];
    mailroom.store.write(WriteSet::from(orders)).await.unwrap();
    mailroom.store.take_requests();
    mailroom
}

fn question(id: &str, data: Value) -> Value {
    let mut body = json!({
        "message_id": format!("msg_{id}"), "seller_id": SELLER,
        "buyer": {"id": "buy_42", "name": "Li Wei", "email": "li.wei@example.cn", "locale": "zh-CN"},
        "subject": "", "text": "我的订单到哪了", "created_at": now().to_rfc3339()
    });
    for (key, value) in data.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    json!({"id": format!("evt_{id}"), "type": "message.received", "created_at": now().to_rfc3339(), "data": body})
}

fn reply(id: &str, thread_id: &str, data: Value) -> Value {
    let mut body = json!({"message_id": format!("msg_{id}"), "thread_id": thread_id, "seller_id": SELLER});
    for (key, value) in data.as_object().into_iter().flatten() {
        body[key] = value.clone();
    }
    json!({"id": format!("evt_{id}"), "type": "message.replied", "created_at": now().to_rfc3339(), "data": body})
}

impl Mailroom {
    async fn send(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), &event.to_string(), at);
        let response = self.messaging.handle_webhook(&request, at).await;
        (
            response.status_code,
            serde_json::from_str(response.body.as_deref().unwrap()).unwrap(),
        )
    }

    /// Every outbox entry's follow-ups, oldest key first, taken out of the outbox.
    fn outbox_emails(&self) -> Vec<FollowUp> {
        let mut entries = self.store.items(Table::Outbox);
        entries.sort_by(|a, b| text(a, "key").cmp(text(b, "key")));
        for entry in &entries {
            self.store.forget(Table::Outbox, text(entry, "key"));
        }
        entries
            .iter()
            .flat_map(|entry| serde_json::from_str::<Vec<FollowUp>>(text(entry, "follow_ups")).unwrap())
            .collect()
    }

    /// The outbox's emails delivered by the email queue, each sent once, as their reader sees
    /// them: recipient and rendered letter.
    async fn relayed(&self) -> Vec<(String, Rendered)> {
        let follow_ups = self.outbox_emails();
        let bodies: Vec<Value> = follow_ups.iter().map(|f| serde_json::to_value(f).unwrap()).collect();
        assert!(self.deliver(EMAIL_QUEUE, &bodies).await.is_empty());
        assert_eq!(self.mail.take().len(), follow_ups.len(), "each sent once");
        follow_ups
            .iter()
            .map(|follow_up| match follow_up {
                FollowUp::Email(request) => (
                    request.recipient.email.expose().to_owned(),
                    compose(request).render().unwrap(),
                ),
                other => panic!("not an email: {other:?}"),
            })
            .collect()
    }
}

#[tokio::test]
async fn where_is_my_order_is_answered_with_tracking_in_the_buyers_language_in_two_requests() {
    let desk = helpdesk().await;
    let (status, answer) = desk.send(&question("1", json!({"order_id": "ord_1001"})), now()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (
            answer["intent"].as_str(),
            answer["action"].as_str(),
            answer.get("reply_due")
        ),
        (Some("where_is_my_order"), Some("answered_automatically"), None)
    );
    assert_eq!(desk.store.take_requests(), 2, "one read, one transaction");
    let sent = desk.relayed().await;
    assert_eq!(sent.len(), 1);
    let (to, email) = &sent[0];
    assert_eq!(to, "li.wei@example.cn");
    assert_eq!(email.subject, "回复：您的订单 ord_1001 到哪了");
    for shown in ["JD014600003828", "DHL", "已于2026年11月23日发货", "我的订单到哪了"] {
        assert!(email.text.contains(shown), "{shown} in {}", email.text);
    }
    assert!(
        email
            .html
            .contains("href=\"https://www.dhl.com/track?id=JD014600003828\"")
    );
}

#[tokio::test]
async fn a_backordered_order_is_answered_with_its_expected_date_in_english() {
    let desk = helpdesk().await;
    let buyer = json!({"id": "buy_7", "name": "Emma Clarke", "email": "emma.clarke@example.co.uk", "locale": "en-GB"});
    let asked = question(
        "2",
        json!({"order_id": "ord_1002", "buyer": buyer, "text": "Has my order shipped yet?"}),
    );
    let (status, answer) = desk.send(&asked, now()).await;
    assert_eq!(
        (status, answer["action"].as_str()),
        (202, Some("answered_automatically")),
        "{answer}"
    );
    let sent = desk.relayed().await;
    assert!(
        sent[0].1.text.contains("expected to ship by 29 November 2026"),
        "{}",
        sent[0].1.text
    );
}

#[tokio::test]
async fn an_order_of_another_buyer_or_unknown_goes_to_the_seller_with_a_24_hour_clock() {
    let desk = helpdesk().await;
    for (n, order_id) in [("3", "ord_1002"), ("4", "ord_9999")] {
        let (status, answer) = desk.send(&question(n, json!({"order_id": order_id})), now()).await;
        assert_eq!(status, 202, "{answer}");
        assert_eq!(answer["action"], "sent_to_seller", "{order_id}");
        assert_eq!(answer["reply_due"], (now() + Duration::hours(24)).to_rfc3339());
    }
    let sent = desk.relayed().await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(to, _)| to == "alerts@teahouse.example"));
    assert!(
        sent[0].1.text.contains("我的订单到哪了"),
        "the question quoted: {}",
        sent[0].1.text
    );
}

#[tokio::test]
async fn an_order_named_in_the_buyers_words_is_answered_from_that_order_and_another_buyers_reveals_nothing() {
    let desk = helpdesk().await;
    // A second open order of Li Wei's: "where is my order" naming none would have no one order.
    let mut second = order("01-order.created", OrderStatus::Shipped);
    second.order_id = "ord_1005".into();
    desk.store
        .write(WriteSet::from(vec![put_new(&second).unwrap()]))
        .await
        .unwrap();
    desk.store.take_requests();
    let named = question("n1", json!({"text": "我的订单号：ord_1005 到哪了？"}));
    let (status, answer) = desk.send(&named, now()).await;
    assert_eq!(
        (status, answer["action"].as_str()),
        (202, Some("answered_automatically")),
        "{answer}"
    );
    assert_eq!(
        desk.store.take_requests(),
        2,
        "the named order read with the thread: one read, one transaction"
    );
    let sent = desk.relayed().await;
    assert_eq!(sent[0].1.subject, "回复：您的订单 ord_1005 到哪了");

    // Emma's order, named by Li Wei: nothing of it is told; the seller answers.
    let theirs = question(
        "n2",
        json!({"text": "Where is order #ord_1002? And my other one, ord_9999?"}),
    );
    let (status, answer) = desk.send(&theirs, now()).await;
    assert_eq!(
        (status, answer["action"].as_str()),
        (202, Some("sent_to_seller")),
        "{answer}"
    );
    let sent = desk.relayed().await;
    assert!(sent.iter().all(|(to, _)| to == "alerts@teahouse.example"), "{sent:?}");
    assert!(
        sent.iter().all(|(_, email)| !email.text.contains("Emma")),
        "nothing of Emma's order"
    );
}

#[tokio::test]
async fn a_second_question_within_a_day_and_any_other_intent_go_to_the_seller() {
    let desk = helpdesk().await;
    desk.send(&question("5", json!({"order_id": "ord_1001"})), now()).await;
    let again = question("6", json!({"thread_id": "thr_msg_5", "text": "还是没收到，到底在哪"}));
    let (_, answer) = desk.send(&again, now() + Duration::hours(3)).await;
    assert_eq!(
        (answer["intent"].as_str(), answer["action"].as_str()),
        (Some("where_is_my_order"), Some("sent_to_seller"))
    );
    let product = question("7", json!({"text": "Is the teapot dishwasher safe?"}));
    let (_, answer) = desk.send(&product, now()).await;
    assert_eq!(
        (answer["intent"].as_str(), answer["action"].as_str()),
        (Some("product_question"), Some("sent_to_seller"))
    );
}

#[tokio::test]
async fn a_reply_stops_the_clock_and_reaches_the_buyer_once() {
    let desk = helpdesk().await;
    desk.send(&question("8", json!({"text": "Is the teapot dishwasher safe?"})), now())
        .await;
    desk.outbox_emails();
    let answered = reply("9", "thr_msg_8", json!({"text": "Please wash it by hand <gently>."}));
    let at = now() + Duration::hours(5);
    let (status, answer) = desk.send(&answered, at).await;
    assert_eq!(
        (status, answer["thread_state"].as_str()),
        (202, Some("answered")),
        "{answer}"
    );
    assert_eq!(answer["first_response_seconds"], 5 * 3600);
    let (again, _) = desk.send(&answered, at).await;
    assert_eq!(again, 200, "a duplicate");
    let sent = desk.relayed().await;
    assert_eq!(sent.len(), 1);
    let (to, email) = &sent[0];
    assert_eq!(to, "li.wei@example.cn");
    assert!(email.text.contains("Please wash it by hand <gently>."));
    assert!(!email.html.contains("<gently>"), "escaped");
    let thread = desk.store.item(Table::Threads, &thread_key("thr_msg_8")).unwrap();
    assert!(!thread.contains_key("clock_open"), "off the clock's index");
}

/// A conversation is kept while its seller owes an answer, and two years after it went
/// quiet: the table's TTL takes the head and each message then.
#[tokio::test]
async fn a_quiet_thread_and_its_messages_expire_two_years_after_their_last_words() {
    use backoffice::domains::questions::records::{RETENTION_DAYS, message_key};
    let desk = helpdesk().await;
    desk.send(&question("10", json!({"text": "Is the lid glass?"})), now())
        .await;
    let waiting = desk.store.item(Table::Threads, &thread_key("thr_msg_10")).unwrap();
    assert!(
        !waiting.contains_key("expires_at"),
        "kept while the seller owes an answer"
    );
    let at = now() + Duration::hours(3);
    let (status, _) = desk
        .send(&reply("11", "thr_msg_10", json!({"text": "Yes, tempered glass."})), at)
        .await;
    assert_eq!(status, 202);
    let expiry = |at: DateTime<Utc>| Value::from((at + Duration::days(RETENTION_DAYS)).timestamp());
    let head = desk.store.item(Table::Threads, &thread_key("thr_msg_10")).unwrap();
    assert_eq!(head["expires_at"], expiry(at));
    let asked = desk
        .store
        .item(Table::Threads, &message_key("thr_msg_10", "msg_10"))
        .unwrap();
    assert_eq!(asked["expires_at"], expiry(now()));
    let answered = desk
        .store
        .item(Table::Threads, &message_key("thr_msg_10", "msg_11"))
        .unwrap();
    assert_eq!(answered["expires_at"], expiry(at));
}

#[tokio::test]
async fn a_reply_taking_the_buyer_off_platform_is_refused_and_changes_nothing() {
    let desk = helpdesk().await;
    desk.send(
        &question(
            "10",
            json!({"order_id": "ord_1002", "text": "Can I pay by bank transfer?"}),
        ),
        now(),
    )
    .await;
    desk.outbox_emails();
    let before = desk.store.item(Table::Threads, &thread_key("thr_msg_10")).unwrap();
    for (n, text, what) in [
        ("11", "Write to me at lin@teahouse.example", "an email address"),
        ("12", "加我微信 138 0013 8000", "a phone number"),
        ("13", "Cheaper at https://teahouse-lin.example.com", "a link"),
    ] {
        let (status, answer) = desk.send(&reply(n, "thr_msg_10", json!({"text": text})), now()).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("prohibited_content")),
            "{answer}"
        );
        assert!(answer["error"]["message"].as_str().unwrap().contains(what));
    }
    assert_eq!(
        desk.store.item(Table::Threads, &thread_key("thr_msg_10")).unwrap(),
        before
    );
    assert!(desk.outbox_emails().is_empty());
}

#[tokio::test]
async fn no_response_needed_stops_the_clock_without_an_email() {
    let desk = helpdesk().await;
    desk.send(&question("14", json!({"text": "谢谢老板，东西很好"})), now())
        .await;
    desk.outbox_emails();
    let (status, answer) = desk
        .send(
            &reply("15", "thr_msg_14", json!({"no_response_needed": true})),
            now() + Duration::hours(1),
        )
        .await;
    assert_eq!(
        (status, answer["thread_state"].as_str()),
        (202, Some("no_response_needed")),
        "{answer}"
    );
    assert!(desk.outbox_emails().is_empty());
}

#[tokio::test]
async fn another_sellers_thread_is_not_found() {
    let desk = helpdesk().await;
    desk.send(&question("16", json!({})), now()).await;
    let mut other = reply("17", "thr_msg_16", json!({"text": "Hello"}));
    other["data"]["seller_id"] = json!("sel_other");
    let (status, answer) = desk.send(&other, now()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("thread_not_found"))
    );
}

#[tokio::test]
async fn sixteen_concurrent_deliveries_of_a_question_are_one_202_and_one_email() {
    let desk = helpdesk().await;
    let asked = question("18", json!({"order_id": "ord_1001"}));
    let answers = join_all((0..16).map(|_| desk.send(&asked, now()))).await;
    let mut statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [[200; 15].as_slice(), &[202]].concat(), "{answers:?}");
    assert_eq!(desk.relayed().await.len(), 1);
}

fn schedule() -> Value {
    json!({"version": "0", "id": "sweep", "detail-type": "Scheduled Event", "source": "aws.events",
           "account": "123456789012", "time": now().to_rfc3339(), "region": "us-east-1",
           "resources": ["arn:aws:events:us-east-1:123456789012:rule/ReplyClock"], "detail": {}})
}

/// The seller notices in the outbox: (reminder, overdue) of each question.
fn notices(follow_ups: &[FollowUp]) -> Vec<(bool, bool)> {
    follow_ups
        .iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::Email(email) => match &email.content {
                backoffice::domains::email::EmailContent::SellerDigest(digest) => {
                    digest.questions_due.first().map(|due| (due.reminder, due.overdue))
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_clock_reminds_once_four_hours_before_and_records_the_breach_once() {
    let desk = helpdesk().await;
    desk.send(&question("20", json!({"text": "Do you ship to Hong Kong?"})), now())
        .await;
    desk.outbox_emails();
    let sweep = async |hours: i64, minutes: i64| {
        let at = now() + Duration::hours(hours) + Duration::minutes(minutes);
        desk.messaging.handle(schedule(), at).await.unwrap()
    };
    assert_eq!(sweep(19, 0).await["reminded"], 0, "not yet");
    assert_eq!(sweep(20, 0).await["reminded"], 1);
    assert_eq!(sweep(20, 15).await["reminded"], 0, "once");
    assert_eq!(notices(&desk.outbox_emails()), [(true, false)]);
    let racing = join_all((0..4).map(|_| sweep(24, 0))).await;
    let breached: i64 = racing.iter().map(|swept| swept["breached"].as_i64().unwrap()).sum();
    assert_eq!(breached, 1, "four sweeps racing record it once: {racing:?}");
    assert_eq!(sweep(25, 0).await["threads_due"], 0, "off the index once breached");
    assert_eq!(notices(&desk.outbox_emails()), [(false, true)]);
    let [day, ..] = backoffice::domains::questions::figures::response_figures(&desk.store, SELLER, now().date_naive())
        .await
        .unwrap();
    assert_eq!((day.received, day.sent_to_seller, day.breaches), (1, 1, 1));
}

/// A thread that cannot be read (written by hand, or by a version that is gone) sorts first
/// among the due ones: it fails alone, and the sweep reminds the thread behind it.
#[tokio::test]
async fn a_thread_the_sweep_cannot_read_fails_alone() {
    let desk = helpdesk().await;
    desk.send(&question("41", json!({"text": "Do you ship to Hong Kong?"})), now())
        .await;
    let broken =
        json!({"pk": "thread#thr_broken", "clock_open": "open", "clock_next": "2000-01-01T00:00:00.000Z#thr_broken"});
    desk.store.insert(Table::Threads, broken.as_object().cloned().unwrap());
    let swept = desk
        .messaging
        .handle(schedule(), now() + Duration::hours(20))
        .await
        .unwrap();
    assert_eq!(
        (swept["reminded"].as_i64(), swept["failed"].as_i64()),
        (Some(1), Some(1)),
        "{swept}"
    );
}

#[tokio::test]
async fn a_late_order_gets_one_delay_notice_and_its_seller_one_alert() {
    let desk = helpdesk().await;
    // Emma Clarke's backordered order was due to ship by 25 November, 18:00; the shipped one
    // (Li Wei's) is not late, whatever its date.
    let late = "2026-11-26T09:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let racing = join_all((0..3).map(|_| desk.messaging.handle(schedule(), late))).await;
    let announced: i64 = racing
        .iter()
        .map(|swept| swept.as_ref().unwrap()["late_orders"].as_i64().unwrap())
        .sum();
    assert_eq!(announced, 1, "{racing:?}");
    assert_eq!(desk.messaging.handle(schedule(), late).await.unwrap()["late_orders"], 0);
    let sent = desk.relayed().await;
    let mut recipients: Vec<&str> = sent.iter().map(|(to, _)| to.as_str()).collect();
    recipients.sort();
    assert_eq!(recipients, ["alerts@teahouse.example", "emma.clarke@example.co.uk"]);
    let alert = sent.iter().find(|(to, _)| to == "alerts@teahouse.example").unwrap();
    assert!(alert.1.text.contains("ord_1002"), "{}", alert.1.text);
    // The mark that keeps it once goes 30 days after the ship-by, when no sweep looks back.
    let mark = desk
        .store
        .item(
            Table::Threads,
            &backoffice::domains::questions::sweep::late_key("ord_1002"),
        )
        .unwrap();
    let ship_by: DateTime<Utc> = "2026-11-25T18:00:00Z".parse().unwrap();
    assert_eq!(
        mark["expires_at"],
        Value::from((ship_by + Duration::days(30)).timestamp())
    );
}

/// 250 more orders late on one day than one sweep looks at: each sweep announces a page of
/// them and leaves a cursor, so none waits behind the announced ones, which stay in the index
/// until they ship; one late after the cursor is found by the next sweep.
#[tokio::test]
async fn late_orders_are_announced_a_page_per_sweep_from_where_the_last_ended() {
    let desk = helpdesk().await;
    let first_due: DateTime<Utc> = "2026-11-25T08:00:00Z".parse().unwrap();
    let late_order = |n: i64, ship_by: DateTime<Utc>| {
        let mut order = order("02-order.created.backordered", OrderStatus::Backordered);
        order.order_id = format!("ord_late_{n:03}");
        order.ship_by = ship_by;
        put_new(&order).unwrap()
    };
    let orders: Vec<_> = (0..250)
        .map(|n| late_order(n, first_due + Duration::minutes(n)))
        .collect();
    for chunk in orders.chunks(50) {
        desk.store.write(WriteSet::from(chunk.to_vec())).await.unwrap();
    }
    let sweep = async |at: DateTime<Utc>| desk.messaging.handle(schedule(), at).await.unwrap();
    let at = "2026-11-26T09:00:00Z".parse::<DateTime<Utc>>().unwrap();
    let mut announced = Vec::new();
    for minutes in 0..4 {
        let swept = sweep(at + Duration::minutes(15 * minutes)).await;
        announced.push((
            swept["late_orders"].as_i64().unwrap(),
            swept["more_late_orders"] == true,
        ));
    }
    // Emma Clarke's ord_1002 (due 18:00) is among the 251.
    assert_eq!(announced, [(100, true), (100, true), (51, false), (0, false)]);
    desk.store
        .write(WriteSet::from(vec![late_order(999, at + Duration::hours(2))]))
        .await
        .unwrap();
    assert_eq!(
        sweep(at + Duration::hours(3)).await["late_orders"],
        1,
        "the one late since"
    );
    let marks = desk
        .store
        .items(Table::Threads)
        .iter()
        .filter(|item| text(item, "pk").starts_with("late#"))
        .count();
    assert_eq!(marks, 252, "each announced once");
}

#[tokio::test]
async fn where_is_my_order_naming_none_is_about_the_buyers_only_open_order() {
    let desk = helpdesk().await;
    let (status, answer) = desk
        .send(&question("30", json!({"text": "还没收到货，麻烦查一下"})), now())
        .await;
    assert_eq!(
        (status, answer["action"].as_str()),
        (202, Some("answered_automatically")),
        "{answer}"
    );
    assert_eq!(
        desk.store.take_requests(),
        3,
        "the read, the buyer's open orders, the transaction"
    );
    let sent = desk.relayed().await;
    assert!(
        sent[0].1.text.contains("JD014600003828"),
        "Li Wei's shipped order: {}",
        sent[0].1.text
    );
    let thread = desk.store.item(Table::Threads, &thread_key("thr_msg_30")).unwrap();
    assert_eq!(
        text(&thread, "order_id"),
        "ord_1001",
        "the thread is about it from now on"
    );
}

#[tokio::test]
async fn a_reused_event_id_with_another_body_is_409_even_when_the_words_are_the_same() {
    let desk = helpdesk().await;
    let asked = question("21", json!({"order_id": "ord_1001"}));
    assert_eq!(desk.send(&asked, now()).await.0, 202);
    let mut reused = asked.clone();
    reused["created_at"] = json!((now() - Duration::minutes(3)).to_rfc3339());
    let (status, answer) = desk.send(&reused, now()).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (409, Some("event_id_reused")),
        "{answer}"
    );
    // The same message resent by the marketplace under a new event is still a duplicate of it.
    let mut resent = reused.clone();
    resent["id"] = json!("evt_21_resent");
    let (status, answer) = desk.send(&resent, now()).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("duplicate")),
        "{answer}"
    );
    assert_eq!(desk.send(&resent, now()).await.0, 200, "and so is its own retry");
    assert_eq!(desk.relayed().await.len(), 1, "one answer, sent once");
}

#[tokio::test]
async fn a_message_id_reused_in_another_thread_is_its_own_email() {
    let desk = helpdesk().await;
    let asking = |event: &str, message: &str, thread: Option<&str>| {
        let mut event = question(
            event,
            json!({"message_id": message, "text": "Is the teapot dishwasher safe?"}),
        );
        if let Some(thread) = thread {
            event["data"]["thread_id"] = json!(thread);
        }
        event
    };
    assert_eq!(desk.send(&asking("31", "msg_1", None), now()).await.0, 202);
    assert_eq!(
        desk.relayed().await.len(),
        1,
        "the seller hears of thread one's question"
    );
    assert_eq!(desk.send(&asking("32", "msg_2", None), now()).await.0, 202);
    // Thread two's next message reuses thread one's id, as the contract allows.
    let (status, answer) = desk.send(&asking("33", "msg_1", Some("thr_msg_2")), now()).await;
    assert_eq!(
        (status, answer["thread_id"].as_str()),
        (202, Some("thr_msg_2")),
        "{answer}"
    );
    let sent = desk.relayed().await;
    assert_eq!(sent.len(), 2, "thread two's questions, each its own email");
}

#[tokio::test]
async fn text_that_sqs_would_refuse_is_refused_at_the_edge() {
    let desk = helpdesk().await;
    for (n, text) in [("41", "where is my order\u{FFFF}"), ("42", "订单\u{FFFE}到哪了")] {
        let (status, answer) = desk.send(&question(n, json!({"text": text})), now()).await;
        assert_eq!(
            (status, answer["error"]["field"].as_str()),
            (400, Some("data.text")),
            "{answer}"
        );
    }
    assert!(desk.outbox_emails().is_empty(), "nothing stored");
}

#[tokio::test]
async fn the_clock_looks_at_a_bounded_page_of_threads_and_the_next_sweep_the_rest() {
    use backoffice::domains::questions::sweep::THREADS_PER_SWEEP;
    let desk = helpdesk().await;
    let waiting = THREADS_PER_SWEEP + 5;
    for n in 0..waiting {
        let mut event = question(
            &format!("page{n}"),
            json!({"text": "Do you ship to Hong Kong?", "thread_id": format!("thr_page_{n}")}),
        );
        event["data"]["buyer"]["id"] = json!(format!("buy_page_{n}"));
        let (status, answer) = desk.send(&event, now()).await;
        assert_eq!(status, 202, "{answer}");
    }
    desk.outbox_emails();
    // Before, one sweep read every due thread, however many, within one invocation.
    let at = now() + Duration::hours(20);
    let first = desk.messaging.handle(schedule(), at).await.unwrap();
    assert_eq!(
        (first["reminded"].as_u64(), first["more_threads_due"].as_bool()),
        (Some(THREADS_PER_SWEEP as u64), Some(true)),
        "{first}"
    );
    let next = desk
        .messaging
        .handle(schedule(), at + Duration::minutes(15))
        .await
        .unwrap();
    assert_eq!(
        (next["reminded"].as_u64(), next["more_threads_due"].as_bool()),
        (Some(5), Some(false)),
        "{next}"
    );
    assert_eq!(notices(&desk.outbox_emails()).len(), waiting, "each reminded once");
}

/// A conversation longer than one item could hold (60 messages of about 14 KB) goes on: each
/// message is its own item, the thread's head keeps one message's words, and the last reply
/// quotes the buyer's latest question.
#[tokio::test]
async fn a_conversation_past_400_kb_goes_on_and_its_thread_stays_small() {
    let desk = helpdesk().await;
    let asked = |round: usize| format!("第{round}次问：{}", "我的包裹什么时候能到？".repeat(440));
    let answered = "请再耐心等待一下，我们正在安排发货，谢谢您的理解。".repeat(190);
    let mut at = now();
    let (status, first) = desk.send(&question("c0", json!({"text": asked(0)})), at).await;
    assert_eq!(status, 202, "{first}");
    let thread_id = first["thread_id"].as_str().unwrap().to_owned();
    for round in 1..=30 {
        at += Duration::hours(1);
        let reply = reply(&format!("r{round}"), &thread_id, json!({"text": answered}));
        let (status, answer) = desk.send(&reply, at).await;
        assert_eq!(status, 202, "reply {round}: {answer}");
        let follow_up = question(
            &format!("c{round}"),
            json!({"thread_id": thread_id, "text": asked(round)}),
        );
        let (status, answer) = desk.send(&follow_up, at + Duration::minutes(5)).await;
        assert_eq!(status, 202, "question {round}: {answer}");
    }
    let threads = desk.store.items(Table::Threads);
    let written: usize = threads.iter().map(item_size).sum();
    assert!(
        written > MAX_ITEM_BYTES,
        "the conversation is past one item: {written} bytes"
    );
    let head = desk.store.item(Table::Threads, &thread_key(&thread_id)).unwrap();
    assert!(item_size(&head) < 32 * 1024, "the head: {} bytes", item_size(&head));
    assert_eq!(threads.len(), 1 + 61, "the head and each message");
    desk.outbox_emails();
    let last = reply("r31", &thread_id, json!({"text": "已发货。"}));
    assert_eq!(desk.send(&last, at + Duration::hours(1)).await.0, 202);
    let sent = desk.relayed().await;
    assert!(sent[0].1.text.contains("第30次问"), "the latest question quoted");
}
