//! A buyer's export: one JSON document of everything the back office holds about them (their
//! orders, refunds, reviews, threads with every message, the emails sent and skipped, their
//! choice about optional email), each record as stored but for the attributes only indexes
//! read, on the reports shelf under the buyer's own prefix, which their erasure deletes.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::page::ExportJob;
use super::places::ExportShelf;
use crate::domains::email::suppressions::preference_item;
use crate::storage::{Index, Item, ItemKey, Query, Storage, StoreError, keys_page};

/// Keys a query page reads while an export gathers: many pages of these make a large buyer's.
const KEYS_PER_READ: usize = 100;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exported {
    pub object_key: String,
    pub records: usize,
    pub bytes: usize,
}

/// Writes the buyer's document. Writing it again (a redelivery) writes the same key over, with
/// what is held then.
pub async fn export(
    store: &impl Storage,
    shelf: &impl ExportShelf,
    job: &ExportJob,
    now: DateTime<Utc>,
) -> Result<Exported, StoreError> {
    let mut document = Map::new();
    document.insert("buyer_id".to_owned(), job.buyer_id.clone().into());
    document.insert("export_id".to_owned(), job.export_id.clone().into());
    document.insert("exported_at".to_owned(), now.to_rfc3339().into());
    let mut records = 0;
    for (name, index) in [
        ("orders", Index::OrdersByBuyer),
        ("refunds", Index::RefundsByBuyer),
        ("reviews", Index::ReviewsByBuyer),
        ("threads", Index::ThreadsByBuyer),
        ("emails", Index::EmailsByBuyer),
    ] {
        let items = gather(store, index, &job.buyer_id).await?;
        records += items.len();
        document.insert(
            name.to_owned(),
            Value::Array(items.into_iter().map(Value::Object).collect()),
        );
    }
    let preferences = preference_item(store, &job.buyer_id).await?;
    records += usize::from(preferences.is_some());
    document.insert("preferences".to_owned(), preferences.map_or(Value::Null, Value::Object));
    let bytes =
        serde_json::to_vec_pretty(&Value::Object(document)).map_err(|error| StoreError::new("export", error))?;
    let size = bytes.len();
    shelf.put(&job.object_key, bytes).await?;
    Ok(Exported {
        object_key: job.object_key.clone(),
        records,
        bytes: size,
    })
}

/// Every item under the buyer in `index`, read by key, a page at a time.
async fn gather(store: &impl Storage, index: Index, buyer_id: &str) -> Result<Vec<Item>, StoreError> {
    let mut gathered = Vec::new();
    let mut after = None;
    loop {
        let page = keys_page(store, &Query::new(index, buyer_id).page(KEYS_PER_READ, after)).await?;
        let keys: Vec<ItemKey> = page.items.iter().map(|key| ItemKey::new(index.table(), key)).collect();
        gathered.extend(
            store
                .get_many(&keys)
                .await?
                .into_iter()
                .flatten()
                .map(without_index_keys),
        );
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(gathered),
        }
    }
}

/// A record as the buyer reads it: without the attributes only the back office's indexes read.
fn without_index_keys(mut item: Item) -> Item {
    for name in [
        "status_placed",
        "ship_due_day",
        "open_for",
        "refund_status",
        "status_due",
        "requested",
        "pending",
        "next_at",
        "sku_created",
        "created",
        "clock_open",
        "clock_next",
        "attempt",
        "lease_until",
    ] {
        item.remove(name);
    }
    item
}

/// The answer the request gives: where the document will be.
pub fn export_answer(job: &ExportJob) -> Value {
    json!({"buyer_id": job.buyer_id, "export_id": job.export_id, "object_key": job.object_key})
}
