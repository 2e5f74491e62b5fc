//! The edge's answers, with an in-memory claim store standing in for DynamoDB (the DynamoDB
//! store itself is proven against the local AWS in `tests/`).

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::mechanisms::idempotency::commit_with_claim;
use crate::storage::{MemoryStorage, Table};

const SECRET: &str = "whsec_test";

fn edge() -> WebhookEdge {
    WebhookEdge::new(Function::OrderIntake, WebhookSecret::new(SECRET))
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn event(id: &str, event_type: &str, data: Value) -> String {
    json!({"id": id, "type": event_type, "created_at": "2026-11-22T09:59:00Z", "data": data}).to_string()
}

fn signed(body: &str) -> LambdaFunctionUrlRequest {
    let header = SignatureVerifier::new(WebhookSecret::new(SECRET)).sign(body.as_bytes(), now().timestamp());
    request(body, Some(&header))
}

fn request(body: &str, signature: Option<&str>) -> LambdaFunctionUrlRequest {
    let mut request = LambdaFunctionUrlRequest::default();
    request.request_context.http.method = Some("POST".to_owned());
    if let Some(signature) = signature {
        request
            .headers
            .insert(SIGNATURE_HEADER, HeaderValue::from_str(signature).unwrap());
    }
    request.body = Some(body.to_owned());
    request
}

fn answer(response: &LambdaFunctionUrlResponse) -> (i64, Value) {
    (
        response.status_code,
        serde_json::from_str(response.body.as_deref().unwrap()).unwrap(),
    )
}

/// A handler whose effect is its claim alone.
async fn accept(store: &MemoryStorage, claim: Claim) -> Result<Accepted, NotAccepted> {
    let answer = json!({"order_id": "o-1"});
    commit_with_claim(store, &claim, &answer, vec![]).await?;
    Ok(answer.as_object().unwrap().clone())
}

#[tokio::test]
async fn a_signed_event_is_accepted_once_and_its_duplicate_is_harmless() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let runs = AtomicUsize::new(0);
    let body = event("evt_1", "order.created", json!({"n": 1}));
    let handler = |_, claim| {
        runs.fetch_add(1, Ordering::SeqCst);
        accept(&store, claim)
    };
    let (status, first) = answer(&edge.receive(&signed(&body), now(), handler).await);
    assert_eq!((status, first["status"].as_str()), (202, Some("accepted")));
    assert_eq!(first["order_id"], "o-1");

    let (status, again) = answer(&edge.receive(&signed(&body), now(), handler).await);
    assert_eq!((status, again["status"].as_str()), (200, Some("duplicate")));
    assert_eq!(
        again["order_id"], "o-1",
        "a duplicate is answered with the first outcome"
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the handler runs; its write set finds the claim"
    );
    assert_eq!(store.items(Table::Idempotency).len(), 1);
}

#[tokio::test]
async fn the_same_id_with_another_body_is_a_conflict() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let accept = |_, claim| accept(&store, claim);
    edge.receive(
        &signed(&event("evt_2", "order.created", json!({"n": 1}))),
        now(),
        accept,
    )
    .await;
    let (status, body) = answer(
        &edge
            .receive(
                &signed(&event("evt_2", "order.created", json!({"n": 2}))),
                now(),
                accept,
            )
            .await,
    );
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("event_id_reused")));
}

#[tokio::test]
async fn signature_failures_are_401_and_run_nothing() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let body = event("evt_3", "order.created", json!({}));
    let stale = SignatureVerifier::new(WebhookSecret::new(SECRET)).sign(body.as_bytes(), now().timestamp() - 301);
    let wrong = SignatureVerifier::new(WebhookSecret::new("nope")).sign(body.as_bytes(), now().timestamp());
    for (signature, code) in [
        (None, "signature_missing"),
        (Some("t=x"), "signature_malformed"),
        (Some(stale.as_str()), "signature_expired"),
        (Some(wrong.as_str()), "signature_invalid"),
    ] {
        let response = edge
            .receive(&request(&body, signature), now(), |_, _| async {
                panic!("handler must not run")
            })
            .await;
        let (status, answer) = answer(&response);
        assert_eq!((status, answer["error"]["code"].as_str()), (401, Some(code)));
    }
    assert!(store.items(Table::Idempotency).is_empty(), "nothing stored");
    assert_eq!(store.take_requests(), 0, "nothing read either");
}

#[tokio::test]
async fn an_oversized_body_is_413_before_the_signature_is_checked() {
    let big = event("evt_4", "order.created", json!({"pad": "x".repeat(MAX_BODY_BYTES)}));
    let store = MemoryStorage::new();
    let (status, body) = answer(
        &edge()
            .receive(&request(&big, None), now(), |_, claim| accept(&store, claim))
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}

#[tokio::test]
async fn a_base64_body_is_decoded_before_the_signature_is_checked() {
    let body = event("evt_5", "order.created", json!({}));
    let mut request = signed(&body);
    request.body = Some(base64::engine::general_purpose::STANDARD.encode(&body));
    request.is_base64_encoded = true;
    let store = MemoryStorage::new();
    let response = edge().receive(&request, now(), |_, claim| accept(&store, claim)).await;
    assert_eq!(response.status_code, 202);
}

#[tokio::test]
async fn a_refused_event_stores_nothing_and_can_be_sent_again() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let body = event("evt_6", "order.created", json!({}));
    let refuse = |_, _| async {
        Err(NotAccepted::Refused(
            Rejection::unprocessable("unknown_sku", "no such SKU").on_field("data.lines[0].sku"),
        ))
    };
    let (status, answer_body) = answer(&edge.receive(&signed(&body), now(), refuse).await);
    assert_eq!(status, 422);
    assert_eq!(answer_body["error"]["field"], "data.lines[0].sku");
    assert!(store.items(Table::Idempotency).is_empty());
    let response = edge
        .receive(&signed(&body), now(), |_, claim| accept(&store, claim))
        .await;
    assert_eq!(response.status_code, 202);
}

#[tokio::test]
async fn events_for_another_function_or_of_unknown_type_are_refused() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let accept = |_, claim| accept(&store, claim);
    let (status, body) = answer(
        &edge
            .receive(&signed(&event("evt_7", "review.created", json!({}))), now(), accept)
            .await,
    );
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("wrong_endpoint")));
    let (status, body) = answer(
        &edge
            .receive(&signed(&event("evt_8", "order.exploded", json!({}))), now(), accept)
            .await,
    );
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unknown_event_type"))
    );
}

#[tokio::test]
async fn an_event_whose_claim_cannot_be_read_back_is_deferred_with_retry_after() {
    let (edge, store) = (edge(), MemoryStorage::new());
    let body = event("evt_9", "order.created", json!({}));
    // The write set failed on a claim that has gone by the time the edge looks for it.
    let taken = |_, _| async { Err(NotAccepted::ClaimTaken(None)) };
    let response = edge.receive(&signed(&body), now(), taken).await;
    assert_eq!(response.status_code, 503);
    assert!(response.headers.contains_key(RETRY_AFTER));
    assert_eq!(answer(&response).1["error"]["code"], "event_in_progress");

    store.fail_next(1);
    let response = edge
        .receive(&signed(&body), now(), |_, claim| accept(&store, claim))
        .await;
    assert_eq!(response.status_code, 503);
    assert!(response.headers.contains_key(RETRY_AFTER));
    assert_eq!(answer(&response).1["error"]["code"], "dependency_unavailable");
}

#[tokio::test]
async fn only_post_is_accepted() {
    let mut request = signed(&event("evt_10", "order.created", json!({})));
    request.request_context.http.method = Some("GET".to_owned());
    let store = MemoryStorage::new();
    let response = edge().receive(&request, now(), |_, claim| accept(&store, claim)).await;
    assert_eq!(answer(&response).1["error"]["code"], "method_not_allowed");
}
