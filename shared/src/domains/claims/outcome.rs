//! What every claim use case shares when it writes: the outcome, the failures, the webhook's
//! answer, and the one commit that tells a lost race (read again) from the event's claim
//! already taken.

use serde_json::{Value, json};

use super::records::{ClaimState, StoredClaim};
use super::validate::ClaimError;
use crate::domains::refunds::approve::ApprovalError;
use crate::mechanisms::webhook::{Accepted, NotAccepted, Rejection, event_id_reused};
use crate::storage::{Item, Storage, StoreError, WriteFailure, WriteSet, back_off};
use crate::values::money::shown;

/// Reads and write sets that lost a race (for the claim, its order, the buyer's history) are
/// tried this often: thirty events racing for one order each win or lose in turn.
pub const ATTEMPTS: u32 = 80;
/// The event's idempotency claim is every webhook write set's first write.
const IDEMPOTENCY: usize = 0;

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    Now(StoredClaim),
    /// This event (or the same opening under another event) was applied before.
    Earlier(StoredClaim),
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimFailure {
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    #[error("the event id was applied before with another body")]
    EventReused,
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<crate::domains::refunds::validate::RefundError> for ClaimFailure {
    fn from(error: crate::domains::refunds::validate::RefundError) -> Self {
        ClaimError::Refund(error).into()
    }
}

impl From<ApprovalError> for ClaimFailure {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Refund(error) => ClaimError::Refund(error).into(),
            ApprovalError::Store(error) => error.into(),
        }
    }
}

impl From<ClaimFailure> for NotAccepted {
    fn from(failure: ClaimFailure) -> Self {
        match failure {
            ClaimFailure::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            ClaimFailure::EventReused => NotAccepted::Refused(event_id_reused()),
            ClaimFailure::Claim(error) => NotAccepted::Refused(error.into()),
            ClaimFailure::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

impl StoredClaim {
    /// What the webhook answers: the claim's state, what it asks and what was refunded, and
    /// the deadline that runs.
    pub fn receipt(&self) -> Accepted {
        let mut receipt = json!({
            "claim_id": self.claim_id,
            "order_id": self.order_id,
            "state": self.state.as_str(),
            "asked": shown(self.asked_minor, &self.currency),
            "refunded": shown(self.refunded_minor, &self.currency),
            "currency": self.currency,
        });
        match self.state {
            ClaimState::AwaitingSeller => receipt["respond_by"] = json!(self.respond_by.to_rfc3339()),
            ClaimState::AwaitingSupport => {
                receipt["decide_by"] = json!(self.decide_by.map(|due| due.to_rfc3339()));
            }
            _ => {}
        }
        receipt.as_object().cloned().unwrap_or_default()
    }

    pub fn receipt_value(&self) -> Value {
        Value::Object(self.receipt())
    }
}

/// Writes a claim event's transaction: `true` once it committed, `false` when it lost a race
/// and must be made again from a new read.
pub(crate) async fn commit(store: &impl Storage, writes: WriteSet, attempt: u32) -> Result<bool, ClaimFailure> {
    match store.write(writes).await {
        Ok(()) => Ok(true),
        Err(WriteFailure::Store(error)) => Err(error.into()),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(IDEMPOTENCY) => {
            Err(ClaimFailure::ClaimTaken(cancelled.existing(IDEMPOTENCY).cloned()))
        }
        Err(WriteFailure::Cancelled(_)) => {
            back_off(attempt).await;
            Ok(false)
        }
    }
}

/// The same claim event applied before, or the id reused: what to answer.
pub(crate) fn applied_before(
    claim: &StoredClaim,
    event_id: &str,
    fingerprint: &str,
) -> Option<Result<ClaimOutcome, ClaimFailure>> {
    match claim.applied(event_id) {
        Some(applied) if applied == fingerprint => Some(Ok(ClaimOutcome::Earlier(claim.clone()))),
        Some(_) => Some(Err(ClaimFailure::EventReused)),
        None => None,
    }
}

pub(crate) fn kept_colliding() -> ClaimFailure {
    StoreError::new("claim transaction", "kept colliding with other changes of the order").into()
}
