//! Order intake: the marketplace's `order.*` webhooks, and the relay of every function's
//! outbox.
//!
//! Each event goes through the shared webhook edge, is read and checked against the order
//! rules, and is applied by one write set together with its completed idempotency claim and
//! its follow-ups (`order.created` reserves every line or none; cancel releases, ship
//! consumes, deliver starts the return window). The follow-ups (a stock change, a buyer email)
//! wait in the outbox table, whose stream invokes [`OrderIntake::relay_follow_ups`], which
//! publishes them to the follow-up topic. An accepted order is one AWS request; a backordered
//! one is two.

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::sns::SnsFollowUps;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::orders::schema::{OrderCreatedData, OrderRefData, OrderShippedData};
use backoffice::domains::orders::{
    Applied, ChangeRequest, EventContext, OrderChange, OrderRef, change_order, place_order, validate,
};
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::Claim;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::outbox::FollowUpPublisher;
use backoffice::mechanisms::outbox::{self, StreamBatch};
use backoffice::mechanisms::trigger::{InvocationError, Trigger};
use backoffice::mechanisms::webhook::{
    Accepted, Envelope, NotAccepted, Rejection, SigningSecrets, WebhookEdge, Webhooks, not_handled_yet, parse_data,
};
use backoffice::storage::{Storage, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;

/// Order intake over its store (orders, stock, claims, outbox) and the follow-up topic.
pub struct OrderIntake<Store, Topic> {
    edge: WebhookEdge,
    store: Store,
    topic: Topic,
}

/// As the template deploys it: DynamoDB, and the follow-up topic (`FOLLOW_UP_TOPIC_ARN`).
/// The function as Lambda runs it.
pub type OnAws = OrderIntake<DynamoStorage, SnsFollowUps>;

impl Deployed for OnAws {
    const FUNCTION: Function = Function::OrderIntake;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Orders,
        Table::Inventory,
        Table::Outbox,
        Table::Figures,
    ];

    fn deployed(env: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        let topic = SnsFollowUps::new(&aws.config, env.required("FOLLOW_UP_TOPIC_ARN")?);
        Ok(Self::new(aws.take_signing_secrets(), aws.storage, topic))
    }
}

impl<Store: Storage, Topic: FollowUpPublisher> OrderIntake<Store, Topic> {
    pub fn new(secrets: impl Into<SigningSecrets>, store: Store, topic: Topic) -> Self {
        Self {
            edge: WebhookEdge::new(Function::OrderIntake, secrets),
            store,
            topic,
        }
    }

    /// Publishes the follow-ups the outbox table's stream delivers; reports the record to
    /// retry from when a publish fails.
    pub async fn relay_follow_ups(&self, batch: StreamBatch) -> DynamoDbEventResponse {
        let span = tracing::info_span!("outbox", records = batch.records.len());
        outbox::relay(batch, &self.topic, &self.store).instrument(span).await
    }

    /// Reads the change an event asks for, and applies it.
    async fn change(
        &self,
        envelope: &Envelope,
        event: &EventContext,
        claim: &Claim,
        change: OrderChange,
    ) -> Result<Applied, NotAccepted> {
        let (order, shipment, cancelled_by) = if change == OrderChange::Ship {
            let data: OrderShippedData = parse_data(&envelope.data)?;
            let order = validate::order_ref(&data.order_id, &data.seller_id).map_err(Rejection::from)?;
            (order, Some(validate::shipment(&data).map_err(Rejection::from)?), None)
        } else {
            let data: OrderRefData = parse_data(&envelope.data)?;
            let cancelled_by = data.cancelled_by.filter(|_| change == OrderChange::Cancel);
            (OrderRef::try_from(&data).map_err(Rejection::from)?, None, cancelled_by)
        };
        let request = ChangeRequest {
            order,
            change,
            shipment,
            cancelled_by,
        };
        Ok(change_order(&self.store, &request, event, claim).await?)
    }
}

/// `order.*`: each event applied in one write set with its claim and follow-ups.
impl<Store: Storage, Topic: FollowUpPublisher> Webhooks for OrderIntake<Store, Topic> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let event = EventContext {
            id: envelope.id.clone(),
            fingerprint: envelope.fingerprint.clone(),
            at: envelope.created_at,
        };
        let applied = match envelope.event_type.as_str() {
            "order.created" => {
                let order =
                    validate::new_order(parse_data::<OrderCreatedData>(&envelope.data)?).map_err(Rejection::from)?;
                place_order(&self.store, &order, &event, &claim).await?
            }
            "order.cancelled" => self.change(&envelope, &event, &claim, OrderChange::Cancel).await?,
            "order.shipped" => self.change(&envelope, &event, &claim, OrderChange::Ship).await?,
            "order.delivered" => self.change(&envelope, &event, &claim, OrderChange::Deliver).await?,
            _ => return Err(not_handled_yet(&envelope).into()),
        };
        match applied {
            Applied::Now(order) => Ok(order.receipt(order.status)),
            Applied::Earlier { order, status } => Err(NotAccepted::AppliedBefore(order.receipt(status))),
        }
    }
}

/// Every invocation: a webhook through the Function URL, or a batch of the outbox's stream.
impl<Store: Storage, Topic: FollowUpPublisher> Handler for OrderIntake<Store, Topic> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            Trigger::Stream(batch) => Ok(serde_json::to_value(self.relay_follow_ups(batch).await)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}

#[cfg(test)]
mod tests;
