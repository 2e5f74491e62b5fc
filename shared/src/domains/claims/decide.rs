//! `claim.decided`: support staff refund what the claim asks (paid by the seller or by the
//! marketplace), refund part, or deny, with their reason. The refund goes through the ledger
//! like any other, in the claim's transaction: never more than the order has left, exactly
//! once, and on to the payout queue naming who pays. The buyer and the seller are each
//! emailed once; the day's tally counts the decision, and whether it went against the seller.

use super::notices::{decided_entry, decision_emails};
use super::outcome::{ATTEMPTS, ClaimFailure, ClaimOutcome, applied_before, commit, kept_colliding};
use super::records::{ClaimState, SupportDecision, put_claim, read_claim, unmark_open};
use super::settle::claim_refund;
use super::validate::{ClaimDecision, ClaimError, Ruling};
use crate::domains::figures::tally::{Tally, counter};
use crate::domains::orders::EventContext;
use crate::domains::refunds::approve::{OnClaim, claim_approval_writes};
use crate::domains::refunds::payout::PaidBy;
use crate::domains::refunds::records::{Decider, put_refund, read_context};
use crate::mechanisms::function::Function;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::storage::{Storage, StoreError, WriteSet};
use crate::values::money::{Currency, shown};

pub async fn decide_claim(
    store: &impl Storage,
    decision: &ClaimDecision,
    event: &EventContext,
    idempotency: &Claim,
) -> Result<ClaimOutcome, ClaimFailure> {
    let now = idempotency.now;
    for attempt in 0..ATTEMPTS {
        let claim = read_claim(store, &decision.seller_id, &decision.claim_id)
            .await?
            .ok_or_else(|| ClaimError::ClaimNotFound {
                claim_id: decision.claim_id.clone(),
            })?;
        if let Some(answer) = applied_before(&claim, &event.id, &event.fingerprint) {
            return answer;
        }
        if !claim.state.is_open() {
            return Err(ClaimError::ClaimClosed {
                claim_id: claim.claim_id.clone(),
                state: claim.state.as_str(),
            }
            .into());
        }
        // What its refund is written against, as any refund's: the order, the buyer's history.
        let context = read_context(
            store,
            &claim.refund_id_for("decision"),
            &claim.order_id,
            &claim.buyer_id,
            &claim.seller_id,
        )
        .await?;
        let order = context
            .order
            .as_ref()
            .ok_or_else(|| StoreError::new("claim", format!("its order {} is gone", claim.order_id)))?;
        let amount = refunded_by(&decision.ruling, &claim, order)?;
        let paid_by = match decision.ruling {
            Ruling::Refund { paid_by } | Ruling::Partial { paid_by, .. } => Some(paid_by),
            Ruling::Deny => None,
        };
        let mut next = claim.changed(&event.id, &event.fingerprint);
        next.decision = Some(SupportDecision {
            decided_by: decision.decided_by.clone(),
            at: now,
            outcome: match decision.ruling {
                Ruling::Refund { .. } => "refund",
                Ruling::Partial { .. } => "partial",
                Ruling::Deny => "deny",
            }
            .to_owned(),
            paid_by,
            refunded_minor: amount,
            reason: decision.reason.clone(),
        });
        let emails = decision_emails(
            &claim,
            order,
            context.contact.as_ref(),
            &decision.ruling,
            amount,
            &decision.reason,
        );
        let lost = paid_by == Some(PaidBy::Seller);
        let counts = vec![(counter::CLAIMS_DECIDED, 1), (counter::CLAIMS_LOST, i64::from(lost))];
        let mut writes = WriteSet::new();
        match paid_by {
            None => {
                next = next.closed(ClaimState::Denied, now);
                writes.push(idempotency.completed(&next.receipt_value()));
                writes.push(put_claim(&next, Some(claim.version))?);
                writes.push(unmark_open(&next));
                writes.push(outbox::put(&decided_entry(&claim, emails), now));
                let mut tally = Tally::new(Function::RefundProcessor, &claim.seller_id, now);
                for (name, count) in counts {
                    tally = tally.add(name, count);
                }
                writes.extend(tally.write());
            }
            Some(paid_by) => {
                let refund = claim_refund(
                    &claim,
                    amount,
                    Decider::Support,
                    paid_by,
                    Some(decision.reason.clone()),
                    event,
                    now,
                );
                next.refunded_minor += amount;
                next.refund_ids.push(refund.refund_id.clone());
                next = next.closed(ClaimState::Refunded, now);
                writes.push(idempotency.completed(&next.receipt_value()));
                writes.push(put_claim(&next, Some(claim.version))?);
                writes.push(unmark_open(&next));
                writes.push(put_refund(&refund, None)?);
                let on_claim = OnClaim { emails, counts };
                for write in claim_approval_writes(&refund, order, context.history.as_ref(), now, on_claim)? {
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

/// What the ruling refunds now, in minor units: for `refund`, what the claim still asks, as
/// far as the order has it left; for `partial`, the amount given, within what the claim asks
/// (the approval checks it against the order again, over the version it writes).
fn refunded_by(
    ruling: &Ruling,
    claim: &super::records::StoredClaim,
    order: &crate::domains::orders::StoredOrder,
) -> Result<i64, ClaimError> {
    let order_left = order.total_minor - order.refunded.total_minor;
    match ruling {
        Ruling::Deny => Ok(0),
        Ruling::Refund { .. } => {
            let amount = claim.left_minor().min(order_left);
            if amount <= 0 {
                return Err(ClaimError::NothingLeftToRefund {
                    order_id: claim.order_id.clone(),
                });
            }
            Ok(amount)
        }
        Ruling::Partial { amount, .. } => {
            let currency = Currency::parse(&claim.currency).map_err(|_| {
                crate::domains::refunds::validate::RefundError::InvalidCurrency {
                    field: "data.amount".to_owned(),
                }
            })?;
            let minor = amount.of(currency, "data.amount")?.minor_units();
            if minor > claim.left_minor() {
                return Err(ClaimError::AmountExceedsClaim {
                    field: "data.amount",
                    claim_id: claim.claim_id.clone(),
                    left: shown(claim.left_minor(), &claim.currency),
                });
            }
            Ok(minor)
        }
    }
}
