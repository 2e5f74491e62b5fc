//! The one SQS batch loop.
//!
//! Every message of a batch is handled concurrently; each that fails, whether its handler
//! returned an error, its body could not be read, or its handler panicked, is reported as a
//! batch item failure, so SQS retries only that message and, after the queue's
//! `maxReceiveCount`, moves it to the dead-letter queue. The rest of the batch is deleted.
//! The template enables `ReportBatchItemFailures` on every SQS trigger; without it a single
//! failure would redeliver the whole batch.

use crate::values::pii::Unquoted;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures_util::FutureExt;
use futures_util::future::join_all;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::mechanisms::metrics;
use crate::storage::BoxError;

/// What the handler learns about a message besides its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// 1 on the first delivery; SQS's `ApproximateReceiveCount`.
    pub receive_count: u32,
}

/// Parses each message body as `T` and runs `handle` on it; returns the failures to report.
pub async fn process_batch<T, F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    T: DeserializeOwned,
    F: Fn(T, Delivery) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let outcomes = join_all(
        event
            .records
            .into_iter()
            .map(|message| process_message(message, &handle)),
    )
    .await;
    failures(outcomes.into_iter().flatten().collect())
}

/// Like [`process_batch`], for work that must see a group's messages together (one seller's
/// stock changes, so that a burst makes one digest). Messages are read and grouped by
/// `group_of`; each group is handled once, concurrently with the others. A group that fails
/// (or panics) is handled again one message at a time, so that only the messages that fail on
/// their own are reported: a poison message fails alone instead of taking its seller's other
/// messages toward the dead-letter queue. A message that cannot be read fails by itself.
pub async fn process_batch_grouped<T, K, G, F, Fut>(event: SqsEvent, group_of: G, handle: F) -> SqsBatchResponse
where
    T: DeserializeOwned + Clone,
    K: Ord + Clone + std::fmt::Display,
    G: Fn(&T) -> K,
    F: Fn(K, Vec<T>) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let mut failed = Vec::new();
    let mut groups: BTreeMap<K, Vec<(String, T)>> = BTreeMap::new();
    for message in event.records {
        let message_id = message.message_id.clone().unwrap_or_default();
        match serde_json::from_str::<T>(message.body.as_deref().unwrap_or_default()) {
            Ok(body) => groups.entry(group_of(&body)).or_default().push((message_id, body)),
            Err(error) => {
                let error = Unquoted(&error);
                tracing::error!(%error, %message_id, "message body is malformed; it will reach the dead-letter queue");
                failed.push(message_id);
            }
        }
    }
    let outcomes = join_all(
        groups
            .into_iter()
            .map(|(key, members)| process_group(key, members, &handle)),
    )
    .await;
    failed.extend(outcomes.into_iter().flatten());
    failures(failed)
}

/// Handles one group, then, if it failed, each of its messages alone; returns the ids of the
/// messages that failed.
async fn process_group<T, K, F, Fut>(key: K, members: Vec<(String, T)>, handle: &F) -> Vec<String>
where
    T: Clone,
    K: Clone + std::fmt::Display,
    F: Fn(K, Vec<T>) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let ids: Vec<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
    let bodies = members.iter().map(|(_, body)| body.clone()).collect();
    if handled(&key, bodies, &ids, handle).await {
        return Vec::new();
    }
    if members.len() == 1 {
        return vec![members[0].0.clone()];
    }
    let mut failed = Vec::new();
    for (id, body) in members {
        if !handled(&key, vec![body], &[id.as_str()], handle).await {
            failed.push(id);
        }
    }
    failed
}

/// Whether `handle` took `bodies` as one group without an error or a panic.
async fn handled<T, K, F, Fut>(key: &K, bodies: Vec<T>, ids: &[&str], handle: &F) -> bool
where
    K: Clone + std::fmt::Display,
    F: Fn(K, Vec<T>) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    let span = tracing::info_span!("message_group", group = %key, messages = ids.len());
    let key = key.clone();
    // The call inside the future, so that a panic while building it is caught too.
    let work = AssertUnwindSafe(async move { handle(key, bodies).await }).catch_unwind();
    match work.instrument(span).await {
        Ok(Ok(())) => true,
        Ok(Err(error)) => {
            tracing::error!(error = %error, ?ids, "message group failed");
            false
        }
        Err(_) => {
            tracing::error!(?ids, "message group handler panicked");
            false
        }
    }
}

fn failures(message_ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = message_ids
        .into_iter()
        .map(|message_id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            failure
        })
        .collect();
    if !response.batch_item_failures.is_empty() {
        metrics::count("MessagesFailed", response.batch_item_failures.len() as u64, &[]);
    }
    response
}

/// Handles one message; returns its id if it failed.
async fn process_message<T, F, Fut>(message: SqsMessage, handle: &F) -> Option<String>
where
    T: DeserializeOwned,
    F: Fn(T, Delivery) -> Fut,
    Fut: Future<Output = Result<(), BoxError>>,
{
    // SQS always sets an id; without one the failure could not be reported, only logged.
    let message_id = message.message_id.clone().unwrap_or_default();
    let delivery = Delivery {
        message_id: message_id.clone(),
        receive_count: message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse().ok())
            .unwrap_or(1),
    };
    let span =
        tracing::info_span!("message", message_id = %delivery.message_id, receive_count = delivery.receive_count);
    async {
        let body: T = match serde_json::from_str(message.body.as_deref().unwrap_or_default()) {
            Ok(body) => body,
            Err(error) => {
                let error = Unquoted(&error);
                tracing::error!(%error, "message body is malformed; it will reach the dead-letter queue");
                return Some(message_id);
            }
        };
        match AssertUnwindSafe(handle(body, delivery)).catch_unwind().await {
            Ok(Ok(())) => None,
            Ok(Err(error)) => {
                tracing::error!(error = %error, "message failed; SQS will deliver it again");
                Some(message_id)
            }
            Err(_) => {
                tracing::error!("message handler panicked; SQS will deliver it again");
                Some(message_id)
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Work {
        action: String,
    }

    fn message(id: &str, body: &str) -> SqsMessage {
        let mut message = SqsMessage::default();
        message.message_id = Some(id.to_owned());
        message.body = Some(body.to_owned());
        message
            .attributes
            .insert("ApproximateReceiveCount".to_owned(), "3".to_owned());
        message
    }

    fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages;
        event
    }

    async fn handle(work: Work, delivery: Delivery) -> Result<(), BoxError> {
        assert_eq!(delivery.receive_count, 3);
        match work.action.as_str() {
            "ok" => Ok(()),
            "fail" => Err("the store is down".into()),
            _ => panic!("poison"),
        }
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        let mut ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        ids.sort();
        ids
    }

    #[tokio::test]
    async fn only_the_failing_messages_are_reported() {
        let event = batch(vec![
            message("m1", r#"{"action":"ok"}"#),
            message("m2", r#"{"action":"fail"}"#),
            message("m3", r#"{"action":"ok"}"#),
        ]);
        assert_eq!(failed_ids(&process_batch(event, handle).await), ["m2"]);
    }

    #[tokio::test]
    async fn a_poison_message_fails_alone() {
        let event = batch(vec![
            message("m1", "not json"),
            message("m2", r#"{"action":"panic"}"#),
            message("m3", r#"{"action":"ok"}"#),
            message("m4", r#"{"wrong":"shape"}"#),
        ]);
        assert_eq!(failed_ids(&process_batch(event, handle).await), ["m1", "m2", "m4"]);
    }

    #[derive(Clone, Deserialize)]
    struct Grouped {
        seller: String,
        action: String,
    }

    #[tokio::test]
    async fn a_group_is_handled_once_and_a_failing_one_again_message_by_message() {
        let event = batch(vec![
            message("m1", r#"{"seller":"a","action":"ok"}"#),
            message("m2", r#"{"seller":"b","action":"fail"}"#),
            message("m3", r#"{"seller":"a","action":"ok"}"#),
            message("m4", r#"{"seller":"b","action":"ok"}"#),
            message("m5", "not json"),
            message("m6", r#"{"seller":"c","action":"panic"}"#),
            message("m7", r#"{"seller":"c","action":"ok"}"#),
        ]);
        let calls = std::sync::Mutex::new(Vec::new());
        let response = process_batch_grouped(
            event,
            |work: &Grouped| work.seller.clone(),
            |seller, works: Vec<Grouped>| {
                calls.lock().unwrap().push((seller, works.len()));
                let fails = works.iter().any(|work| work.action == "fail");
                let panics = works.iter().any(|work| work.action == "panic");
                async move {
                    assert!(!panics, "poison");
                    if fails {
                        Err::<(), BoxError>("cannot be applied".into())
                    } else {
                        Ok(())
                    }
                }
            },
        )
        .await;
        // Only the poison messages and the unreadable one: m4 and m7 went through on their own.
        assert_eq!(failed_ids(&response), ["m2", "m5", "m6"]);
        let mut calls = calls.lock().unwrap().clone();
        calls.sort();
        let seller = |name: &str, size| (name.to_owned(), size);
        assert_eq!(
            calls,
            [
                seller("a", 2),
                seller("b", 1),
                seller("b", 1),
                seller("b", 2),
                seller("c", 1),
                seller("c", 1),
                seller("c", 2)
            ]
        );
    }

    #[tokio::test]
    async fn a_group_that_fails_whole_is_reported_whole() {
        let event = batch(vec![
            message("m1", r#"{"seller":"a","action":"ok"}"#),
            message("m2", r#"{"seller":"a","action":"ok"}"#),
        ]);
        let response = process_batch_grouped(
            event,
            |work: &Grouped| work.seller.clone(),
            |_, _: Vec<Grouped>| async { Err::<(), BoxError>("the store is down".into()) },
        )
        .await;
        assert_eq!(failed_ids(&response), ["m1", "m2"]);
    }

    #[tokio::test]
    async fn an_empty_batch_reports_nothing() {
        assert!(
            process_batch(batch(vec![]), handle)
                .await
                .batch_item_failures
                .is_empty()
        );
    }
}
