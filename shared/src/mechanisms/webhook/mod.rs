//! The webhook edge every Function URL goes through, in order: method and size, signature,
//! envelope, routing, then the function's own handler, and one mapping of the result to an
//! HTTP answer.
//!
//! The handler commits the event's claim in the same write set as its effect
//! ([`crate::mechanisms::idempotency`]), so nothing is stored for a refused event and the same id can be
//! sent again once the cause is fixed; a duplicate, even a concurrent one, is answered from
//! the claim that won.

pub mod envelope;
pub mod rejection;
pub mod secrets;
pub mod signature;

use std::future::Future;

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use chrono::{DateTime, Utc};
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use serde_json::{Value, json};
use tracing::Instrument;

pub use envelope::Envelope;
pub use rejection::{Rejection, RejectionKind, parse_data};
pub use secrets::SigningSecrets;
pub use signature::{SignatureError, SignatureVerifier, WebhookSecret};

use crate::mechanisms::function::Function;
use crate::mechanisms::idempotency::{Claim, CommitFailure, Earlier};
use crate::mechanisms::metrics;
use crate::storage::{Item, StoreError};

/// Bodies over this are refused with `413` before anything else is read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const SIGNATURE_HEADER: &str = "marketplace-signature";

/// What a handler answered for an accepted event; becomes the `202` body next to
/// `"status": "accepted"`, and is what a duplicate of the event is answered with later.
pub type Accepted = serde_json::Map<String, Value>;

/// Why a handler did not accept an event now.
#[derive(Debug)]
pub enum NotAccepted {
    /// The event is refused, or the work failed and may be retried; nothing of it is kept.
    Refused(Rejection),
    /// The event's effect is already in the handler's own records (a change found in the
    /// order's history, say, after its claim expired): a duplicate, answered with what it did.
    AppliedBefore(Accepted),
    /// The handler's write set failed on the event's claim: another delivery of the event
    /// committed first. The claim in the way, as the failed write returned it.
    ClaimTaken(Option<Item>),
}

impl From<Rejection> for NotAccepted {
    fn from(rejection: Rejection) -> Self {
        NotAccepted::Refused(rejection)
    }
}

impl From<CommitFailure> for NotAccepted {
    /// For a handler whose effect has no condition of its own to explain.
    fn from(failure: CommitFailure) -> Self {
        match failure {
            CommitFailure::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            CommitFailure::Refused(cancelled) => NotAccepted::Refused(Rejection::dependency_unavailable(
                &StoreError::new("commit", format!("an unexpected condition failed: {cancelled:?}")),
            )),
            CommitFailure::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

/// A function that takes webhooks: the edge it receives them through, and what it does with
/// an authentic event routed to it (its effect committed with the event's claim).
pub trait Webhooks: Sync {
    fn edge(&self) -> &WebhookEdge;

    fn apply(&self, envelope: Envelope, claim: Claim) -> impl Future<Output = Result<Accepted, NotAccepted>> + Send;

    /// A Function URL request in, its HTTP answer out.
    fn handle_webhook(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> impl Future<Output = LambdaFunctionUrlResponse> + Send {
        async move {
            self.edge()
                .receive(request, now, |envelope, claim| self.apply(envelope, claim))
                .await
        }
    }
}

/// Every Function URL's way in: the checks that need no I/O, then the function's handler,
/// which commits the event's claim with its effect, then one answer for every outcome.
pub struct WebhookEdge {
    function: Function,
    secrets: SigningSecrets,
}

impl WebhookEdge {
    pub fn new(function: Function, secrets: impl Into<SigningSecrets>) -> Self {
        Self {
            function,
            secrets: secrets.into(),
        }
    }

    /// Runs `handler` on an authentic event for this function, with the event's claim to
    /// commit with its effect, and answers as the product contract says.
    pub async fn receive<H, Fut>(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
        handler: H,
    ) -> LambdaFunctionUrlResponse
    where
        H: FnOnce(Envelope, Claim) -> Fut,
        Fut: Future<Output = Result<Accepted, NotAccepted>>,
    {
        let envelope = match self.authenticate(request, now).await {
            Ok(envelope) => envelope,
            Err(rejection) => return self.refuse(None, rejection),
        };
        let span = tracing::info_span!("webhook", event_id = %envelope.id, event_type = %envelope.event_type);
        let event_type = envelope.event_type.clone();
        let claim = Claim::webhook(self.function, &envelope.id, &envelope.fingerprint, now);
        async {
            let outcome = handler(envelope, claim.clone()).await;
            match answer(&claim, &event_type, outcome) {
                Ok(response) => response,
                Err(rejection) => self.refuse(Some(&event_type), rejection),
            }
        }
        .instrument(span)
        .await
    }

    /// Everything before the store: a request that fails here is refused before any is touched.
    async fn authenticate(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> Result<Envelope, Rejection> {
        require_post(request)?;
        let body = raw_body(request)?;
        let header = request
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok());
        self.secrets
            .verify(header, &body, now)
            .await
            .map_err(signature_rejection)?;
        let envelope = Envelope::parse(&body)?;
        self.require_routed_here(&envelope)?;
        Ok(envelope)
    }

    fn require_routed_here(&self, envelope: &Envelope) -> Result<(), Rejection> {
        match Function::for_event_type(&envelope.event_type) {
            Some(function) if function == self.function => Ok(()),
            Some(function) => Err(Rejection::unprocessable(
                "wrong_endpoint",
                format!(
                    "{} events are taken by the {} function's URL, not {}'s",
                    envelope.event_type,
                    function.name(),
                    self.function.name()
                ),
            )
            .on_field("type")),
            None => Err(Rejection::bad_request(
                "unknown_event_type",
                format!("unknown event type {:?}", envelope.event_type),
            )
            .on_field("type")),
        }
    }

    fn refuse(&self, event_type: Option<&str>, rejection: Rejection) -> LambdaFunctionUrlResponse {
        // Code and field only: the message may quote the sender's data (serde repeats the
        // offending value), and buyer emails and addresses never reach a log.
        if rejection.is_retryable() {
            tracing::warn!(code = rejection.code, "event deferred");
        } else {
            tracing::info!(
                code = rejection.code,
                field = rejection.field.as_deref(),
                "event refused"
            );
        }
        metrics::count(
            "WebhookRefused",
            1,
            &[("EventType", event_type.unwrap_or("unknown")), ("Code", rejection.code)],
        );
        let mut response = json_response(rejection.status(), &rejection.body());
        if rejection.is_retryable() {
            response.headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// The HTTP answer for what the handler did.
fn answer(
    claim: &Claim,
    event_type: &str,
    outcome: Result<Accepted, NotAccepted>,
) -> Result<LambdaFunctionUrlResponse, Rejection> {
    let earlier = match outcome {
        Ok(accepted) => {
            metrics::count("WebhookAccepted", 1, &[("EventType", event_type)]);
            return Ok(json_response(202, &with_status("accepted", Value::Object(accepted))));
        }
        Err(NotAccepted::Refused(rejection)) => return Err(rejection),
        Err(NotAccepted::AppliedBefore(answer)) => Earlier::Answered(Value::Object(answer)),
        Err(NotAccepted::ClaimTaken(Some(existing))) => claim.earlier(&existing),
        // Storage answers a failed claim with the claim in the way; without it, say nothing
        // final: the sender retries and finds the first answer, or the event new again.
        Err(NotAccepted::ClaimTaken(None)) => return Err(in_progress()),
    };
    match earlier {
        Earlier::Answered(first_answer) => {
            tracing::info!("duplicate event answered with its first outcome");
            metrics::count("WebhookDuplicate", 1, &[("EventType", event_type)]);
            Ok(json_response(200, &with_status("duplicate", first_answer)))
        }
        Earlier::OtherBody => Err(event_id_reused()),
    }
}

fn in_progress() -> Rejection {
    Rejection::unavailable(
        "event_in_progress",
        "this event is being processed; send it again later",
    )
}

fn require_post(request: &LambdaFunctionUrlRequest) -> Result<(), Rejection> {
    match request.request_context.http.method.as_deref() {
        Some(method) if method.eq_ignore_ascii_case("POST") => Ok(()),
        _ => Err(Rejection::new(
            RejectionKind::BadRequest,
            "method_not_allowed",
            "webhooks are sent with POST",
        )),
    }
}

fn raw_body(request: &LambdaFunctionUrlRequest) -> Result<Vec<u8>, Rejection> {
    let text = request.body.as_deref().unwrap_or_default();
    // Base64 is at most 4/3 of the bytes: refuse obviously oversized bodies before decoding them.
    let limit = if request.is_base64_encoded {
        MAX_BODY_BYTES.div_ceil(3) * 4
    } else {
        MAX_BODY_BYTES
    };
    if text.len() > limit {
        return Err(too_large());
    }
    let body = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| Rejection::bad_request("malformed_body", "the base64 body cannot be decoded"))?
    } else {
        text.as_bytes().to_vec()
    };
    if body.len() > MAX_BODY_BYTES {
        Err(too_large())
    } else {
        Ok(body)
    }
}

fn too_large() -> Rejection {
    Rejection::new(
        RejectionKind::PayloadTooLarge,
        "payload_too_large",
        format!("the body is over {} KiB", MAX_BODY_BYTES / 1024),
    )
}

fn signature_rejection(error: SignatureError) -> Rejection {
    let code = match error {
        SignatureError::Missing => "signature_missing",
        SignatureError::Malformed => "signature_malformed",
        SignatureError::Stale { .. } => "signature_expired",
        SignatureError::Mismatch => "signature_invalid",
    };
    Rejection::new(RejectionKind::Unauthorized, code, error.to_string()).on_field("Marketplace-Signature")
}

fn with_status(status: &str, answer: Value) -> Value {
    let mut body = match answer {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    body.insert("status".to_owned(), json!(status));
    Value::Object(body)
}

fn json_response(status: u16, body: &Value) -> LambdaFunctionUrlResponse {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(status);
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(body.to_string());
    response
}

/// A Function URL request as the marketplace sends an event: a `POST` of `body`, signed with
/// `secret` at `at`. For the tests and tools that play the marketplace.
pub fn marketplace_request(secret: &WebhookSecret, body: &str, at: DateTime<Utc>) -> LambdaFunctionUrlRequest {
    let signature = SignatureVerifier::new(secret.clone()).sign(body.as_bytes(), at.timestamp());
    let mut request = LambdaFunctionUrlRequest::default();
    request.request_context.http.method = Some("POST".to_owned());
    if let Ok(value) = HeaderValue::from_str(&signature) {
        request.headers.insert(SIGNATURE_HEADER, value);
    }
    request.body = Some(body.to_owned());
    request
}

/// The answer for an event id seen before with another body: a new event needs a new id.
pub fn event_id_reused() -> Rejection {
    Rejection::new(
        RejectionKind::Conflict,
        "event_id_reused",
        "this event id was already used with a different body",
    )
    .on_field("id")
}

/// The answer for an event type the function takes but no release has built yet: an honest
/// `501`, never a fake success, so the marketplace keeps the event and retries it later.
pub fn not_handled_yet(envelope: &Envelope) -> Rejection {
    Rejection::new(
        RejectionKind::NotImplemented,
        "event_type_not_handled",
        format!("{} events are not handled by this deployment yet", envelope.event_type),
    )
    .on_field("type")
}

#[cfg(test)]
mod tests;
