//! What support staff read: their queue, the claim due soonest first, and everything they
//! weigh a claim by. Both are reads of known keys and sparse indexes, never a scan.

use super::records::{AWAITING, StoredClaim};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::questions::records::{StoredThread, thread_key};
use crate::domains::refunds::records::{StoredRefund, refund_key};
use crate::domains::reviews::records::review_key;
use crate::storage::{Cursor, Index, Item, ItemKey, Page, Query, Storage, StoreError, Table, from_item};

/// Support staff's queue: the claims waiting for their decision, the one due soonest first,
/// a page of at most `size` after `after`. A query of the sparse `AwaitingSupport` index,
/// whose entries are whole claims: the page is one request, however many claims were ever
/// decided.
pub async fn awaiting_support(
    store: &impl Storage,
    size: usize,
    after: Option<Cursor>,
) -> Result<Page<StoredClaim>, StoreError> {
    let found = store
        .query(&Query::new(Index::AwaitingSupport, AWAITING).page(size, after))
        .await?;
    let items = found
        .items
        .into_iter()
        .map(from_item::<StoredClaim>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page {
        items,
        next: found.next,
    })
}

/// Everything support staff weigh a claim by, gathered in one `BatchGetItem`: the order (with
/// its shipment and what was refunded), every refund the claim names or made, the thread and
/// the review it names.
#[derive(Debug, Clone, Default)]
pub struct ClaimFacts {
    pub order: Option<StoredOrder>,
    pub refunds: Vec<StoredRefund>,
    pub thread: Option<StoredThread>,
    pub review: Option<Item>,
}

pub async fn gather_facts(store: &impl Storage, claim: &StoredClaim) -> Result<ClaimFacts, StoreError> {
    let refund_ids: Vec<&String> = claim.refund_id.iter().chain(claim.refund_ids.iter()).collect();
    let mut keys = vec![ItemKey::new(Table::Orders, claim.order_id.as_str())];
    keys.extend(
        refund_ids
            .iter()
            .map(|refund_id| ItemKey::new(Table::Refunds, refund_key(&claim.seller_id, refund_id))),
    );
    if let Some(thread_id) = &claim.thread_id {
        keys.push(ItemKey::new(Table::Threads, thread_key(thread_id)));
    }
    if let Some(review_id) = &claim.review_id {
        keys.push(ItemKey::new(Table::Reviews, review_key(&claim.seller_id, review_id)));
    }
    let mut found = store.get_many(&keys).await?.into_iter();
    let order = found.next().flatten().map(order_from).transpose()?;
    let mut refunds = Vec::new();
    for _ in &refund_ids {
        if let Some(item) = found.next().flatten() {
            refunds.push(from_item::<StoredRefund>(item)?);
        }
    }
    let thread = match &claim.thread_id {
        Some(_) => found
            .next()
            .flatten()
            .map(from_item::<StoredThread>)
            .transpose()?
            .filter(|thread| thread.seller_id == claim.seller_id),
        None => None,
    };
    let review = match &claim.review_id {
        Some(_) => found.next().flatten(),
        None => None,
    };
    Ok(ClaimFacts {
        order: order.filter(|order| order.seller_id == claim.seller_id),
        refunds,
        thread,
        review,
    })
}
