//! Order intake: the marketplace's `order.*` webhooks.
//!
//! Each event goes through the shared webhook edge, is read and checked against the order
//! rules, and is applied in one DynamoDB transaction together with its idempotency claim
//! (`order.created` reserves every line or none; cancel releases, ship consumes, deliver
//! starts the return window). Its follow-ups (a stock change, a buyer email) then go out in one
//! publish. If that publish fails, the event is answered `503` and nothing is lost: the
//! marketplace's retry finds the change already applied and sends the follow-ups again.

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use backoffice::config::{ConfigError, Source, WebhookSettings};
use backoffice::follow_ups::FollowUpPublisher;
use backoffice::idempotency::{ClaimWrite, IdempotencyStore};
use backoffice::orders::schema::{OrderCreatedData, OrderRefData, OrderShippedData};
use backoffice::orders::{
    Applied, ChangeRequest, EventContext, OrderChange, OrderRef, OrderStatus, OrderStore, StoreRefusal, follow_ups,
    validate,
};
use backoffice::webhook::{
    Accepted, AtomicFailure, Envelope, Rejection, WebhookEdge, event_id_reused, not_handled_yet, parse_data,
};
use chrono::{DateTime, Utc};
use serde_json::json;

/// Where order intake keeps and sends things, from the template's environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub webhook: WebhookSettings,
    pub orders_table: String,
    pub inventory_table: String,
    pub follow_up_topic_arn: String,
}

impl Config {
    pub fn from_env(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            webhook: WebhookSettings::from_env(source)?,
            orders_table: source.required("ORDERS_TABLE")?,
            inventory_table: source.required("INVENTORY_TABLE")?,
            follow_up_topic_arn: source.required("FOLLOW_UP_TOPIC_ARN")?,
        })
    }
}

pub struct OrderIntake<C, O, P> {
    pub edge: WebhookEdge<C>,
    pub orders: O,
    pub follow_ups: P,
}

impl<C: IdempotencyStore, O: OrderStore, P: FollowUpPublisher> OrderIntake<C, O, P> {
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
        let order = applied.order();
        self.follow_ups
            .publish(&follow_ups::for_change(order, applied.status()))
            .await
            .map_err(|error| {
                tracing::error!(%error, order_id = %order.order_id, "follow-ups not sent; the event will be retried");
                Rejection::unavailable(
                    "follow_ups_failed",
                    "the order is recorded but its follow-ups could not be sent; send the event again",
                )
            })?;
        let mut answer = Accepted::new();
        answer.insert("order_id".to_owned(), json!(order.order_id));
        answer.insert("order_status".to_owned(), json!(order.status));
        if order.status == OrderStatus::Backordered {
            answer.insert(
                "short_skus".to_owned(),
                json!(order.short_lines.iter().map(|line| &line.sku).collect::<Vec<_>>()),
            );
            answer.insert("expected_by".to_owned(), json!(order.expected_by));
        }
        if matches!(applied, Applied::Before { .. }) {
            tracing::info!(order_id = %order.order_id, "event applied before; follow-ups sent again");
        }
        Ok(answer)
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
