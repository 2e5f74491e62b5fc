//! Claims committed with their effects, on DynamoDB, and the webhook edge over them: a
//! duplicate has no second effect, a reused id with another body is refused, and of
//! concurrent duplicates exactly one commits while the others are answered `200 duplicate`.

use std::sync::atomic::{AtomicUsize, Ordering};

use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::mechanisms::config::TableNames;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::{Claim, CommitFailure, Earlier, commit_with_claim};
use backoffice::mechanisms::webhook::{Accepted, NotAccepted, Rejection, WebhookEdge, WebhookSecret};
use backoffice::storage::{Condition, Storage, Table, Write};
use backoffice_tests::{TEST_SECRET, local_aws, signed_request, unique_id};
use chrono::{DateTime, Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

async fn store() -> DynamoStorage {
    let aws = local_aws();
    let client = aws_sdk_dynamodb::Client::new(&aws.sdk_config().await);
    let tables = TableNames::default()
        .with(Table::Idempotency, aws.table("IdempotencyTable"))
        .with(Table::Sellers, aws.table("SellersTable"));
    DynamoStorage::new(client, tables)
}

fn claim(id: &str, fingerprint: &str, now: DateTime<Utc>) -> Claim {
    Claim::webhook(Function::OrderIntake, id, fingerprint, now)
}

/// What a second commit of the same key learns, as the edge reads it.
async fn second_commit(store: &DynamoStorage, claim: &Claim) -> Option<Earlier> {
    match commit_with_claim(store, claim, &json!({}), vec![]).await {
        Err(CommitFailure::ClaimTaken(Some(existing))) => Some(claim.earlier(&existing)),
        Ok(()) => None,
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn a_claim_is_won_once_and_then_answers_duplicates_with_the_first_outcome() {
    let store = store().await;
    let id = unique_id("evt");
    let now = Utc::now();
    commit_with_claim(&store, &claim(&id, "fp-1", now), &json!({"order_id": "o-1"}), vec![])
        .await
        .unwrap();
    assert_eq!(
        second_commit(&store, &claim(&id, "fp-1", now)).await,
        Some(Earlier::Answered(json!({"order_id": "o-1"})))
    );
    assert_eq!(
        second_commit(&store, &claim(&id, "fp-2", now)).await,
        Some(Earlier::OtherBody)
    );
}

#[tokio::test]
async fn an_expired_claim_can_be_taken_again() {
    let store = store().await;
    let id = unique_id("evt");
    let now = Utc::now();
    commit_with_claim(&store, &claim(&id, "fp", now), &json!({"first": true}), vec![])
        .await
        .unwrap();
    let after_retention = now + Duration::days(8);
    assert_eq!(
        second_commit(&store, &claim(&id, "fp", after_retention)).await,
        None,
        "expired but not yet swept by the TTL: taken again"
    );
}

#[tokio::test]
async fn an_effect_that_fails_its_condition_commits_no_claim() {
    let store = store().await;
    let id = unique_id("evt");
    let now = Utc::now();
    let effect = Write::update(Table::Sellers, unique_id("sel"))
        .set("name", "x")
        .when(Condition::ItemExists);
    let refused = commit_with_claim(&store, &claim(&id, "fp", now), &json!({}), vec![effect]).await;
    assert!(matches!(refused, Err(CommitFailure::Refused(_))));
    let key = Function::OrderIntake.key(&["webhook", &id]);
    assert_eq!(
        store.get(Table::Idempotency, &key).await.unwrap(),
        None,
        "nothing was stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_claims_exactly_one_wins() {
    let store = store().await;
    let id = unique_id("evt");
    let now = Utc::now();
    let commits = join_all((0..50).map(|_| {
        let (store, claim) = (&store, claim(&id, "fp", now));
        async move { commit_with_claim(store, &claim, &json!({}), vec![]).await }
    }))
    .await;
    let won = commits.iter().filter(|commit| commit.is_ok()).count();
    assert_eq!(won, 1, "{commits:?}");
    assert!(
        commits
            .iter()
            .all(|commit| matches!(commit, Ok(()) | Err(CommitFailure::ClaimTaken(Some(_))))),
        "{commits:?}"
    );
}

fn edge() -> WebhookEdge {
    WebhookEdge::new(Function::OrderIntake, WebhookSecret::new(TEST_SECRET))
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

/// A handler whose effect is its claim: it counts the effects that committed.
async fn commit_counted(store: &DynamoStorage, claim: Claim, effects: &AtomicUsize) -> Result<Accepted, NotAccepted> {
    let answer = json!({"order_id": "o-7"});
    commit_with_claim(store, &claim, &answer, vec![]).await?;
    effects.fetch_add(1, Ordering::SeqCst);
    Ok(answer.as_object().unwrap().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_webhook_is_harmless_and_a_reused_id_is_refused() {
    let (edge, store) = (edge(), store().await);
    let effects = AtomicUsize::new(0);
    let handler = |_, claim| commit_counted(&store, claim, &effects);
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
    let (edge, store) = (edge(), store().await);
    let effects = AtomicUsize::new(0);
    let body = order_event(&unique_id("evt"), 1);
    let handler = |_, claim| commit_counted(&store, claim, &effects);
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
        statuses.iter().all(|status| [200, 202].contains(status)),
        "never a 5xx for a duplicate: {statuses:?}"
    );
}

#[tokio::test]
async fn a_refused_event_leaves_no_claim_behind() {
    let (edge, store) = (edge(), store().await);
    let id = unique_id("evt");
    let body = order_event(&id, 1);
    let refuse = |_, _| async {
        Err(NotAccepted::Refused(Rejection::unprocessable(
            "unknown_sku",
            "no such SKU",
        )))
    };
    assert_eq!(
        edge.receive(&signed_request(TEST_SECRET, &body), Utc::now(), refuse)
            .await
            .status_code,
        422
    );
    let key = Function::OrderIntake.key(&["webhook", &id]);
    assert_eq!(
        store.get(Table::Idempotency, &key).await.unwrap(),
        None,
        "nothing was stored"
    );
}
