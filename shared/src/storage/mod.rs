//! Storage, in the domain's terms: tables of JSON items under one string key each, read one,
//! many or by index, and changed by write sets that apply whole or not at all.
//!
//! The domain decides what to write: each use case builds a [`WriteSet`] (puts, updates and
//! deletes, each with the [`Condition`] it depends on) and reads the [`Cancelled`] reasons when
//! one failed. Two implementations execute them:
//!
//! - `adapters::dynamodb::DynamoStorage`: a single write is one `PutItem`, `UpdateItem` or
//!   `DeleteItem`; several are one `TransactWriteItems` with a request token, so the SDK's own
//!   retry of a committed transaction succeeds instead of failing on its own writes.
//! - [`MemoryStorage`]: the same semantics in a mutex, for the handlers' unit tests.
//!
//! Neither names the other's types; a rule about what may be written lives only here and in
//! the domain module that builds the write.

mod error;
mod item;
mod memory;
mod resume;
mod table;
mod write;

use std::future::Future;

pub use error::{BoxError, StoreError, back_off};
pub use item::{Item, from_item, number, text, to_item};
pub use memory::{MAX_ITEM_BYTES, MemoryStorage, item_size};
pub use resume::{cursor_at, keep_resume, read_resume, resume_of, save_resume};
pub use table::{Cursor, Index, ItemKey, Query, Table, sortable};
pub use write::{Action, Cancelled, Change, Cmp, Condition, Operand, Reason, Write, WriteFailure, WriteSet};

/// What every store of the back office can do.
pub trait Storage: Send + Sync {
    /// One item, read consistently; `None` when there is none under `key`.
    fn get(&self, table: Table, key: &str) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Many items, read consistently, in the order of `keys` (`None` for a key with no item).
    fn get_many(&self, keys: &[ItemKey]) -> impl Future<Output = Result<Vec<Option<Item>>, StoreError>> + Send;

    /// The items an index holds under one partition value, in its sort order.
    fn query(&self, query: &Query) -> impl Future<Output = Result<Found, StoreError>> + Send;

    /// Applies every write of the set, or none when a condition fails or another write
    /// collides with it.
    fn write(&self, writes: WriteSet) -> impl Future<Output = Result<(), WriteFailure>> + Send;
}

/// What a query found, and how many index entries it read to find it (what it costs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub items: Vec<Item>,
    pub read: usize,
    /// Where the next page starts, when the query stopped at its limit with entries perhaps
    /// left (DynamoDB may hand one over when none are: the next page is then empty).
    pub next: Option<Cursor>,
}

/// One page of what a query found, read into the domain's terms, and where the next starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

/// The table keys of a page of an index (a keys-only one, whose items are then read by key).
pub async fn keys_page(store: &impl Storage, query: &Query) -> Result<Page<String>, StoreError> {
    let key = query.index.table().key_attribute();
    let found = store.query(query).await?;
    let items = found.items.iter().map(|item| text(item, key).to_owned()).collect();
    Ok(Page {
        items,
        next: found.next,
    })
}

impl<S: Storage> Storage for &S {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        (**self).get(table, key).await
    }

    async fn get_many(&self, keys: &[ItemKey]) -> Result<Vec<Option<Item>>, StoreError> {
        (**self).get_many(keys).await
    }

    async fn query(&self, query: &Query) -> Result<Found, StoreError> {
        (**self).query(query).await
    }

    async fn write(&self, writes: WriteSet) -> Result<(), WriteFailure> {
        (**self).write(writes).await
    }
}
