//! What Lambda's event source mappings and EventBridge do in the cloud, done locally.
//!
//! An SQS trigger long-polls its queue, gathers a batch for up to its batching window as
//! Lambda does, hands the function the real SQS event JSON, deletes
//! what succeeded and leaves the reported failures on the queue, where the redrive policy
//! moves them to the dead-letter queue after `maxReceiveCount` receives. One difference, for
//! speed: a failed message is made visible again after `retry_delay` instead of waiting out
//! the queue's visibility timeout.
//!
//! A DynamoDB stream trigger reads its shard in order, passes the records its filter lets
//! through, and retries a failed batch from the first record the function reports (the whole
//! batch if it failed outright) until its retry limit; then the batch's range goes to its
//! on-failure queue, in the shape Lambda sends, and the poller moves on.

use std::collections::HashSet;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use chrono::Utc;

use crate::local_aws::{ACCOUNT_ID, REGION};
use crate::provision::QueueInfo;
use crate::runtime_api::Invoker;
use crate::schedule::{Schedule, scheduled_event};
use crate::streams::{Position, StreamReader, sequence_of, stream_event};
use crate::template::StreamTrigger;

pub struct QueuePoller {
    pub client: aws_sdk_sqs::Client,
    pub queue: QueueInfo,
    pub batch_size: i32,
    pub batching_window: Duration,
    pub reports_batch_item_failures: bool,
    pub invoker: Invoker,
    pub function: String,
    pub retry_delay: Duration,
}

impl QueuePoller {
    pub async fn run(self) {
        loop {
            let batch = self.gather().await;
            if !batch.is_empty() {
                self.deliver(batch).await;
            }
        }
    }

    /// A batch as Lambda gathers one: up to `batch_size` messages, waiting up to the batching
    /// window after the first for more.
    async fn gather(&self) -> Vec<Message> {
        let wanted = self.batch_size.max(1) as usize;
        let mut batch = self.receive(wanted, 1).await;
        let deadline = tokio::time::Instant::now() + self.batching_window;
        while !batch.is_empty() && batch.len() < wanted && tokio::time::Instant::now() < deadline {
            let more = self.receive(wanted - batch.len(), 0).await;
            if more.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            batch.extend(more);
        }
        batch
    }

    async fn receive(&self, up_to: usize, wait_seconds: i32) -> Vec<Message> {
        let received = self
            .client
            .receive_message()
            .queue_url(&self.queue.url)
            .max_number_of_messages(up_to.clamp(1, 10) as i32)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        match received {
            Ok(output) => output.messages.unwrap_or_default(),
            Err(error) => {
                eprintln!(
                    "xtask: receiving from {} failed: {}",
                    self.queue.arn,
                    aws_sdk_sqs::error::DisplayErrorContext(error)
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
                Vec::new()
            }
        }
    }

    async fn deliver(&self, messages: Vec<Message>) {
        let event = self.sqs_event(&messages);
        let failed = match self
            .invoker
            .invoke(&serde_json::to_value(&event).expect("serialises"))
            .await
        {
            Ok(answer) => failures_to_retry(answer, &message_ids(&messages), self.reports_batch_item_failures),
            Err(error) => {
                eprintln!(
                    "xtask: {} failed on a batch of {}: {error}",
                    self.function,
                    messages.len()
                );
                message_ids(&messages)
            }
        };
        let (done, retry): (Vec<_>, Vec<_>) = messages
            .iter()
            .partition(|message| !failed.contains(message.message_id.as_deref().unwrap_or_default()));
        self.delete(&done).await;
        for message in retry {
            let _ = self
                .client
                .change_message_visibility()
                .queue_url(&self.queue.url)
                .receipt_handle(message.receipt_handle.as_deref().unwrap_or_default())
                .visibility_timeout(self.retry_delay.as_secs() as i32)
                .send()
                .await;
        }
    }

    async fn delete(&self, messages: &[&Message]) {
        if messages.is_empty() {
            return;
        }
        let entries = messages
            .iter()
            .enumerate()
            .filter_map(|(index, message)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(index.to_string())
                    .receipt_handle(message.receipt_handle.as_deref()?)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(error) = self
            .client
            .delete_message_batch()
            .queue_url(&self.queue.url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            eprintln!(
                "xtask: deleting processed messages failed: {}",
                aws_sdk_sqs::error::DisplayErrorContext(error)
            );
        }
    }

    fn sqs_event(&self, messages: &[Message]) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = messages
            .iter()
            .map(|message| {
                let mut record = SqsMessage::default();
                record.message_id = message.message_id.clone();
                record.receipt_handle = message.receipt_handle.clone();
                record.body = message.body.clone();
                record.md5_of_body = message.md5_of_body.clone();
                record.attributes = message
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(name, value)| (name.as_str().to_owned(), value.clone()))
                    .collect();
                record.event_source = Some("aws:sqs".to_owned());
                record.event_source_arn = Some(self.queue.arn.clone());
                record.aws_region = Some(REGION.to_owned());
                record
            })
            .collect();
        event
    }
}

/// The messages to retry, read as Lambda reads the answer: without `ReportBatchItemFailures`
/// a successful invocation deletes the whole batch; with it, `null` or an empty list means
/// all succeeded, and an answer that is not a batch response, or names a message that is not
/// in the batch, fails the whole batch.
fn failures_to_retry(answer: serde_json::Value, batch: &HashSet<String>, reports_failures: bool) -> HashSet<String> {
    if !reports_failures || answer.is_null() {
        return HashSet::new();
    }
    match serde_json::from_value::<SqsBatchResponse>(answer) {
        Ok(response) => {
            let failed: HashSet<String> = response
                .batch_item_failures
                .into_iter()
                .map(|failure| failure.item_identifier)
                .collect();
            if failed.is_subset(batch) { failed } else { batch.clone() }
        }
        Err(_) => batch.clone(),
    }
}

fn message_ids(messages: &[Message]) -> HashSet<String> {
    messages
        .iter()
        .filter_map(|message| message.message_id.clone())
        .collect()
}

pub struct StreamPoller {
    pub reader: StreamReader,
    pub trigger: StreamTrigger,
    /// Where the on-failure queue is, if the trigger has one.
    pub on_failure: Option<(aws_sdk_sqs::Client, QueueInfo)>,
    pub invoker: Invoker,
    pub function: String,
    pub retry_delay: Duration,
}

impl StreamPoller {
    pub async fn run(self) {
        let mut iterator = None;
        // The last record handed on: where to pick up when a fresh iterator is needed.
        let mut last: Option<String> = None;
        loop {
            let current = match iterator.take() {
                Some(current) => current,
                None => {
                    let position = last.clone().map_or(Position::Oldest, Position::After);
                    match self.reader.iterator(position).await {
                        Ok(fresh) => fresh,
                        Err(error) => {
                            eprintln!("xtask: {error}");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            continue;
                        }
                    }
                }
            };
            match self.reader.page(&current, self.trigger.batch_size).await {
                Ok(page) => {
                    if let Some(newest) = page.records.last() {
                        last = Some(sequence_of(newest).to_owned());
                    }
                    let wanted: Vec<_> = page.records.into_iter().filter(|r| self.passes_filter(r)).collect();
                    if wanted.is_empty() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    } else {
                        self.deliver(wanted).await;
                    }
                    iterator = page.next;
                }
                Err(error) => {
                    eprintln!("xtask: {error}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn passes_filter(&self, record: &serde_json::Value) -> bool {
        self.trigger.event_names.as_ref().is_none_or(|names| {
            names
                .iter()
                .any(|name| record["eventName"].as_str() == Some(name.as_str()))
        })
    }

    /// Invokes the function until every record is done or the retries run out.
    async fn deliver(&self, records: Vec<serde_json::Value>) {
        let mut pending = records.as_slice();
        for attempt in 0..=self.trigger.max_retries {
            let answer = self.invoker.invoke(&stream_event(pending)).await;
            let retry_from = match answer {
                Ok(answer) => retry_from(&answer, pending, self.trigger.reports_batch_item_failures),
                Err(error) => {
                    eprintln!(
                        "xtask: {} failed on a stream batch of {}: {error}",
                        self.function,
                        pending.len()
                    );
                    Some(0)
                }
            };
            match retry_from {
                None => return,
                Some(index) => pending = &pending[index..],
            }
            if attempt < self.trigger.max_retries {
                tokio::time::sleep(self.retry_delay).await;
            }
        }
        self.give_up(pending).await;
    }

    /// Sends the failed range to the on-failure queue, as Lambda's `DDBStreamBatchInfo`.
    async fn give_up(&self, records: &[serde_json::Value]) {
        let sequence = |record: Option<&serde_json::Value>| {
            record.map_or(String::new(), |r| {
                r["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default().to_owned()
            })
        };
        eprintln!(
            "xtask: {} gave up on {} stream records after {} retries",
            self.function,
            records.len(),
            self.trigger.max_retries
        );
        let Some((client, queue)) = &self.on_failure else {
            return;
        };
        let info = serde_json::json!({
            "requestContext": {
                "functionArn": format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{}", self.function),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self.trigger.max_retries + 1,
            },
            "version": "1.0",
            "timestamp": Utc::now().to_rfc3339(),
            "DDBStreamBatchInfo": {
                "shardId": "local",
                "startSequenceNumber": sequence(records.first()),
                "endSequenceNumber": sequence(records.last()),
                "batchSize": records.len(),
                "streamArn": self.reader.stream_arn,
            },
        });
        if let Err(error) = client
            .send_message()
            .queue_url(&queue.url)
            .message_body(info.to_string())
            .send()
            .await
        {
            eprintln!(
                "xtask: the failed stream batch could not be sent to {}: {}",
                queue.arn,
                aws_sdk_sqs::error::DisplayErrorContext(error)
            );
        }
    }
}

/// Where a stream batch must be retried from, read as Lambda reads the answer: `None` when
/// it succeeded; the lowest reported record otherwise; the whole batch when the answer is
/// not a batch response or names a record that is not in the batch.
pub fn retry_from(answer: &serde_json::Value, batch: &[serde_json::Value], reports_failures: bool) -> Option<usize> {
    if !reports_failures || answer.is_null() {
        return None;
    }
    let Some(failures) = answer["batchItemFailures"].as_array() else {
        return Some(0);
    };
    let mut earliest: Option<usize> = None;
    for failure in failures {
        let named = failure["itemIdentifier"].as_str().unwrap_or_default();
        let Some(index) = batch
            .iter()
            .position(|record| record["dynamodb"]["SequenceNumber"].as_str() == Some(named))
        else {
            return Some(0);
        };
        earliest = Some(earliest.map_or(index, |known| known.min(index)));
    }
    earliest
}

/// Fires `schedule` on its rate or cron for as long as the future lives.
pub async fn run_schedule(rule: String, schedule: Schedule, invoker: Invoker, function: String) {
    let mut now = Utc::now();
    while let Some(next) = schedule.next_after(now) {
        tokio::time::sleep((next - Utc::now()).to_std().unwrap_or_default()).await;
        now = next;
        if let Err(error) = invoker.invoke(&scheduled_event(&rule, next)).await {
            eprintln!("xtask: scheduled run {rule} of {function} failed: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn batch() -> HashSet<String> {
        ["m1", "m2", "m3"].map(String::from).into()
    }

    fn retry(answer: serde_json::Value, reports_failures: bool) -> Vec<String> {
        let mut ids: Vec<_> = failures_to_retry(answer, &batch(), reports_failures)
            .into_iter()
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn reported_failures_alone_are_retried() {
        assert_eq!(
            retry(json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}), true),
            ["m2"]
        );
        assert!(retry(json!({"batchItemFailures": []}), true).is_empty());
        assert!(retry(serde_json::Value::Null, true).is_empty());
    }

    #[test]
    fn an_unreadable_answer_or_a_stranger_fails_the_whole_batch() {
        assert_eq!(retry(json!("done"), true), ["m1", "m2", "m3"]);
        assert_eq!(
            retry(
                json!({"batchItemFailures": [{"itemIdentifier": "receipt-handle"}]}),
                true
            ),
            ["m1", "m2", "m3"]
        );
    }

    fn stream_batch() -> Vec<serde_json::Value> {
        ["11", "12", "13"]
            .iter()
            .map(|n| json!({"eventName": "INSERT", "dynamodb": {"SequenceNumber": n}}))
            .collect()
    }

    #[test]
    fn a_stream_batch_is_retried_from_its_earliest_reported_record() {
        let batch = stream_batch();
        let failed = |ids: &[&str]| json!({"batchItemFailures": ids.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>()});
        assert_eq!(retry_from(&failed(&["13", "12"]), &batch, true), Some(1));
        assert_eq!(retry_from(&failed(&[]), &batch, true), None);
        assert_eq!(retry_from(&serde_json::Value::Null, &batch, true), None);
        assert_eq!(
            retry_from(&failed(&["99"]), &batch, true),
            Some(0),
            "a stranger fails the batch"
        );
        assert_eq!(retry_from(&json!("done"), &batch, true), Some(0));
        assert_eq!(retry_from(&failed(&["12"]), &batch, false), None);
    }

    #[test]
    fn without_report_batch_item_failures_success_deletes_everything() {
        assert!(retry(json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}), false).is_empty());
    }
}
