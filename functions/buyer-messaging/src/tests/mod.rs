//! Buyer messaging's handler over the in-memory store and a mailer that keeps what it is
//! given: each email once, skips recorded with their reasons, preferences in event order.
//! The same handler over DynamoDB and SES is proven in `tests/tests/buyer_messaging.rs`.

use backoffice::domains::email::mailer::{KeptMail, SendError};
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{MemoryStorage, Table, text};
use chrono::{DateTime, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "whsec_unit";
const EMAIL_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:EmailQueue";
const FEEDBACK_QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:EmailFeedbackQueue";

fn now() -> DateTime<Utc> {
    "2026-11-24T12:00:00Z".parse().unwrap()
}

struct Mailroom {
    messaging: BuyerMessaging<MemoryStorage, KeptMail>,
    store: MemoryStorage,
    mail: KeptMail,
}

fn mailroom() -> Mailroom {
    let (store, mail) = (MemoryStorage::new(), KeptMail::default());
    let settings = Settings {
        sender_address: EmailAddress::parse("orders@example.com").unwrap(),
        configuration_set: None,
        feedback_queue_arn: FEEDBACK_QUEUE.to_owned(),
        address_salt: Some(backoffice::domains::email::suppressions::AddressSalt::new("salt_unit")),
    };
    Mailroom {
        messaging: BuyerMessaging::new(WebhookSecret::new(SECRET), &settings, store.clone(), mail.clone()),
        store,
        mail,
    }
}

/// An email request of the sample buyer, as order intake asks for it.
fn email(dedupe_key: &str, template: &str) -> Value {
    json!({
        "kind": "email",
        "dedupe_key": dedupe_key,
        "recipient": {"role": "buyer", "id": "buy_42", "name": "Li Wei", "email": "li.wei@example.cn"},
        "locale": "zh",
        "template": template,
        "data": {
            "order_id": "ord_1001", "seller_id": "sel_teahouse", "currency": "EUR", "total": "61.80",
            "lines": [{"sku": "TEA-POT-01", "quantity": 2, "unit_price": "24.90", "line_total": "49.80"}],
            "placed_at": "2026-11-22T09:30:00Z", "ship_by": "2026-11-24T18:00:00Z"
        }
    })
}

impl Mailroom {
    /// A batch from `queue` with one message per body, as Lambda hands it over.
    async fn deliver(&self, queue: &str, bodies: &[Value]) -> Vec<String> {
        self.deliver_at(queue, bodies, now()).await
    }

    async fn deliver_at(&self, queue: &str, bodies: &[Value], at: DateTime<Utc>) -> Vec<String> {
        let records: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(n, body)| {
                json!({"eventSource": "aws:sqs", "eventSourceARN": queue, "messageId": format!("m{n}"),
                       "body": body.to_string(), "attributes": {"ApproximateReceiveCount": "1"}})
            })
            .collect();
        let answer = self.messaging.handle(json!({"Records": records}), at).await.unwrap();
        let failures = answer["batchItemFailures"].as_array().cloned().unwrap_or_default();
        failures
            .iter()
            .map(|f| f["itemIdentifier"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn preference(&self, id: &str, created_at: &str, choice: &str) -> (i64, Value) {
        let event = json!({"id": id, "type": "buyer.preferences", "created_at": created_at,
                           "data": {"buyer_id": "buy_42", "optional_email": choice}});
        let request = marketplace_request(&WebhookSecret::new(SECRET), &event.to_string(), now());
        let response = self.messaging.handle_webhook(&request, now()).await;
        (
            response.status_code,
            serde_json::from_str(response.body.as_deref().unwrap()).unwrap(),
        )
    }

    fn state(&self, dedupe_key: &str) -> (String, String) {
        let record = self.store.item(Table::Emails, dedupe_key).unwrap();
        (text(&record, "state").to_owned(), text(&record, "reason").to_owned())
    }
}

#[tokio::test]
async fn an_email_request_delivered_twice_is_sent_once_for_four_requests() {
    let mailroom = mailroom();
    let confirmation = email("order-intake#ord_1001#accepted#email", "order_confirmation");
    assert!(
        mailroom
            .deliver(EMAIL_QUEUE, std::slice::from_ref(&confirmation))
            .await
            .is_empty()
    );
    assert_eq!(
        mailroom.store.take_requests(),
        3,
        "suppressions, lease, mark sent (and the send, to the mailer)"
    );
    assert!(mailroom.deliver(EMAIL_QUEUE, &[confirmation]).await.is_empty());
    let sent = mailroom.mail.take();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to.expose(), "li.wei@example.cn");
    assert_eq!(mailroom.state("order-intake#ord_1001#accepted#email").0, "sent");
}

/// An email waiting in its queue when the buyer's erasure commits is never sent: the skip is
/// recorded under its key (ids only), and a redelivery sends nothing either.
#[tokio::test]
async fn an_email_queued_before_the_buyers_erasure_is_not_sent() {
    use backoffice::domains::email::suppressions::mark_erased;
    let mailroom = mailroom();
    mailroom
        .store
        .write(vec![mark_erased("buy_42", now())].into())
        .await
        .unwrap();
    let confirmation = email("order-intake#ord_1001#accepted#email", "order_confirmation");
    for _ in 0..2 {
        let failed = mailroom.deliver(EMAIL_QUEUE, std::slice::from_ref(&confirmation)).await;
        assert!(failed.is_empty(), "{failed:?}");
    }
    assert!(mailroom.mail.take().is_empty());
    assert_eq!(
        mailroom.state("order-intake#ord_1001#accepted#email"),
        ("skipped".to_owned(), "erased".to_owned())
    );
}

#[tokio::test]
async fn an_opted_out_buyer_gets_order_email_but_no_review_request() {
    let mailroom = mailroom();
    let (status, answer) = mailroom
        .preference("evt_out", "2026-11-22T10:05:00Z", "opted_out")
        .await;
    assert_eq!((status, answer["superseded"].as_bool()), (202, Some(false)));
    let review = email("order-intake#ord_1001#delivered#email", "review_request");
    let shipped = email("order-intake#ord_1001#shipped#email", "shipping_confirmation");
    assert!(mailroom.deliver(EMAIL_QUEUE, &[review, shipped]).await.is_empty());
    assert_eq!(mailroom.mail.take().len(), 1, "the shipping confirmation only");
    assert_eq!(
        mailroom.state("order-intake#ord_1001#delivered#email"),
        ("skipped".to_owned(), "opted_out".to_owned())
    );
}

#[tokio::test]
async fn an_older_preference_changes_nothing_and_says_so() {
    let mailroom = mailroom();
    mailroom.preference("evt_new", "2026-11-22T11:00:00Z", "opted_in").await;
    let (status, answer) = mailroom
        .preference("evt_old", "2026-11-22T10:00:00Z", "opted_out")
        .await;
    assert_eq!((status, answer["superseded"].as_bool()), (202, Some(true)));
    let (status, again) = mailroom
        .preference("evt_old", "2026-11-22T10:00:00Z", "opted_out")
        .await;
    assert_eq!(
        (status, again["superseded"].as_bool()),
        (200, Some(true)),
        "its answer kept"
    );
    let buyer = mailroom.store.item(Table::Suppression, "buyer#buy_42").unwrap();
    assert_eq!(text(&buyer, "optional_email"), "opted_in");
}

/// A choice dated a year ahead would win over every real one until that day: refused, and
/// nothing stored. A clock a few minutes apart from the marketplace's is fine.
#[tokio::test]
async fn a_preference_from_the_future_is_refused() {
    let mailroom = mailroom();
    let (status, answer) = mailroom
        .preference("evt_future", "2027-11-24T12:00:00Z", "opted_out")
        .await;
    assert_eq!(
        (
            status,
            answer["error"]["code"].as_str(),
            answer["error"]["field"].as_str()
        ),
        (422, Some("created_at_in_future"), Some("created_at")),
        "{answer}"
    );
    assert!(mailroom.store.items(Table::Suppression).is_empty());
    assert!(mailroom.store.items(Table::Idempotency).is_empty());
    let ahead = (now() + chrono::Duration::minutes(4)).to_rfc3339();
    let (status, _) = mailroom.preference("evt_skewed", &ahead, "opted_out").await;
    assert_eq!(status, 202);
    let (status, answer) = mailroom.preference("evt_now", &now().to_rfc3339(), "opted_in").await;
    assert_eq!((status, answer["superseded"].as_bool()), (202, Some(true)));
}

#[tokio::test]
async fn sixteen_concurrent_deliveries_of_a_preference_are_one_202_and_fifteen_duplicates() {
    let mailroom = mailroom();
    let answers = join_all((0..16).map(|_| mailroom.preference("evt_race", "2026-11-22T10:05:00Z", "opted_out"))).await;
    let mut statuses: Vec<i64> = answers.iter().map(|(status, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [[200; 15].as_slice(), &[202]].concat(), "{statuses:?}");
}

#[tokio::test]
async fn a_throttled_send_fails_its_message_alone_and_the_retry_sends_it() {
    let mailroom = mailroom();
    mailroom
        .mail
        .fail_next(SendError::Throttled("Maximum sending rate exceeded".into()));
    let first = email("order-intake#ord_1001#accepted#email", "order_confirmation");
    let second = email("order-intake#ord_1002#accepted#email", "order_confirmation");
    let failed = mailroom.deliver(EMAIL_QUEUE, &[first.clone(), second]).await;
    assert_eq!(failed.len(), 1, "only the throttled one");
    assert!(mailroom.deliver(EMAIL_QUEUE, &[first]).await.is_empty());
    assert_eq!(mailroom.mail.take().len(), 2);
}

#[tokio::test]
async fn a_hard_bounce_blocks_the_address_for_every_email() {
    let mailroom = mailroom();
    let bounce = json!({"eventType": "Bounce", "bounce": {"bounceType": "Permanent",
        "bouncedRecipients": [{"emailAddress": "li.wei@example.cn"}], "feedbackId": "fb-1"}});
    assert!(mailroom.deliver(FEEDBACK_QUEUE, &[bounce]).await.is_empty());
    let confirmation = email("order-intake#ord_1001#accepted#email", "order_confirmation");
    assert!(mailroom.deliver(EMAIL_QUEUE, &[confirmation]).await.is_empty());
    assert!(mailroom.mail.take().is_empty());
    assert_eq!(
        mailroom.state("order-intake#ord_1001#accepted#email"),
        ("skipped".to_owned(), "hard_bounced".to_owned())
    );
}

mod questions;

/// SES took the email but its answer was lost (as when the attempt is killed right after the
/// send): the lease stays. SES's `Send` event, tagged with the email's reference, arrives on the
/// feedback queue; the queue's retry after the lease records the send and sends nothing.
/// Without the event, the retry sends, as it must: SES may never have had it.
#[tokio::test]
async fn a_send_ses_reported_is_not_sent_again_after_a_lost_answer() {
    let mailroom = mailroom();
    let confirmation = email("order-intake#ord_1001#accepted#email", "order_confirmation");
    let another = email("order-intake#ord_1002#accepted#email", "order_confirmation");
    mailroom.mail.lose_next_answer();
    mailroom.mail.lose_next_answer();
    let failed = mailroom.deliver(EMAIL_QUEUE, std::slice::from_ref(&confirmation)).await;
    assert_eq!(failed, ["m0"]);
    let failed = mailroom.deliver(EMAIL_QUEUE, std::slice::from_ref(&another)).await;
    assert_eq!(failed, ["m0"]);
    let taken = mailroom.mail.take();
    assert_eq!(taken.len(), 2, "SES took both");

    let send_event = json!({"Type": "Notification", "Message": json!({
        "eventType": "Send",
        "mail": {"messageId": "ses-confirmation", "destination": ["li.wei@example.cn"],
                 "tags": {"send_reference": [taken[0].reference], "template": ["order_confirmation"]}},
        "send": {}
    }).to_string()});
    assert!(mailroom.deliver(FEEDBACK_QUEUE, &[send_event]).await.is_empty());

    let after_the_lease = now() + chrono::Duration::seconds(181);
    assert!(
        mailroom
            .deliver_at(EMAIL_QUEUE, &[confirmation], after_the_lease)
            .await
            .is_empty()
    );
    assert!(
        mailroom
            .deliver_at(EMAIL_QUEUE, &[another], after_the_lease)
            .await
            .is_empty()
    );
    let resent = mailroom.mail.take();
    assert_eq!(resent.len(), 1, "only the email SES did not report is sent again");
    assert_eq!(resent[0].reference, taken[1].reference);
    let record = mailroom
        .store
        .item(Table::Emails, "order-intake#ord_1001#accepted#email")
        .unwrap();
    assert_eq!(
        (text(&record, "state"), text(&record, "message_id")),
        ("sent", "ses-confirmation")
    );
}
