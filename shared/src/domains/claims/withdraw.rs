//! `claim.withdrawn`: the buyer closes an open claim of its own. One read, one transaction.

use super::outcome::{ATTEMPTS, ClaimFailure, ClaimOutcome, applied_before, commit, kept_colliding};
use super::records::{ClaimState, put_claim, read_claim, unmark_open};
use super::validate::{ClaimError, ClaimWithdrawal};
use crate::domains::orders::EventContext;
use crate::mechanisms::idempotency::Claim;
use crate::storage::{Storage, WriteSet};

pub async fn withdraw_claim(
    store: &impl Storage,
    withdrawal: &ClaimWithdrawal,
    event: &EventContext,
    idempotency: &Claim,
) -> Result<ClaimOutcome, ClaimFailure> {
    for attempt in 0..ATTEMPTS {
        let claim = read_claim(store, &withdrawal.seller_id, &withdrawal.claim_id)
            .await?
            .ok_or_else(|| ClaimError::ClaimNotFound {
                claim_id: withdrawal.claim_id.clone(),
            })?;
        if let Some(answer) = applied_before(&claim, &event.id, &event.fingerprint) {
            return answer;
        }
        if claim.buyer_id != withdrawal.buyer_id {
            return Err(ClaimError::NotTheClaimant {
                claim_id: claim.claim_id.clone(),
                buyer_id: withdrawal.buyer_id.clone(),
            }
            .into());
        }
        if !claim.state.is_open() {
            return Err(ClaimError::ClaimClosed {
                claim_id: claim.claim_id.clone(),
                state: claim.state.as_str(),
            }
            .into());
        }
        let mut next = claim
            .changed(&event.id, &event.fingerprint)
            .closed(ClaimState::Withdrawn, idempotency.now);
        next.withdrawal_note = withdrawal.reason.clone().map(crate::values::pii::Private);
        let mut writes = WriteSet::new();
        writes.push(idempotency.completed(&next.receipt_value()));
        writes.push(put_claim(&next, Some(claim.version))?);
        writes.push(unmark_open(&next));
        if commit(store, writes, attempt).await? {
            return Ok(ClaimOutcome::Now(next));
        }
    }
    Err(kept_colliding())
}
