//! A buyer erased across the whole local stack: orders at two sellers, a refund, a review, a
//! thread with a reply, emails sent, one email still queued, one message in a dead-letter
//! queue and one export, all made through the real functions' URLs and queues; then one
//! `buyer.erasure_requested`, and a scan of every table, queue, dead-letter queue and bucket
//! of the stack for the buyer's name, addresses and words.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use backoffice_tests::unique_id;
use local_cloud::operations::{outbox as sent_emails, send_event, waiting_in};
use local_cloud::processes::LogSink;
use local_cloud::scan::{text_of, value_of};
use local_cloud::seed::{StockSeed, seed_stock};
use local_cloud::stack::{Stack, StackOptions};
use serde_json::{Value, json};

const BUYER: &str = "buy_sophie";
const NAME: &str = "Sophie Martin";
const EMAIL: &str = "sophie.martin@example.fr";
/// An address of hers that bounced: kept only as a hash, which still suppresses it.
const BOUNCED: &str = "s.martin.old@example.fr";
const STREET: &str = "12 Rue de la Paix";
const POSTAL_CODE: &str = "75002";
const PHONE: &str = "+33 6 12 34 56 78";
const QUESTION: &str = "La théière fuit, est-elle garantie ? Appelez-moi au +33 6 12 34 56 78";
const REPLY: &str = "Bonjour Sophie, oui: deux ans de garantie.";
const REVIEW: &str = "Le thé était froid et la boîte abîmée";
const NOTE: &str = "Colis reçu ouvert";

/// Everything the scan looks for.
const PERSONAL: &[&str] = &[
    NAME,
    EMAIL,
    BOUNCED,
    STREET,
    POSTAL_CODE,
    PHONE,
    QUESTION,
    REPLY,
    REVIEW,
    NOTE,
];

async fn start_stack() -> Stack {
    backoffice_tests::functions_built();
    let logs = local_cloud::paths::scratch()
        .join("test-logs")
        .join(unique_id("privacy"));
    let options = StackOptions {
        logs: LogSink::Files(logs),
        schedules: false,
        ..StackOptions::default()
    };
    Stack::start(options).await.expect("the local stack starts")
}

async fn eventually(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Sends an event through its function's URL; the answer, which must be `202`.
async fn accepted(stack: &Stack, event_type: &str, created_at: &str, data: Value) -> Value {
    let body = json!({"id": unique_id("evt"), "type": event_type, "created_at": created_at, "data": data});
    let (_, reply) = send_event(&stack.state(), body.to_string().as_bytes())
        .await
        .expect("sent");
    assert_eq!(reply.status, 202, "{event_type}: {}", reply.json());
    reply.json()
}

fn order(seller: &str, order_id: &str, buyer: (&str, &str, &str), (street, postal_code): (&str, &str)) -> Value {
    let (id, name, email) = buyer;
    json!({"order_id": order_id, "seller_id": seller,
        "buyer": {"id": id, "name": name, "email": email, "locale": "fr-FR"},
        "currency": "EUR", "lines": [{"line_id": "l1", "sku": "TEA-POT-01", "quantity": 1, "unit_price": "30.00"}],
        "total": "30.00", "ship_by": "2026-11-30T18:00:00Z",
        "shipping_address": {"name": name, "line1": street, "city": "Paris", "postal_code": postal_code,
                             "country": "FR"}})
}

/// Sophie's history, and Emma's one order, through the functions' URLs.
async fn the_story(stack: &Stack) {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let mut seeds = StockSeed::each("sel_a", &["TEA-POT-01"], 100, 2, 7);
    seeds.extend(StockSeed::each("sel_b", &["TEA-POT-01"], 100, 2, 7));
    seed_stock(&dynamodb, &stack.provisioned.tables["InventoryTable"], &seeds)
        .await
        .unwrap();
    for seller in ["sel_a", "sel_b"] {
        let data = json!({"seller_id": seller, "name": "Teahouse", "email": format!("alerts@{seller}.example"),
            "locale": "en", "time_zone": "Europe/Paris", "auto_approve_limit": {"amount": "10.00", "currency": "EUR"}});
        accepted(stack, "seller.updated", "2026-11-19T08:00:00Z", data).await;
    }
    let sophie = (BUYER, NAME, EMAIL);
    accepted(
        stack,
        "order.created",
        "2026-11-20T09:00:00Z",
        order("sel_a", "ord_a", sophie, (STREET, POSTAL_CODE)),
    )
    .await;
    accepted(
        stack,
        "order.created",
        "2026-11-20T10:00:00Z",
        order("sel_b", "ord_b", sophie, (STREET, POSTAL_CODE)),
    )
    .await;
    let emma = ("buy_emma", "Emma Clarke", "emma.clarke@example.co.uk");
    accepted(
        stack,
        "order.created",
        "2026-11-20T11:00:00Z",
        order("sel_a", "ord_emma", emma, ("3 Quai Voltaire", "75007")),
    )
    .await;
    let shipped =
        json!({"order_id": "ord_a", "seller_id": "sel_a", "carrier": "UPS", "tracking_number": "1Z999AA10123456784"});
    accepted(stack, "order.shipped", "2026-11-21T09:00:00Z", shipped).await;
    let delivered = json!({"order_id": "ord_a", "seller_id": "sel_a", "delivered_at": "2026-11-23T09:00:00Z"});
    accepted(stack, "order.delivered", "2026-11-23T09:00:00Z", delivered).await;
    let refund = json!({"refund_id": "ref_a", "order_id": "ord_a", "seller_id": "sel_a", "buyer_id": BUYER,
        "lines": [{"line_id": "l1", "quantity": 1, "restock": false}], "currency": "EUR",
        "reason": "damaged", "note": NOTE, "created_at": "2026-11-24T09:00:00Z"});
    accepted(stack, "refund.requested", "2026-11-24T09:00:00Z", refund).await;
    let review = json!({"review_id": "rev_a", "seller_id": "sel_a", "sku": "TEA-POT-01", "buyer_id": BUYER,
        "order_id": "ord_a", "rating": 1, "title": "Déçue", "text": REVIEW, "created_at": "2026-11-24T10:00:00Z"});
    accepted(stack, "review.created", "2026-11-24T10:00:00Z", review).await;
    let question = json!({"message_id": "msg_q", "seller_id": "sel_a", "order_id": "ord_a",
        "buyer": {"id": BUYER, "name": NAME, "email": EMAIL, "locale": "fr-FR"},
        "subject": "Théière", "text": QUESTION, "created_at": "2026-11-24T11:00:00Z"});
    accepted(stack, "message.received", "2026-11-24T11:00:00Z", question).await;
    let reply = json!({"message_id": "msg_r", "thread_id": "thr_msg_q", "seller_id": "sel_a", "text": REPLY});
    accepted(stack, "message.replied", "2026-11-24T12:00:00Z", reply).await;
}

/// SES's bounce of `address`, through the stack's feedback topic.
async fn bounce(stack: &Stack, address: &str) {
    let notification = json!({
        "eventType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "action": "failed", "status": "5.1.1"}],
            "timestamp": "2026-11-22T10:00:00.000Z", "feedbackId": unique_id("feedback")},
        "mail": {"timestamp": "2026-11-22T09:59:58.000Z", "messageId": unique_id("ses"), "destination": [address]}
    });
    aws_sdk_sns::Client::new(&stack.config)
        .publish()
        .topic_arn(&stack.provisioned.topics["EmailFeedbackTopic"])
        .message(notification.to_string())
        .send()
        .await
        .expect("published");
}

/// How many emails SES has taken for her address.
async fn emails_to_her(stack: &Stack) -> usize {
    sent_emails(&stack.aws.endpoint)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|email| email.destinations.iter().any(|to| to == EMAIL))
        .count()
}

/// Where each piece of the buyer's data is found in the stack: tables, queues, buckets.
async fn scan(stack: &Stack) -> Vec<String> {
    local_cloud::scan::find(&stack.config, &stack.provisioned, PERSONAL)
        .await
        .expect("every place of the stack is read")
        .into_iter()
        .map(|(place, needle)| format!("{place}: {needle:?}"))
        .collect()
}

/// The figures an erasure must not change: each table item of these kinds, whole.
async fn bookkeeping(stack: &Stack) -> BTreeMap<String, Vec<String>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let mut kept = BTreeMap::new();
    let of = |item: &std::collections::HashMap<String, AttributeValue>, names: &[&str]| -> String {
        names
            .iter()
            .map(|name| format!("{name}={}", item.get(*name).map_or(Value::Null, value_of)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (table, names, prefix) in [
        (
            "OrdersTable",
            &["order_id", "total_minor", "lines", "refunded", "status"][..],
            "",
        ),
        (
            "RefundsTable",
            &["pk", "requested_minor", "approved_minor", "state", "lines"][..],
            "refund#",
        ),
        ("ReviewsTable", &["pk", "days", "trends", "version"][..], "stats#"),
        ("FiguresTable", &[][..], ""),
    ] {
        let items = dynamodb
            .scan()
            .table_name(&stack.provisioned.tables[table])
            .send()
            .await
            .expect("scan")
            .items
            .unwrap_or_default();
        let key = if table == "OrdersTable" { "order_id" } else { "pk" };
        let mut rows: Vec<String> = items
            .iter()
            .filter(|item| {
                item.get(key)
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|k| k.starts_with(prefix))
            })
            .map(|item| {
                if names.is_empty() {
                    text_of(item)
                } else {
                    of(item, names)
                }
            })
            .collect();
        rows.sort();
        kept.insert(table.to_owned(), rows);
    }
    kept
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_buyer_is_found_nowhere_in_the_stack_and_the_books_are_unchanged() {
    let stack = start_stack().await;
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    the_story(&stack).await;
    bounce(&stack, BOUNCED).await;
    eventually("Sophie's order emails are sent", Duration::from_secs(90), async || {
        emails_to_her(&stack).await >= 4
    })
    .await;
    assert!(
        local_cloud::operations::wait_for_quiet_queues(&sqs, &stack.state(), Duration::from_secs(60)).await,
        "the story's follow-ups are all handled"
    );

    // An email to her, queued now and delivered only after the erasure has begun.
    let email_queue = stack.queue("EmailQueue").expect("EmailQueue").url.clone();
    let queued_key = unique_id("queued");
    let queued = json!({"kind": "email", "dedupe_key": queued_key,
        "recipient": {"role": "buyer", "id": BUYER, "name": NAME, "email": EMAIL}, "locale": "fr",
        "template": "delay_notice",
        "data": {"order_id": "ord_b", "seller_id": "sel_b", "currency": "EUR", "total": "30.00",
                 "lines": [{"sku": "TEA-POT-01", "quantity": 1, "unit_price": "30.00", "line_total": "30.00"}],
                 "placed_at": "2026-11-20T10:00:00Z", "ship_by": "2026-11-30T18:00:00Z"}});
    sqs.send_message()
        .queue_url(&email_queue)
        .message_body(queued.to_string())
        .delay_seconds(15)
        .send()
        .await
        .expect("queued");
    // A dead letter of hers, and one of Emma's that must stay.
    let dead_letters = stack.queue("EmailDeadLetterQueue").expect("its DLQ").url.clone();
    let mut emmas = queued.clone();
    emmas["recipient"] =
        json!({"role": "buyer", "id": "buy_emma", "name": "Emma Clarke", "email": "emma.clarke@example.co.uk"});
    // And SES's word of a bounce of her address, which names no buyer id: the erasure finds
    // it by the address the request gives.
    let feedback_dead = stack
        .queue("EmailFeedbackDeadLetterQueue")
        .expect("the feedback DLQ")
        .url
        .clone();
    let bounced = json!({"eventType": "Bounce", "bounce": {"bounceType": "Transient",
        "bouncedRecipients": [{"emailAddress": EMAIL.to_uppercase()}]}, "mail": {"destination": [EMAIL]}});
    sqs.send_message()
        .queue_url(&feedback_dead)
        .message_body(bounced.to_string())
        .send()
        .await
        .unwrap();
    for body in [queued.clone(), emmas] {
        let mut body = body;
        body["dedupe_key"] = json!(unique_id("dead"));
        sqs.send_message()
            .queue_url(&dead_letters)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }

    // Her export, before the erasure: every piece the scan will look for in the tables.
    let export = accepted(
        &stack,
        "buyer.export_requested",
        "2026-11-25T08:00:00Z",
        json!({"buyer_id": BUYER, "export_id": "exp_1"}),
    )
    .await;
    let key = export["object_key"]
        .as_str()
        .expect("the answer names the object")
        .to_owned();
    let mut document = String::new();
    eventually("the export is written", Duration::from_secs(60), async || {
        document = local_cloud::scan::bucket_objects(&stack.config, &stack.provisioned)
            .await
            .expect("the buckets are read")
            .into_iter()
            .find(|held| held.place.ends_with(&key))
            .map(|held| held.text)
            .unwrap_or_default();
        !document.is_empty()
    })
    .await;
    let before = scan(&stack).await;
    let in_tables: Vec<&String> = before.iter().filter(|place| place.contains("Table")).collect();
    assert!(!in_tables.is_empty());
    for needle in PERSONAL
        .iter()
        .filter(|needle| in_tables.iter().any(|place| place.ends_with(&format!("{needle:?}"))))
    {
        assert!(
            document.contains(needle),
            "the export lacks {needle:?}, which the tables hold"
        );
    }
    for needle in [NAME, EMAIL, STREET, QUESTION, REPLY, REVIEW, NOTE] {
        assert!(
            before.iter().any(|place| place.ends_with(&format!("{needle:?}"))),
            "the story stores {needle:?}"
        );
    }
    let books = bookkeeping(&stack).await;

    let sent_before = emails_to_her(&stack).await;
    let now = chrono::Utc::now();
    let erasure =
        json!({"buyer_id": BUYER, "email": EMAIL, "requested_at": (now - chrono::Duration::seconds(1)).to_rfc3339()});
    accepted(&stack, "buyer.erasure_requested", &now.to_rfc3339(), erasure).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let left = scan(&stack).await;
        if left.is_empty() && waiting_in(&sqs, &email_queue).await == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "left after the erasure: {left:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let mut ledger = None;
    eventually(
        "the queued email is delivered and its outcome recorded",
        Duration::from_secs(60),
        async || {
            ledger = dynamodb
                .get_item()
                .table_name(&stack.provisioned.tables["EmailsTable"])
                .key("dedupe_key", AttributeValue::S(queued_key.clone()))
                .send()
                .await
                .unwrap()
                .item;
            ledger.is_some()
        },
    )
    .await;
    let ledger = ledger.unwrap_or_default();
    assert_eq!(
        ledger["reason"].as_s().ok().map(String::as_str),
        Some("erased"),
        "{ledger:?}"
    );
    assert_eq!(
        emails_to_her(&stack).await,
        sent_before,
        "an email reached her after the erasure"
    );
    assert_eq!(
        scan(&stack).await,
        Vec::<String>::new(),
        "after the queued email was taken"
    );

    assert_eq!(bookkeeping(&stack).await, books, "the erasure changed the books");
    let suppression = aws_sdk_dynamodb::Client::new(&stack.config)
        .scan()
        .table_name(&stack.provisioned.tables["SuppressionTable"])
        .send()
        .await
        .unwrap()
        .items
        .unwrap_or_default();
    assert!(
        suppression
            .iter()
            .any(|item| item["pk"].as_s().is_ok_and(|pk| pk.starts_with("address#"))),
        "the bounced address stays suppressed"
    );
    let dead = local_cloud::scan::queue_messages(&stack.config, &stack.provisioned)
        .await
        .expect("the queues are read");
    assert!(
        dead.iter()
            .any(|held| held.place == "EmailDeadLetterQueue" && held.text.contains("buy_emma")),
        "Emma's dead letter stays: {dead:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_sellers_only_buyers_are_erased_by_the_daily_sweep_once_its_retention_ends() {
    let stack = start_stack().await;
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    the_story(&stack).await;
    let noah = ("buy_noah", "Noah Weber", "noah.weber@example.de");
    accepted(
        &stack,
        "order.created",
        "2026-11-21T09:00:00Z",
        order("sel_a", "ord_noah", noah, ("Hauptstrasse 5", "10115")),
    )
    .await;
    assert!(local_cloud::operations::wait_for_quiet_queues(&sqs, &stack.state(), Duration::from_secs(60)).await);

    // Closed 91 days ago: its 90 days' retention is over.
    let now = chrono::Utc::now();
    let closed_at = (now - chrono::Duration::days(91)).to_rfc3339();
    let closed = accepted(
        &stack,
        "seller.closed",
        &now.to_rfc3339(),
        json!({"seller_id": "sel_a", "closed_at": closed_at}),
    )
    .await;
    assert!(closed["erase_at"].as_str().is_some(), "{closed}");
    let swept = stack
        .invoker("buyer-privacy-worker")
        .expect("buyer privacy's worker runs")
        .invoke(&local_cloud::schedule::scheduled_event("ClosedSellerSweep", now))
        .await
        .expect("the sweep runs");
    assert_eq!(swept["started"], 1, "{swept}");

    let noahs = ["Noah Weber", "noah.weber@example.de", "Hauptstrasse 5"];
    let mut left = Vec::new();
    eventually(
        "Noah, who bought only from sel_a, is erased",
        Duration::from_secs(90),
        async || {
            left = local_cloud::scan::find(&stack.config, &stack.provisioned, &noahs)
                .await
                .expect("scanned");
            left.is_empty()
        },
    )
    .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let seller = |seller_id: &str| {
        dynamodb
            .get_item()
            .table_name(&stack.provisioned.tables["SellersTable"])
            .key("seller_id", AttributeValue::S(seller_id.to_owned()))
            .send()
    };
    eventually(
        "sel_a's contact and settings are gone",
        Duration::from_secs(30),
        async || seller("sel_a").await.unwrap().item.is_none(),
    )
    .await;
    assert!(seller("sel_b").await.unwrap().item.is_some());
    // Sophie also bought from sel_b: everything of hers is kept.
    let sophie = local_cloud::scan::find(&stack.config, &stack.provisioned, &[NAME, STREET])
        .await
        .unwrap();
    assert!(sophie.iter().any(|(place, _)| place == "OrdersTable"), "{sophie:?}");
}
