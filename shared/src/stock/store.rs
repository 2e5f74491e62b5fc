//! What stock alerts needs from storage, in the domain's words. The DynamoDB implementation is
//! [`crate::adapters::dynamodb::DynamoStock`].

use std::future::Future;

use chrono::{DateTime, Utc};

use super::adjustment::{Adjustment, SellerContact, StockError};
use super::alerts::Evaluated;
use super::assess::StockItem;
use crate::idempotency::ClaimWrite;
use crate::outbox::OutboxEntry;
use crate::store::StoreError;

/// Why an adjustment was not applied.
#[derive(Debug, thiserror::Error)]
pub enum AdjustRefusal {
    /// The event's idempotency claim was taken first: a duplicate, or the same event now.
    #[error("the event's claim is taken")]
    ClaimTaken,
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The SKUs the sweep reads, and how many items that cost.
#[derive(Debug, Clone, Default)]
pub struct Watchlist {
    pub items: Vec<StockItem>,
    pub items_read: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Done,
    /// Another evaluation changed one of the SKUs first: read them again.
    Conflict,
}

pub trait StockStore: Send + Sync {
    /// Applies the adjustment together with the event's completed claim and `follow_ups`.
    fn adjust(
        &self,
        adjustment: &Adjustment,
        claim: &ClaimWrite,
        follow_ups: &OutboxEntry,
    ) -> impl Future<Output = Result<(), AdjustRefusal>> + Send;

    /// The seller's SKUs among `skus`, as stored (unknown SKUs are left out).
    fn items(
        &self,
        seller_id: &str,
        skus: &[String],
    ) -> impl Future<Output = Result<Vec<StockItem>, StoreError>> + Send;

    /// Every SKU on the watchlist: those with a problem, and those stock moved on since.
    fn watchlist(&self) -> impl Future<Output = Result<Watchlist, StoreError>> + Send;

    fn seller(&self, seller_id: &str) -> impl Future<Output = Result<Option<SellerContact>, StoreError>> + Send;

    /// Writes what the evaluation changed, each SKU conditional on the alert state it was
    /// evaluated from, together with the digest's outbox entry: all or nothing.
    fn record(
        &self,
        evaluated: &[Evaluated],
        digest: Option<&OutboxEntry>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
}
