//! What a buyer's erasure leaves of a claim: what happened and the money (ids, reason, what
//! was asked and refunded, the clocks, who decided and how), which the seller's health and the
//! ledger keep; not the buyer's words, nor the seller's or support staff's words about the
//! buyer. The buyer's id stays, as the order's and the refund's do.

use chrono::{DateTime, Utc};

use super::records::{StoredClaim, put_claim};
use crate::storage::{StoreError, Write};

impl StoredClaim {
    pub fn holds_buyer_data(&self) -> bool {
        self.erased_at.is_none()
    }

    pub fn erased(&self, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.note = None;
        next.withdrawal_note = None;
        if let Some(response) = next.response.as_mut() {
            response.message = None;
        }
        if let Some(decision) = next.decision.as_mut() {
            decision.reason = String::new();
        }
        next.erased_at = Some(at);
        next.version += 1;
        next
    }
}

/// The erased claim, over the version it was read at.
pub fn put_erased_claim(claim: &StoredClaim, at: DateTime<Utc>) -> Result<Write, StoreError> {
    put_claim(&claim.erased(at), Some(claim.version))
}
