//! The payout instruction an approved refund sends the marketplace's payment integration, and
//! its handing over: once per refund, however often the instruction is delivered here.
//!
//! The instruction travels the outbox like every follow-up, so it may arrive twice (a retried
//! relay, a replayed dead letter). Refund processing hands it to the payment integration's
//! FIFO queue with the seller's refund as the deduplication id, then marks the ledger entry with the
//! queue's message id: a redelivery finds the mark and sends nothing, and a send whose mark was
//! lost is sent again within SQS's five-minute deduplication window, where the queue drops it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use super::records::PaidBy;
use super::records::{StoredRefund, put_refund, read_refund};
use crate::mechanisms::outbox::Relayed;
use crate::storage::{Storage, StoreError, WriteFailure};

/// What the payment integration is asked to pay back. The back office never moves money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// `refund-processor#<seller_id>#<refund_id>#payout`: one per refund.
    pub dedupe_key: String,
    pub refund_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    /// A decimal string of the currency (`"12.50"`), and the same in minor units.
    pub amount: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Whose money it is.
    #[serde(default)]
    pub paid_by: PaidBy,
}

impl Relayed for Payout {
    const KIND: &'static str = "refund_payout";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}

/// Where payouts go: the payment integration's queue.
pub trait PayoutQueue: Send + Sync {
    /// Sends the instruction, deduplicated by `payout.refund_id`; answers the message id.
    fn send(&self, payout: &Payout) -> impl std::future::Future<Output = Result<String, StoreError>> + Send;
}

/// What handing one payout over did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    Sent(String),
    /// Handed over before: nothing sent.
    Before,
}

#[derive(Debug, thiserror::Error)]
pub enum PayoutError {
    #[error("refund {0} has no ledger entry; its payout waits")]
    NoLedgerEntry(String),
    #[error("refund {0} is not approved; its payout is refused")]
    NotApproved(String),
    /// A payout that is not the ledger's: forged, or from a bug. It is never sent, and its
    /// message goes to the dead-letter queue, whose alarm an operator answers.
    #[error("refund {0}'s payout does not match its ledger entry; it is refused")]
    NotTheLedgers(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Payout {
    /// The payment queue's deduplication id: one per refund of a seller, within SQS's 128
    /// characters however long the two ids are.
    pub fn deduplication_id(&self) -> String {
        let digest = Sha256::digest(format!("{}#{}", self.seller_id, self.refund_id));
        hex::encode(digest)
    }

    /// Whether this is what the ledger approved: the order, the buyer, the amount, the currency
    /// and the key all the refund's own. The seller is checked by the key the entry is read by.
    fn matches(&self, refund: &StoredRefund) -> bool {
        let expected_key = super::records::outbox_key(refund, "payout");
        refund.approved_minor == Some(self.amount_minor)
            && self.amount == crate::values::money::shown(self.amount_minor, &refund.currency)
            && self.currency == refund.currency
            && self.paid_by == refund.paid_by
            && self.order_id == refund.order_id
            && self.buyer_id == refund.buyer_id
            && self.dedupe_key == expected_key
    }
}

/// Hands `payout` to the payment integration unless its refund's entry says it was.
pub async fn hand_over(store: &impl Storage, queue: &impl PayoutQueue, payout: &Payout) -> Result<Handed, PayoutError> {
    let refund = read_refund(store, &payout.seller_id, &payout.refund_id)
        .await?
        .ok_or_else(|| PayoutError::NoLedgerEntry(payout.refund_id.clone()))?;
    if refund.payout_message_id.is_some() {
        return Ok(Handed::Before);
    }
    if refund.state != super::records::RefundState::Approved {
        return Err(PayoutError::NotApproved(payout.refund_id.clone()));
    }
    if !payout.matches(&refund) {
        return Err(PayoutError::NotTheLedgers(payout.refund_id.clone()));
    }
    let message_id = queue.send(payout).await?;
    let mut marked = refund.clone();
    marked.payout_message_id = Some(message_id.clone());
    marked.version += 1;
    match store
        .write(vec![put_refund(&marked, Some(refund.version))?].into())
        .await
    {
        Ok(()) => Ok(Handed::Sent(message_id)),
        // Changed since read (another delivery marked it): the queue dropped our duplicate.
        Err(WriteFailure::Cancelled(_)) => Ok(Handed::Before),
        Err(WriteFailure::Store(error)) => Err(error.into()),
    }
}
