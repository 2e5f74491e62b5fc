//! `message.received`: one `BatchGetItem` (the thread, a message of the event's id, the order
//! the message names, the seller's contact) and one transaction (the claim, the thread over the
//! version read, the message's own item, the seller's figures for the day, and the buyer's
//! automatic answer or the seller's notice in the outbox). A "where is my order" naming no order adds one query: the buyer's open orders.
//!
//! "Where is my order" about an order of this buyer and seller is answered at once, unless the
//! thread already has an automatic answer from the last 24 hours or a question waiting for the
//! seller: then a person should read it. Everything else starts (or keeps) the seller's clock.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::answer::{Notice, question_notice, status_answer};
use super::figures::{Figure, counted};
use super::intent::{Intent, classify};
use super::named::orders_named;
use super::records::{Author, StoredThread, ThreadMessage, ThreadState, put_message, put_thread, read_context};
use super::validate::{Question, QuestionError};
use crate::domains::orders::records::{only_open_order, read_order};
use crate::domains::orders::{EventContext, StoredOrder};
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::mechanisms::webhook::{Accepted, NotAccepted, Rejection, event_id_reused};
use crate::storage::{Item, Storage, StoreError, WriteFailure, WriteSet, back_off};
use crate::values::pii::Private;

/// Threads written by racing messages are read again this often.
const ATTEMPTS: u32 = 20;
const CLAIM: usize = 0;
/// One automatic answer per thread in this long; a second question goes to the seller.
const AUTOMATIC_ANSWER_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    AnsweredAutomatically,
    SentToSeller,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AnsweredAutomatically => "answered_automatically",
            Action::SentToSeller => "sent_to_seller",
        }
    }
}

/// What a message event did.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageOutcome {
    Now(Accepted),
    /// This message was taken before: its answer again.
    Earlier(Accepted),
}

#[derive(Debug, thiserror::Error)]
pub enum MessageFailure {
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    #[error("the event id was applied before with another body")]
    EventReused,
    #[error(transparent)]
    Question(#[from] QuestionError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<MessageFailure> for NotAccepted {
    fn from(failure: MessageFailure) -> Self {
        match failure {
            MessageFailure::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            MessageFailure::EventReused => NotAccepted::Refused(event_id_reused()),
            MessageFailure::Question(error) => NotAccepted::Refused(error.into()),
            MessageFailure::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

pub async fn receive_message(
    store: &impl Storage,
    question: &Question,
    event: &EventContext,
    claim: &Claim,
) -> Result<MessageOutcome, MessageFailure> {
    let now = claim.now;
    let intent = classify(&question.subject, &question.text);
    // The order the event names, or else those the buyer wrote in the question.
    let named = match &question.order_id {
        Some(order_id) => vec![order_id.clone()],
        None => orders_named(&format!("{}\n{}", question.subject, question.text)),
    };
    for attempt in 0..ATTEMPTS {
        let mut context = read_context(
            store,
            &question.thread_id,
            &question.message_id,
            &named,
            &question.seller_id,
            &question.buyer.id,
        )
        .await?;
        if let Some(thread) = &context.thread {
            match earlier_answer(thread, context.message.as_ref(), question, event)? {
                Some(Earlier::ThisEvent(answer)) => return Ok(MessageOutcome::Earlier(answer)),
                Some(Earlier::AnotherEvent(answer)) => return record_resend(store, claim, answer).await,
                None => {}
            }
            // A follow-up that names no order is about the thread's.
            if question.order_id.is_none()
                && let Some(order_id) = &thread.order_id
            {
                context.order = read_order(store, order_id).await?;
            }
        }
        // "Where is my order" naming none is about the buyer's only open order with the seller.
        let names_no_order = question.order_id.is_none() && context.order.is_none();
        if names_no_order && intent == Intent::WhereIsMyOrder {
            context.order = only_open_order(store, &question.buyer.id, &question.seller_id).await?;
        }
        let read_version = context.thread.as_ref().map(|thread| thread.version);
        let (thread, message, action) = next_thread(
            context.thread.clone(),
            question,
            intent,
            context.order.as_ref(),
            event,
            now,
        );
        let answer = receipt(&thread, &message);
        let mut writes = WriteSet::new();
        writes.push(claim.completed(&Value::Object(answer.clone())));
        writes.push(put_thread(&thread, read_version, now)?);
        writes.push(put_message(&thread, &message)?);
        let entry = match (action, context.order.as_ref()) {
            (Action::AnsweredAutomatically, Some(order)) => {
                Some(status_answer(&thread, &question.message_id, &question.text, order))
            }
            _ => thread.clock.as_ref().and_then(|clock| {
                question_notice(
                    &thread,
                    &question.message_id,
                    &question.text,
                    clock.due_at,
                    Notice::Asked,
                    context.contact.as_ref(),
                )
            }),
        };
        if let Some(entry) = entry {
            writes.push(outbox::put(&entry, now));
        }
        let handled = match action {
            Action::AnsweredAutomatically => Figure::AnsweredAutomatically,
            Action::SentToSeller => Figure::SentToSeller,
        };
        writes.extend(counted(&question.seller_id, now, &[Figure::Received, handled], None));
        if commit(store, writes).await? {
            return Ok(MessageOutcome::Now(answer));
        }
        back_off(attempt).await;
    }
    Err(StoreError::new(
        "message transaction",
        "kept colliding with other messages of the thread",
    )
    .into())
}

/// A message resent under another body is answered as it was, once its event's claim is
/// recorded with that answer: an event id already claimed with another body is then
/// `ClaimTaken`, which the edge answers `409`, instead of the first answer.
async fn record_resend(
    store: &impl Storage,
    claim: &Claim,
    answer: Accepted,
) -> Result<MessageOutcome, MessageFailure> {
    let writes = WriteSet::from(vec![claim.completed(&Value::Object(answer.clone()))]);
    commit(store, writes).await?;
    Ok(MessageOutcome::Earlier(answer))
}

/// Writes a message's set: `true` when it committed, `false` when another message of the
/// thread came first (read the thread again), or why it cannot apply.
pub(super) async fn commit(store: &impl Storage, writes: WriteSet) -> Result<bool, MessageFailure> {
    match store.write(writes).await {
        Ok(()) => Ok(true),
        Err(WriteFailure::Store(error)) => Err(error.into()),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(CLAIM) => {
            Err(MessageFailure::ClaimTaken(cancelled.existing(CLAIM).cloned()))
        }
        Err(WriteFailure::Cancelled(_)) => Ok(false),
    }
}

/// A message the thread holds already, and how it came again.
enum Earlier {
    /// A retry of the event that brought it.
    ThisEvent(Accepted),
    /// The same words under another body: a marketplace resending the message under a new
    /// event, or this event's id reused with another body, which only its claim can tell.
    AnotherEvent(Accepted),
}

/// The answer this message had, if the thread holds it already; a thread of another seller
/// or buyer, or the message id reused with other words, is refused.
fn earlier_answer(
    thread: &StoredThread,
    message: Option<&ThreadMessage>,
    question: &Question,
    event: &EventContext,
) -> Result<Option<Earlier>, MessageFailure> {
    // Another seller's thread is not found: its existence is not theirs to know.
    if thread.seller_id != question.seller_id {
        return Err(QuestionError::ThreadNotFound {
            thread_id: thread.thread_id.clone(),
        }
        .into());
    }
    if thread.buyer.id != question.buyer.id {
        return Err(QuestionError::ThreadOfAnotherBuyer {
            thread_id: thread.thread_id.clone(),
        }
        .into());
    }
    // The same message again, under this event or another (a marketplace resending it), is
    // answered as it was; the same id with other words is another message.
    match message {
        Some(message) if message.fingerprint == event.fingerprint => {
            Ok(Some(Earlier::ThisEvent(receipt(thread, message))))
        }
        Some(message) if *message.text == question.text => Ok(Some(Earlier::AnotherEvent(receipt(thread, message)))),
        Some(_) => Err(QuestionError::MessageExists {
            message_id: question.message_id.clone(),
        }
        .into()),
        None => Ok(None),
    }
}

/// The thread after the question, the question's message, and what was done with it.
fn next_thread(
    thread: Option<StoredThread>,
    question: &Question,
    intent: Intent,
    order: Option<&StoredOrder>,
    event: &EventContext,
    now: DateTime<Utc>,
) -> (StoredThread, ThreadMessage, Action) {
    let mut thread = match thread {
        Some(mut thread) => {
            thread.version += 1;
            thread
        }
        None => StoredThread {
            thread_id: question.thread_id.clone(),
            seller_id: question.seller_id.clone(),
            buyer: question.buyer.clone(),
            order_id: None,
            subject: question.subject.clone(),
            state: ThreadState::AwaitingSeller,
            last_question: None,
            clock: None,
            answered_automatically_at: None,
            first_response_seconds: None,
            version: 0,
            opened_at: Some(question.created_at),
            erased_at: None,
        },
    };
    let order = order.filter(|order| order.seller_id == question.seller_id && order.buyer.id == question.buyer.id);
    if let Some(order) = order {
        thread.order_id = Some(order.order_id.clone());
    }
    let answered_lately = thread
        .answered_automatically_at
        .is_some_and(|at| now - at < Duration::hours(AUTOMATIC_ANSWER_HOURS));
    let automatic = intent == Intent::WhereIsMyOrder && order.is_some() && !answered_lately && thread.clock.is_none();
    thread.last_question = Some(Private(question.text.clone()));
    let message = ThreadMessage {
        message_id: question.message_id.clone(),
        author: Author::Buyer,
        at: question.created_at,
        text: Private(question.text.clone()),
        intent: Some(intent),
        fingerprint: event.fingerprint.clone(),
        answered_automatically: automatic,
    };
    if automatic {
        thread.state = ThreadState::AnsweredAutomatically;
        thread.answered_automatically_at = Some(now);
        return (thread, message, Action::AnsweredAutomatically);
    }
    // A clock already running (an earlier question still unanswered) keeps its deadline.
    if thread.clock.is_none() {
        thread.start_clock(&question.message_id, now);
    }
    (thread, message, Action::SentToSeller)
}

/// What the webhook answers for `message` of `thread`.
pub fn receipt(thread: &StoredThread, message: &ThreadMessage) -> Accepted {
    let action = if message.answered_automatically {
        Action::AnsweredAutomatically
    } else {
        Action::SentToSeller
    };
    let mut answer = json!({
        "thread_id": thread.thread_id,
        "message_id": message.message_id,
        "intent": message.intent.unwrap_or(Intent::Other).as_str(),
        "action": action.as_str(),
    });
    if action == Action::SentToSeller
        && let Some(clock) = &thread.clock
    {
        answer["reply_due"] = json!(clock.due_at.to_rfc3339());
    }
    answer.as_object().cloned().unwrap_or_default()
}
