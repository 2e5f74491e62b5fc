//! The whole local stack, as `cargo xtask up` runs it: every function's real binary behind
//! the Lambda Runtime API, reached through its Function URL, its queue and its schedule.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use backoffice::mechanisms::function::Function;
use backoffice_tests::unique_id;
use local_cloud::operations::{dead_letters, outbox, replay_dead_letters, send_event, waiting_in};
use local_cloud::processes::LogSink;
use local_cloud::schedule::scheduled_event;
use local_cloud::stack::{Stack, StackOptions};
use local_cloud::story;
use serde_json::{Value, json};

async fn start_stack() -> (Stack, std::path::PathBuf) {
    backoffice_tests::functions_built();
    let logs = local_cloud::paths::scratch().join("test-logs").join(unique_id("stack"));
    let options = StackOptions {
        logs: LogSink::Files(logs.clone()),
        schedules: false,
        ..StackOptions::default()
    };
    (Stack::start(options).await.expect("the local stack starts"), logs)
}

fn event_of_type(event_type: &str) -> String {
    json!({"id": unique_id("evt"), "type": event_type, "created_at": "2026-11-22T10:00:00Z", "data": {}}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_request_reaches_each_function_through_its_url() {
    let (stack, _) = start_stack().await;
    let state = stack.state();
    // Seller health has no URL: only its schedule runs it.
    for function in Function::ALL {
        let Some(event_type) = function.event_types().next() else {
            continue;
        };
        let (routed_to, reply) = send_event(&state, event_of_type(event_type).as_bytes())
            .await
            .expect("sent");
        assert_eq!(routed_to, function);
        // Past the signature and the envelope, the function itself answers: it reads the
        // (empty) data and names what is missing.
        assert_eq!(
            (reply.status, reply.json()["error"]["code"].clone()),
            (400, json!("missing_field")),
            "{function:?}"
        );
    }

    let mut forged = state.clone();
    forged.webhook_secret = "not-the-secret".to_owned();
    let (_, reply) = send_event(&forged, event_of_type("order.created").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        (reply.status, reply.json()["error"]["code"].clone()),
        (401, json!("signature_invalid"))
    );

    let oversized = json!({"id": unique_id("evt"), "type": "order.created", "created_at": "2026-11-22T10:00:00Z",
        "data": {"note": "x".repeat(300 * 1024)}});
    let (_, reply) = send_event(&state, oversized.to_string().as_bytes()).await.unwrap();
    assert_eq!(reply.status, 413);
}

/// The ids of the messages a function reported as failed, from its JSON log lines.
fn failed_message_ids(logs: &Path, function: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(logs.join(format!("{function}.log"))).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| {
            line["message"].as_str().is_some_and(|message| {
                message.starts_with("message failed") || message.starts_with("message body is malformed")
            })
        })
        .filter_map(|line| line["span"]["message_id"].as_str().map(str::to_owned))
        .collect()
}

/// The sample catalogue's stock, written straight into the stack's inventory table.
async fn stock_the_catalogue(stack: &Stack) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let seeds = local_cloud::seed::load(&local_cloud::paths::events_dir().join("seed/inventory.json")).unwrap();
    local_cloud::seed::seed_stock(&dynamodb, &stack.provisioned.tables["InventoryTable"], &seeds)
        .await
        .unwrap();
}

/// The first sample order, as a new event for order `order_id`.
fn sample_order(order_id: &str) -> Value {
    let mut sample: Value =
        serde_json::from_slice(&std::fs::read(local_cloud::paths::events_dir().join("01-order.created.json")).unwrap())
            .unwrap();
    sample["id"] = json!(unique_id("evt"));
    sample["data"]["order_id"] = json!(order_id);
    sample
}

async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Text of a buyer's in a message that cannot be read: it must not reach the logs.
const BUYERS_WORDS: &str = "Mei Lin, 12 Garden Road";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_message_reaches_its_consumer_lands_in_the_dlq_and_replays() {
    let (stack, logs) = start_stack().await;
    let state = stack.state();
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let email_queue = stack.queue("EmailQueue").expect("template declares EmailQueue").clone();
    let dead_letter_queue = stack.queue("EmailDeadLetterQueue").expect("and its DLQ").clone();

    let sent = sqs
        .send_message()
        .queue_url(&email_queue.url)
        .message_body(
            json!({"kind": BUYERS_WORDS, "template": "order_confirmation", "dedupe_key": unique_id("email")})
                .to_string(),
        )
        .send()
        .await
        .unwrap()
        .message_id
        .unwrap();

    // Not an email request buyer messaging can read, so it fails the message each time SQS
    // delivers it; after maxReceiveCount (5) receives the redrive policy moves it aside.
    eventually("the message is in the DLQ", Duration::from_secs(60), async || {
        waiting_in(&sqs, &dead_letter_queue.url).await == 1
    })
    .await;
    assert!(
        failed_message_ids(&logs, "buyer-messaging-worker").contains(&sent),
        "the consumer saw the message"
    );
    // serde's message quotes what it failed on; the log says only the error's kind and place.
    let logged = std::fs::read_to_string(logs.join("buyer-messaging-worker.log")).unwrap_or_default();
    assert!(logged.contains("message body is malformed"), "{logged}");
    assert!(
        !logged.contains("Garden Road"),
        "the body's text is in the log: {logged}"
    );
    assert_eq!(
        waiting_in(&sqs, &email_queue.url).await,
        0,
        "the poison message blocks nothing"
    );
    let listed = dead_letters(&sqs, &state).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|dead| dead.queue == "EmailDeadLetterQueue" && dead.waiting == 1 && dead.source == "EmailQueue")
    );

    let replayed = replay_dead_letters(&sqs, &state).await.unwrap();
    assert!(
        replayed.contains(&("EmailDeadLetterQueue".to_owned(), 1)),
        "{replayed:?}"
    );
    eventually(
        "the replayed message reaches the consumer again",
        Duration::from_secs(30),
        async || failed_message_ids(&logs, "buyer-messaging-worker").len() == 2,
    )
    .await;
    eventually(
        "it is back in the DLQ, still failing",
        Duration::from_secs(60),
        async || waiting_in(&sqs, &dead_letter_queue.url).await == 1,
    )
    .await;
}

/// The demo's story, end to end: the sample catalogue, orders, a buyer's preferences, a
/// backorder filled by a restock; every follow-up acted on, every email in SES.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sample_events_tell_the_whole_story() {
    let (stack, _) = start_stack().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let state = stack.state();
    let mut files: Vec<_> = std::fs::read_dir(local_cloud::paths::events_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    // Told as of now, so that its trends are this week's whenever the test runs.
    let today = chrono::Utc::now();
    for file in &files {
        let body = story::moved(&std::fs::read(file).unwrap(), story::days_moved(today));
        let (_, reply) = send_event(&state, &body).await.unwrap();
        assert_eq!(reply.status, 202, "{}: {}", file.display(), reply.text());
        let (_, again) = send_event(&state, &body).await.unwrap();
        assert_eq!(again.status, 200, "{}: a duplicate", file.display());
        assert!(
            local_cloud::operations::wait_for_quiet_queues(&sqs, &state, Duration::from_secs(30)).await,
            "{}: its follow-ups settle",
            file.display()
        );
    }
    // The clock's sweep, as its schedule runs it: Sophie Martin's order is past its ship-by date.
    let swept = stack
        .invoker("buyer-messaging-worker")
        .expect("buyer messaging's worker runs")
        .invoke(&scheduled_event("ReplyClock", chrono::Utc::now()))
        .await
        .expect("the clock's sweep runs");
    assert_eq!(swept["late_orders"], 1, "{swept}");
    assert!(local_cloud::operations::wait_for_quiet_queues(&sqs, &state, Duration::from_secs(30)).await);
    let item = async |table: &str, key: &str, value: &str| {
        dynamodb
            .get_item()
            .table_name(&stack.provisioned.tables[table])
            .key(key, aws_sdk_dynamodb::types::AttributeValue::S(value.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap()
            .item
            .unwrap_or_else(|| panic!("{value} is in {table}"))
    };
    for (order_id, expected) in [
        ("ord_1001", "delivered"),
        ("ord_1002", "cancelled"),
        ("ord_1003", "accepted"),
        ("ord_1004", "accepted"),
    ] {
        let order = item("OrdersTable", "order_id", order_id).await;
        assert_eq!(order["status"].as_s().unwrap(), expected, "{order_id}");
    }
    // Sophie Martin's claim: opened past the ship-by date, the seller's evidence sent it to
    // support staff, who refunded her in full, paid by the seller.
    let claim = item("RefundsTable", "pk", "claim#sel_teahouse#clm_7001").await;
    assert_eq!(claim["state"].as_s().unwrap(), "refunded");
    let ord_1004 = item("OrdersTable", "order_id", "ord_1004").await;
    assert_eq!(ord_1004["refund_status"].as_s().unwrap(), "refunded");
    let kettle = item("InventoryTable", "sku_key", "sel_teahouse#TEA-KETTLE-02").await;
    assert_eq!(
        kettle["available"].as_n().unwrap(),
        "3",
        "4 restocked, 1 for the filled backorder"
    );
    assert_eq!(kettle["alert_level"].as_s().unwrap(), "healthy");
    assert!(
        kettle.contains_key("alert_cleared_at"),
        "its out-of-stock alert cleared"
    );

    // Every email, once, in its reader's language; Li Wei opted out of optional email before
    // delivery, so the review request was skipped, and the skip recorded.
    let sent = outbox(&state.aws_endpoint).await.unwrap();
    let mut subjects: Vec<(String, String)> = sent
        .iter()
        .map(|email| (email.destinations[0].clone(), email.subject.clone()))
        .collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "1 项事务需要您处理"),
            ("alerts@teahouse.example", "2 项事务需要您处理"),
            ("alerts@teahouse.example", "订单 ord_1004 的申诉 clm_7001 处理结果"),
            ("chen.jing@example.cn", "回复：您的订单 ord_1003 到哪了"),
            ("chen.jing@example.cn", "您的订单 ord_1003 正在备货"),
            ("chen.jing@example.cn", "您的订单 ord_1003 正在等待补货"),
            ("emma.clarke@example.co.uk", "Re: your question"),
            ("emma.clarke@example.co.uk", "Your order ord_1002 has been cancelled"),
            ("emma.clarke@example.co.uk", "Your order ord_1002 is waiting for stock"),
            ("li.wei@example.cn", "您的订单 ord_1001 已发货"),
            ("li.wei@example.cn", "您的订单 ord_1001 已确认"),
            ("li.wei@example.cn", "订单 ord_1001 的退款"),
            ("li.wei@example.cn", "订单 ord_1001 的退款"),
            (
                "sophie.martin@example.fr",
                "Decision on claim clm_7001 for order ord_1004"
            ),
            ("sophie.martin@example.fr", "Your order ord_1004 is confirmed"),
            ("sophie.martin@example.fr", "Your order ord_1004 is delayed"),
        ]
        .map(|(to, subject)| (to.to_owned(), subject.to_owned()))
    );
    let to_the_seller: Vec<&str> = sent
        .iter()
        .filter(|email| email.is_to("alerts@teahouse.example"))
        .map(|email| email.text.as_str())
        .collect();
    let told = |line: &str| to_the_seller.iter().filter(|text| text.contains(line)).count();
    assert_eq!(told("TEA-KETTLE-02：已售罄"), 1, "{to_the_seller:#?}");
    // Each negative review once, with its reasons in the seller's language; the buyer's
    // WeChat id and link redacted; the edit that named a new reason told again, with the
    // trend it completed: three buyers this week say the teapot's lid leaks.
    assert_eq!(
        told("TEA-POT-01：2 星评价（质量、服务）（已验证购买）"),
        1,
        "{to_the_seller:#?}"
    );
    assert_eq!(told("TEA-POT-01：3 星评价（物流）"), 1);
    assert_eq!(told("TEA-POT-01：1 星评价（质量）"), 1);
    assert_eq!(told("TEA-POT-01：2 星评价（质量、物流）"), 1);
    assert_eq!(told("TEA-POT-01：7 天内 3 条差评提到质量"), 1);
    assert!(
        to_the_seller
            .iter()
            .all(|text| !text.contains("li_wei_88") && !text.contains("example.com/my-video"))
    );
    // The unopened cups refunded at once and back on sale; the leaking teapots waited for the
    // seller, who was told the reason and the buyer's words, and approved €40.00 of €49.80.
    assert_eq!(
        // Its deadline runs from when the request arrived: 48 hours from now.
        told("订单 ord_1001 的退款 ref_3002（€49.80），质量问题：“壶盖漏水，两只都一样”，请于"),
        1,
        "{to_the_seller:#?}"
    );
    for (id, decided_by, approved) in [("ref_3001", "automatic", "1200"), ("ref_3002", "seller", "4000")] {
        let refund = item("RefundsTable", "pk", &format!("refund#sel_teahouse#{id}")).await;
        assert_eq!(refund["state"].as_s().unwrap(), "approved", "{id}");
        assert_eq!(refund["decided_by"].as_s().unwrap(), decided_by, "{id}");
        assert_eq!(refund["approved_minor"].as_n().unwrap(), approved, "{id}");
    }
    let refunded: Vec<&str> = sent
        .iter()
        .filter(|email| email.subject == "订单 ord_1001 的退款")
        .map(|email| email.text.as_str())
        .collect();
    for amount in ["€12.00", "€40.00"] {
        assert_eq!(
            refunded.iter().filter(|text| text.contains(amount)).count(),
            1,
            "{amount}: {refunded:#?}"
        );
    }
    let order = item("OrdersTable", "order_id", "ord_1001").await;
    assert_eq!(order["refund_status"].as_s().unwrap(), "partially_refunded");
    let cups = item("InventoryTable", "sku_key", "sel_teahouse#TEA-CUP-06").await;
    assert_eq!(
        cups["available"].as_n().unwrap(),
        "39",
        "Li Wei's returned set on sale again, Sophie Martin's reserved"
    );

    // Chen Jing asked where her order is and was answered at once from it; Emma Clarke's
    // question went to the seller on its clock, and the seller's answer stopped it.
    let answered = sent
        .iter()
        .find(|email| email.subject == "回复：您的订单 ord_1003 到哪了")
        .unwrap();
    assert!(answered.text.contains("您的订单正在备货，将于"), "{}", answered.text);
    assert!(
        answered.text.contains("我的订单到哪了"),
        "the question quoted: {}",
        answered.text
    );
    assert_eq!(told("Is the Yixing teapot dishwasher safe?"), 1, "{to_the_seller:#?}");
    let reply = sent.iter().find(|email| email.subject == "Re: your question").unwrap();
    assert!(reply.text.contains("please wash it by hand"), "{}", reply.text);
    assert!(
        reply.html.contains("&#60;for my mum&#62;"),
        "the buyer's words escaped: {}",
        reply.html
    );
    assert_eq!(
        told("订单 ord_1004 应于"),
        1,
        "the seller told of the late order: {to_the_seller:#?}"
    );
    let chens = item("ThreadsTable", "pk", "thread#thr_msg_5001").await;
    assert_eq!(chens["state"].as_s().unwrap(), "answered_automatically");
    let emmas = item("ThreadsTable", "pk", "thread#thr_msg_5002").await;
    assert_eq!(emmas["state"].as_s().unwrap(), "answered");
    assert!(!emmas.contains_key("clock_open"), "its clock stopped");
    // Sophie Martin asks to cancel her late order: a question for the seller, on its clock.
    let sophies = item("ThreadsTable", "pk", "thread#thr_msg_5004").await;
    assert_eq!(sophies["state"].as_s().unwrap(), "awaiting_seller");
    assert!(sophies.contains_key("clock_open"), "waiting on its clock");
    assert_eq!(told("please cancel the order"), 1, "{to_the_seller:#?}");

    let review = item("ReviewsTable", "pk", "review#sel_teahouse#rev_2002").await;
    assert_eq!(review["state"].as_s().unwrap(), "removed");
    let confirmation = sent.iter().find(|email| email.subject.ends_with("已确认")).unwrap();
    let ship_by = story::day_as_told(chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(), today);
    let ship_by = ship_by.format("%Y年%-m月%-d日").to_string();
    for shown in [
        "宜兴紫砂壶 Yixing clay teapot (TEA-POT-01)",
        "€49.80",
        "€61.80",
        ship_by.as_str(),
    ] {
        assert!(confirmation.text.contains(shown), "{shown:?} in {}", confirmation.text);
    }
    assert!(confirmation.html.contains("Celadon cups &#60;set of 6&#62;"));
    let shipping = sent.iter().find(|email| email.subject.ends_with("已发货")).unwrap();
    assert!(shipping.text.contains("运单号: JD014600003828"));
    assert!(
        shipping
            .html
            .contains("href=\"https://www.dhl.com/track?id=JD014600003828\"")
    );
    let review = item("EmailsTable", "dedupe_key", "order-intake#ord_1001#delivered#email").await;
    assert_eq!(review["state"].as_s().unwrap(), "skipped");
    assert_eq!(review["reason"].as_s().unwrap(), "opted_out");
    for dead in dead_letters(&sqs, &state).await.unwrap() {
        assert_eq!(dead.waiting, 0, "nothing failed: {dead:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_that_ses_refuses_waits_in_the_dlq_and_replay_sends_it_once() {
    let (stack, _) = start_stack().await;
    let state = stack.state();
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    stock_the_catalogue(&stack).await;
    let ses = aws_sdk_sesv2::Client::new(&stack.config);
    let identity = stack.provisioned.parameters["SenderIdentity"].clone();
    let email_dlq = stack.queue("EmailDeadLetterQueue").unwrap().url.clone();

    // The sender's identity is gone (as when SES pauses it): every send is refused.
    ses.delete_email_identity()
        .email_identity(&identity)
        .send()
        .await
        .unwrap();
    let address = format!("{}@example.com", unique_id("buyer"));
    let mut order = sample_order(&unique_id("ord"));
    order["data"]["buyer"]["email"] = json!(address);
    let (_, reply) = send_event(&state, order.to_string().as_bytes()).await.unwrap();
    assert_eq!(reply.status, 202, "{}", reply.text());
    eventually(
        "the refused email request is in its DLQ",
        Duration::from_secs(90),
        async || waiting_in(&sqs, &email_dlq).await == 1,
    )
    .await;
    let to_buyer = async || {
        outbox(&state.aws_endpoint)
            .await
            .unwrap()
            .into_iter()
            .filter(|email| email.is_to(&address))
            .count()
    };
    assert_eq!(to_buyer().await, 0);

    ses.create_email_identity()
        .email_identity(&identity)
        .send()
        .await
        .unwrap();
    let replayed = replay_dead_letters(&sqs, &state).await.unwrap();
    assert!(
        replayed.contains(&("EmailDeadLetterQueue".to_owned(), 1)),
        "{replayed:?}"
    );
    eventually("the replayed email is sent", Duration::from_secs(30), async || {
        to_buyer().await == 1
    })
    .await;
    assert!(
        local_cloud::operations::wait_for_quiet_queues(&sqs, &state, Duration::from_secs(15)).await,
        "every queue settles"
    );
    assert_eq!(to_buyer().await, 1, "exactly once");
    assert_eq!(waiting_in(&sqs, &email_dlq).await, 0);
}

/// The follow-up topic goes away and comes back, subscriptions and all.
async fn topic_outage(stack: &Stack) -> impl AsyncFnOnce() {
    let sns = aws_sdk_sns::Client::new(&stack.config);
    let topic = stack.provisioned.topics["FollowUpTopic"].clone();
    sns.delete_topic().topic_arn(&topic).send().await.unwrap();
    async move || {
        sns.create_topic().name("FollowUpTopic").send().await.unwrap();
        let template = local_cloud::template::Template::load(&local_cloud::paths::template()).unwrap();
        for subscription in template.resources_of_kind("AWS::SNS::Subscription") {
            local_cloud::provision::subscribe(
                &sns,
                subscription.logical_id,
                subscription.properties,
                &stack.provisioned,
            )
            .await
            .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_that_cannot_be_relayed_wait_in_the_outbox_dlq_block_nothing_and_replay() {
    let (stack, _) = start_stack().await;
    let state = stack.state();
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    stock_the_catalogue(&stack).await;
    let outbox_dlq = stack
        .queue("OutboxDeadLetterQueue")
        .expect("template declares it")
        .clone();
    let order = |id: &str| sample_order(id).to_string();

    let restore = topic_outage(&stack).await;
    let (_, reply) = send_event(&state, order("ord_outage").as_bytes()).await.unwrap();
    assert_eq!(
        reply.status,
        202,
        "the webhook does not wait for the topic: {}",
        reply.text()
    );
    eventually(
        "the unrelayable batch is in the outbox DLQ",
        Duration::from_secs(60),
        async || waiting_in(&sqs, &outbox_dlq.url).await == 1,
    )
    .await;
    let confirmations = async |order_id: &str| {
        let subject = format!("您的订单 {order_id} 已确认");
        outbox(&state.aws_endpoint)
            .await
            .unwrap()
            .into_iter()
            .filter(|email| email.subject == subject)
            .count()
    };
    assert_eq!(confirmations("ord_outage").await, 0, "nothing was relayed");

    restore().await;
    let (_, reply) = send_event(&state, order("ord_after").as_bytes()).await.unwrap();
    assert_eq!(reply.status, 202);
    eventually(
        "the next order's confirmation goes out",
        Duration::from_secs(30),
        async || confirmations("ord_after").await == 1,
    )
    .await;
    assert_eq!(confirmations("ord_outage").await, 0, "the failed batch waits");

    let listed = dead_letters(&sqs, &state).await.unwrap();
    assert!(
        listed
            .iter()
            .any(|dead| dead.queue == "OutboxDeadLetterQueue" && dead.waiting == 1 && dead.source == "OutboxTable"),
        "{listed:?}"
    );
    let replayed = replay_dead_letters(&sqs, &state).await.unwrap();
    assert!(
        replayed.contains(&("OutboxDeadLetterQueue".to_owned(), 1)),
        "{replayed:?}"
    );
    assert_eq!(waiting_in(&sqs, &outbox_dlq.url).await, 0);
    eventually(
        "the replayed order's confirmation goes out too",
        Duration::from_secs(30),
        async || confirmations("ord_outage").await == 1,
    )
    .await;
    assert!(local_cloud::operations::wait_for_quiet_queues(&sqs, &state, Duration::from_secs(15)).await);
    assert_eq!(confirmations("ord_outage").await, 1, "exactly once");
}

/// As a marketplace retries: every sample event of the story delivered sixteen times at once
/// through the Function URLs, two processes of each function taking them. Each is accepted
/// once and every other delivery is a `200 duplicate`: never a 5xx, which a marketplace counts
/// as a failed delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_deliveries_of_each_sample_event_are_one_202_and_fifteen_duplicates() {
    let (stack, _) = start_stack().await;
    let state = stack.state();
    let mut samples: Vec<_> = std::fs::read_dir(local_cloud::paths::events_dir())
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    samples.sort();
    let mut event_types = BTreeSet::new();
    for sample in samples {
        let body = std::fs::read(&sample).unwrap();
        let deliveries = futures_util::future::join_all((0..16).map(|_| send_event(&state, &body))).await;
        let mut statuses: Vec<u16> = deliveries
            .iter()
            .map(|delivery| delivery.as_ref().unwrap().1.status)
            .collect();
        statuses.sort();
        let name = sample.display();
        assert_eq!(
            statuses,
            [[200; 15].as_slice(), &[202]].concat(),
            "{name}: {statuses:?}"
        );
        let event: Value = serde_json::from_slice(&body).unwrap();
        event_types.insert(event["type"].as_str().unwrap().to_owned());
    }
    let handled: BTreeSet<String> = [
        "order.created",
        "order.shipped",
        "order.delivered",
        "order.cancelled",
        "inventory.adjusted",
        "buyer.preferences",
        "review.created",
        "review.updated",
        "review.removed",
        "seller.updated",
        "refund.requested",
        "refund.decided",
        "message.received",
        "message.replied",
        "claim.opened",
        "claim.responded",
        "claim.decided",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(
        event_types, handled,
        "every event type handled so far has a sample in the story"
    );
}

/// The race through the real path: the Function URL, two processes of order intake, moto.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_orders_through_the_url_never_oversell() {
    let (stack, _) = start_stack().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let inventory = &stack.provisioned.tables["InventoryTable"];
    let seller = unique_id("sel");
    let seed = |sku: &str, on_hand| local_cloud::seed::StockSeed {
        seller_id: seller.clone(),
        sku: sku.to_owned(),
        on_hand,
        safety_stock: 0,
        lead_time_days: 3,
    };
    local_cloud::seed::seed_stock(&dynamodb, inventory, &[seed("LAST", 20), seed("MORE", 1000)])
        .await
        .unwrap();
    let state = stack.state();
    let bodies: Vec<String> = (0..64)
        .map(|_| {
            let data = backoffice_tests::orders::order_data(
                &unique_id("ord"),
                &seller,
                &[("LAST", 1, "9.00"), ("MORE", 1, "1.00")],
            );
            backoffice_tests::orders::envelope(&unique_id("evt"), "order.created", data)
        })
        .collect();
    // 64 at once is more than the 25 environments the URL reserves: the rest are throttled
    // and sent again, as the marketplace does.
    let replies = futures_util::future::join_all(bodies.iter().map(|body| sent_until_taken(&state, body))).await;
    let statuses: Vec<String> = replies
        .iter()
        .map(|reply| reply.json()["order_status"].as_str().unwrap_or("refused").to_owned())
        .collect();
    assert_eq!(statuses.iter().filter(|s| *s == "accepted").count(), 20, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| *s == "backordered").count(),
        44,
        "{statuses:?}"
    );
    for (sku, expected) in [("LAST", ("20", "0")), ("MORE", ("20", "980"))] {
        let item = inventory_item(&dynamodb, inventory, &seller, sku).await;
        let reserved_available = (
            item["reserved"].as_n().unwrap().as_str(),
            item["available"].as_n().unwrap().as_str(),
        );
        assert_eq!(reserved_available, expected, "{sku}");
    }
}

/// A SKU's inventory item, read consistently.
async fn inventory_item(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    seller: &str,
    sku: &str,
) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
    dynamodb
        .get_item()
        .table_name(table)
        .key(
            "sku_key",
            aws_sdk_dynamodb::types::AttributeValue::S(backoffice::domains::stock::inventory::sku_key(seller, sku)),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("{sku} is stocked"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_reaches_the_sweep() {
    let (stack, _) = start_stack().await;
    let state = stack.state();
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    for sample in [
        "00-inventory.adjusted.1-teapot.json",
        "00-inventory.adjusted.3-kettle.json",
    ] {
        let body = std::fs::read(local_cloud::paths::events_dir().join(sample)).unwrap();
        send_event(&state, &body).await.unwrap();
    }
    assert!(local_cloud::operations::wait_for_quiet_queues(&sqs, &state, Duration::from_secs(30)).await);

    let invoker = stack.invoker("stock-alerts-worker").expect("stock alerts' worker runs");
    let answer = invoker
        .invoke(&scheduled_event("HourlySweep", chrono::Utc::now()))
        .await
        .expect("the sweep runs");
    assert_eq!(
        answer["items_read"], 2,
        "only the out-of-stock kettle is on the watchlist: its index entry, then its item: {answer}"
    );
    assert_eq!(answer["skus_assessed"], 1);
    assert_eq!(answer["alerts_raised"], 0, "its event raised it already: {answer}");
    assert_eq!(answer["continues"], false, "one page holds it");

    // A page the sweep hands on travels as any follow-up does: the outbox, its stream, the
    // relay, the topic's filter, the stock change queue. A low SKU on the watchlist after the
    // page's start is assessed there, and only there (nothing else ever moved its stock).
    use aws_sdk_dynamodb::types::AttributeValue;
    use backoffice::adapters::dynamodb::dynamo_item;
    use backoffice::domains::stock::inventory::sku_key;
    use backoffice::follow_ups::{FollowUp, SweepPage};
    use backoffice::storage::Cursor;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let cup = backoffice::domains::stock::records::new_stock_item("sel_teahouse", "TEA-CUP-09", 1, 5, 3);
    let inventory = &stack.provisioned.tables["InventoryTable"];
    dynamodb
        .put_item()
        .table_name(inventory)
        .set_item(Some(dynamo_item(cup)))
        .send()
        .await
        .unwrap();
    let start = sku_key("sel_teahouse", "TEA-CUP-08");
    let page = FollowUp::StockSweep(SweepPage::new(
        "test",
        Cursor {
            sort: start.clone(),
            key: start,
        },
    ));
    dynamodb
        .put_item()
        .table_name(&stack.provisioned.tables["OutboxTable"])
        .item("key", AttributeValue::S(page.dedupe_key().to_owned()))
        .item(
            "follow_ups",
            AttributeValue::S(serde_json::to_string(&[&page]).unwrap()),
        )
        .send()
        .await
        .unwrap();
    let level = async || {
        let item = inventory_item(&dynamodb, inventory, "sel_teahouse", "TEA-CUP-09").await;
        item.get("alert_level").and_then(|level| level.as_s().ok()).cloned()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while level().await.as_deref() != Some("low") {
        assert!(std::time::Instant::now() < deadline, "the handed-on page never ran");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A principal allowed to invoke a function could hand it a payload shaped like its queue's
/// batch or its schedule, which carry no signature: the real binary refuses any whose source
/// is not one the template wires to it, before its handler reads a byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_from_a_source_the_template_does_not_wire_are_refused() {
    let (stack, _) = start_stack().await;
    let invoker = stack.invoker("stock-alerts-worker").expect("stock alerts' worker runs");
    let own_queue = stack.provisioned.queues["StockChangeQueue"].arn.clone();
    let batch = |arn: &str| {
        serde_json::json!({"Records": [{"eventSource": "aws:sqs", "eventSourceARN": arn, "messageId": "m1",
            "body": "{\"kind\":\"stock_change\",\"dedupe_key\":\"forged\",\"seller_id\":\"sel_teahouse\",\"skus\":[\"TEA-POT-01\"],\"reason\":\"restocked\"}",
            "attributes": {"ApproximateReceiveCount": "1"}}]})
    };
    let mut forged_rule = scheduled_event("HourlySweep", chrono::Utc::now());
    forged_rule["resources"] = serde_json::json!(["arn:aws:events:us-east-1:123456789012:rule/someone-elses"]);
    let email_queue = stack.provisioned.queues["EmailQueue"].arn.clone();
    let public = stack
        .invoker("stock-alerts")
        .expect("stock alerts' public function runs");
    for (function, forged) in [
        (invoker, batch("arn:aws:sqs:us-east-1:444455556666:attacker")),
        (invoker, batch(&email_queue)),
        (invoker, forged_rule),
        // The queue is the worker's: the function behind the public URL takes none of it.
        (public, batch(&own_queue)),
        (public, scheduled_event("HourlySweep", chrono::Utc::now())),
    ] {
        match function.invoke(&forged).await {
            Err(local_cloud::runtime_api::InvokeError::Function(error)) => {
                assert!(error.contains("UnknownEventSource"), "{error}")
            }
            other => panic!("{forged}: {other:?}"),
        }
    }
    let answer = invoker
        .invoke(&batch(&own_queue))
        .await
        .expect("its own queue is admitted");
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "{answer}");
}

/// `body` signed and sent to its function's URL, again after each 429 as the marketplace
/// retries a throttled delivery: the first answer that is not a throttle.
async fn sent_until_taken(state: &local_cloud::stack::StackState, body: &str) -> local_cloud::loopback::Reply {
    for _ in 0..2_000 {
        let (_, reply) = send_event(state, body.as_bytes()).await.unwrap();
        if reply.status != 429 {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("throttled 2,000 times in a row")
}

/// An unsigned flood holds every environment the public URLs reserve, and orders placed
/// meanwhile (retried on 429, as the marketplace does) still have their follow-ups relayed,
/// their stock checked and their confirmation sent while the flood goes on: the relay and
/// the queue consumers run in functions of their own, which the flood never throttles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_flood_of_the_public_urls_never_throttles_the_relay_or_the_queues() {
    let (stack, _) = start_stack().await;
    stock_the_catalogue(&stack).await;
    let state = stack.state();
    // More at once than the 25 environments each public URL reserves.
    let urls = ["order-intake", "buyer-messaging"].map(|function| state.function_urls[function].clone());
    let flood = local_cloud::flood::Flood::start(&urls, 32);
    let intake = stack.invoker("order-intake").expect("order intake runs");
    eventually("the flood is throttled", Duration::from_secs(30), async || {
        intake.throttles() > 0
    })
    .await;

    let orders: Vec<String> = (0..4).map(|_| unique_id("ord")).collect();
    for order in &orders {
        let reply = sent_until_taken(&state, &sample_order(order).to_string()).await;
        assert_eq!(reply.status, 202, "{}", reply.text());
    }
    eventually(
        "each order's confirmation is sent during the flood",
        Duration::from_secs(60),
        async || {
            let sent = outbox(&state.aws_endpoint).await.unwrap();
            orders.iter().all(|order| {
                sent.iter()
                    .any(|email| email.subject.contains(order.as_str()) || email.text.contains(order.as_str()))
            })
        },
    )
    .await;
    let during = stack.event_source_throttles();

    let local_cloud::flood::FloodCount { throttled, refused } = flood.stop().await.unwrap();
    assert!(throttled > 0 && refused > 0, "{throttled} throttled, {refused} refused");
    assert!(stack.invoker("buyer-messaging").unwrap().throttles() > 0);
    assert!(
        during.values().all(|throttles| *throttles == 0),
        "queues, streams or schedules were throttled: {during:?}"
    );
}
