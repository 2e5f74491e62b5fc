//! The stack's dead-letter queues, as the erasure reads them: a message cannot be edited in
//! place, so each one naming the buyer is deleted (a batch per receive), and every other is
//! made visible again at once (its receive count goes up by one, which a dead-letter queue, having no redrive of
//! its own, does not act on).

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry};
use backoffice::domains::privacy::places::{DeadLetters, Named};
use backoffice::storage::StoreError;

/// How long a message read by the erasure stays hidden: long enough to read the whole queue
/// before handing back, so no message is read twice in one pass.
const HIDDEN_SECONDS: i32 = 60;
/// At most this many receives per queue per erasure: 10,000 dead letters. More than that in
/// one queue is an incident whose messages the alarm has already shown; the erasure fails
/// and its redelivery goes on where this left off.
const RECEIVES_PER_QUEUE: usize = 1_000;

#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: Client,
    queue_urls: Vec<String>,
}

impl SqsDeadLetters {
    pub fn new(config: &aws_config::SdkConfig, queue_urls: Vec<String>) -> Self {
        Self {
            client: Client::new(config),
            queue_urls,
        }
    }

    /// One queue: the buyer's messages deleted, every other handed back.
    async fn remove_from(&self, queue_url: &str, named: &Named) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut others = Vec::new();
        let mut drained = false;
        for _ in 0..RECEIVES_PER_QUEUE {
            let received = self
                .client
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .visibility_timeout(HIDDEN_SECONDS)
                // Long polling asks every SQS server, so an empty answer means an empty queue.
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(|error| sqs_error("SQS ReceiveMessage", error))?;
            let messages = received.messages();
            if messages.is_empty() {
                drained = true;
                break;
            }
            let mut theirs = Vec::new();
            for message in messages {
                let Some(handle) = message.receipt_handle() else {
                    continue;
                };
                if named.in_body(message.body().unwrap_or_default()) {
                    theirs.push(handle.to_owned());
                } else {
                    others.push(handle.to_owned());
                }
            }
            // A receive is at most ten messages, a batch's most: one delete per receive.
            self.delete(queue_url, &theirs).await?;
            removed += theirs.len();
        }
        self.hand_back(queue_url, &others).await?;
        if drained {
            Ok(removed)
        } else {
            Err(StoreError::new(
                "dead letters",
                format!(
                    "a dead-letter queue holds more than {} messages",
                    RECEIVES_PER_QUEUE * 10
                ),
            ))
        }
    }

    async fn delete(&self, queue_url: &str, handles: &[String]) -> Result<(), StoreError> {
        if handles.is_empty() {
            return Ok(());
        }
        let entries = handles
            .iter()
            .enumerate()
            .filter_map(|(at, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(at.to_string())
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        let answer = self
            .client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|error| sqs_error("SQS DeleteMessageBatch", error))?;
        // A message not deleted still names the buyer: the page fails and is delivered again.
        match answer.failed().first() {
            None => Ok(()),
            Some(failed) => Err(StoreError::new(
                "SQS DeleteMessageBatch",
                format!(
                    "{} of {} not deleted: {}",
                    answer.failed().len(),
                    handles.len(),
                    failed.code()
                ),
            )),
        }
    }

    async fn hand_back(&self, queue_url: &str, handles: &[String]) -> Result<(), StoreError> {
        for chunk in handles.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .filter_map(|(at, handle)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(at.to_string())
                        .receipt_handle(handle)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            self.client
                .change_message_visibility_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| sqs_error("SQS ChangeMessageVisibilityBatch", error))?;
        }
        Ok(())
    }
}

fn sqs_error(operation: &'static str, error: impl std::error::Error) -> StoreError {
    StoreError::new(operation, aws_sdk_sqs::error::DisplayErrorContext(error).to_string())
}

impl DeadLetters for SqsDeadLetters {
    async fn remove_naming(&self, named: &Named) -> Result<usize, StoreError> {
        let mut removed = 0;
        for queue_url in &self.queue_urls {
            removed += self.remove_from(queue_url, named).await?;
        }
        Ok(removed)
    }
}
