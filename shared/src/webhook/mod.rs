//! The webhook edge every Function URL goes through, in order: method and size, signature,
//! envelope, routing, idempotency, then the function's own handler, and one mapping of the
//! result to an HTTP answer.
//!
//! Nothing is stored for a refused event: the idempotency claim is released when the handler
//! refuses or fails, so the same id can be sent again once the cause is fixed.

pub mod envelope;
pub mod rejection;
pub mod routes;
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
pub use routes::Function;
pub use signature::{SignatureError, SignatureVerifier, WebhookSecret};

use crate::idempotency::{Claim, ClaimWrite, IdempotencyStore, scoped_key};
use crate::metrics;

/// Bodies over this are refused with `413` before anything else is read.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const SIGNATURE_HEADER: &str = "marketplace-signature";

/// What a handler answered for an accepted event; becomes the `202` body next to
/// `"status": "accepted"`, and is what a duplicate of the event is answered with later.
pub type Accepted = serde_json::Map<String, Value>;

pub struct WebhookEdge<S> {
    function: Function,
    verifier: SignatureVerifier,
    claims: S,
}

impl<S: IdempotencyStore> WebhookEdge<S> {
    pub fn new(function: Function, verifier: SignatureVerifier, claims: S) -> Self {
        Self {
            function,
            verifier,
            claims,
        }
    }

    /// Runs `handler` once per event id and answers as the product contract says.
    pub async fn receive<H, Fut>(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
        handler: H,
    ) -> LambdaFunctionUrlResponse
    where
        H: FnOnce(Envelope) -> Fut,
        Fut: Future<Output = Result<Accepted, Rejection>>,
    {
        self.frame(request, now, |envelope| self.process(envelope, now, handler))
            .await
    }

    /// What every webhook goes through around its processing: the checks that need no I/O,
    /// a span carrying the event's ids, and one answer for every refusal.
    async fn frame<P, Fut>(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
        process: P,
    ) -> LambdaFunctionUrlResponse
    where
        P: FnOnce(Envelope) -> Fut,
        Fut: Future<Output = Result<LambdaFunctionUrlResponse, Rejection>>,
    {
        let envelope = match self.authenticate(request, now) {
            Ok(envelope) => envelope,
            Err(rejection) => return self.refuse(None, rejection),
        };
        let span = tracing::info_span!("webhook", event_id = %envelope.id, event_type = %envelope.event_type);
        let event_type = envelope.event_type.clone();
        async {
            match process(envelope).await {
                Ok(response) => response,
                Err(rejection) => self.refuse(Some(&event_type), rejection),
            }
        }
        .instrument(span)
        .await
    }

    /// Everything that needs no I/O: a request that fails here is refused before any store is touched.
    fn authenticate(&self, request: &LambdaFunctionUrlRequest, now: DateTime<Utc>) -> Result<Envelope, Rejection> {
        require_post(request)?;
        let body = raw_body(request)?;
        let header = request
            .headers
            .get(SIGNATURE_HEADER)
            .and_then(|value| value.to_str().ok());
        self.verifier
            .verify(header, &body, now.timestamp())
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

    async fn process<H, Fut>(
        &self,
        envelope: Envelope,
        now: DateTime<Utc>,
        handler: H,
    ) -> Result<LambdaFunctionUrlResponse, Rejection>
    where
        H: FnOnce(Envelope) -> Fut,
        Fut: Future<Output = Result<Accepted, Rejection>>,
    {
        let key = scoped_key(self.function.name(), "webhook", &envelope.id);
        match self
            .claims
            .claim(&key, &envelope.fingerprint, now)
            .await
            .map_err(claim_failed)?
        {
            Claim::Acquired => {}
            lost => return self.answer_lost_claim(lost, &envelope.event_type),
        }
        let event_type = envelope.event_type.clone();
        let fingerprint = envelope.fingerprint.clone();
        match handler(envelope).await {
            Ok(accepted) => Ok(self.accept(&key, &fingerprint, &event_type, accepted, now).await),
            Err(rejection) => Err(self.release(&key, rejection).await),
        }
    }

    /// Like [`WebhookEdge::receive`], for a handler that writes the claim, completed with its
    /// answer, in the same transaction as its effect: the event costs that one write. Nothing
    /// is written when the handler refuses, so there is nothing to release. The handler
    /// answers [`AtomicFailure::ClaimTaken`] when its transaction failed on the claim.
    pub async fn receive_atomic<H, Fut>(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
        handler: H,
    ) -> LambdaFunctionUrlResponse
    where
        H: FnOnce(Envelope, ClaimWrite) -> Fut,
        Fut: Future<Output = Result<Accepted, AtomicFailure>>,
    {
        self.frame(request, now, |envelope| self.process_atomic(envelope, now, handler))
            .await
    }

    async fn process_atomic<H, Fut>(
        &self,
        envelope: Envelope,
        now: DateTime<Utc>,
        handler: H,
    ) -> Result<LambdaFunctionUrlResponse, Rejection>
    where
        H: FnOnce(Envelope, ClaimWrite) -> Fut,
        Fut: Future<Output = Result<Accepted, AtomicFailure>>,
    {
        let key = scoped_key(self.function.name(), "webhook", &envelope.id);
        let claim = ClaimWrite {
            key: key.clone(),
            fingerprint: envelope.fingerprint.clone(),
            now,
        };
        let event_type = envelope.event_type.clone();
        let fingerprint = envelope.fingerprint.clone();
        match handler(envelope, claim).await {
            Ok(accepted) => Ok(accepted_response(&event_type, Value::Object(accepted))),
            Err(AtomicFailure::Refused(rejection)) => Err(rejection),
            Err(AtomicFailure::DoneBefore(answer)) => {
                self.answer_lost_claim(Claim::Completed(Value::Object(answer)), &event_type)
            }
            Err(AtomicFailure::ClaimTaken) => {
                match self.claims.claim(&key, &fingerprint, now).await.map_err(claim_failed)? {
                    // Released between the transaction and this look: ours now, but the work
                    // was not done; give it back and let the sender retry.
                    Claim::Acquired => Err(self.release(&key, in_progress()).await),
                    lost => self.answer_lost_claim(lost, &event_type),
                }
            }
        }
    }

    /// The answer for an event whose claim someone else holds or held.
    fn answer_lost_claim(&self, claim: Claim, event_type: &str) -> Result<LambdaFunctionUrlResponse, Rejection> {
        match claim {
            Claim::Completed(first_answer) => {
                tracing::info!("duplicate event answered with its first outcome");
                metrics::count("WebhookDuplicate", 1, &[("EventType", event_type)]);
                Ok(json_response(200, &with_status("duplicate", first_answer)))
            }
            Claim::Mismatch => Err(event_id_reused()),
            Claim::InProgress | Claim::Acquired => Err(in_progress()),
        }
    }

    async fn accept(
        &self,
        key: &str,
        fingerprint: &str,
        event_type: &str,
        accepted: Accepted,
        now: DateTime<Utc>,
    ) -> LambdaFunctionUrlResponse {
        let answer = Value::Object(accepted);
        if let Err(error) = self.claims.complete(key, fingerprint, &answer, now).await {
            // The effect is committed; a retry after the lease re-runs the handler, which is
            // idempotent on its own records.
            tracing::warn!(%error, "event processed but its idempotency record was not completed");
        }
        accepted_response(event_type, answer)
    }

    async fn release(&self, key: &str, rejection: Rejection) -> Rejection {
        if let Err(error) = self.claims.release(key).await {
            tracing::warn!(%error, "refused event's claim not released; it frees itself when the lease ends");
        }
        rejection
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

fn accepted_response(event_type: &str, answer: Value) -> LambdaFunctionUrlResponse {
    metrics::count("WebhookAccepted", 1, &[("EventType", event_type)]);
    json_response(202, &with_status("accepted", answer))
}

/// How a handler of [`WebhookEdge::receive_atomic`] fails.
#[derive(Debug)]
pub enum AtomicFailure {
    /// The event is refused, or the work failed and may be retried; nothing of it is kept.
    Refused(Rejection),
    /// The handler found the event's effect already recorded in its own records (a change
    /// event is checked against the order before its transaction; an event whose claim has
    /// expired is found there too): answered as a duplicate, with what the event did.
    DoneBefore(Accepted),
    /// The handler's transaction failed on the idempotency claim: someone else has this event.
    ClaimTaken,
}

impl From<Rejection> for AtomicFailure {
    fn from(rejection: Rejection) -> Self {
        AtomicFailure::Refused(rejection)
    }
}

fn claim_failed(error: crate::store::StoreError) -> Rejection {
    tracing::error!(%error, "idempotency claim failed");
    Rejection::unavailable(
        "dependency_unavailable",
        "the event could not be recorded; send it again later",
    )
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
