//! `refund.decided`: the seller approves (all, or less than was asked) or rejects, with its
//! reason, a refund of its own that is still pending. Two reads (the refund names its order),
//! one transaction: the claim, the ledger entry, and the approval's writes or the buyer's
//! rejection email.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::approve::{approval_writes, rejected_entry};
use super::commit::{ATTEMPTS, RefundFailure, RefundOutcome, commit};
use super::policy::scaled;
use super::records::{
    Decider, RefundContext, RefundEvent, RefundState, StoredRefund, put_refund, read_context, read_refund,
};
use super::validate::{RefundDecision, RefundError, Verdict};
use crate::domains::orders::EventContext;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::storage::{Storage, StoreError, WriteSet};
use crate::values::money::Currency;
use crate::values::money::shown;

pub async fn decide_refund(
    store: &impl Storage,
    decision: &RefundDecision,
    event: &EventContext,
    claim: &Claim,
) -> Result<RefundOutcome, RefundFailure> {
    let not_found = || RefundError::RefundNotFound {
        refund_id: decision.refund_id.clone(),
    };
    let mut skip: Vec<String> = Vec::new();
    for attempt in 0..ATTEMPTS {
        // Read under the seller's own key: another seller's refund is simply not there.
        let refund = read_refund(store, &decision.seller_id, &decision.refund_id)
            .await?
            .ok_or_else(not_found)?;
        match refund.applied(&event.id) {
            Some(fingerprint) if fingerprint == event.fingerprint => return Ok(RefundOutcome::Earlier(refund)),
            Some(_) => return Err(RefundFailure::EventReused),
            None => {}
        }
        if refund.state != RefundState::Pending {
            return Err(RefundError::AlreadyDecided {
                refund_id: refund.refund_id.clone(),
                state: refund.state.as_str(),
            }
            .into());
        }
        let context = read_context(
            store,
            &refund.refund_id,
            &refund.order_id,
            &refund.buyer_id,
            &refund.seller_id,
        )
        .await?;
        let mut next = decided(&refund, event, claim.now);
        let mut writes = WriteSet::new();
        let restocked = match &decision.verdict {
            Verdict::Approve { amount } => {
                let approved = match amount {
                    None => refund.requested_minor,
                    Some(amount) => {
                        let currency = Currency::parse(&refund.currency)
                            .map_err(|_| StoreError::new("refund", "its currency is unreadable"))?;
                        let minor = amount.of(currency, "data.amount")?.minor_units();
                        if minor > refund.requested_minor {
                            return Err(RefundError::AmountExceedsRequested {
                                requested: shown(refund.requested_minor, &refund.currency),
                            }
                            .into());
                        }
                        minor
                    }
                };
                next.state = RefundState::Approved;
                next.decided_by = Some(Decider::Seller);
                next.approved_minor = Some(approved);
                next.lines = scaled(&refund.lines, approved);
                next.restock_skipped = skipped(&next, &skip);
                writes.push(claim.completed(&Value::Object(next.receipt())));
                writes.push(put_refund(&next, Some(refund.version))?);
                let approval = approval_writes(
                    &next,
                    order_of(&context, &refund)?,
                    context.history.as_ref(),
                    context.defect.as_ref(),
                    claim.now,
                    &skip,
                )?;
                for write in approval.writes {
                    writes.push(write);
                }
                approval.restocked
            }
            Verdict::Reject { reason } => {
                next.state = RefundState::Rejected;
                next.decided_by = Some(Decider::Seller);
                next.decision_reason = Some(reason.clone());
                writes.push(claim.completed(&Value::Object(next.receipt())));
                writes.push(put_refund(&next, Some(refund.version))?);
                writes.push(outbox::put(
                    &rejected_entry(&next, order_of(&context, &refund)?, reason),
                    claim.now,
                ));
                Vec::new()
            }
        };
        if commit(store, writes, &restocked, &mut skip, attempt).await? {
            return Ok(RefundOutcome::Now(next));
        }
    }
    Err(StoreError::new("refund transaction", "kept colliding with other refunds of the order").into())
}

/// The refund, decided now by `event`.
pub(crate) fn decided(refund: &StoredRefund, event: &EventContext, at: DateTime<Utc>) -> StoredRefund {
    let mut next = refund.clone();
    next.version += 1;
    next.decided_at = Some(at);
    next.history.push(RefundEvent {
        event_id: event.id.clone(),
        fingerprint: event.fingerprint.clone(),
    });
    next
}

pub(crate) fn order_of<'a>(
    context: &'a RefundContext,
    refund: &StoredRefund,
) -> Result<&'a crate::domains::orders::StoredOrder, StoreError> {
    context
        .order
        .as_ref()
        .ok_or_else(|| StoreError::new("refund", format!("its order {} is gone", refund.order_id)))
}

pub(crate) fn skipped(refund: &StoredRefund, skip: &[String]) -> Vec<String> {
    refund
        .lines
        .iter()
        .filter(|line| line.restock && skip.contains(&line.sku))
        .map(|line| line.sku.clone())
        .collect()
}
