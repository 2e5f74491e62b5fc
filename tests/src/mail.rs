//! Buyer messaging's real handler over the local AWS: real DynamoDB tables, real SES (moto
//! keeps what it accepted), the real feedback topic and queue. Only Lambda's queue polling is
//! done by the test, which hands the handler the SQS events Lambda would.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::ses::SesMailer;
use backoffice::domains::email::mailer::{Mailer, Outgoing, SendError};
use backoffice::domains::email::request::{OrderEmail, OrderEmailLine, ShipmentEmail};
use backoffice::domains::email::{EmailContent, EmailRequest, Recipient, RecipientRole};
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::webhook::Webhooks;
use backoffice::values::pii::EmailAddress;
use buyer_messaging::{BuyerMessaging, Settings};
use local_cloud::mail::SentEmail;
use serde_json::Value;

use crate::orders::{answer, envelope};
use crate::{TEST_SECRET, local_aws, receive_all, signed_request, unique_id};

pub const SENDER: &str = "orders@example.com";

/// Held while a test reads the feedback queue, which every email's send event reaches: a test
/// waiting for its own notification must not see another test take it.
static FEEDBACK_QUEUE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub type Messaging<M> = BuyerMessaging<DynamoStorage, M>;

pub struct Mailroom<M = SesMailer> {
    pub messaging: Messaging<M>,
    /// The test's handle on the mailer buyer messaging sends through.
    pub mailer: M,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
}

/// A mailer whose next sends fail: throttled as SES would (nothing sent), or sent with the
/// answer lost on the way back (a timeout after SES accepted). Clones share the cues.
#[derive(Clone)]
pub struct Throttled<Mail> {
    inner: Mail,
    failures_left: Arc<AtomicUsize>,
    answers_to_lose: Arc<AtomicUsize>,
}

fn take_one(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1))
        .is_ok()
}

impl<Mail> Throttled<Mail> {
    pub fn new(inner: Mail) -> Self {
        Self {
            inner,
            failures_left: Arc::default(),
            answers_to_lose: Arc::default(),
        }
    }

    pub fn fail_next(&self, sends: usize) {
        self.failures_left.store(sends, Ordering::SeqCst);
    }

    /// The next send reaches SES, but its answer never comes back.
    pub fn lose_next_answer(&self) {
        self.answers_to_lose.store(1, Ordering::SeqCst);
    }
}

impl<Inner: Mailer> Mailer for Throttled<Inner> {
    async fn send(&self, outgoing: &Outgoing) -> Result<String, SendError> {
        if take_one(&self.failures_left) {
            return Err(SendError::Throttled("injected: Maximum sending rate exceeded".into()));
        }
        let sent = self.inner.send(outgoing).await;
        if sent.is_ok() && take_one(&self.answers_to_lose) {
            return Err(SendError::Unavailable("injected: timed out".into()));
        }
        sent
    }
}

pub async fn mailroom() -> Mailroom {
    mailroom_with(|mailer| mailer).await
}

/// Buyer messaging built as the template deploys it; `wrap` may put SES behind something that
/// fails on cue.
pub async fn mailroom_with<M: Mailer + Clone>(wrap: impl FnOnce(SesMailer) -> M) -> Mailroom<M> {
    let aws = local_aws();
    let config = aws.sdk_config().await;
    let environment = aws.environment_of(Function::BuyerMessaging);
    let mut settings = Settings::from_env(&environment).expect("the template configures buyer messaging");
    assert_eq!(settings.sender_address.expose(), SENDER);
    let mailer = wrap(SesMailer::new(
        &config,
        &settings.sender_address,
        settings.configuration_set.clone(),
    ));
    let mut deployed = aws.aws_for::<buyer_messaging::OnAws>(&config);
    let secret = deployed.take_signing_secrets();
    // Its worker's salt: the one the stack's own buyer messaging worker reads.
    settings.address_salt = deployed.take_address_salt();
    let storage = deployed.storage;
    Mailroom {
        messaging: BuyerMessaging::new(secret, &settings, storage, mailer.clone()),
        mailer,
        dynamodb: aws_sdk_dynamodb::Client::new(&config),
        sqs: aws_sdk_sqs::Client::new(&config),
        sns: aws_sdk_sns::Client::new(&config),
    }
}

/// An SQS message on the email queue, as Lambda hands it over.
pub fn queued(request: &EmailRequest, message_id: &str, receive_count: u32) -> SqsMessage {
    let mut message = SqsMessage::default();
    message.message_id = Some(message_id.to_owned());
    message.body = Some(serde_json::to_string(&FollowUp::Email(request.clone())).expect("serialises"));
    message.event_source = Some("aws:sqs".to_owned());
    message.event_source_arn = Some(local_aws().provisioned.queues["EmailQueue"].arn.clone());
    message
        .attributes
        .insert("ApproximateReceiveCount".to_owned(), receive_count.to_string());
    message
}

pub fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages;
    event
}

impl<M: Mailer> Mailroom<M> {
    /// Delivers `request` once, as a new message of the email queue.
    pub async fn deliver(&self, request: &EmailRequest) -> SqsBatchResponse {
        self.deliver_batch(vec![queued(request, &unique_id("msg"), 1)]).await
    }

    pub async fn deliver_batch(&self, messages: Vec<SqsMessage>) -> SqsBatchResponse {
        let payload = serde_json::to_value(batch(messages)).expect("serialises");
        let answer = self
            .messaging
            .handle(payload, chrono::Utc::now())
            .await
            .expect("a queue batch is handled");
        serde_json::from_value(answer).expect("a batch response")
    }

    /// Publishes an SES notification to the feedback topic, then hands what reached the
    /// feedback queue to the handler.
    pub async fn feedback(&self, notification: &Value) -> SqsBatchResponse {
        let _turn = FEEDBACK_QUEUE.lock().await;
        self.sns
            .publish()
            .topic_arn(&local_aws().provisioned.topics["EmailFeedbackTopic"])
            .message(notification.to_string())
            .send()
            .await
            .expect("publish to the feedback topic");
        let handed = self.feedback_waiting().await;
        assert!(!handed.1.is_empty(), "the notification reached the feedback queue");
        handed.0
    }

    /// Hands whatever waits in the feedback queue (SES's events, every test's send events
    /// among them) to the handler.
    pub async fn deliver_feedback(&self) -> SqsBatchResponse {
        let _turn = FEEDBACK_QUEUE.lock().await;
        self.feedback_waiting().await.0
    }

    /// What the handler answered, and the ids of the messages it was handed.
    async fn feedback_waiting(&self) -> (SqsBatchResponse, Vec<String>) {
        let queue = &local_aws().provisioned.queues["EmailFeedbackQueue"];
        let messages: Vec<SqsMessage> = receive_all(&self.sqs, &queue.url)
            .await
            .into_iter()
            .map(|received| {
                let mut message = SqsMessage::default();
                message.message_id = received.message_id;
                message.receipt_handle = received.receipt_handle;
                message.body = received.body;
                message.event_source = Some("aws:sqs".to_owned());
                message.event_source_arn = Some(queue.arn.clone());
                message
            })
            .collect();
        let ids = messages
            .iter()
            .map(|message| message.message_id.clone().unwrap_or_default())
            .collect();
        (self.deliver_batch(messages).await, ids)
    }

    /// A signed webhook through the Function URL handler.
    pub async fn event(&self, event_type: &str, created_at: &str, data: Value) -> (i64, Value) {
        let mut body: Value = serde_json::from_str(&envelope(&unique_id("evt"), event_type, data)).expect("json");
        body["created_at"] = Value::String(created_at.to_owned());
        let response = self
            .messaging
            .handle_webhook(&signed_request(TEST_SECRET, &body.to_string()), chrono::Utc::now())
            .await;
        answer(&response)
    }

    /// The emails table's record of a dedupe key.
    pub async fn record(&self, dedupe_key: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(local_aws().table("EmailsTable"))
            .key("dedupe_key", AttributeValue::S(dedupe_key.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("read the emails table")
            .item
    }
}

/// Every email SES accepted for `address`.
pub async fn emails_to(address: &str) -> Vec<SentEmail> {
    local_cloud::operations::outbox(local_aws().endpoint())
        .await
        .expect("read the local outbox")
        .into_iter()
        .filter(|email| email.is_to(address))
        .collect()
}

/// An address nobody else in this run uses.
pub fn new_address() -> String {
    format!("{}@example.com", unique_id("buyer"))
}

pub fn buyer(address: &str, name: &str) -> Recipient {
    Recipient {
        role: RecipientRole::Buyer,
        id: unique_id("buy"),
        name: name.to_owned(),
        email: EmailAddress::parse(address).expect("an address"),
    }
}

pub fn request(recipient: Recipient, locale: &str, content: EmailContent) -> EmailRequest {
    EmailRequest {
        dedupe_key: unique_id("test#email"),
        recipient,
        locale: locale.to_owned(),
        content,
    }
}

/// The sample order as its emails show it: two lines, one with a title, shipped with tracking.
pub fn sample_order() -> OrderEmail {
    OrderEmail {
        order_id: "ord_1001".into(),
        seller_id: "sel_teahouse".into(),
        currency: "USD".into(),
        total: "1049.97".into(),
        lines: vec![
            OrderEmailLine {
                sku: "TEA-POT-1".into(),
                title: Some("Yixing clay teapot".into()),
                quantity: 2,
                unit_price: "499.99".into(),
                line_total: "999.98".into(),
            },
            OrderEmailLine {
                sku: "TEA-CUP-6".into(),
                title: None,
                quantity: 1,
                unit_price: "49.99".into(),
                line_total: "49.99".into(),
            },
        ],
        placed_at: "2026-11-22T09:30:00Z".parse().unwrap(),
        ship_by: "2026-11-25T00:00:00Z".parse().unwrap(),
        expected_by: Some("2026-12-02T00:00:00Z".parse().unwrap()),
        shipment: Some(ShipmentEmail {
            carrier: "UPS".into(),
            tracking_number: "1Z999AA10123456784".into(),
            tracking_url: Some("https://track.example/1Z999AA10123456784".into()),
        }),
    }
}
