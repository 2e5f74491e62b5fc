//! The idempotency guard on DynamoDB, and the webhook edge over it: a duplicate has no second
//! effect, a reused id with another body is refused, and of concurrent duplicates exactly one
//! runs.

use std::sync::atomic::{AtomicUsize, Ordering};

use backoffice::adapters::dynamodb::DynamoIdempotencyStore;
use backoffice::idempotency::{Claim, IdempotencyStore};
use backoffice::webhook::{Accepted, Function, SignatureVerifier, WebhookEdge, WebhookSecret};
use backoffice_tests::{TEST_SECRET, local_aws, signed_request, unique_id};
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

async fn store() -> DynamoIdempotencyStore {
    let aws = local_aws();
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk_config().await);
    DynamoIdempotencyStore::new(client, aws.table("IdempotencyTable"))
}

#[tokio::test]
async fn a_claim_is_won_once_and_then_answers_duplicates_with_the_first_outcome() {
    let store = store().await;
    let key = unique_id("order-intake#webhook#evt");
    let now = Utc::now();
    assert_eq!(store.claim(&key, "fp-1", now).await.unwrap(), Claim::Acquired);
    assert_eq!(store.claim(&key, "fp-1", now).await.unwrap(), Claim::InProgress);
    store
        .complete(&key, "fp-1", &json!({"order_id": "o-1"}), now)
        .await
        .unwrap();
    assert_eq!(
        store.claim(&key, "fp-1", now).await.unwrap(),
        Claim::Completed(json!({"order_id": "o-1"}))
    );
    assert_eq!(store.claim(&key, "fp-2", now).await.unwrap(), Claim::Mismatch);
}

#[tokio::test]
async fn a_released_or_abandoned_claim_can_be_taken_again() {
    let store = store().await.with_lease(Duration::seconds(30));
    let now = Utc::now();
    let released = unique_id("order-intake#webhook#evt");
    assert_eq!(store.claim(&released, "fp", now).await.unwrap(), Claim::Acquired);
    store.release(&released).await.unwrap();
    assert_eq!(store.claim(&released, "fp", now).await.unwrap(), Claim::Acquired);

    let abandoned = unique_id("order-intake#webhook#evt");
    assert_eq!(store.claim(&abandoned, "fp", now).await.unwrap(), Claim::Acquired);
    assert_eq!(
        store
            .claim(&abandoned, "fp", now + Duration::seconds(10))
            .await
            .unwrap(),
        Claim::InProgress
    );
    assert_eq!(
        store
            .claim(&abandoned, "other", now + Duration::seconds(31))
            .await
            .unwrap(),
        Claim::Mismatch
    );
    assert_eq!(
        store
            .claim(&abandoned, "fp", now + Duration::seconds(31))
            .await
            .unwrap(),
        Claim::Acquired
    );
}

#[tokio::test]
async fn releasing_never_removes_a_completed_claim() {
    let store = store().await;
    let key = unique_id("order-intake#webhook#evt");
    let now = Utc::now();
    store.claim(&key, "fp", now).await.unwrap();
    store.complete(&key, "fp", &json!({}), now).await.unwrap();
    store.release(&key).await.unwrap();
    assert_eq!(store.claim(&key, "fp", now).await.unwrap(), Claim::Completed(json!({})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_claims_exactly_one_wins() {
    let store = store().await;
    let key = unique_id("order-intake#webhook#evt");
    let now = Utc::now();
    let claims = join_all((0..50).map(|_| store.claim(&key, "fp", now))).await;
    let won = claims
        .iter()
        .filter(|claim| matches!(claim, Ok(Claim::Acquired)))
        .count();
    assert_eq!(won, 1, "{claims:?}");
    assert!(
        claims
            .iter()
            .all(|claim| matches!(claim, Ok(Claim::Acquired | Claim::InProgress)))
    );
}

fn edge_over_dynamodb(store: DynamoIdempotencyStore) -> WebhookEdge<DynamoIdempotencyStore> {
    WebhookEdge::new(
        Function::OrderIntake,
        SignatureVerifier::new(WebhookSecret::new(TEST_SECRET)),
        store,
    )
}

fn order_event(id: &str, quantity: u32) -> String {
    json!({"id": id, "type": "order.created", "created_at": "2026-11-22T10:00:00Z", "data": {"quantity": quantity}})
        .to_string()
}

fn status_and_body(
    response: &aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse,
) -> (i64, Value) {
    (
        response.status_code,
        serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_webhook_is_harmless_and_a_reused_id_is_refused() {
    let edge = edge_over_dynamodb(store().await);
    let effects = AtomicUsize::new(0);
    let handler = |_| async {
        effects.fetch_add(1, Ordering::SeqCst);
        Ok::<Accepted, _>(json!({"order_id": "o-7"}).as_object().unwrap().clone())
    };
    let id = unique_id("evt");
    let body = order_event(&id, 1);

    let (status, first) = status_and_body(
        &edge
            .receive(&signed_request(TEST_SECRET, &body), Utc::now(), handler)
            .await,
    );
    assert_eq!((status, first["status"].as_str()), (202, Some("accepted")));
    let (status, again) = status_and_body(
        &edge
            .receive(&signed_request(TEST_SECRET, &body), Utc::now(), handler)
            .await,
    );
    assert_eq!(
        (status, again["status"].as_str(), again["order_id"].as_str()),
        (200, Some("duplicate"), Some("o-7"))
    );
    let other_body = order_event(&id, 2);
    let (status, conflict) = status_and_body(
        &edge
            .receive(&signed_request(TEST_SECRET, &other_body), Utc::now(), handler)
            .await,
    );
    assert_eq!(
        (status, conflict["error"]["code"].as_str()),
        (409, Some("event_id_reused"))
    );
    assert_eq!(effects.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_have_exactly_one_effect() {
    let edge = edge_over_dynamodb(store().await);
    let effects = AtomicUsize::new(0);
    let body = order_event(&unique_id("evt"), 1);
    let handler = |_| async {
        effects.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        Ok::<Accepted, _>(Accepted::new())
    };
    let responses = join_all((0..20).map(|_| async {
        edge.receive(&signed_request(TEST_SECRET, &body), Utc::now(), handler)
            .await
    }))
    .await;
    let statuses: Vec<i64> = responses.iter().map(|response| response.status_code).collect();
    assert_eq!(effects.load(Ordering::SeqCst), 1, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|status| **status == 202).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|status| [200, 202, 503].contains(status)),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_refused_event_leaves_no_claim_behind() {
    let store = store().await;
    let edge = edge_over_dynamodb(store.clone());
    let id = unique_id("evt");
    let body = order_event(&id, 1);
    let refuse = |_| async {
        Err(backoffice::webhook::Rejection::unprocessable(
            "unknown_sku",
            "no such SKU",
        ))
    };
    assert_eq!(
        edge.receive(&signed_request(TEST_SECRET, &body), Utc::now(), refuse)
            .await
            .status_code,
        422
    );
    let key = format!("order-intake#webhook#{id}");
    assert_eq!(
        store.claim(&key, "probe", Utc::now()).await.unwrap(),
        Claim::Acquired,
        "nothing was stored"
    );
}
