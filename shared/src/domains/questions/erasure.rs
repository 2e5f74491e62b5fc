//! What a buyer's erasure leaves of a thread: its ids, state, clock and response figures (the
//! seller's health counts them); not the buyer's name or address, the subject, or any
//! message's words, the seller's included (a reply quotes and names the buyer).

use chrono::{DateTime, Utc};

use super::records::{StoredThread, ThreadMessage, message_item, put_thread};
use crate::storage::{Condition, StoreError, Table, Write};
use crate::values::pii::Private;

impl StoredThread {
    pub fn holds_buyer_data(&self) -> bool {
        self.erased_at.is_none()
    }

    /// Whether the buyer opened it after `at`: a new relationship an erasure asked for at
    /// `at` leaves. A thread from before `opened_at` was kept is taken as older.
    pub fn opened_after(&self, at: DateTime<Utc>) -> bool {
        self.opened_at.is_some_and(|opened| opened > at)
    }

    /// The head with its buyer erased at `at`, as the next version.
    pub fn erased(&self, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.buyer = self.buyer.erased();
        next.subject = String::new();
        next.last_question = None;
        next.erased_at = Some(at);
        next.version += 1;
        next
    }
}

/// The erased head, written over the version it was read at: a message racing the erasure
/// from an earlier reading fails and reads the erased head again.
pub fn put_erased_thread(thread: &StoredThread, at: DateTime<Utc>) -> Result<Write, StoreError> {
    put_thread(&thread.erased(at), Some(thread.version), at)
}

/// The message without its words (its id and fingerprint stay, so the same event again is
/// still known as applied), out of the `ByBuyer` index.
pub fn put_erased_message(thread_id: &str, message: &ThreadMessage) -> Result<Write, StoreError> {
    let mut erased = message.clone();
    erased.text = Private(String::new());
    let item = message_item(thread_id, &erased)?;
    Ok(Write::put(Table::Threads, item).when(Condition::ItemExists))
}
