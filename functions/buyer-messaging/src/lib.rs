//! Buyer messaging: every email to buyers and sellers (from the email queue), and the
//! marketplace's `message.*` and `buyer.preferences` webhooks.
//!
//! One handler takes every trigger. Webhooks go through the shared edge and are answered
//! `501 event_type_not_handled` until their issue lands; queued email requests fail as not
//! handled yet, so they wait in the dead-letter queue to be replayed once they are.

use backoffice::batch::process_batch;
use backoffice::idempotency::IdempotencyStore;
use backoffice::store::BoxError;
use backoffice::trigger::{InvocationError, Trigger};
use backoffice::webhook::{WebhookEdge, not_handled_yet};
use chrono::{DateTime, Utc};
use serde_json::Value;

pub async fn handle<S: IdempotencyStore>(
    edge: &WebhookEdge<S>,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<Value, InvocationError> {
    match Trigger::from_payload(payload)? {
        Trigger::Webhook(request) => {
            let response = edge
                .receive(&request, now, |envelope| async move { Err(not_handled_yet(&envelope)) })
                .await;
            Ok(serde_json::to_value(response)?)
        }
        Trigger::Queue(batch) => {
            let response = process_batch(batch, |_: Value, _| async {
                Err::<(), BoxError>(InvocationError::NotHandledYet("email requests").into())
            })
            .await;
            Ok(serde_json::to_value(response)?)
        }
        Trigger::Schedule(_) => Err(InvocationError::NotHandledYet("the reply-deadline sweep")),
        other => Err(InvocationError::NotATrigger(other.kind())),
    }
}
