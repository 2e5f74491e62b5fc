//! What every refund use case shares when it writes: the outcome, the failures, and the one
//! commit that tells a lost race (read again) from a SKU gone from the catalogue (approve
//! without restocking it) and from the event's claim already taken.

use super::approve::ApprovalError;
use super::records::StoredRefund;
use super::validate::RefundError;
use crate::mechanisms::webhook::{NotAccepted, Rejection, event_id_reused};
use crate::storage::{Item, Storage, StoreError, WriteFailure, WriteSet, back_off};

/// Reads and write sets that lost a race for the order or the buyer's history are tried this
/// often: fifty refunds racing for one order each win in turn.
pub const ATTEMPTS: u32 = 80;
pub(crate) const CLAIM: usize = 0;
/// Where the approval's writes start: the order, the history, then the restocks.
pub(crate) const APPROVAL: usize = 2;

/// What a refund event did.
#[derive(Debug, Clone, PartialEq)]
pub enum RefundOutcome {
    Now(StoredRefund),
    /// This event (or the same request under another event) was applied before.
    Earlier(StoredRefund),
}

#[derive(Debug, thiserror::Error)]
pub enum RefundFailure {
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    #[error("the event id was applied before with another body")]
    EventReused,
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ApprovalError> for RefundFailure {
    fn from(error: ApprovalError) -> Self {
        match error {
            ApprovalError::Refund(error) => error.into(),
            ApprovalError::Store(error) => error.into(),
        }
    }
}

impl From<RefundFailure> for NotAccepted {
    fn from(failure: RefundFailure) -> Self {
        match failure {
            RefundFailure::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            RefundFailure::EventReused => NotAccepted::Refused(event_id_reused()),
            RefundFailure::Refund(error) => NotAccepted::Refused(error.into()),
            RefundFailure::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

/// Writes a refund's transaction: `true` once it committed, `false` when it lost a race (for
/// the order, the history) and must be made again from a new read. A restock of a SKU gone
/// from the catalogue is added to `skip`, to approve without putting it back.
pub(crate) async fn commit(
    store: &impl Storage,
    writes: WriteSet,
    restocked: &[String],
    skip: &mut Vec<String>,
    attempt: u32,
) -> Result<bool, RefundFailure> {
    match store.write(writes).await {
        Ok(()) => Ok(true),
        Err(WriteFailure::Store(error)) => Err(error.into()),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(CLAIM) => {
            Err(RefundFailure::ClaimTaken(cancelled.existing(CLAIM).cloned()))
        }
        Err(WriteFailure::Cancelled(cancelled)) => {
            let gone = gone_skus(restocked, |position| {
                cancelled.failed(position) && cancelled.existing(position).is_none()
            });
            if gone.is_empty() {
                back_off(attempt).await;
            }
            skip.extend(gone);
            Ok(false)
        }
    }
}

/// The restocked SKUs whose write (after the approval's order and history writes) failed
/// because the SKU is no longer in the catalogue.
pub(crate) fn gone_skus(restocked: &[String], failed_for_want_of_item: impl Fn(usize) -> bool) -> Vec<String> {
    restocked
        .iter()
        .enumerate()
        .filter(|(index, _)| failed_for_want_of_item(APPROVAL + 2 + index))
        .map(|(_, sku)| sku.clone())
        .collect()
}
