//! A refund made on a claim, as the ledger records it: one entry per refund (the seller's
//! offer, support staff's decision), keyed under the seller like every refund, approved at
//! once, and written with the approval's writes ([`crate::domains::refunds::approve`]): the
//! order's refunded amounts over the version read (so no race passes what was paid), the
//! buyer's history, the payout instruction naming who pays.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::records::StoredClaim;
use super::validate::ClaimReason;
use crate::domains::orders::EventContext;
use crate::domains::refunds::payout::PaidBy;
use crate::domains::refunds::records::{Decider, RefundEvent, RefundState, StoredRefund};
use crate::domains::refunds::validate::RefundReason;

/// The ledger entry of `amount_minor` refunded on `claim` now: the seller's offer or support
/// staff's decision, one of each at most. A refund of all the claim asks, at once, carries the
/// claim's lines; any other is of the order's money (the order's total still caps it).
pub fn claim_refund(
    claim: &StoredClaim,
    amount_minor: i64,
    decided_by: Decider,
    paid_by: PaidBy,
    decision_reason: Option<String>,
    event: &EventContext,
    now: DateTime<Utc>,
) -> StoredRefund {
    let whole = claim.refunded_minor == 0 && amount_minor == claim.asked_minor;
    let what = if decided_by == Decider::Support {
        "decision"
    } else {
        "offer"
    };
    let refund_id = claim.refund_id_for(what);
    let content = hex::encode(Sha256::digest(format!(
        "{}#{refund_id}#{amount_minor}",
        claim.seller_id
    )))[..32]
        .to_owned();
    StoredRefund {
        refund_id,
        seller_id: claim.seller_id.clone(),
        order_id: claim.order_id.clone(),
        buyer_id: claim.buyer_id.clone(),
        currency: claim.currency.clone(),
        lines: if whole { claim.lines.clone() } else { Vec::new() },
        requested_minor: amount_minor,
        approved_minor: Some(amount_minor),
        reason: refund_reason(claim.reason),
        note: None,
        state: RefundState::Approved,
        decided_by: Some(decided_by),
        decision_reason,
        decided_at: Some(now),
        requested_at: claim.opened_at,
        received_at: now,
        decision_due: None,
        remind_at: None,
        reminded: false,
        restock_skipped: Vec::new(),
        payout_message_id: None,
        paid_by,
        claim_id: Some(claim.claim_id.clone()),
        content,
        history: vec![RefundEvent {
            event_id: event.id.clone(),
            fingerprint: event.fingerprint.clone(),
        }],
        version: 0,
        erased_at: None,
    }
}

fn refund_reason(reason: ClaimReason) -> RefundReason {
    match reason {
        ClaimReason::NotReceived => RefundReason::NotReceived,
        ClaimReason::NotAsDescribed => RefundReason::NotAsDescribed,
        ClaimReason::RefundRefused | ClaimReason::RefundNotPaid | ClaimReason::NoSellerResponse => RefundReason::Other,
    }
}
