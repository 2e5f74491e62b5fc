//! Buyer messaging: the only sender of email, and the buyer's email preferences.
//!
//! - The email queue: each message is one email request from another function, delivered
//!   exactly once by the shared [`Postman`] (record, send through SES, mark sent).
//! - The feedback queue: SES's bounce and complaint notifications, which suppress the address,
//!   and its send events, which record that SES took an email (so that a retry after a lost
//!   answer or a killed attempt does not send it again).
//! - The Function URL: `buyer.preferences` (opt in or out of optional email), and buyer
//!   questions: `message.received` (answered from the order when it asks where the order is,
//!   otherwise sent to the seller on a 24-hour clock) and `message.replied` (the seller's
//!   answer, which stops the clock). Their emails go through the outbox like every other
//!   function's, so each is sent once by the email queue's consumer: this function.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::ses::SesMailer;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::email::feedback::SesNotification;
use backoffice::domains::email::ledger::record_send_event;
use backoffice::domains::email::mailer::Mailer;
use backoffice::domains::email::postman::Postman;
use backoffice::domains::email::preferences::PreferencesData;
use backoffice::domains::email::suppressions::{self, AddressSalt};
use backoffice::domains::orders::EventContext;
use backoffice::domains::questions::receive::{MessageOutcome, receive_message};
use backoffice::domains::questions::reply::reply_to_thread;
use backoffice::domains::questions::schema::{MessageReceivedData, MessageRepliedData};
use backoffice::domains::questions::sweep::{ClockSweep, sweep_clock};
use backoffice::domains::questions::validate;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::batch::{Delivery, process_batch};
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::{Claim, CommitFailure, commit_with_claim};
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::trigger::{InvocationError, Trigger};
use backoffice::mechanisms::webhook::{
    Accepted, Envelope, NotAccepted, Rejection, SigningSecrets, WebhookEdge, Webhooks, not_handled_yet, parse_data,
};
use backoffice::storage::{BoxError, Storage, Table};
use backoffice::values::pii::EmailAddress;
use backoffice::values::pii::Unquoted;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tracing::Instrument;

/// Where buyer messaging sends from and what it listens to, besides its tables.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sender_address: EmailAddress,
    /// SES configuration set that publishes bounces and complaints; optional locally.
    pub configuration_set: Option<String>,
    /// Messages from this queue are SES feedback; from any other, email requests.
    pub feedback_queue_arn: String,
    /// The salt of blocked addresses' keys (from Secrets Manager; none in the URL function).
    pub address_salt: Option<AddressSalt>,
}

impl Settings {
    pub fn from_env(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let sender = source.required("SENDER_ADDRESS")?;
        Ok(Self {
            sender_address: EmailAddress::parse(&sender).map_err(|_| ConfigError::Invalid {
                name: "SENDER_ADDRESS",
                reason: "not an email address",
            })?,
            configuration_set: source.optional("CONFIGURATION_SET"),
            feedback_queue_arn: source.required("FEEDBACK_QUEUE_ARN")?,
            address_salt: None,
        })
    }
}

/// Buyer messaging over its store and a mailer.
pub struct BuyerMessaging<Store, Mail> {
    edge: WebhookEdge,
    postman: Postman<Store, Mail>,
    feedback_queue_arn: String,
}

/// As the template deploys it: DynamoDB and SES.
/// The function as Lambda runs it.
pub type OnAws = BuyerMessaging<DynamoStorage, SesMailer>;

impl Deployed for OnAws {
    const FUNCTION: Function = Function::BuyerMessaging;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Emails,
        Table::Suppression,
        Table::Threads,
        Table::Orders,
        Table::Sellers,
        Table::Outbox,
        Table::Figures,
    ];

    fn deployed(env: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        let mut settings = Settings::from_env(env)?;
        settings.address_salt = aws.take_address_salt();
        let mailer = SesMailer::new(
            &aws.config,
            &settings.sender_address,
            settings.configuration_set.clone(),
        );
        Ok(Self::new(aws.take_signing_secrets(), &settings, aws.storage, mailer))
    }
}

/// `buyer.preferences`, `message.received`, `message.replied`.
impl<Store: Storage, Mail: Mailer> Webhooks for BuyerMessaging<Store, Mail> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        match envelope.event_type.as_str() {
            "buyer.preferences" => self.set_preference(envelope, claim).await,
            "message.received" | "message.replied" => self.take_message(envelope, claim).await,
            _ => Err(not_handled_yet(&envelope).into()),
        }
    }
}

impl<Store: Storage, Mail: Mailer> BuyerMessaging<Store, Mail> {
    /// A buyer's question or a seller's answer.
    async fn take_message(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let event = EventContext {
            id: envelope.id.clone(),
            fingerprint: envelope.fingerprint.clone(),
            at: envelope.created_at,
        };
        let store = &self.postman.store;
        let outcome = if envelope.event_type == "message.received" {
            let question =
                validate::question(parse_data::<MessageReceivedData>(&envelope.data)?).map_err(Rejection::from)?;
            receive_message(store, &question, &event, &claim).await?
        } else {
            let reply = validate::reply(parse_data::<MessageRepliedData>(&envelope.data)?).map_err(Rejection::from)?;
            reply_to_thread(store, &reply, &event, &claim).await?
        };
        match outcome {
            MessageOutcome::Now(answer) => {
                let field = |name: &str| answer.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
                let (intent, action) = (field("intent"), field("action"));
                if envelope.event_type == "message.received" {
                    tracing::info!(thread_id = %field("thread_id"), intent, action, "question taken");
                    metrics::count("QuestionsReceived", 1, &[("Intent", &intent), ("Action", &action)]);
                } else {
                    tracing::info!(thread_id = %field("thread_id"), state = %field("thread_state"), "reply taken");
                    metrics::count("RepliesTaken", 1, &[]);
                    if let Some(seconds) = answer.get("answered_after_seconds").and_then(Value::as_u64) {
                        metrics::measure("FirstResponseSeconds", seconds, "Seconds");
                    }
                }
                Ok(answer)
            }
            MessageOutcome::Earlier(answer) => Err(NotAccepted::AppliedBefore(answer)),
        }
    }

    /// `buyer.preferences`: the buyer's choice, committed with the event's claim. An event
    /// older than the stored choice is accepted and changes nothing (`superseded`).
    async fn set_preference(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let data = parse_data::<PreferencesData>(&envelope.data)?.validate()?;
        let store = &self.postman.store;
        let choice = suppressions::set_preference(
            &data.buyer_id,
            data.optional_email,
            envelope.ordering_time(claim.now)?,
            &envelope.id,
        );
        let answer = |superseded: bool| json!({"buyer_id": data.buyer_id, "optional_email": data.optional_email, "superseded": superseded});
        let superseded = match commit_with_claim(store, &claim, &answer(false), vec![choice]).await {
            Ok(()) => false,
            // A newer choice is stored: the event is recorded as applied, and changes nothing.
            Err(CommitFailure::Refused(_)) => {
                commit_with_claim(store, &claim, &answer(true), vec![]).await?;
                true
            }
            Err(failure) => return Err(failure.into()),
        };
        Ok(answer(superseded).as_object().cloned().unwrap_or_default())
    }
}

/// Every invocation: a webhook, a batch of email requests, or a batch of SES feedback.
impl<Store: Storage, Mail: Mailer> Handler for BuyerMessaging<Store, Mail> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            // Boxed: a question's future (receive, answer, commit) is deep enough that a caller
            // holding it inline overflows rustc's layout query depth.
            Trigger::Webhook(request) => Ok(serde_json::to_value(
                Box::pin(self.handle_webhook(&request, now)).await,
            )?),
            Trigger::Queue(batch) if self.is_feedback(&batch) => {
                Ok(serde_json::to_value(self.record_feedback(batch, now).await)?)
            }
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.send_emails(batch, now).await)?),
            Trigger::Schedule(_) => Ok(serde_json::to_value(self.sweep(now).await?)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}

impl<Store: Storage, Mail: Mailer> BuyerMessaging<Store, Mail> {
    pub fn new(secrets: impl Into<SigningSecrets>, settings: &Settings, store: Store, mailer: Mail) -> Self {
        Self {
            edge: WebhookEdge::new(Function::BuyerMessaging, secrets),
            postman: Postman {
                store,
                mailer,
                from: settings.sender_address.clone(),
                salt: settings.address_salt.clone(),
            },
            feedback_queue_arn: settings.feedback_queue_arn.clone(),
        }
    }

    /// The clock: reminders and breaches of unanswered questions, and late orders announced.
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<ClockSweep, InvocationError> {
        let swept = sweep_clock(&self.postman.store, now)
            .await
            .map_err(|error| InvocationError::Incomplete(error.to_string()))?;
        tracing::info!(?swept, "clock swept");
        metrics::count("QuestionRemindersSent", swept.reminded as u64, &[]);
        metrics::count("QuestionBreaches", swept.breached as u64, &[]);
        metrics::count("LateShipmentsAnnounced", swept.late_orders as u64, &[]);
        Ok(swept)
    }

    fn is_feedback(&self, batch: &SqsEvent) -> bool {
        batch
            .records
            .first()
            .and_then(|record| record.event_source_arn.as_deref())
            == Some(self.feedback_queue_arn.as_str())
    }

    /// Sends each email request of the batch; a request that fails is retried by the queue.
    pub async fn send_emails(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch(batch, |follow_up: FollowUp, delivery: Delivery| async move {
            let FollowUp::Email(request) = follow_up else {
                return Err::<(), BoxError>(format!("a {} follow-up on the email queue", follow_up.kind()).into());
            };
            let span = tracing::info_span!(
                "email",
                dedupe_key = %request.dedupe_key,
                template = request.content.template().name(),
                recipient_id = %request.recipient.id,
            );
            // Unique per delivery even when SQS's receive count repeats (after a DLQ redrive).
            let attempt = format!(
                "{}#{}#{}",
                delivery.message_id,
                delivery.receive_count,
                now.timestamp_micros()
            );
            // Sent, skipped, or done before: the message is done either way.
            self.postman.deliver(&request, &attempt, now).instrument(span).await?;
            Ok(())
        })
        .await
    }

    /// Suppresses the addresses that hard-bounced or complained, and records the sends SES
    /// reports.
    pub async fn record_feedback(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch(batch, |body: Value, _| async move {
            // Unquoted: serde's message would quote the notification, addresses and all.
            let notification = SesNotification::from_queue_body(body).map_err(|error| Unquoted(&error).to_string())?;
            if let Some(send) = notification.reported_send() {
                record_send_event(&self.postman.store, &send.reference, &send.message_id, now).await?;
                tracing::debug!(message_id = %send.message_id, "SES reported a send");
            }
            for blocked in notification.blocked_addresses() {
                suppressions::block(&self.postman.store, self.postman.salt()?, &blocked, now).await?;
                let block = format!("{:?}", blocked.block);
                tracing::info!(feedback_id = %blocked.feedback_id, block, "address suppressed");
                metrics::count("AddressesSuppressed", 1, &[("Block", &block)]);
            }
            Ok::<(), BoxError>(())
        })
        .await
    }
}

#[cfg(test)]
mod tests;
