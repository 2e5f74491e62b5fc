//! What a buyer's erasure leaves of a review: its rating, language, reasons, state and dates,
//! so the SKU's stats and the seller's reasons stay right; not its title or words, nor the
//! buyer's id, which a tombstone of the review's own replaces (no two erased reviews share
//! one, so no index partition gathers them).

use chrono::{DateTime, Utc};

use super::records::{StoredReview, put_review};
use crate::storage::{StoreError, Write};

impl StoredReview {
    pub fn holds_buyer_data(&self) -> bool {
        self.erased_at.is_none()
    }

    pub fn erased(&self, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.buyer_id = format!("erased#{}", self.review_id);
        next.title = String::new();
        next.text = String::new();
        next.erased_at = Some(at);
        next.version += 1;
        next
    }
}

/// The erased review, over the version it was read at.
pub fn put_erased_review(review: &StoredReview, at: DateTime<Utc>) -> Result<Write, StoreError> {
    put_review(&review.erased(at), Some(review.version))
}
