//! Where a sweep over an index left off, kept as an item of its own, so the next invocation
//! starts there: a sweep whose entries stay in its index (an announced late order, an open
//! trend) reads a bounded page each time instead of everything from the start.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Cursor, Index, Item, Storage, StoreError, Table, Write, WriteFailure, WriteSet, text};

/// The entry `item` is in `index`: where the page after it starts.
pub fn cursor_at(index: Index, item: &Item) -> Cursor {
    let sort = match item.get(index.sort_attribute()) {
        Some(Value::Number(number)) => number.to_string(),
        _ => text(item, index.sort_attribute()).to_owned(),
    };
    Cursor {
        sort,
        key: text(item, index.table().key_attribute()).to_owned(),
    }
}

/// The cursor kept under `key`, if a sweep left one.
pub async fn read_resume(store: &impl Storage, table: Table, key: &str) -> Result<Option<Cursor>, StoreError> {
    Ok(store.get(table, key).await?.and_then(|item| resume_of(&item)))
}

/// The cursor a resume item holds.
pub fn resume_of(item: &Item) -> Option<Cursor> {
    Some(Cursor {
        sort: item.get("after_sort")?.as_str()?.to_owned(),
        key: item.get("after_key")?.as_str()?.to_owned(),
    })
}

/// Keeps `cursor` under `key` (a fresh start when `None`: an item with no cursor, so a
/// sweep's role needs only `PutItem`), removed by the table's TTL after `expires_at`.
/// Unconditional: of two racing sweeps the later write wins, and the one behind only reads a
/// page again.
pub fn save_resume(table: Table, key: &str, cursor: Option<&Cursor>, expires_at: DateTime<Utc>) -> Write {
    let mut item = Item::new();
    item.insert(table.key_attribute().to_owned(), key.into());
    if let Some(cursor) = cursor {
        item.insert("after_sort".to_owned(), cursor.sort.clone().into());
        item.insert("after_key".to_owned(), cursor.key.clone().into());
    }
    item.insert("expires_at".to_owned(), expires_at.timestamp().into());
    Write::put(table, item)
}

/// Writes a cursor [`save_resume`] built. Its put has no condition, so only the store's own
/// failure is an error.
pub async fn keep_resume(store: &impl Storage, cursor: Write) -> Result<(), StoreError> {
    match store.write(WriteSet::from(vec![cursor])).await {
        Ok(()) | Err(WriteFailure::Cancelled(_)) => Ok(()),
        Err(WriteFailure::Store(error)) => Err(error),
    }
}
