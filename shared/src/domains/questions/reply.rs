//! `message.replied`: the seller answers its own thread (or marks it as needing no answer).
//! One read of the thread and of a message of the reply's id (and of its order, only when the reply holds a link, to allow the
//! order's own tracking link) and one transaction: the claim, the thread with its clock
//! stopped and the response time recorded, the reply's own message item, and the reply's
//! email to the buyer.

use serde_json::{Value, json};

use super::answer::seller_reply;
use super::figures::{Figure, counted};
use super::prohibited::prohibited;
use super::receive::{MessageFailure, MessageOutcome, commit};
use super::records::{
    Author, REPLY_HOURS, StoredThread, ThreadMessage, ThreadState, message_key, put_message, put_thread, thread_key,
};
use super::validate::{Answer, QuestionError, Reply};
use crate::domains::orders::EventContext;
use crate::domains::orders::records::read_order;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::mechanisms::webhook::Accepted;
use crate::storage::{ItemKey, Storage, StoreError, Table, WriteSet, back_off, from_item};

const ATTEMPTS: u32 = 20;

pub async fn reply_to_thread(
    store: &impl Storage,
    reply: &Reply,
    event: &EventContext,
    claim: &Claim,
) -> Result<MessageOutcome, MessageFailure> {
    let now = claim.now;
    for attempt in 0..ATTEMPTS {
        let (thread, message) = read_thread(store, reply).await?;
        if let Some(message) = message {
            let same = message.fingerprint == event.fingerprint || Some(&*message.text) == text_of(reply);
            if !same {
                return Err(QuestionError::MessageExists {
                    message_id: reply.message_id.clone(),
                }
                .into());
            }
            return Ok(MessageOutcome::Earlier(receipt(&thread, &reply.message_id)));
        }
        if let Answer::Text(text) = &reply.answer {
            let tracking_url = tracking_link(store, &thread, text).await?;
            if let Some(what) = prohibited(text, tracking_url.as_deref()) {
                return Err(QuestionError::ProhibitedContent { what }.into());
            }
        }
        let question = thread.last_question().to_owned();
        let (next, message) = answered(&thread, reply, event, now);
        let mut answer = receipt(&next, &reply.message_id);
        // The reply that stops a running clock says how long the buyer waited.
        if let Some(clock) = &thread.clock {
            answer.insert(
                "answered_after_seconds".to_owned(),
                (now - clock.started_at).num_seconds().max(0).into(),
            );
        }
        let mut writes = WriteSet::new();
        writes.push(claim.completed(&Value::Object(answer.clone())));
        writes.push(put_thread(&next, Some(thread.version), now)?);
        writes.push(put_message(&next, &message)?);
        if let Answer::Text(text) = &reply.answer {
            writes.push(outbox::put(
                &seller_reply(&next, &reply.message_id, &question, text),
                now,
            ));
        }
        // A first answer to a question on the clock counts on the day it was asked.
        if let Some(clock) = &thread.clock {
            let seconds = (now - clock.started_at).num_seconds().max(0);
            let mut figures = vec![Figure::Answered];
            if seconds <= REPLY_HOURS * 3600 {
                figures.push(Figure::AnsweredWithinDay);
            }
            writes.extend(counted(&thread.seller_id, clock.started_at, &figures, Some(seconds)));
        }
        if commit(store, writes).await? {
            return Ok(MessageOutcome::Now(answer));
        }
        back_off(attempt).await;
    }
    Err(StoreError::new("reply transaction", "kept colliding with other messages of the thread").into())
}

fn text_of(reply: &Reply) -> Option<&String> {
    match &reply.answer {
        Answer::Text(text) => Some(text),
        Answer::NoResponseNeeded => None,
    }
}

/// The order's tracking link, read only when the reply holds something like a link.
async fn tracking_link(store: &impl Storage, thread: &StoredThread, text: &str) -> Result<Option<String>, StoreError> {
    let lower = text.to_lowercase();
    let Some(order_id) = thread
        .order_id
        .as_deref()
        .filter(|_| lower.contains("://") || lower.contains("www."))
    else {
        return Ok(None);
    };
    let order = read_order(store, order_id).await?;
    Ok(order
        .and_then(|order| order.shipment)
        .and_then(|shipment| shipment.tracking_url))
}

/// The thread the reply answers and its message of the reply's id, in one `BatchGetItem`.
/// Another seller's thread is not found: its existence is not theirs to know.
async fn read_thread(
    store: &impl Storage,
    reply: &Reply,
) -> Result<(StoredThread, Option<ThreadMessage>), MessageFailure> {
    let keys = [
        ItemKey::new(Table::Threads, thread_key(&reply.thread_id)),
        ItemKey::new(Table::Threads, message_key(&reply.thread_id, &reply.message_id)),
    ];
    let mut found = store.get_many(&keys).await?.into_iter();
    let thread = found
        .next()
        .flatten()
        .map(from_item::<StoredThread>)
        .transpose()?
        .filter(|thread| thread.seller_id == reply.seller_id)
        .ok_or_else(|| QuestionError::ThreadNotFound {
            thread_id: reply.thread_id.clone(),
        })?;
    let message = found.next().flatten().map(from_item::<ThreadMessage>).transpose()?;
    Ok((thread, message))
}

/// The thread after the seller's answer, its clock stopped and the time it took recorded, and
/// the answer's message.
fn answered(
    thread: &StoredThread,
    reply: &Reply,
    event: &EventContext,
    now: chrono::DateTime<chrono::Utc>,
) -> (StoredThread, ThreadMessage) {
    let mut next = thread.clone();
    next.version += 1;
    if let Some(clock) = next.clock.take() {
        let seconds = (now - clock.started_at).num_seconds().max(0);
        next.first_response_seconds.get_or_insert(seconds);
    }
    let (text, state) = match &reply.answer {
        Answer::Text(text) => (text.clone(), ThreadState::Answered),
        Answer::NoResponseNeeded => (String::new(), ThreadState::NoResponseNeeded),
    };
    next.state = state;
    let message = ThreadMessage {
        message_id: reply.message_id.clone(),
        author: Author::Seller,
        at: now,
        text: crate::values::pii::Private(text),
        intent: None,
        fingerprint: event.fingerprint.clone(),
        answered_automatically: false,
    };
    (next, message)
}

pub fn receipt(thread: &StoredThread, message_id: &str) -> Accepted {
    let answer = json!({
        "thread_id": thread.thread_id,
        "message_id": message_id,
        "thread_state": thread.state.as_str(),
        "first_response_seconds": thread.first_response_seconds,
    });
    answer.as_object().cloned().unwrap_or_default()
}
