//! The hourly re-check of the SKUs with an open review trend: their windows move on with time,
//! so an average climbs back or a reason goes quiet with no new review to say so. Its cost
//! follows those SKUs (the sparse `ReviewTrends` index), not the catalogue, and is bounded: a
//! page of them per sweep, from where the last one ended.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::notice::ReviewNotice;
use super::records::{SkuStats, put_stats, watched_stats};
use super::trends::TrendChange;
use crate::domains::sellers::SellerSettings;
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Message;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::storage::{ItemKey, Storage, StoreError, Table, WriteFailure, WriteSet, keep_resume};

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrendSweep {
    pub skus_checked: usize,
    pub recovered: usize,
    pub raised: usize,
    pub items_read: usize,
    /// SKUs a review changed while the sweep looked: the next sweep looks again.
    pub skipped: usize,
    /// Whether open trends were left for the next sweep (more than one page of them).
    pub more: bool,
    /// SKUs whose write failed: the next round's.
    pub failed: usize,
}

pub async fn sweep_trends(store: &impl Storage, now: DateTime<Utc>) -> Result<TrendSweep, StoreError> {
    let page = watched_stats(store, now).await?;
    let (watched, items_read) = (page.stats, page.read);
    let sellers: Vec<ItemKey> = watched
        .iter()
        .map(|stats| ItemKey::new(Table::Sellers, &stats.seller_id))
        .collect();
    let thresholds: Vec<u32> = if sellers.is_empty() {
        Vec::new()
    } else {
        store
            .get_many(&sellers)
            .await?
            .iter()
            .map(|seller| SellerSettings::of(seller.as_ref()).review_alert_threshold_hundredths)
            .collect()
    };
    let mut summary = TrendSweep {
        skus_checked: watched.len(),
        items_read,
        more: page.more,
        ..TrendSweep::default()
    };
    for (stats, threshold) in watched.into_iter().zip(thresholds) {
        let read_version = stats.version;
        let mut next = stats.clone();
        let changes = next.window.assess(now, threshold);
        if changes.is_empty() {
            continue;
        }
        let mut notices = Vec::new();
        for change in changes {
            match change {
                TrendChange::Raised(alert) => {
                    summary.raised += 1;
                    notices.push(ReviewNotice::trend(&next.seller_id, &next.sku, alert));
                }
                TrendChange::Recovered(_) => summary.recovered += 1,
            }
        }
        next.version = read_version + 1;
        // One SKU's failure is its own: the sweep goes on, and the next round assesses it again.
        match record(store, &next, read_version, notices, now).await {
            Ok(true) => {}
            Ok(false) => summary.skipped += 1,
            Err(error) => {
                tracing::warn!(%error, seller_id = %next.seller_id, sku = %next.sku, "a trend was left for the next round");
                summary.failed += 1;
            }
        }
    }
    // Moved only now: a sweep that failed part way assesses the same page again.
    keep_resume(store, page.cursor).await?;
    Ok(summary)
}

/// Writes the SKU's new window over the version read, with any notices; `false` when a
/// review changed it first.
async fn record(
    store: &impl Storage,
    stats: &SkuStats,
    read_version: u64,
    notices: Vec<ReviewNotice>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut writes = WriteSet::new();
    writes.push(put_stats(stats, Some(read_version))?);
    if !notices.is_empty() {
        let version = stats.version.to_string();
        let entry = OutboxEntry {
            key: Function::ReviewMonitor.key(&["sweep", &stats.seller_id, &stats.sku, &version]),
            follow_ups: notices.into_iter().map(|notice| Message::of(&notice)).collect(),
        };
        writes.push(outbox::put(&entry, now));
    }
    match store.write(writes).await {
        Ok(()) => Ok(true),
        Err(WriteFailure::Cancelled(_)) => Ok(false),
        Err(WriteFailure::Store(error)) => Err(error),
    }
}
