//! Buyer privacy over the in-memory store, with a buyer's history made by the other
//! functions' own handlers (orders at two sellers, a refund, a review, a question and its
//! reply): the export holds all of it, the erasure leaves none of it in any table and
//! changes no figure, and another buyer keeps everything. The same over the local stack, its
//! queues and its bucket, is `tests/tests/buyer_privacy.rs`.

use std::sync::{Arc, Mutex};

use backoffice::domains::email::mailer::KeptMail;
use backoffice::domains::privacy::page::Stage;
use backoffice::domains::privacy::places::{KeptDeadLetters, KeptExports};
use backoffice::domains::refunds::payout::{Payout, PayoutQueue};
use backoffice::domains::stock::records::new_stock_item;
use backoffice::follow_ups::KeptFollowUps;
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{Item, MemoryStorage, StoreError, text};
use backoffice::values::pii::EmailAddress;
use buyer_messaging::{BuyerMessaging, Settings};
use chrono::Duration;
use order_intake::OrderIntake;
use refund_processor::RefundProcessor;
use review_monitor::ReviewMonitor;
use serde_json::json;

use super::*;

const SECRET: &str = "whsec_unit";
const BUYER: &str = "buy_sophie";
/// What the scan looks for: every piece of the buyer's personal data the story stores.
const PERSONAL: &[&str] = &[
    "Sophie Martin",
    "sophie.martin@example.fr",
    "12 Rue de la Paix",
    "75002",
    "Le thé était froid et la boîte abîmée",
    "La théière fuit, est-elle garantie ?",
    "Bonjour Sophie, oui: deux ans de garantie.",
    "Colis reçu ouvert",
    "Le couvercle est fêlé, Sophie veut être remboursée",
    "Sophie a cassé le couvercle elle-même",
];

#[derive(Clone, Default)]
struct Payments(Arc<Mutex<Vec<Payout>>>);

impl PayoutQueue for Payments {
    async fn send(&self, payout: &Payout) -> Result<String, StoreError> {
        self.0.lock().unwrap().push(payout.clone());
        Ok("msg".to_owned())
    }
}

/// A buyer: id, name, address, and where they live (street, postal code).
type Someone<'a> = (&'a str, &'a str, &'a str, (&'a str, &'a str));

struct Market {
    store: MemoryStorage,
    intake: OrderIntake<MemoryStorage, KeptFollowUps>,
    reviews: ReviewMonitor<MemoryStorage>,
    refunds: RefundProcessor<MemoryStorage, Payments>,
    messaging: BuyerMessaging<MemoryStorage, KeptMail>,
    privacy: BuyerPrivacy<MemoryStorage, KeptExports, KeptDeadLetters>,
    exports: KeptExports,
    dead_letters: KeptDeadLetters,
    events: usize,
    /// Outbox entries already delivered to the privacy queue.
    delivered: Vec<String>,
    /// What was delivered, to deliver it all again.
    bodies: Vec<Value>,
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
    let (exports, dead_letters) = (KeptExports::default(), KeptDeadLetters::default());
    for seller in ["sel_a", "sel_b"] {
        store.insert(Table::Inventory, new_stock_item(seller, "TEA-POT-01", 100, 2, 7));
        let mut contact = Item::new();
        for (name, value) in [
            ("seller_id", seller),
            ("name", "Teahouse"),
            ("email", "alerts@teahouse.example"),
            ("locale", "en"),
        ] {
            contact.insert(name.to_owned(), value.into());
        }
        store.insert(Table::Sellers, contact);
    }
    Market {
        intake: OrderIntake::new(secret(), store.clone(), KeptFollowUps::default()),
        reviews: ReviewMonitor::new(secret(), store.clone()),
        refunds: RefundProcessor::new(secret(), store.clone(), Payments::default()),
        messaging: BuyerMessaging::new(secret(), &settings, store.clone(), KeptMail::default()),
        privacy: BuyerPrivacy::new(secret(), store.clone(), exports.clone(), dead_letters.clone()),
        exports,
        dead_letters,
        store,
        events: 0,
        delivered: Vec::new(),
        bodies: Vec::new(),
    }
}

impl Market {
    async fn send(&mut self, event_type: &str, when: DateTime<Utc>, data: Value) -> (i64, Value) {
        self.events += 1;
        let body = json!({"id": format!("evt_{}", self.events), "type": event_type,
            "created_at": when.to_rfc3339(), "data": data})
        .to_string();
        self.send_body(event_type, &body, when).await
    }

    async fn send_body(&mut self, event_type: &str, body: &str, when: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), body, when);
        let response = match Function::for_event_type(event_type) {
            Some(Function::OrderIntake) => self.intake.handle_webhook(&request, when).await,
            Some(Function::ReviewMonitor) => self.reviews.handle_webhook(&request, when).await,
            Some(Function::RefundProcessor) => self.refunds.handle_webhook(&request, when).await,
            Some(Function::BuyerPrivacy) => self.privacy.handle_webhook(&request, when).await,
            _ => self.messaging.handle_webhook(&request, when).await,
        };
        let answer = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        (response.status_code, answer)
    }

    async fn accepted(&mut self, event_type: &str, when: DateTime<Utc>, data: Value) -> Value {
        let (status, answer) = self.send(event_type, when, data).await;
        assert_eq!(status, 202, "{event_type}: {answer}");
        answer
    }

    async fn order(&mut self, buyer: Someone<'_>, seller: &str, order_id: &str, when: DateTime<Utc>) {
        let (id, name, email, (line1, postal_code)) = buyer;
        let data = json!({"order_id": order_id, "seller_id": seller,
            "buyer": {"id": id, "name": name, "email": email, "locale": "fr-FR"},
            "currency": "EUR", "lines": [{"line_id": "l1", "sku": "TEA-POT-01", "quantity": 1, "unit_price": "30.00"}],
            "total": "30.00", "ship_by": (when + Duration::days(2)).to_rfc3339(),
            "shipping_address": {"name": name, "line1": line1, "city": "Paris",
                                 "postal_code": postal_code, "country": "FR"}});
        self.accepted("order.created", when, data).await;
    }

    /// Sophie's history: orders at two sellers, the first delivered, refunded in part,
    /// reviewed and claimed, and a question to its seller with the seller's reply.
    async fn sophies_history(&mut self) {
        let sophie = (
            BUYER,
            "Sophie Martin",
            "sophie.martin@example.fr",
            ("12 Rue de la Paix", "75002"),
        );
        self.order(sophie, "sel_a", "ord_a", at("2026-11-20T09:00:00Z")).await;
        self.order(sophie, "sel_b", "ord_b", at("2026-11-20T10:00:00Z")).await;
        let shipped = json!({"order_id": "ord_a", "seller_id": "sel_a", "carrier": "UPS", "tracking_number": "1Z999AA10123456784"});
        self.accepted("order.shipped", at("2026-11-21T09:00:00Z"), shipped)
            .await;
        let delivered = json!({"order_id": "ord_a", "seller_id": "sel_a", "delivered_at": "2026-11-23T09:00:00Z"});
        self.accepted("order.delivered", at("2026-11-23T09:00:00Z"), delivered)
            .await;
        let refund = json!({"refund_id": "ref_a", "order_id": "ord_a", "seller_id": "sel_a", "buyer_id": BUYER,
            "lines": [{"line_id": "l1", "quantity": 1, "restock": false}], "currency": "EUR",
            "reason": "damaged", "note": "Colis reçu ouvert", "created_at": "2026-11-24T09:00:00Z"});
        self.accepted("refund.requested", at("2026-11-24T09:00:00Z"), refund)
            .await;
        let review = json!({"review_id": "rev_a", "seller_id": "sel_a", "sku": "TEA-POT-01", "buyer_id": BUYER,
            "order_id": "ord_a", "rating": 1, "title": "Déçue",
            "text": "Le thé était froid et la boîte abîmée", "created_at": "2026-11-24T10:00:00Z"});
        self.accepted("review.created", at("2026-11-24T10:00:00Z"), review)
            .await;
        let question = json!({"message_id": "msg_q", "seller_id": "sel_a", "order_id": "ord_a",
            "buyer": {"id": BUYER, "name": "Sophie Martin", "email": "sophie.martin@example.fr", "locale": "fr-FR"},
            "subject": "Théière", "text": "La théière fuit, est-elle garantie ?", "created_at": "2026-11-24T11:00:00Z"});
        self.accepted("message.received", at("2026-11-24T11:00:00Z"), question)
            .await;
        let reply = json!({"message_id": "msg_r", "thread_id": "thr_msg_q", "seller_id": "sel_a",
            "text": "Bonjour Sophie, oui: deux ans de garantie."});
        self.accepted("message.replied", at("2026-11-24T12:00:00Z"), reply)
            .await;
        let claim = json!({"claim_id": "clm_a", "order_id": "ord_a", "seller_id": "sel_a", "buyer_id": BUYER,
            "reason": "not_as_described", "note": "Le couvercle est fêlé, Sophie veut être remboursée",
            "created_at": "2026-11-24T13:00:00Z"});
        self.accepted("claim.opened", at("2026-11-24T13:00:00Z"), claim).await;
        let evidence = json!({"claim_id": "clm_a", "seller_id": "sel_a", "response": "evidence",
            "message": "Sophie a cassé le couvercle elle-même"});
        self.accepted("claim.responded", at("2026-11-24T14:00:00Z"), evidence)
            .await;
    }

    /// Delivers every privacy follow-up the outbox holds and this has not delivered, until
    /// none is left (the relay and the queue, in memory); what each page did.
    async fn run_privacy_queue(&mut self, now: DateTime<Utc>) -> Vec<String> {
        let mut stages = Vec::new();
        loop {
            let mut bodies = Vec::new();
            for entry in self.store.items(Table::Outbox) {
                let key = text(&entry, "key").to_owned();
                if !key.starts_with("buyer-privacy#") || self.delivered.contains(&key) {
                    continue;
                }
                self.delivered.push(key);
                let follow_ups: Vec<Value> = serde_json::from_str(text(&entry, "follow_ups")).unwrap();
                for follow_up in follow_ups {
                    if let Some(stage) = follow_up["stage"].as_str() {
                        stages.push(stage.to_owned());
                    }
                    bodies.push(follow_up);
                }
            }
            if bodies.is_empty() {
                return stages;
            }
            self.bodies.extend(bodies.iter().cloned());
            self.deliver(&bodies, now).await;
        }
    }

    /// A batch of privacy follow-ups, as the queue hands it over; every one must succeed.
    async fn deliver(&self, bodies: &[Value], now: DateTime<Utc>) {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| {
                json!({"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:PrivacyQueue",
                       "messageId": format!("m{n}"), "body": body.to_string(),
                       "attributes": {"ApproximateReceiveCount": "1"}})
            })
            .collect();
        let answer = self.privacy.handle(json!({"Records": records}), now).await.unwrap();
        assert_eq!(answer["batchItemFailures"], json!([]), "{answer}");
    }

    /// Every item of every table, as text, with where it is.
    fn every_item(&self) -> Vec<(Table, String)> {
        Table::ALL
            .iter()
            .flat_map(|table| {
                self.store
                    .items(*table)
                    .into_iter()
                    .map(move |item| (*table, serde_json::to_string(&item).unwrap()))
            })
            .collect()
    }

    fn found(&self, needles: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for (table, item) in self.every_item() {
            for needle in needles {
                if item.contains(needle) {
                    found.push(format!("{table}: {needle:?} in {}", &item[..item.len().min(160)]));
                }
            }
        }
        found
    }

    fn items_of(&self, table: Table, prefix: &str) -> Vec<Item> {
        let key = table.key_attribute();
        self.store
            .items(table)
            .into_iter()
            .filter(|item| text(item, key).starts_with(prefix))
            .collect()
    }
}

fn erasure_request() -> Value {
    json!({"buyer_id": BUYER, "email": "sophie.martin@example.fr", "requested_at": "2026-11-25T08:00:00Z"})
}

#[tokio::test]
async fn an_erased_buyer_is_gone_from_every_table_and_every_figure_stays() {
    let mut market = market();
    market.sophies_history().await;
    let other = (
        "buy_emma",
        "Emma Clarke",
        "emma.clarke@example.co.uk",
        ("3 Quai Voltaire", "75007"),
    );
    market
        .order(other, "sel_a", "ord_emma", at("2026-11-24T13:00:00Z"))
        .await;
    market
        .dead_letters
        .push(json!({"kind": "email", "recipient": {"id": BUYER}}).to_string());
    // SES's word of a bounce names her address alone: the request's second key finds it.
    let bounce = json!({"eventType": "Bounce",
        "bounce": {"bouncedRecipients": [{"emailAddress": "Sophie.Martin@example.fr"}]}});
    market.dead_letters.push(bounce.to_string());
    market
        .dead_letters
        .push(json!({"kind": "email", "recipient": {"id": "buy_emma"}}).to_string());
    let found = market.found(PERSONAL);
    assert!(
        found.len() >= PERSONAL.len(),
        "the story stores every piece: {found:#?}"
    );

    let figures = market.store.items(Table::Figures);
    let stats = market.items_of(Table::Reviews, "stats#");
    let ledger: Vec<(i64, Option<Value>)> = market
        .items_of(Table::Refunds, "refund#")
        .iter()
        .map(|item| {
            (
                item["requested_minor"].as_i64().unwrap(),
                item.get("approved_minor").cloned(),
            )
        })
        .collect();
    let totals: Vec<(String, i64)> = market
        .store
        .items(Table::Orders)
        .iter()
        .map(|order| {
            (
                text(order, "order_id").to_owned(),
                order["total_minor"].as_i64().unwrap(),
            )
        })
        .collect();

    let now = at("2026-11-25T08:00:05Z");
    let (status, answer) = market.send("buyer.erasure_requested", now, erasure_request()).await;
    assert_eq!(status, 202, "{answer}");
    let stages = market.run_privacy_queue(now).await;
    for stage in Stage::ALL {
        assert!(
            stages.contains(&stage.as_str().to_owned()),
            "{stage:?} never ran: {stages:?}"
        );
    }

    let left = market.found(PERSONAL);
    assert!(left.is_empty(), "left after the erasure: {left:#?}");
    assert_eq!(
        market.store.items(Table::Figures),
        figures,
        "the seller figures changed"
    );
    let stats_after = market.items_of(Table::Reviews, "stats#");
    assert_eq!(stats_after, stats, "the review stats changed");
    let ledger_after: Vec<(i64, Option<Value>)> = market
        .items_of(Table::Refunds, "refund#")
        .iter()
        .map(|item| {
            (
                item["requested_minor"].as_i64().unwrap(),
                item.get("approved_minor").cloned(),
            )
        })
        .collect();
    assert_eq!(ledger_after, ledger, "the refund ledger changed");
    let totals_after: Vec<(String, i64)> = market
        .store
        .items(Table::Orders)
        .iter()
        .map(|order| {
            (
                text(order, "order_id").to_owned(),
                order["total_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(totals_after, totals, "an order's amount changed");
    assert_eq!(
        market.dead_letters.bodies(),
        vec![json!({"kind": "email", "recipient": {"id": "buy_emma"}}).to_string()],
        "only Sophie's dead letter goes"
    );
    let emma = market.found(&["Emma Clarke", "emma.clarke@example.co.uk"]);
    assert!(!emma.is_empty(), "another buyer's order is kept");
}

#[tokio::test]
async fn the_export_holds_everything_the_erasure_then_removes_with_the_export_itself() {
    let mut market = market();
    market.sophies_history().await;
    let now = at("2026-11-25T07:00:00Z");
    let data = json!({"buyer_id": BUYER, "export_id": "exp_1"});
    let (status, answer) = market.send("buyer.export_requested", now, data).await;
    assert_eq!(status, 202, "{answer}");
    let key = "exports/buy_sophie/exp_1.json";
    assert_eq!(answer["object_key"], key);
    market.run_privacy_queue(now).await;
    let document = String::from_utf8(market.exports.get(key).expect("the export is written")).unwrap();
    let document: Value = serde_json::from_str(&document).unwrap();
    let text = document.to_string();
    for personal in PERSONAL {
        assert!(text.contains(personal), "{personal} is not in the export");
    }
    // The refunds part holds the buyer's refunds and claims.
    for (part, count) in [("orders", 2), ("refunds", 2), ("reviews", 1), ("threads", 3)] {
        assert_eq!(
            document[part].as_array().map(Vec::len),
            Some(count),
            "{part}: {document:#}"
        );
    }
    // No email was sent in this story (the queue's consumer did not run): the part is there, empty.
    assert_eq!(document["emails"], json!([]));

    let later = at("2026-11-25T08:00:05Z");
    market.send("buyer.erasure_requested", later, erasure_request()).await;
    market.run_privacy_queue(later).await;
    assert_eq!(market.exports.get(key), None, "the erasure deletes the buyer's exports");
}

#[tokio::test]
async fn a_second_request_for_the_same_erasure_hands_on_nothing_new() {
    let mut market = market();
    market.sophies_history().await;
    let now = at("2026-11-25T08:00:05Z");
    let first = market.send("buyer.erasure_requested", now, erasure_request()).await;
    let body = json!({"id": "evt_erase_1", "type": "buyer.erasure_requested", "created_at": now.to_rfc3339(),
                      "data": erasure_request()})
    .to_string();
    let (status, _) = market.send_body("buyer.erasure_requested", &body, now).await;
    assert_eq!(status, 202);
    let pages = market.run_privacy_queue(now).await;
    assert_eq!(
        pages.len(),
        Stage::ALL.len(),
        "one erasure, each stage's page once: {pages:?}"
    );
    // The marketplace's request from the buyer's other seller: another event, one erasure.
    let again = market.send("buyer.erasure_requested", now, erasure_request()).await;
    assert_eq!(again.0, 202);
    assert_eq!(again.1["erasure_id"], first.1["erasure_id"]);
    assert!(market.run_privacy_queue(now).await.is_empty());
    // Another seller's request for the same erasure without the address: accepted, one erasure.
    let without_email = json!({"buyer_id": BUYER, "requested_at": "2026-11-25T08:00:00Z"});
    let (status, answer) = market.send("buyer.erasure_requested", now, without_email).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["erasure_id"], first.1["erasure_id"]);
    assert!(market.run_privacy_queue(now).await.is_empty());
    // The same event id with another body is a conflict.
    let other = json!({"id": "evt_erase_1", "type": "buyer.erasure_requested", "created_at": now.to_rfc3339(),
                       "data": {"buyer_id": "buy_other", "requested_at": "2026-11-25T08:00:00Z"}})
    .to_string();
    assert_eq!(market.send_body("buyer.erasure_requested", &other, now).await.0, 409);
}

#[tokio::test]
async fn an_order_or_a_thread_after_the_request_is_a_new_relationship_and_is_kept() {
    let mut market = market();
    market.sophies_history().await;
    let now = at("2026-11-25T08:00:05Z");
    market.send("buyer.erasure_requested", now, erasure_request()).await;
    // Placed after the request, before its pages run.
    let sophie = (
        BUYER,
        "Sophie Martin",
        "sophie.new@example.fr",
        ("1 Rue Neuve", "69001"),
    );
    market
        .order(sophie, "sel_b", "ord_new", at("2026-11-25T08:00:03Z"))
        .await;
    // A reply to her old thread after the request goes with the thread; a question opening a
    // new thread after it is a new relationship.
    let late_reply = json!({"message_id": "msg_late", "thread_id": "thr_msg_q", "seller_id": "sel_a",
        "text": "Merci pour votre patience, Sophie."});
    market
        .accepted("message.replied", at("2026-11-25T08:00:04Z"), late_reply)
        .await;
    let new_question = json!({"message_id": "msg_new", "seller_id": "sel_b",
        "buyer": {"id": BUYER, "name": "Sophie Martin", "email": "sophie.new@example.fr", "locale": "fr-FR"},
        "subject": "Tasses", "text": "Avez-vous des tasses assorties ?", "created_at": "2026-11-25T08:00:04Z"});
    market
        .accepted("message.received", at("2026-11-25T08:00:04Z"), new_question)
        .await;
    market.run_privacy_queue(now).await;
    let kept = market.found(&["sophie.new@example.fr", "1 Rue Neuve"]);
    assert_eq!(
        kept.iter().filter(|found| found.starts_with("Orders")).count(),
        2,
        "{kept:#?}"
    );
    let erased = market.found(&[
        "12 Rue de la Paix",
        "Le thé était froid et la boîte abîmée",
        "Merci pour votre patience, Sophie.",
    ]);
    assert!(erased.is_empty(), "{erased:#?}");
    let kept = market.found(&["Avez-vous des tasses assorties ?"]);
    assert!(kept.iter().any(|place| place.starts_with("Threads")), "{kept:#?}");
}

#[tokio::test]
async fn a_buyer_with_many_orders_is_erased_a_page_at_a_time_each_page_once() {
    let mut market = market();
    let sophie = (
        BUYER,
        "Sophie Martin",
        "sophie.martin@example.fr",
        ("12 Rue de la Paix", "75002"),
    );
    for n in 0..60 {
        let when = at("2026-11-20T09:00:00Z") + Duration::minutes(n);
        market.order(sophie, "sel_a", &format!("ord_{n:03}"), when).await;
    }
    let now = at("2026-11-25T08:00:05Z");
    market.send("buyer.erasure_requested", now, erasure_request()).await;
    let pages = market.run_privacy_queue(now).await;
    let order_pages = pages.iter().filter(|stage| *stage == "orders").count();
    assert_eq!(order_pages, 3, "60 orders in pages of 25: {pages:?}");
    assert!(market.found(PERSONAL).is_empty());
    // Every page delivered again changes nothing and hands nothing new on.
    let mut before = market.every_item();
    let again = market.bodies.clone();
    assert_eq!(again.len(), pages.len());
    market.deliver(&again, now).await;
    assert!(market.run_privacy_queue(now).await.is_empty(), "nothing new handed on");
    let mut after = market.every_item();
    before.sort();
    after.sort();
    assert_eq!(before, after);
}

/// Hostile `data` for each privacy event: each refused with its code and field, nothing kept.
#[tokio::test]
async fn hostile_privacy_events_are_refused_with_their_codes_and_leave_nothing() {
    let long = "b".repeat(65);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("buyer.erasure_requested", json!({}), 400, "missing_field"),
        (
            "buyer.erasure_requested",
            json!({"requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "missing_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER}),
            400,
            "missing_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": long, "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "buy 1", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "buy#1", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "buy/../1", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "<script>", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "买家", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": "buy\u{0}1", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": 42, "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": null, "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": [BUYER], "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": {"id": BUYER}, "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "yesterday"}),
            400,
            "invalid_timestamp",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2026-11-25"}),
            400,
            "invalid_timestamp",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2026-13-25T08:00:00Z"}),
            400,
            "invalid_timestamp",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2026-11-25T08:00:00"}),
            400,
            "invalid_timestamp",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": 1764057600}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": ""}),
            400,
            "invalid_timestamp",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2027-01-01T00:00:00Z"}),
            422,
            "requested_in_future",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "9999-12-31T23:59:59Z"}),
            422,
            "requested_in_future",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": "not an address", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_email",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": "a@b", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_email",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": "<a@b.fr>", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_email",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": "a@b.fr, c@d.fr", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_email",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": 7, "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "email": "", "requested_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_email",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2026-11-25T08:00:00Z", "scope": "all_buyers"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.erasure_requested",
            json!({"buyer_id": BUYER, "requested_at": "2026-11-25T08:00:00Z", "seller_id": "sel_a"}),
            400,
            "invalid_field",
        ),
        ("buyer.erasure_requested", json!("buy_sophie"), 400, "invalid_field"),
        ("buyer.erasure_requested", json!([BUYER]), 400, "invalid_field"),
        ("buyer.erasure_requested", Value::Null, 400, "invalid_field"),
        ("buyer.export_requested", json!({}), 400, "missing_field"),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER}),
            400,
            "missing_field",
        ),
        (
            "buyer.export_requested",
            json!({"export_id": "exp_1"}),
            400,
            "missing_field",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": "../../reports/x"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": "../other", "export_id": "exp_1"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": ""}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": "exp 1"}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": long}),
            400,
            "invalid_identifier",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": 1}),
            400,
            "invalid_field",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": BUYER, "export_id": "exp_1", "bucket": "elsewhere"}),
            400,
            "invalid_field",
        ),
        (
            "buyer.export_requested",
            json!({"buyer_id": true, "export_id": "exp_1"}),
            400,
            "invalid_field",
        ),
        ("seller.closed", json!({}), 400, "missing_field"),
        ("seller.closed", json!({"seller_id": "sel_a"}), 400, "missing_field"),
        (
            "seller.closed",
            json!({"closed_at": "2026-11-25T08:00:00Z"}),
            400,
            "missing_field",
        ),
        (
            "seller.closed",
            json!({"seller_id": "sel a", "closed_at": "2026-11-25T08:00:00Z"}),
            400,
            "invalid_identifier",
        ),
        (
            "seller.closed",
            json!({"seller_id": "sel_a", "closed_at": "soon"}),
            400,
            "invalid_timestamp",
        ),
        (
            "seller.closed",
            json!({"seller_id": "sel_a", "closed_at": "2027-01-01T00:00:00Z"}),
            422,
            "closed_in_future",
        ),
        (
            "seller.closed",
            json!({"seller_id": "sel_a", "closed_at": "2026-11-25T08:00:00Z", "retention_days": 0}),
            400,
            "invalid_field",
        ),
    ];
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut market = market();
    let now = at("2026-11-25T08:00:05Z");
    for (event_type, data, status, code) in cases {
        let (got, answer) = market.send(event_type, now, data.clone()).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (i64::from(status), Some(code)),
            "{event_type} {data}: {answer}"
        );
        assert!(
            answer["error"]["field"]
                .as_str()
                .is_some_and(|field| field.starts_with("data")),
            "{data}: {answer}"
        );
    }
    assert!(
        market.store.items(Table::Idempotency).is_empty(),
        "a refused event keeps no claim"
    );
    assert!(market.store.items(Table::Outbox).is_empty());
    assert!(
        market.store.items(Table::Suppression).is_empty(),
        "no buyer is marked erased"
    );
}

impl Market {
    /// The daily schedule, as EventBridge fires it at `at`.
    async fn sweep_closures(&self, at: DateTime<Utc>) -> Value {
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        self.privacy.handle(schedule, at).await.unwrap()
    }
}

#[tokio::test]
async fn a_closed_sellers_buyers_held_by_no_other_seller_are_erased_after_its_retention() {
    let mut market = market();
    market.sophies_history().await;
    let noah = (
        "buy_noah",
        "Noah Weber",
        "noah.weber@example.de",
        ("Hauptstrasse 5", "10115"),
    );
    market
        .order(noah, "sel_a", "ord_noah", at("2026-11-21T09:00:00Z"))
        .await;
    let closed_at = "2026-11-26T00:00:00Z";
    let closed = market
        .accepted(
            "seller.closed",
            at(closed_at),
            json!({"seller_id": "sel_a", "closed_at": closed_at}),
        )
        .await;
    assert_eq!(
        closed["erase_at"], "2027-02-24T00:00:00+00:00",
        "90 days by default: {closed}"
    );
    assert!(
        market
            .store
            .item(Table::Sellers, "sel_a")
            .is_some_and(|seller| seller.get("listed").is_none()),
        "a closing seller is off the weekly reports' list, its contact kept"
    );

    // Not before its retention ends.
    assert_eq!(market.sweep_closures(at("2027-02-23T23:00:00Z")).await["started"], 0);
    assert!(market.run_privacy_queue(at("2027-02-23T23:00:00Z")).await.is_empty());
    assert!(!market.found(&["Noah Weber"]).is_empty());

    let due = at("2027-02-24T01:00:00Z");
    assert_eq!(market.sweep_closures(due).await["started"], 1);
    market.run_privacy_queue(due).await;
    assert!(
        market
            .found(&["Noah Weber", "noah.weber@example.de", "Hauptstrasse 5"])
            .is_empty()
    );
    let sophie = market.found(&["Sophie Martin"]);
    assert!(
        sophie.iter().any(|place| place.starts_with("Orders")),
        "Sophie buys from sel_b too: kept"
    );
    assert_eq!(
        market.store.item(Table::Sellers, "sel_a"),
        None,
        "the seller's contact and settings are gone"
    );
    assert!(market.store.item(Table::Sellers, "sel_b").is_some());
    // The next day's sweep starts nothing again.
    assert_eq!(market.sweep_closures(due + Duration::days(1)).await["started"], 0);
}

#[tokio::test]
async fn closing_a_seller_never_heard_of_is_refused_and_keeps_nothing() {
    let mut market = market();
    let data = json!({"seller_id": "sel_nobody", "closed_at": "2026-11-26T00:00:00Z"});
    let (status, answer) = market.send("seller.closed", at("2026-11-26T00:00:00Z"), data).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("seller_not_found")),
        "{answer}"
    );
    assert_eq!(market.store.item(Table::Sellers, "sel_nobody"), None);
    assert!(market.store.items(Table::Idempotency).is_empty());
}
