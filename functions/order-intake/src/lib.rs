//! Order intake: the marketplace's `order.*` webhooks.
//!
//! Each event goes through the shared webhook edge, is read and checked against the order
//! rules, and is applied in one DynamoDB transaction together with its completed idempotency
//! claim and its follow-ups (`order.created` reserves every line or none; cancel releases,
//! ship consumes, deliver starts the return window). The follow-ups (a stock change, a buyer
//! email) wait in the outbox table, whose stream invokes [`relay_follow_ups`], which publishes
//! them to the follow-up topic. An accepted order is one AWS request; a backordered one is two.

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use backoffice::config::{ConfigError, Source, WebhookSettings};
use backoffice::follow_ups::FollowUpPublisher;
use backoffice::idempotency::{ClaimWrite, IdempotencyStore};
use backoffice::orders::schema::{OrderCreatedData, OrderRefData, OrderShippedData};
use backoffice::orders::{
    Applied, ChangeRequest, EventContext, OrderChange, OrderRef, OrderStore, StoreRefusal, validate,
};
use backoffice::outbox::{self, StreamBatch};
use backoffice::trigger::{InvocationError, Trigger};
use backoffice::webhook::{
    Accepted, AtomicFailure, Envelope, Rejection, WebhookEdge, event_id_reused, not_handled_yet, parse_data,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;

/// Where order intake keeps and sends things, from the template's environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub webhook: WebhookSettings,
    pub orders_table: String,
    pub inventory_table: String,
    pub outbox_table: String,
    pub follow_up_topic_arn: String,
}

impl Config {
    pub fn from_env(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            webhook: WebhookSettings::from_env(source)?,
            orders_table: source.required("ORDERS_TABLE")?,
            inventory_table: source.required("INVENTORY_TABLE")?,
            outbox_table: source.required("OUTBOX_TABLE")?,
            follow_up_topic_arn: source.required("FOLLOW_UP_TOPIC_ARN")?,
        })
    }
}

pub struct OrderIntake<C, O> {
    pub edge: WebhookEdge<C>,
    pub orders: O,
}

/// Every invocation: a webhook through the Function URL, or a batch of the outbox's stream.
pub async fn handle<C: IdempotencyStore, O: OrderStore>(
    intake: &OrderIntake<C, O>,
    publisher: &impl FollowUpPublisher,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<Value, InvocationError> {
    match Trigger::from_payload(payload)? {
        Trigger::Webhook(request) => Ok(serde_json::to_value(intake.handle_webhook(&request, now).await)?),
        Trigger::Stream(batch) => Ok(serde_json::to_value(relay_follow_ups(batch, publisher).await)?),
        other => Err(InvocationError::NotATrigger(other.kind())),
    }
}

/// Publishes the follow-ups the outbox table's stream delivers; reports the record to retry
/// from when a publish fails.
pub async fn relay_follow_ups(batch: StreamBatch, publisher: &impl FollowUpPublisher) -> DynamoDbEventResponse {
    let span = tracing::info_span!("outbox", records = batch.records.len());
    outbox::relay(batch, publisher).instrument(span).await
}

impl<C: IdempotencyStore, O: OrderStore> OrderIntake<C, O> {
    pub async fn handle_webhook(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> LambdaFunctionUrlResponse {
        self.edge
            .receive_atomic(request, now, |envelope, claim| self.apply(envelope, claim))
            .await
    }

    async fn apply(&self, envelope: Envelope, claim: ClaimWrite) -> Result<Accepted, AtomicFailure> {
        let event = EventContext {
            id: envelope.id.clone(),
            fingerprint: envelope.fingerprint.clone(),
            at: envelope.created_at,
        };
        let applied = match envelope.event_type.as_str() {
            "order.created" => {
                let order =
                    validate::new_order(parse_data::<OrderCreatedData>(&envelope.data)?).map_err(Rejection::from)?;
                self.orders.place(&order, &event, &claim).await
            }
            "order.cancelled" => self.change(&envelope, &event, &claim, OrderChange::Cancel).await?,
            "order.shipped" => self.change(&envelope, &event, &claim, OrderChange::Ship).await?,
            "order.delivered" => self.change(&envelope, &event, &claim, OrderChange::Deliver).await?,
            _ => return Err(not_handled_yet(&envelope).into()),
        }
        .map_err(refusal)?;
        match applied {
            Applied::Now(order) => Ok(order.receipt(order.status)),
            Applied::Before { order, status } => Err(AtomicFailure::DoneBefore(order.receipt(status))),
        }
    }

    /// Reads the change an event asks for; the store applies it.
    async fn change(
        &self,
        envelope: &Envelope,
        event: &EventContext,
        claim: &ClaimWrite,
        change: OrderChange,
    ) -> Result<Result<Applied, StoreRefusal>, AtomicFailure> {
        let (order, shipment) = if change == OrderChange::Ship {
            let data: OrderShippedData = parse_data(&envelope.data)?;
            let order = validate::order_ref(&data.order_id, &data.seller_id).map_err(Rejection::from)?;
            (order, Some(validate::shipment(&data).map_err(Rejection::from)?))
        } else {
            let data: OrderRefData = parse_data(&envelope.data)?;
            (OrderRef::try_from(&data).map_err(Rejection::from)?, None)
        };
        let request = ChangeRequest {
            order,
            change,
            shipment,
        };
        Ok(self.orders.change(&request, event, claim).await)
    }
}

fn refusal(refusal: StoreRefusal) -> AtomicFailure {
    match refusal {
        StoreRefusal::ClaimTaken => AtomicFailure::ClaimTaken,
        StoreRefusal::EventReused => AtomicFailure::Refused(event_id_reused()),
        StoreRefusal::Order(error) => AtomicFailure::Refused(error.into()),
        StoreRefusal::Store(error) => {
            tracing::error!(%error, "order store failed");
            AtomicFailure::Refused(Rejection::unavailable(
                "dependency_unavailable",
                "the order could not be stored; send the event again",
            ))
        }
    }
}
