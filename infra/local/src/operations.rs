//! What the developer commands do against a running stack, as library functions so that the
//! end-to-end tests drive exactly the code `cargo xtask send | outbox | dlq` runs.

use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::{SignatureVerifier, WebhookSecret};
use http::Method;
use serde_json::Value;

use crate::event_sources::retry_from;
use crate::loopback::{HttpClient, Reply};
use crate::mail::SentEmail;
use crate::provision::QueueInfo;
use crate::stack::StackState;
use crate::streams::{StreamReader, sequence_of, stream_event};

#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Http(#[from] crate::loopback::HttpError),
    #[error("{0}")]
    Aws(String),
}

fn sqs_error(error: impl std::error::Error) -> OperationError {
    OperationError::Aws(aws_sdk_sqs::error::DisplayErrorContext(error).to_string())
}

/// Signs `body` as the marketplace would and posts it to the Function URL that takes its type.
pub async fn send_event(state: &StackState, body: &[u8]) -> Result<(Function, Reply), OperationError> {
    let envelope: Value = serde_json::from_slice(body)
        .map_err(|error| OperationError::Usage(format!("the event is not JSON: {error}")))?;
    let event_type = envelope["type"].as_str().unwrap_or_default();
    let function = Function::for_event_type(event_type)
        .ok_or_else(|| OperationError::Usage(format!("no function takes events of type {event_type:?}")))?;
    let url = state
        .function_urls
        .get(function.name())
        .ok_or_else(|| OperationError::Usage(format!("{} has no Function URL", function.name())))?;
    let signature = SignatureVerifier::new(WebhookSecret::new(state.webhook_secret.as_bytes()))
        .sign(body, chrono::Utc::now().timestamp());
    let reply = HttpClient::default()
        .send(
            Method::POST,
            url,
            &[
                ("content-type", "application/json"),
                ("marketplace-signature", &signature),
            ],
            body.to_vec(),
        )
        .await?;
    Ok((function, reply))
}

/// Every email SES accepted so far, oldest first.
pub async fn outbox(aws_endpoint: &str) -> Result<Vec<SentEmail>, OperationError> {
    Ok(outbox_entries(aws_endpoint, "")
        .await?
        .iter()
        .map(SentEmail::from_outbox)
        .collect())
}

/// The destinations of every email SES accepted so far, oldest first: what counting
/// thousands of sends needs, without their bodies.
pub async fn sent_destinations(aws_endpoint: &str) -> Result<Vec<Vec<String>>, OperationError> {
    Ok(outbox_entries(aws_endpoint, "?fields=destinations")
        .await?
        .iter()
        .map(|entry| SentEmail::from_outbox(entry).destinations)
        .collect())
}

/// The local AWS's `/_local/outbox` entries, asked with `query`.
async fn outbox_entries(aws_endpoint: &str, query: &str) -> Result<Vec<Value>, OperationError> {
    let reply = HttpClient::default()
        .get(&format!("{aws_endpoint}/_local/outbox{query}"))
        .await?;
    Ok(reply.json().as_array().cloned().unwrap_or_default())
}

/// A dead-letter queue and how many messages wait in it.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    pub queue: String,
    pub source: String,
    pub waiting: u64,
}

fn dead_letter_queues(state: &StackState) -> impl Iterator<Item = (&String, &QueueInfo, &String)> {
    state
        .queues
        .iter()
        .filter_map(|(name, queue)| Some((name, queue, queue.dead_letters_of.as_ref()?)))
}

pub async fn dead_letters(
    client: &aws_sdk_sqs::Client,
    state: &StackState,
) -> Result<Vec<DeadLetters>, OperationError> {
    let mut found = Vec::new();
    for (name, queue, source) in dead_letter_queues(state) {
        let attributes = client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .map_err(sqs_error)?;
        let waiting = attributes
            .attributes
            .and_then(|map| {
                map.get(&QueueAttributeName::ApproximateNumberOfMessages)
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0);
        found.push(DeadLetters {
            queue: name.clone(),
            source: source.clone(),
            waiting,
        });
    }
    Ok(found)
}

/// Replays the dead letters waiting now; returns how many were replayed from each dead-letter
/// queue. A queue's dead letters move back to the queue they came from, body and attributes
/// unchanged; a stream's failed batches are read again from the stream and handed to the
/// function that failed them. A dead letter is deleted only once it is replayed, so a failure
/// midway loses nothing; and only as many as were waiting at the start are taken, so one that
/// fails again and comes back while the replay runs is not replayed twice.
pub async fn replay_dead_letters(
    client: &aws_sdk_sqs::Client,
    state: &StackState,
) -> Result<Vec<(String, usize)>, OperationError> {
    let mut replayed = Vec::new();
    for dead in dead_letters(client, state).await? {
        let queue = &state.queues[&dead.queue];
        let count = match state.queues.get(&dead.source) {
            Some(source) => {
                each_dead_letter(client, queue, dead.waiting, |message| redrive(client, source, message)).await?
            }
            None => each_dead_letter(client, queue, dead.waiting, |message| relay_again(state, message)).await?,
        };
        replayed.push((dead.queue, count));
    }
    Ok(replayed)
}

/// Takes up to `waiting` messages off `queue`, replays each, and deletes the ones replayed.
async fn each_dead_letter<F, Fut>(
    client: &aws_sdk_sqs::Client,
    queue: &QueueInfo,
    waiting: u64,
    replay: F,
) -> Result<usize, OperationError>
where
    F: Fn(Message) -> Fut,
    Fut: std::future::Future<Output = Result<bool, OperationError>>,
{
    let mut taken = 0;
    let mut replayed = 0;
    while taken < waiting {
        let received = client
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages((waiting - taken).min(10) as i32)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(30)
            .send()
            .await
            .map_err(sqs_error)?;
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            taken += 1;
            let receipt = message.receipt_handle.clone().unwrap_or_default();
            if !replay(message).await? {
                continue;
            }
            client
                .delete_message()
                .queue_url(&queue.url)
                .receipt_handle(receipt)
                .send()
                .await
                .map_err(sqs_error)?;
            replayed += 1;
        }
    }
    Ok(replayed)
}

async fn redrive(client: &aws_sdk_sqs::Client, source: &QueueInfo, message: Message) -> Result<bool, OperationError> {
    // A FIFO queue takes a message only with its group, and keeps its deduplication id so the
    // redriven message is still the one its consumer deduplicates.
    let system = message.attributes.unwrap_or_default();
    let fifo = |name| {
        source
            .url
            .ends_with(".fifo")
            .then(|| system.get(&name).cloned())
            .flatten()
    };
    client
        .send_message()
        .queue_url(&source.url)
        .message_body(message.body.unwrap_or_default())
        .set_message_attributes(message.message_attributes)
        .set_message_group_id(fifo(MessageSystemAttributeName::MessageGroupId))
        .set_message_deduplication_id(fifo(MessageSystemAttributeName::MessageDeduplicationId))
        .send()
        .await
        .map_err(sqs_error)?;
    Ok(true)
}

/// Hands a failed stream batch (Lambda's `DDBStreamBatchInfo`) to its function again; `false`
/// when the function fails on it again, which leaves it waiting.
async fn relay_again(state: &StackState, message: Message) -> Result<bool, OperationError> {
    let failure: Value = serde_json::from_str(message.body.as_deref().unwrap_or_default())
        .map_err(|error| OperationError::Usage(format!("a stream dead letter is not JSON: {error}")))?;
    let info = &failure["DDBStreamBatchInfo"];
    let field = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    let function = field(&failure["requestContext"]["functionArn"])
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let reader = StreamReader::new(state.aws_endpoint.clone(), field(&info["streamArn"]));
    let records = reader
        .range(&field(&info["startSequenceNumber"]), &field(&info["endSequenceNumber"]))
        .await
        .map_err(|error| OperationError::Aws(error.to_string()))?;
    let (start, end) = (field(&info["startSequenceNumber"]), field(&info["endSequenceNumber"]));
    let whole = records.first().is_some_and(|first| sequence_of(first) == start)
        && records.last().is_some_and(|last| sequence_of(last) == end);
    if !whole {
        eprintln!("xtask: the stream no longer holds records {start} to {end}; the dead letter stays");
        return Ok(false);
    }
    let url = format!("{}/2015-03-31/functions/{function}/invocations", state.gateway);
    let reply = HttpClient::default()
        .send(Method::POST, &url, &[], stream_event(&records).to_string())
        .await?;
    let succeeded = reply.status == 200
        && reply.headers.get("x-amz-function-error").is_none()
        && retry_from(&reply.json(), &records, true).is_none();
    if !succeeded {
        eprintln!(
            "xtask: {function} failed again on {} replayed stream records",
            records.len()
        );
    }
    Ok(succeeded)
}

/// Waits until every queue of the stack is empty and nothing is in flight, or `limit` passes.
/// The messages visible on a queue (0 if it cannot be read).
pub async fn waiting_in(client: &aws_sdk_sqs::Client, url: &str) -> u64 {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .ok()
        .and_then(|output| {
            output
                .attributes?
                .get(&QueueAttributeName::ApproximateNumberOfMessages)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

pub async fn wait_for_quiet_queues(client: &aws_sdk_sqs::Client, state: &StackState, limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    // Quiet three looks in a row, 400 ms from first to last: longer than a follow-up takes
    // from the outbox's stream to its queue, so a queue that is empty only because the relay
    // has not run yet does not count as quiet.
    let mut quiet_looks = 0;
    while tokio::time::Instant::now() < deadline {
        let mut busy = false;
        for queue in state.queues.values().filter(|queue| queue.consumed_by.is_some()) {
            let attributes = client
                .get_queue_attributes()
                .queue_url(&queue.url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await;
            busy |= attributes
                .ok()
                .and_then(|output| output.attributes)
                .is_none_or(|map| map.values().any(|count| count.parse::<u64>().unwrap_or(1) > 0));
        }
        quiet_looks = if busy { 0 } else { quiet_looks + 1 };
        if quiet_looks == 3 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
