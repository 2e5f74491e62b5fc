//! The review events' use cases: each reads what it needs in one request, decides, and writes
//! one set: the event's claim, the review, its SKU's stats, and what its seller is to hear.
//!
//! `review.created` is two requests (the read of the review, the seller's settings, the
//! SKU's stats and the order it names; the write set) unless it races another review of the
//! same SKU, which makes it read again: the stats are written only over the version read.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::classify::classify;
use super::notice::ReviewNotice;
use super::records::{
    ReviewEvent, ReviewState, SkuStats, StoredReview, put_review, put_stats, read_context, read_defect, read_stats,
};
use super::tally::is_defect;
use super::trends::TrendChange;
use super::validate::{NewReview, ReviewError, ReviewRef, ReviewWords};
use crate::domains::orders::{EventContext, OrderStatus};
use crate::mechanisms::function::Function;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox::Message;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::mechanisms::webhook::{Accepted, NotAccepted, Rejection, event_id_reused};
use crate::storage::{Item, Storage, StoreError, WriteFailure, WriteSet, back_off};

/// Reads and write sets that lost a race with another review of the SKU are tried this often.
const ATTEMPTS: u32 = 8;
const CLAIM: usize = 0;

/// What a review event did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewOutcome {
    /// Recorded now.
    Now(StoredReview),
    /// This event was applied before (its claim expired since): answered as a duplicate.
    Earlier(StoredReview),
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewFailure {
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    #[error("the event id was applied before with another body")]
    EventReused,
    #[error(transparent)]
    Review(#[from] ReviewError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ReviewFailure> for NotAccepted {
    fn from(failure: ReviewFailure) -> Self {
        match failure {
            ReviewFailure::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            ReviewFailure::EventReused => NotAccepted::Refused(event_id_reused()),
            ReviewFailure::Review(error) => NotAccepted::Refused(error.into()),
            ReviewFailure::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

impl StoredReview {
    /// What the webhook answers: the review's reading.
    pub fn receipt(&self) -> Accepted {
        let reasons: Vec<&str> = self.reasons.iter().map(|reason| reason.as_str()).collect();
        let receipt = json!({
            "review_id": self.review_id,
            "negative": self.negative,
            "reasons": reasons,
            "verified": self.verified,
            "review_state": self.state,
        });
        receipt.as_object().cloned().unwrap_or_default()
    }
}

/// A fingerprint of what a `review.created` says, so that the same review id sent again by
/// another event is told apart from another review given the same id.
fn content_of(review: &NewReview) -> String {
    let words = &review.words;
    let text = format!(
        "{}|{}|{}|{:?}|{}|{}|{}|{}",
        review.seller_id,
        review.sku,
        review.buyer_id,
        review.order_id,
        words.rating,
        words.title,
        words.text,
        review.created_at
    );
    hex::encode(Sha256::digest(text))[..32].to_owned()
}

/// `review.created`: stores the review once, classified, verified against the order it
/// names, counted in its SKU's stats; its seller hears of it if it is negative.
pub async fn record_review(
    store: &impl Storage,
    review: &NewReview,
    event: &EventContext,
    claim: &Claim,
    now: DateTime<Utc>,
) -> Result<ReviewOutcome, ReviewFailure> {
    let content = content_of(review);
    for attempt in 0..ATTEMPTS {
        let context = read_context(
            store,
            &review.review_id,
            &review.seller_id,
            Some(&review.sku),
            review.order_id.as_deref(),
        )
        .await?;
        if let Some(existing) = context.review {
            return match existing.applied(&event.id) {
                Some(fingerprint) if fingerprint == event.fingerprint => Ok(ReviewOutcome::Earlier(existing)),
                Some(_) => Err(ReviewFailure::EventReused),
                None if existing.content == content => Ok(ReviewOutcome::Earlier(existing)),
                None => Err(ReviewError::ReviewExists {
                    review_id: review.review_id.clone(),
                }
                .into()),
            };
        }
        let verified = match (&review.order_id, &context.order) {
            (None, _) => false,
            (Some(order_id), order) => {
                let order = order
                    .as_ref()
                    .filter(|order| order.seller_id == review.seller_id)
                    .ok_or_else(|| ReviewError::OrderNotFound {
                        order_id: order_id.clone(),
                    })?;
                // A cancelled order was never the buyer's to judge.
                order.buyer.id == review.buyer_id
                    && order.status != OrderStatus::Cancelled
                    && order.lines.iter().any(|line| line.sku == review.sku)
            }
        };
        let reading = classify(review.words.rating, &review.words.title, &review.words.text);
        let stored = StoredReview {
            review_id: review.review_id.clone(),
            seller_id: review.seller_id.clone(),
            sku: review.sku.clone(),
            order_id: review.order_id.clone(),
            buyer_id: review.buyer_id.clone(),
            verified,
            rating: review.words.rating,
            title: review.words.title.clone(),
            text: review.words.text.clone(),
            language: review.words.language.clone(),
            negative: reading.negative,
            reasons: reading.reasons,
            state: ReviewState::Published,
            created_at: review.created_at,
            updated_at: None,
            alerts: u32::from(reading.negative),
            content: content.clone(),
            history: vec![ReviewEvent {
                event_id: event.id.clone(),
                fingerprint: event.fingerprint.clone(),
            }],
            version: 0,
            erased_at: None,
        };
        let read_stats_version = context.stats.as_ref().map(|stats| stats.version);
        let mut stats = context.stats.unwrap_or_else(|| SkuStats {
            seller_id: review.seller_id.clone(),
            sku: review.sku.clone(),
            ..SkuStats::default()
        });
        if let Some(contribution) = stored.contribution() {
            stats.window.add(&contribution);
        }
        let changes = stats.window.assess(now, context.threshold_hundredths);
        let mut notices = trend_notices(&stats, changes);
        if stored.negative {
            notices.insert(0, ReviewNotice::negative_review(&stored));
        }
        let key = Function::ReviewMonitor.key(&["created", &stored.seller_id, &stored.review_id]);
        let mut writes = review_writes(claim, &stored, None, &stats, read_stats_version, &key, notices)?;
        let defect = super::tally::defect_change(None, &stored, context.defect.as_ref())?;
        writes.extend(super::tally::counted(None, &stored, defect));
        match commit(store, writes).await? {
            true => return Ok(ReviewOutcome::Now(stored)),
            false => back_off(attempt).await,
        }
    }
    Err(StoreError::new("review transaction", "kept colliding with other reviews of the SKU").into())
}

/// `review.updated`: the buyer's new words, classified again, the stats corrected; its seller
/// hears of it again only if it became negative or names a new reason.
pub async fn update_review(
    store: &impl Storage,
    review: &ReviewRef,
    words: &ReviewWords,
    updated_at: DateTime<Utc>,
    event: &EventContext,
    claim: &Claim,
    now: DateTime<Utc>,
) -> Result<ReviewOutcome, ReviewFailure> {
    change_review(store, review, event, claim, now, |existing| {
        let reading = classify(words.rating, &words.title, &words.text);
        let newly_negative = reading.negative && !existing.negative;
        let new_reason = reading.reasons.iter().any(|reason| !existing.reasons.contains(reason));
        let mut next = existing.clone();
        next.rating = words.rating;
        next.title = words.title.clone();
        next.text = words.text.clone();
        next.language = words.language.clone();
        next.negative = reading.negative;
        next.reasons = reading.reasons;
        next.updated_at = Some(updated_at);
        let tell = next.negative && (newly_negative || new_reason);
        if tell {
            next.alerts += 1;
        }
        (next, tell)
    })
    .await
}

/// `review.removed`: taken down by moderation: out of the stats, and nobody told.
pub async fn remove_review(
    store: &impl Storage,
    review: &ReviewRef,
    event: &EventContext,
    claim: &Claim,
    now: DateTime<Utc>,
) -> Result<ReviewOutcome, ReviewFailure> {
    change_review(store, review, event, claim, now, |existing| {
        let mut next = existing.clone();
        next.state = ReviewState::Removed;
        (next, false)
    })
    .await
}

/// A change to a published review of the seller: `change` makes the next review from the
/// stored one, and says whether its seller is to hear of it.
async fn change_review(
    store: &impl Storage,
    review: &ReviewRef,
    event: &EventContext,
    claim: &Claim,
    now: DateTime<Utc>,
    change: impl Fn(&StoredReview) -> (StoredReview, bool),
) -> Result<ReviewOutcome, ReviewFailure> {
    let not_found = || ReviewError::ReviewNotFound {
        review_id: review.review_id.clone(),
    };
    for attempt in 0..ATTEMPTS {
        let context = read_context(store, &review.review_id, &review.seller_id, None, None).await?;
        // Read under the seller's own key: another seller's review is simply not there.
        let existing = context.review.ok_or_else(not_found)?;
        match existing.applied(&event.id) {
            Some(fingerprint) if fingerprint == event.fingerprint => return Ok(ReviewOutcome::Earlier(existing)),
            Some(_) => return Err(ReviewFailure::EventReused),
            None => {}
        }
        if existing.state == ReviewState::Removed {
            return Err(ReviewError::ReviewRemoved {
                review_id: review.review_id.clone(),
            }
            .into());
        }
        let stats_read = read_stats(store, &existing.seller_id, &existing.sku).await?;
        let read_stats_version = stats_read.as_ref().map(|stats| stats.version);
        let mut stats = stats_read.unwrap_or_else(|| SkuStats {
            seller_id: existing.seller_id.clone(),
            sku: existing.sku.clone(),
            ..SkuStats::default()
        });
        let (mut next, tell) = change(&existing);
        next.version = existing.version + 1;
        next.history.push(ReviewEvent {
            event_id: event.id.clone(),
            fingerprint: event.fingerprint.clone(),
        });
        if let Some(before) = existing.contribution() {
            stats.window.remove(&before);
        }
        let changes = match next.contribution() {
            Some(after) => {
                stats.window.add(&after);
                stats.window.assess(now, context.threshold_hundredths)
            }
            None => stats.window.assess_recoveries(now, context.threshold_hundredths),
        };
        let mut notices = trend_notices(&stats, changes);
        if tell {
            notices.insert(0, ReviewNotice::negative_review(&next));
        }
        let key =
            Function::ReviewMonitor.key(&["changed", &next.seller_id, &next.review_id, &next.version.to_string()]);
        let mut writes = review_writes(
            claim,
            &next,
            Some(existing.version),
            &stats,
            read_stats_version,
            &key,
            notices,
        )?;
        let defect = match next.order_id.as_deref() {
            Some(order_id) if is_defect(&existing) != is_defect(&next) => {
                let mark = read_defect(store, &next.seller_id, order_id).await?;
                super::tally::defect_change(Some(&existing), &next, mark.as_ref())?
            }
            _ => None,
        };
        writes.extend(super::tally::counted(Some(&existing), &next, defect));
        match commit(store, writes).await? {
            true => return Ok(ReviewOutcome::Now(next)),
            false => back_off(attempt).await,
        }
    }
    Err(StoreError::new("review transaction", "kept colliding with other reviews of the SKU").into())
}

fn trend_notices(stats: &SkuStats, changes: Vec<TrendChange>) -> Vec<ReviewNotice> {
    changes
        .into_iter()
        .filter_map(|change| match change {
            TrendChange::Raised(alert) => Some(ReviewNotice::trend(&stats.seller_id, &stats.sku, alert)),
            TrendChange::Recovered(trend) => {
                tracing::info!(sku = %stats.sku, trend = %trend.key(), "review trend recovered");
                None
            }
        })
        .collect()
}

/// The claim, the review, its SKU's stats (each only over what was read), and the notices.
#[allow(clippy::too_many_arguments)]
fn review_writes(
    claim: &Claim,
    review: &StoredReview,
    read_review_version: Option<u64>,
    stats: &SkuStats,
    read_stats_version: Option<u64>,
    entry_key: &str,
    notices: Vec<ReviewNotice>,
) -> Result<WriteSet, StoreError> {
    let mut stats = stats.clone();
    stats.version = read_stats_version.map_or(0, |version| version + 1);
    let mut writes = WriteSet::new();
    writes.push(claim.completed(&Value::Object(review.receipt())));
    writes.push(put_review(review, read_review_version)?);
    writes.push(put_stats(&stats, read_stats_version)?);
    if !notices.is_empty() {
        let entry = OutboxEntry {
            key: entry_key.to_owned(),
            follow_ups: notices.into_iter().map(|notice| Message::of(&notice)).collect(),
        };
        writes.push(outbox::put(&entry, claim.now));
    }
    Ok(writes)
}

/// Writes the set: `true` when it committed, `false` when the review or its stats changed
/// since they were read (read again and decide again).
async fn commit(store: &impl Storage, writes: WriteSet) -> Result<bool, ReviewFailure> {
    match store.write(writes).await {
        Ok(()) => Ok(true),
        Err(WriteFailure::Store(error)) => Err(error.into()),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(CLAIM) => {
            Err(ReviewFailure::ClaimTaken(cancelled.existing(CLAIM).cloned()))
        }
        Err(WriteFailure::Cancelled(_)) => Ok(false),
    }
}
