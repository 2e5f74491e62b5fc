//! The clock's sweep, every 15 minutes: threads whose reminder or deadline has come (the
//! sparse `OpenThreads` index, so its cost follows the open threads, not the messages), and
//! orders past their ship-by date and not shipped (the orders' sparse `ByShipDue` index).
//! Each thread or order is one transaction whose condition makes a second sweep, or two racing
//! sweeps, do nothing: the thread is written over the version read, a late order's mark only
//! if it is new.

use std::collections::HashSet;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;

use super::answer::{Notice, delay_notice, late_order_notice, question_notice};
use super::figures::{Figure, counted};
use super::records::{StoredThread, put_thread, thread_key};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::sellers::seller_contact;
use crate::mechanisms::outbox;
use crate::storage::{
    Condition, Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, WriteFailure, WriteSet, cursor_at,
    from_item, keep_resume, resume_of, save_resume, text,
};

/// How far back the sweep looks for late orders: one that became late earlier was found
/// then (the sweep runs every 15 minutes).
const LATE_DAYS_LOOKED_AT: i64 = 7;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClockSweep {
    /// Thread keys the index gave.
    pub threads_due: usize,
    pub reminded: usize,
    pub breached: usize,
    /// Whether more threads were due than one sweep looks at.
    pub more_threads_due: bool,
    pub late_orders: usize,
    /// Whether more orders were due to ship than one sweep looks at.
    pub more_late_orders: bool,
    /// Changes another writer (a reply, another sweep) made first: nothing to do.
    pub raced: usize,
    /// Notices waiting for a seller's contact.
    pub sellers_without_contact: usize,
    /// Threads or orders whose change failed: the next sweep's.
    pub failed: usize,
}

pub async fn sweep_clock(store: &impl Storage, now: DateTime<Utc>) -> Result<ClockSweep, StoreError> {
    let mut swept = ClockSweep::default();
    let (due, more) = due_threads(store, now).await?;
    swept.threads_due = due.len();
    swept.more_threads_due = more;
    // One thread's or order's failure is its own: the others go on, and it is the next
    // sweep's (a late order's day keeps its cursor, so its page is read again).
    for thread_id in due {
        if let Err(error) = tick(store, &thread_id, now, &mut swept).await {
            tracing::warn!(%error, thread_id, "a due thread was left for the next sweep");
            swept.failed += 1;
        }
    }
    let (late, cursors, more_late) = late_orders(store, now).await?;
    swept.more_late_orders = more_late;
    let mut held = HashSet::new();
    for (day, order) in late {
        if let Err(error) = announce_late(store, &order, now, &mut swept).await {
            tracing::warn!(%error, order_id = %order.order_id, "a late order was left for the next sweep");
            swept.failed += 1;
            held.insert(day);
        }
    }
    // Moved only now, and only past pages announced whole.
    for (day, cursor) in cursors {
        if held.contains(&day) {
            continue;
        }
        keep_resume(store, cursor).await?;
    }
    Ok(swept)
}

/// The threads one sweep looks at (each two reads and a transaction); the rest are the next
/// sweep's, 15 minutes on.
pub const THREADS_PER_SWEEP: usize = 200;

/// The threads whose next look has come, soonest first, at most [`THREADS_PER_SWEEP`]: a
/// thread reminded or breached moves on in the index, so the next sweep starts where this
/// one ended without a cursor. Answers whether more may be due.
async fn due_threads(store: &impl Storage, now: DateTime<Utc>) -> Result<(Vec<String>, bool), StoreError> {
    let query = Query::new(Index::OpenThreads, super::records::OPEN)
        .due_by(now)
        .first(THREADS_PER_SWEEP);
    let found = store.query(&query).await?;
    let due = found
        .items
        .iter()
        .map(|item| text(item, "pk").trim_start_matches("thread#").to_owned())
        .collect();
    Ok((due, found.next.is_some()))
}

/// Reminds or records the breach of one thread, once.
async fn tick(
    store: &impl Storage,
    thread_id: &str,
    now: DateTime<Utc>,
    swept: &mut ClockSweep,
) -> Result<(), StoreError> {
    let Some(thread) = store
        .get(Table::Threads, &thread_key(thread_id))
        .await?
        .map(from_item::<StoredThread>)
        .transpose()?
    else {
        return Ok(());
    };
    let Some(clock) = thread.clock.clone() else {
        return Ok(());
    };
    let notice = if now >= clock.due_at && !clock.breached {
        Notice::Overdue
    } else if now >= clock.remind_at() && !clock.reminded {
        Notice::Reminder
    } else {
        return Ok(());
    };
    let mut next = thread.clone();
    next.version += 1;
    let next_clock = next.clock.as_mut().expect("cloned with its clock");
    // A thread found only at its deadline is past its reminder too.
    next_clock.reminded = true;
    next_clock.breached = notice == Notice::Overdue;
    let contact = seller_contact(store, &thread.seller_id).await?;
    // The buyer's latest words: the question the clock started with, or a later one of the
    // same wait.
    let question = thread.last_question();
    let mut writes = WriteSet::new();
    writes.push(put_thread(&next, Some(thread.version), now)?);
    match question_notice(
        &next,
        &clock.message_id,
        question,
        clock.due_at,
        notice,
        contact.as_ref(),
    ) {
        Some(entry) => {
            writes.push(outbox::put(&entry, now));
        }
        None => swept.sellers_without_contact += 1,
    }
    if notice == Notice::Overdue {
        writes.extend(counted(&thread.seller_id, clock.started_at, &[Figure::Breached], None));
    }
    match store.write(writes).await {
        Ok(()) if notice == Notice::Overdue => swept.breached += 1,
        Ok(()) => swept.reminded += 1,
        Err(WriteFailure::Cancelled(_)) => swept.raced += 1,
        Err(WriteFailure::Store(error)) => return Err(error),
    }
    Ok(())
}

/// Late orders one sweep looks at per day of its window (each a read of its seller and a
/// transaction); the rest are the next sweep's.
pub const LATE_PER_DAY: usize = 100;

/// Orders due to ship in the last week and before now, not shipped or cancelled, whose delay
/// has not been announced, a bounded page per day of the window.
///
/// An announced order stays in `ByShipDue` until it ships, so each day's page starts where the
/// last sweep's ended: a cursor per day (`late-cursor#<day>`), read for the seven days in one
/// `BatchGetItem` and moved only once its page is announced. Entries come in `ship_by` order,
/// the order they become late in, so nothing behind a cursor is new, except an order placed
/// already past its ship-by time behind one the sweep has passed: such an order is not found.
/// Answers the orders by day, each day's cursor to keep once its orders are announced, and
/// whether more waited.
async fn late_orders(store: &impl Storage, now: DateTime<Utc>) -> Result<LatePages, StoreError> {
    let days: Vec<String> = (0..LATE_DAYS_LOOKED_AT)
        .rev()
        .map(|back| (now - Duration::days(back)).date_naive().to_string())
        .collect();
    let cursor_keys: Vec<ItemKey> = days
        .iter()
        .map(|day| ItemKey::new(Table::Threads, late_cursor_key(day)))
        .collect();
    let cursors = store.get_many(&cursor_keys).await?;
    let (mut late, mut moved, mut more) = (Vec::new(), Vec::new(), false);
    for (day, cursor) in days.iter().zip(cursors) {
        let after = cursor.as_ref().and_then(resume_of);
        let query = Query::new(Index::OrdersByShipDue, day.as_str())
            .sort_at_most(now.to_rfc3339_opts(SecondsFormat::Secs, true))
            .page(LATE_PER_DAY, after);
        let found = store.query(&query).await?;
        more |= found.next.is_some();
        if let Some(last) = found.items.last() {
            let kept_until = now + Duration::days(LATE_DAYS_LOOKED_AT + 1);
            let cursor = cursor_at(Index::OrdersByShipDue, last);
            moved.push((
                day.clone(),
                save_resume(Table::Threads, &late_cursor_key(day), Some(&cursor), kept_until),
            ));
        }
        for item in found.items {
            let order = order_from(item)?;
            if order.status.awaits_shipment() && order.ship_by < now {
                late.push((day.clone(), order));
            }
        }
    }
    if late.is_empty() {
        return Ok((late, moved, more));
    }
    let marks: Vec<ItemKey> = late
        .iter()
        .map(|(_, order)| ItemKey::new(Table::Threads, late_key(&order.order_id)))
        .collect();
    let marked = store.get_many(&marks).await?;
    let late = late
        .into_iter()
        .zip(marked)
        .filter(|(_, mark)| mark.is_none())
        .map(|(late, _)| late)
        .collect();
    Ok((late, moved, more))
}

/// Late orders by their day, the days' cursors, and whether more waited.
type LatePages = (Vec<(String, StoredOrder)>, Vec<(String, Write)>, bool);

fn late_cursor_key(day: &str) -> String {
    format!("late-cursor#{day}")
}

pub fn late_key(order_id: &str) -> String {
    format!("late#{order_id}")
}

/// A late order's mark outlives the sweep's seven days of `ship_by` by this much: by then no
/// sweep can find its order late again, so the mark is kept no longer.
const LATE_MARK_DAYS: i64 = 30;

/// The buyer's delay notice and the seller's alert, once: the mark is written only if new.
async fn announce_late(
    store: &impl Storage,
    order: &StoredOrder,
    now: DateTime<Utc>,
    swept: &mut ClockSweep,
) -> Result<(), StoreError> {
    let mut mark = Item::new();
    mark.insert("pk".to_owned(), late_key(&order.order_id).into());
    mark.insert("seller_id".to_owned(), order.seller_id.clone().into());
    mark.insert("ship_by".to_owned(), order.ship_by.to_rfc3339().into());
    mark.insert("announced_at".to_owned(), now.to_rfc3339().into());
    mark.insert(
        "expires_at".to_owned(),
        (order.ship_by + chrono::Duration::days(LATE_MARK_DAYS))
            .timestamp()
            .into(),
    );
    let mut writes = WriteSet::new();
    writes.push(Write::put(Table::Threads, mark).when(Condition::ItemMissing));
    writes.push(outbox::put(&delay_notice(order), now));
    match seller_contact(store, &order.seller_id).await? {
        Some(contact) => {
            writes.push(outbox::put(&late_order_notice(order, &contact), now));
        }
        None => swept.sellers_without_contact += 1,
    }
    writes.extend(counted(&order.seller_id, order.ship_by, &[Figure::LateShipment], None));
    match store.write(writes).await {
        Ok(()) => swept.late_orders += 1,
        Err(WriteFailure::Cancelled(_)) => swept.raced += 1,
        Err(WriteFailure::Store(error)) => return Err(error),
    }
    Ok(())
}
