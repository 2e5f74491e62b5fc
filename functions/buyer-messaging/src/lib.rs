//! Buyer messaging: the only sender of email, and the buyer's email preferences.
//!
//! - The email queue: each message is one email request from another function, delivered
//!   exactly once by the shared [`Postman`] (record, send through SES, mark sent).
//! - The feedback queue: SES's bounce and complaint notifications, which suppress the address.
//! - The Function URL: `buyer.preferences` (opt in or out of optional email). `message.*`
//!   events are answered `501 event_type_not_handled` until buyer questions land.

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::batch::{Delivery, process_batch};
use backoffice::config::{ConfigError, Source, WebhookSettings};
use backoffice::email::feedback::SesNotification;
use backoffice::email::postman::Postman;
use backoffice::email::preferences::PreferencesData;
use backoffice::email::store::{EmailLedger, Mailer, PreferenceChange, Suppressions};
use backoffice::follow_ups::FollowUp;
use backoffice::idempotency::IdempotencyStore;
use backoffice::metrics;
use backoffice::pii::EmailAddress;
use backoffice::store::BoxError;
use backoffice::trigger::{InvocationError, Trigger};
use backoffice::webhook::{Accepted, Envelope, Rejection, WebhookEdge, not_handled_yet, parse_data};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tracing::Instrument;

/// Where buyer messaging keeps and sends things, from the template's environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub webhook: WebhookSettings,
    pub emails_table: String,
    pub suppression_table: String,
    pub sender_address: EmailAddress,
    /// SES configuration set that publishes bounces and complaints; optional locally.
    pub configuration_set: Option<String>,
    /// Messages from this queue are SES feedback; from any other, email requests.
    pub feedback_queue_arn: String,
}

impl Config {
    pub fn from_env(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let sender = source.required("SENDER_ADDRESS")?;
        Ok(Self {
            webhook: WebhookSettings::from_env(source)?,
            emails_table: source.required("EMAILS_TABLE")?,
            suppression_table: source.required("SUPPRESSION_TABLE")?,
            sender_address: EmailAddress::parse(&sender).map_err(|_| ConfigError::Invalid {
                name: "SENDER_ADDRESS",
                reason: "not an email address",
            })?,
            configuration_set: source.optional("CONFIGURATION_SET"),
            feedback_queue_arn: source.required("FEEDBACK_QUEUE_ARN")?,
        })
    }
}

pub struct BuyerMessaging<C, L, S, M> {
    pub edge: WebhookEdge<C>,
    pub postman: Postman<L, S, M>,
    pub feedback_queue_arn: String,
}

/// Every invocation: a webhook, a batch of email requests, or a batch of SES feedback.
pub async fn handle<C, L, S, M>(
    messaging: &BuyerMessaging<C, L, S, M>,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<Value, InvocationError>
where
    C: IdempotencyStore,
    L: EmailLedger,
    S: Suppressions,
    M: Mailer,
{
    match Trigger::from_payload(payload)? {
        Trigger::Webhook(request) => Ok(serde_json::to_value(messaging.handle_webhook(&request, now).await)?),
        Trigger::Queue(batch) if messaging.is_feedback(&batch) => {
            Ok(serde_json::to_value(messaging.record_feedback(batch, now).await)?)
        }
        Trigger::Queue(batch) => Ok(serde_json::to_value(messaging.send_emails(batch, now).await)?),
        Trigger::Schedule(_) => Err(InvocationError::NotHandledYet("the reply-deadline sweep")),
        other => Err(InvocationError::NotATrigger(other.kind())),
    }
}

impl<C, L, S, M> BuyerMessaging<C, L, S, M>
where
    C: IdempotencyStore,
    L: EmailLedger,
    S: Suppressions,
    M: Mailer,
{
    pub async fn handle_webhook(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse {
        self.edge.receive(request, now, |envelope| self.apply(envelope)).await
    }

    async fn apply(&self, envelope: Envelope) -> Result<Accepted, Rejection> {
        if envelope.event_type != "buyer.preferences" {
            return Err(not_handled_yet(&envelope));
        }
        let data = parse_data::<PreferencesData>(&envelope.data)?.validate()?;
        let change = self
            .postman
            .suppressions
            .set_preference(&data.buyer_id, data.optional_email, envelope.created_at, &envelope.id)
            .await
            .map_err(|error| {
                tracing::error!(%error, "buyer preference not stored");
                Rejection::unavailable(
                    "dependency_unavailable",
                    "the preference could not be stored; send the event again",
                )
            })?;
        let mut accepted = Accepted::new();
        accepted.insert("buyer_id".to_owned(), json!(data.buyer_id));
        accepted.insert("optional_email".to_owned(), json!(data.optional_email));
        // An older event than the stored choice is accepted and changes nothing.
        accepted.insert("superseded".to_owned(), json!(change == PreferenceChange::Superseded));
        Ok(accepted)
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

    /// Suppresses the addresses that hard-bounced or complained.
    pub async fn record_feedback(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch(batch, |body: Value, _| async move {
            let notification = SesNotification::from_queue_body(body)?;
            for blocked in notification.blocked_addresses() {
                self.postman.suppressions.block(&blocked, now).await?;
                let block = format!("{:?}", blocked.block);
                tracing::info!(feedback_id = %blocked.feedback_id, block, "address suppressed");
                metrics::count("AddressesSuppressed", 1, &[("Block", &block)]);
            }
            Ok::<(), BoxError>(())
        })
        .await
    }
}
