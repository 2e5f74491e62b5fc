//! One seller's review notices, told once each in one digest email: every notice of the
//! batch marked told (only if no digest told it before) in the same write set as the digest's
//! outbox entry. A redelivered notice, alone or in another batch, finds its mark and is left
//! out; a digest left with nothing to tell is not written.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::notice::{Noticed, ReviewNotice};
use super::records::put_told;
use super::trends::Trend;
use crate::domains::email::EmailContent;
use crate::domains::email::request::{ReviewAlert, ReviewTrendAlert, SellerDigest, email_entry};
use crate::domains::sellers::{SellerContact, seller_contact};
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::storage::{Storage, StoreError, WriteFailure, WriteSet};

/// Notices per write set: their marks and the digest within DynamoDB's 100 items.
const NOTICES_PER_DIGEST: usize = 90;

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// Nowhere to send it yet: the notices wait (the queue retries, then its dead-letter
    /// queue keeps them for a replay once the seller's contact arrives).
    #[error("seller {0} has no contact for alerts; send one with seller.updated")]
    NoContact(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tells `seller_id` its `notices` not told before; answers how many were told now.
pub async fn tell_seller(
    store: &impl Storage,
    seller_id: &str,
    notices: Vec<ReviewNotice>,
    now: DateTime<Utc>,
) -> Result<usize, DigestError> {
    let contact = seller_contact(store, seller_id)
        .await?
        .ok_or_else(|| DigestError::NoContact(seller_id.to_owned()))?;
    let mut told = 0;
    for chunk in notices.chunks(NOTICES_PER_DIGEST) {
        let mut untold: Vec<&ReviewNotice> = chunk.iter().collect();
        while !untold.is_empty() {
            let entry = digest_entry(&contact, &untold);
            let mut writes: WriteSet = untold
                .iter()
                .map(|notice| put_told(&notice.dedupe_key, notice.buyer_id.as_deref(), &entry.key, now))
                .collect::<Vec<_>>()
                .into();
            writes.push(outbox::put(&entry, now));
            match store.write(writes).await {
                Ok(()) => {
                    told += untold.len();
                    break;
                }
                Err(WriteFailure::Store(error)) => return Err(error.into()),
                // Told before, by another delivery: leave those out and write the rest.
                Err(WriteFailure::Cancelled(cancelled)) => {
                    let fresh: Vec<&ReviewNotice> = untold
                        .iter()
                        .enumerate()
                        .filter(|(position, _)| !cancelled.failed(*position))
                        .map(|(_, notice)| *notice)
                        .collect();
                    if fresh.len() == untold.len() {
                        return Err(StoreError::new("review digest", "cancelled with no notice told before").into());
                    }
                    untold = fresh;
                }
            }
        }
    }
    Ok(told)
}

/// The digest email of these notices, keyed by them: the same notices make the same key.
fn digest_entry(contact: &SellerContact, notices: &[&ReviewNotice]) -> OutboxEntry {
    let mut keys: Vec<&str> = notices.iter().map(|notice| notice.dedupe_key.as_str()).collect();
    keys.sort();
    let hash = hex::encode(Sha256::digest(keys.join("|")));
    let key = Function::ReviewMonitor.key(&["digest", &contact.seller_id, &hash[..32]]);
    let mut digest = SellerDigest {
        seller_id: contact.seller_id.clone(),
        ..SellerDigest::default()
    };
    for notice in notices {
        match &notice.about {
            Noticed::NegativeReview {
                rating,
                reasons,
                verified,
                snippet,
                ..
            } => digest.reviews.push(ReviewAlert {
                sku: notice.sku.clone(),
                rating: *rating,
                reasons: reasons.iter().map(|reason| reason.as_str().to_owned()).collect(),
                verified: *verified,
                excerpt: snippet.clone(),
            }),
            Noticed::Trend(alert) => digest.review_trends.push(ReviewTrendAlert {
                sku: notice.sku.clone(),
                trend: match alert.trend {
                    Trend::LowAverage => "low_average".to_owned(),
                    Trend::RepeatedReason(reason) => reason.as_str().to_owned(),
                },
                reviews: alert.reviews,
                average: alert
                    .average_hundredths
                    .map(|hundredths| format!("{}.{:02}", hundredths / 100, hundredths % 100)),
                window_days: alert.window_days,
            }),
        }
    }
    email_entry(
        key,
        contact.recipient(),
        &contact.locale,
        EmailContent::SellerDigest(digest),
    )
}
