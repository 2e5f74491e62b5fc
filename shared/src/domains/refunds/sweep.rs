//! The scheduled sweep of pending refunds: at half the seller's time, one reminder; at the
//! deadline with no decision, approved for the seller (`seller_did_not_respond`), as the
//! marketplaces do. It reads the sparse `PendingDue` index up to now, so its cost follows the
//! refunds that are due, not the orders; each refund is settled in its own transaction, over
//! the version read, so a seller's decision racing the deadline wins or loses whole.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::approve::{ApprovalError, approval_writes, rejected_entry};
use super::commit::gone_skus;
use super::decide::{decided, order_of, skipped};
use super::records::{Decider, DueRefund, RefundState, due_refunds, put_refund, read_context, read_refund};
use super::request::awaiting_entry;
use crate::domains::orders::EventContext;
use crate::mechanisms::outbox;
use crate::storage::{Storage, StoreError, WriteFailure, WriteSet};

/// Why a refund the seller never decided was approved.
pub const SELLER_DID_NOT_RESPOND: &str = "seller_did_not_respond";
/// Why one that no longer fits in what the order has left was not.
pub const NOTHING_LEFT_TO_REFUND: &str = "nothing_left_to_refund";
const ATTEMPTS: u32 = 5;
/// The due refunds one sweep settles (each a read and a transaction, well within the
/// function's timeout); the rest are the next sweep's, 15 minutes on.
pub const DUE_PER_SWEEP: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PendingSweep {
    pub due: usize,
    pub reminded: usize,
    pub approved: usize,
    pub rejected: usize,
    /// Whether more were due than one sweep settles.
    pub more: bool,
    /// Changed by a decision while the sweep looked, or failed: the next sweep looks again.
    pub left: usize,
}

enum Settled {
    Reminded,
    Approved,
    Rejected,
    Nothing,
}

pub async fn sweep_pending(store: &impl Storage, now: DateTime<Utc>) -> Result<PendingSweep, StoreError> {
    let (due, more) = due_refunds(store, now, DUE_PER_SWEEP).await?;
    let mut sweep = PendingSweep {
        due: due.len(),
        more,
        ..PendingSweep::default()
    };
    for refund in due {
        let refund_id = refund.refund_id.as_str();
        match settle(store, &refund, now).await {
            Ok(Settled::Reminded) => sweep.reminded += 1,
            Ok(Settled::Approved) => sweep.approved += 1,
            Ok(Settled::Rejected) => sweep.rejected += 1,
            Ok(Settled::Nothing) => {}
            Err(error) => {
                tracing::warn!(%error, refund_id, "a due refund was left for the next sweep");
                sweep.left += 1;
            }
        }
    }
    Ok(sweep)
}

async fn settle(store: &impl Storage, due: &DueRefund, now: DateTime<Utc>) -> Result<Settled, StoreError> {
    let refund_id = due.refund_id.as_str();
    let mut skip: Vec<String> = Vec::new();
    for _ in 0..ATTEMPTS {
        let Some(refund) = read_refund(store, &due.seller_id, refund_id).await? else {
            return Ok(Settled::Nothing);
        };
        if refund.state != RefundState::Pending {
            return Ok(Settled::Nothing);
        }
        let context = read_context(store, refund_id, &refund.order_id, &refund.buyer_id, &refund.seller_id).await?;
        let cause = EventContext {
            id: format!("sweep#{}", now.to_rfc3339()),
            fingerprint: "sweep".to_owned(),
            at: now,
        };
        let mut next = decided(&refund, &cause, now);
        let mut writes = WriteSet::new();
        let mut restocked = Vec::new();
        let settled = if refund.decision_due.is_some_and(|due| due <= now) {
            next.state = RefundState::Approved;
            next.decided_by = Some(Decider::Deadline);
            next.decision_reason = Some(SELLER_DID_NOT_RESPOND.to_owned());
            next.approved_minor = Some(refund.requested_minor);
            next.restock_skipped = skipped(&next, &skip);
            writes.push(put_refund(&next, Some(refund.version))?);
            match approval_writes(
                &next,
                order_of(&context, &refund)?,
                context.history.as_ref(),
                context.defect.as_ref(),
                now,
                &skip,
            ) {
                Ok(approval) => {
                    for write in approval.writes {
                        writes.push(write);
                    }
                    restocked = approval.restocked;
                    Settled::Approved
                }
                Err(ApprovalError::Store(error)) => return Err(error),
                // Other refunds of the order, approved since, left no room for it.
                Err(ApprovalError::Refund(_)) => {
                    next.state = RefundState::Rejected;
                    next.approved_minor = None;
                    next.decision_reason = Some(NOTHING_LEFT_TO_REFUND.to_owned());
                    writes = WriteSet::new();
                    writes.push(put_refund(&next, Some(refund.version))?);
                    let entry = rejected_entry(&next, order_of(&context, &refund)?, NOTHING_LEFT_TO_REFUND);
                    writes.push(outbox::put(&entry, now));
                    Settled::Rejected
                }
            }
        } else if !refund.reminded && refund.remind_at.is_some_and(|at| at <= now) {
            next.decided_at = None;
            next.history.pop();
            next.reminded = true;
            writes.push(put_refund(&next, Some(refund.version))?);
            if let Some(entry) = awaiting_entry(&next, context.contact.as_ref(), true) {
                writes.push(outbox::put(&entry, now));
            }
            Settled::Reminded
        } else {
            return Ok(Settled::Nothing);
        };
        match store.write(writes).await {
            Ok(()) => return Ok(settled),
            Err(WriteFailure::Store(error)) => return Err(error),
            Err(WriteFailure::Cancelled(cancelled)) => {
                // Positions are one less than a webhook's: the sweep has no claim.
                let gone = gone_skus(&restocked, |position| {
                    cancelled.failed(position - 1) && cancelled.existing(position - 1).is_none()
                });
                if gone.is_empty() && cancelled.failed(0) {
                    // The seller decided while the sweep looked: read it again.
                    continue;
                }
                skip.extend(gone);
            }
        }
    }
    Err(StoreError::new("refund sweep", "the refund kept changing"))
}
