//! Threads as `ThreadsTable` keeps them. A thread is a head (`thread#<id>`) and one item per
//! message (`thread#<id>#message#<message_id>`), so no item grows with the conversation: the
//! head holds the buyer, the seller, the order the thread is about, its state and clock, and
//! the buyer's latest words for the next reply to quote. Each message is written once, in the
//! transaction that moves the head's version, and is read by its key when its id comes again.
//!
//! A thread whose clock runs carries `clock_open` and `clock_next` (its reminder's time, then
//! its deadline), the keys of the sparse `OpenThreads` index that the clock's sweep reads:
//! its cost follows the open threads, not the messages.
//!
//! Retention: a head waiting for its seller is kept; any other head expires
//! [`RETENTION_DAYS`] after its last change, and each message that long after it was written
//! (the table's TTL, `expires_at`), so a conversation is gone two years after it went quiet.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::intent::Intent;
use crate::domains::orders::Buyer;
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::sellers::records::{SellerContact, contact_of};
use crate::storage::{Condition, Item, ItemKey, Storage, StoreError, Table, Write, from_item, sortable, to_item};

/// A seller has this long to answer, weekends included.
pub const REPLY_HOURS: i64 = 24;
/// A seller is reminded once this long before its answer is due.
pub const REMIND_HOURS_BEFORE: i64 = 4;
/// The value of `clock_open` on a thread waiting for its seller.
pub const OPEN: &str = "open";
/// How long a closed thread and its messages are kept: long enough for a dispute over what
/// was said, no longer.
pub const RETENTION_DAYS: i64 = 730;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadState {
    /// Waiting for the seller, its clock running.
    AwaitingSeller,
    /// Answered from the order at once: no clock ran.
    AnsweredAutomatically,
    Answered,
    /// The seller marked it as needing no answer.
    NoResponseNeeded,
}

impl ThreadState {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadState::AwaitingSeller => "awaiting_seller",
            ThreadState::AnsweredAutomatically => "answered_automatically",
            ThreadState::Answered => "answered",
            ThreadState::NoResponseNeeded => "no_response_needed",
        }
    }
}

/// Who wrote a message of the thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    Buyer,
    Seller,
    /// The back office's automatic answer.
    BackOffice,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub message_id: String,
    pub author: Author,
    pub at: DateTime<Utc>,
    /// The words: stored for the reply's quote, never logged.
    pub text: crate::values::pii::Private<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    /// A fingerprint of the event, to tell a retry from a reused id.
    pub fingerprint: String,
    #[serde(default)]
    pub answered_automatically: bool,
}

/// The seller's clock: from a buyer's message to the seller's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clock {
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// The message that started it.
    pub message_id: String,
    #[serde(default)]
    pub reminded: bool,
    #[serde(default)]
    pub breached: bool,
}

impl Clock {
    pub fn remind_at(&self) -> DateTime<Utc> {
        self.due_at - Duration::hours(REMIND_HOURS_BEFORE)
    }

    /// When the sweep must next look at the thread: its reminder, then its deadline; never
    /// again once the breach is recorded (the seller may still answer, by key).
    pub fn next_look(&self) -> Option<DateTime<Utc>> {
        match (self.reminded, self.breached) {
            (_, true) => None,
            (false, false) => Some(self.remind_at()),
            (true, false) => Some(self.due_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredThread {
    pub thread_id: String,
    pub seller_id: String,
    pub buyer: Buyer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub subject: String,
    pub state: ThreadState,
    /// The buyer's latest words, which a reply's email and a clock's notices quote: one
    /// message's worth, however long the thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_question: Option<crate::values::pii::Private<String>>,
    /// Running while the seller owes an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<Clock>,
    /// When the back office last answered automatically: one automatic answer a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_automatically_at: Option<DateTime<Utc>>,
    /// Seconds from the first question to the seller's first answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_seconds: Option<i64>,
    pub version: u64,
    /// When the buyer's first message came: a thread opened after an erasure was asked for
    /// is a new relationship, which the erasure leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<DateTime<Utc>>,
    /// When the buyer's data was erased from it (see [`super::erasure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

impl StoredThread {
    pub fn last_question(&self) -> &str {
        self.last_question.as_ref().map_or("", |text| text.as_str())
    }

    /// The clock a buyer's message at `at` starts.
    pub fn start_clock(&mut self, message_id: &str, at: DateTime<Utc>) {
        self.state = ThreadState::AwaitingSeller;
        self.clock = Some(Clock {
            started_at: at,
            due_at: at + Duration::hours(REPLY_HOURS),
            message_id: message_id.to_owned(),
            reminded: false,
            breached: false,
        });
    }
}

pub fn thread_key(thread_id: &str) -> String {
    format!("thread#{thread_id}")
}

/// A message's item: under its thread, so a message id need be new in its thread only.
pub fn message_key(thread_id: &str, message_id: &str) -> String {
    format!("thread#{thread_id}#message#{message_id}")
}

/// The attribute of a message item naming when its thread was opened.
pub const THREAD_OPENED_AT: &str = "thread_opened_at";

/// The message, written once: it goes in the same set as the head's versioned put, so a
/// message and the thread it moved commit together or not at all.
pub fn put_message(thread: &StoredThread, message: &ThreadMessage) -> Result<Write, StoreError> {
    let mut item = message_item(&thread.thread_id, message)?;
    if thread.erased_at.is_none() {
        item.insert("buyer_id".to_owned(), thread.buyer.id.clone().into());
    }
    // An erasure keeps the messages of a thread opened after it was asked for, as the head.
    if let Some(opened_at) = thread.opened_at {
        item.insert(THREAD_OPENED_AT.to_owned(), opened_at.to_rfc3339().into());
    }
    Ok(Write::put(Table::Threads, item).when(Condition::ItemMissing))
}

/// A message as its item, without the `buyer_id` of the `ByBuyer` index.
pub fn message_item(thread_id: &str, message: &ThreadMessage) -> Result<Item, StoreError> {
    let mut item = to_item(message)?;
    item.insert("pk".to_owned(), message_key(thread_id, &message.message_id).into());
    item.insert("thread_id".to_owned(), thread_id.into());
    item.insert("expires_at".to_owned(), expiry(message.at).into());
    Ok(item)
}

/// The message of the thread with this id, if it has one.
pub async fn read_message(
    store: &impl Storage,
    thread_id: &str,
    message_id: &str,
) -> Result<Option<ThreadMessage>, StoreError> {
    store
        .get(Table::Threads, &message_key(thread_id, message_id))
        .await?
        .map(from_item::<ThreadMessage>)
        .transpose()
}

/// The thread as changed at `now`, written only over the version it was read at (or only if
/// new).
pub fn put_thread(thread: &StoredThread, read_version: Option<u64>, now: DateTime<Utc>) -> Result<Write, StoreError> {
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Threads, thread_item(thread, now)?).when(condition))
}

fn expiry(at: DateTime<Utc>) -> i64 {
    (at + Duration::days(RETENTION_DAYS)).timestamp()
}

/// The thread as its table keeps it after a change at `now`: with the `OpenThreads` keys
/// while its clock runs, and otherwise its expiry.
pub fn thread_item(thread: &StoredThread, now: DateTime<Utc>) -> Result<Item, StoreError> {
    let mut item = to_item(thread)?;
    item.insert("pk".to_owned(), thread_key(&thread.thread_id).into());
    if thread.erased_at.is_none() {
        item.insert("buyer_id".to_owned(), thread.buyer.id.clone().into());
    }
    if thread.state != ThreadState::AwaitingSeller {
        item.insert("expires_at".to_owned(), expiry(now).into());
    }
    if let Some(next) = thread.clock.as_ref().and_then(Clock::next_look) {
        item.insert("clock_open".to_owned(), OPEN.into());
        item.insert(
            "clock_next".to_owned(),
            format!("{}#{}", sortable(next), thread.thread_id).into(),
        );
    }
    Ok(item)
}

/// What a message event reads, in one request.
#[derive(Debug, Clone, Default)]
pub struct ThreadContext {
    pub thread: Option<StoredThread>,
    /// The event's message, if the thread holds one with its id already.
    pub message: Option<ThreadMessage>,
    pub order: Option<StoredOrder>,
    pub contact: Option<SellerContact>,
}

/// The thread, the message of this id, the order a message names and its seller's contact,
/// in one `BatchGetItem`.
///
/// `order_ids` are the order the event names, or those the buyer named in words
/// ([`super::named`]): the first that is `buyer_id`'s with this seller is the order, and any
/// other is dropped unread by anyone.
pub async fn read_context(
    store: &impl Storage,
    thread_id: &str,
    message_id: &str,
    order_ids: &[String],
    seller_id: &str,
    buyer_id: &str,
) -> Result<ThreadContext, StoreError> {
    let mut keys = vec![
        ItemKey::new(Table::Threads, thread_key(thread_id)),
        ItemKey::new(Table::Threads, message_key(thread_id, message_id)),
        ItemKey::new(Table::Sellers, seller_id),
    ];
    keys.extend(
        order_ids
            .iter()
            .map(|order_id| ItemKey::new(Table::Orders, order_id.as_str())),
    );
    let mut found = store.get_many(&keys).await?.into_iter();
    let thread = found.next().flatten().map(from_item::<StoredThread>).transpose()?;
    let message = found.next().flatten().map(from_item::<ThreadMessage>).transpose()?;
    let seller: Option<Item> = found.next().flatten();
    let mut order = None;
    for item in found.flatten() {
        let candidate = order_from(item)?;
        if candidate.seller_id == seller_id && candidate.buyer.id == buyer_id {
            order = Some(candidate);
            break;
        }
    }
    Ok(ThreadContext {
        thread,
        message,
        order,
        contact: seller.as_ref().and_then(|item| contact_of(seller_id, item)),
    })
}
