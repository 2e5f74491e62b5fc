//! Order intake: the marketplace's `order.*` webhooks.
//!
//! Every request goes through the shared webhook edge (signature, envelope, idempotency); the
//! event types themselves are answered `501 event_type_not_handled` until their issue lands.

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use backoffice::idempotency::IdempotencyStore;
use backoffice::webhook::{WebhookEdge, not_handled_yet};
use chrono::{DateTime, Utc};

pub async fn handle_webhook<S: IdempotencyStore>(
    edge: &WebhookEdge<S>,
    request: &LambdaFunctionUrlRequest,
    now: DateTime<Utc>,
) -> LambdaFunctionUrlResponse {
    edge.receive(request, now, |envelope| async move { Err(not_handled_yet(&envelope)) })
        .await
}
