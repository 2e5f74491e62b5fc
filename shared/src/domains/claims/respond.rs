//! `claim.responded`: the seller, before its deadline, refunds all the claim asks (which
//! closes it), refunds part (support staff decide the rest), or sends evidence (support staff
//! decide). Two reads (the claim, then what its refund is written against), one transaction
//! over the claim's version.

use super::outcome::{ATTEMPTS, ClaimFailure, ClaimOutcome, applied_before, commit, kept_colliding};
use super::records::{ClaimState, SellerResponse, StoredClaim, put_claim, read_claim, unmark_open};
use super::settle::claim_refund;
use super::validate::{ClaimError, ClaimResponse, Response};
use crate::domains::orders::EventContext;
use crate::domains::refunds::approve::approval_writes;
use crate::domains::refunds::payout::PaidBy;
use crate::domains::refunds::records::{Decider, put_refund, read_context};
use crate::mechanisms::idempotency::Claim;
use crate::storage::{Storage, StoreError, WriteSet};
use crate::values::money::{Currency, shown};

pub async fn respond_to_claim(
    store: &impl Storage,
    response: &ClaimResponse,
    event: &EventContext,
    idempotency: &Claim,
) -> Result<ClaimOutcome, ClaimFailure> {
    let now = idempotency.now;
    for attempt in 0..ATTEMPTS {
        let claim = read_claim(store, &response.seller_id, &response.claim_id)
            .await?
            .ok_or_else(|| ClaimError::ClaimNotFound {
                claim_id: response.claim_id.clone(),
            })?;
        if let Some(answer) = applied_before(&claim, &event.id, &event.fingerprint) {
            return answer;
        }
        awaiting_seller(&claim, now)?;
        let mut next = claim.changed(&event.id, &event.fingerprint);
        let mut writes = WriteSet::new();
        match &response.response {
            Response::Evidence { tracking, message } => {
                next.response = Some(SellerResponse {
                    at: now,
                    tracking: tracking.clone(),
                    message: message.clone(),
                    refunded_minor: 0,
                });
                next = next.escalated(now);
                writes.push(idempotency.completed(&next.receipt_value()));
                writes.push(put_claim(&next, Some(claim.version))?);
            }
            Response::Refund { amount } => {
                let left = claim.left_minor();
                let amount = match amount {
                    None => left,
                    Some(amount) => {
                        let currency = Currency::parse(&claim.currency)
                            .map_err(|_| StoreError::new("claim", "its currency is unreadable"))?;
                        let minor = amount.of(currency, "data.amount")?.minor_units();
                        if minor > left {
                            return Err(ClaimError::AmountExceedsClaim {
                                field: "data.amount",
                                claim_id: claim.claim_id.clone(),
                                left: shown(left, &claim.currency),
                            }
                            .into());
                        }
                        minor
                    }
                };
                // What its refund is written against, as any refund's: the order, the buyer's history.
                let context = read_context(
                    store,
                    &claim.refund_id_for("offer"),
                    &claim.order_id,
                    &claim.buyer_id,
                    &claim.seller_id,
                )
                .await?;
                let order = context
                    .order
                    .as_ref()
                    .ok_or_else(|| StoreError::new("claim", format!("its order {} is gone", claim.order_id)))?;
                let refund = claim_refund(&claim, amount, Decider::Seller, PaidBy::Seller, None, event, now);
                next.refunded_minor += amount;
                next.refund_ids.push(refund.refund_id.clone());
                next.response = Some(SellerResponse {
                    at: now,
                    tracking: None,
                    message: None,
                    refunded_minor: amount,
                });
                let resolved = amount == left;
                next = if resolved {
                    next.closed(ClaimState::ResolvedBySeller, now)
                } else {
                    next.escalated(now)
                };
                writes.push(idempotency.completed(&next.receipt_value()));
                writes.push(put_claim(&next, Some(claim.version))?);
                if resolved {
                    writes.push(unmark_open(&next));
                }
                writes.push(put_refund(&refund, None)?);
                for write in approval_writes(&refund, order, context.history.as_ref(), None, now, &[])?.writes {
                    writes.push(write);
                }
            }
        }
        if commit(store, writes, attempt).await? {
            return Ok(ClaimOutcome::Now(next));
        }
    }
    Err(kept_colliding())
}

/// The seller may respond while its clock runs: not once the claim reached support staff
/// (even before the sweep moved it), nor once it closed.
fn awaiting_seller(claim: &StoredClaim, now: chrono::DateTime<chrono::Utc>) -> Result<(), ClaimError> {
    match claim.state {
        ClaimState::AwaitingSeller if now <= claim.respond_by => Ok(()),
        ClaimState::AwaitingSeller | ClaimState::AwaitingSupport => Err(ClaimError::NotAwaitingSeller {
            claim_id: claim.claim_id.clone(),
        }),
        state => Err(ClaimError::ClaimClosed {
            claim_id: claim.claim_id.clone(),
            state: state.as_str(),
        }),
    }
}
