//! What a buyer's erasure leaves of a refund: the ledger (ids, lines, amounts, currency,
//! state, who decided and when), which bookkeeping keeps; not the buyer's note or the
//! seller's words about it. The buyer's id stays, as the order's does.

use chrono::{DateTime, Utc};

use super::records::{StoredRefund, put_refund};
use super::sweep::SELLER_DID_NOT_RESPOND;
use crate::storage::{StoreError, Write};

impl StoredRefund {
    pub fn holds_buyer_data(&self) -> bool {
        self.erased_at.is_none()
    }

    pub fn erased(&self, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.note = None;
        // The deadline's code is the back office's own; any other reason is the seller's words.
        if next.decision_reason.as_deref() != Some(SELLER_DID_NOT_RESPOND) {
            next.decision_reason = None;
        }
        next.erased_at = Some(at);
        next.version += 1;
        next
    }
}

/// The erased refund, over the version it was read at.
pub fn put_erased_refund(refund: &StoredRefund, at: DateTime<Utc>) -> Result<Write, StoreError> {
    put_refund(&refund.erased(at), Some(refund.version))
}
