//! The scheduled sweep of claims' clocks. At half the seller's time, one reminder; at the
//! seller's deadline, the claim goes to support staff with their own 24-hour clock; at
//! theirs, the breach is recorded, once. It reads the sparse `ClaimsDue` index up to now, so
//! its cost follows the open claims; each claim changes in one transaction over the version
//! read, so sweeps racing each other (or an event) act once.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::notices::awaiting_notice;
use super::records::{ClaimState, DueClaim, StoredClaim, claim_key, due_claims, put_claim};
use crate::domains::sellers::records::contact_of;
use crate::mechanisms::outbox;
use crate::storage::{ItemKey, Storage, StoreError, Table, WriteFailure, WriteSet, from_item};

const ATTEMPTS: u32 = 5;
/// The due claims one sweep acts on; the rest are the next sweep's, 15 minutes on.
pub const DUE_PER_SWEEP: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ClaimSweep {
    pub due: usize,
    pub reminded: usize,
    pub escalated: usize,
    /// Support staff's deadlines missed.
    pub breached: usize,
    pub more: bool,
    /// Failed: the next sweep looks again.
    pub left: usize,
}

enum Acted {
    Reminded,
    Escalated,
    Breached,
    Nothing,
}

pub async fn sweep_claims(store: &impl Storage, now: DateTime<Utc>) -> Result<ClaimSweep, StoreError> {
    let (due, more) = due_claims(store, now, DUE_PER_SWEEP).await?;
    let mut sweep = ClaimSweep {
        due: due.len(),
        more,
        ..ClaimSweep::default()
    };
    for claim in due {
        match act(store, &claim, now).await {
            Ok(Acted::Reminded) => sweep.reminded += 1,
            Ok(Acted::Escalated) => sweep.escalated += 1,
            Ok(Acted::Breached) => sweep.breached += 1,
            Ok(Acted::Nothing) => {}
            Err(error) => {
                tracing::warn!(%error, claim_id = %claim.claim_id, "a due claim was left for the next sweep");
                sweep.left += 1;
            }
        }
    }
    Ok(sweep)
}

/// What is due of a claim now, the claim as it becomes.
fn due_now(claim: &StoredClaim, now: DateTime<Utc>) -> Option<(Acted, StoredClaim)> {
    let mut next = claim.clone();
    next.version += 1;
    match claim.state {
        ClaimState::AwaitingSeller if claim.respond_by <= now => Some((Acted::Escalated, next.escalated(now))),
        ClaimState::AwaitingSeller if !claim.reminded && claim.remind_at <= now => {
            next.reminded = true;
            Some((Acted::Reminded, next))
        }
        ClaimState::AwaitingSupport if !claim.breached && claim.decide_by.is_some_and(|due| due <= now) => {
            next.breached = true;
            Some((Acted::Breached, next))
        }
        _ => None,
    }
}

async fn act(store: &impl Storage, due: &DueClaim, now: DateTime<Utc>) -> Result<Acted, StoreError> {
    for _ in 0..ATTEMPTS {
        let keys = [
            ItemKey::new(Table::Refunds, claim_key(&due.seller_id, &due.claim_id)),
            ItemKey::new(Table::Sellers, due.seller_id.as_str()),
        ];
        let mut found = store.get_many(&keys).await?.into_iter();
        let Some(claim) = found.next().flatten().map(from_item::<StoredClaim>).transpose()? else {
            return Ok(Acted::Nothing);
        };
        let seller = found.next().flatten();
        let Some((acted, next)) = due_now(&claim, now) else {
            return Ok(Acted::Nothing);
        };
        let mut writes = WriteSet::new();
        writes.push(put_claim(&next, Some(claim.version))?);
        if matches!(acted, Acted::Reminded) {
            let contact = seller.as_ref().and_then(|item| contact_of(&due.seller_id, item));
            if let Some(notice) = awaiting_notice(&next, contact.as_ref(), true) {
                writes.push(outbox::put(&notice, now));
            }
        }
        match store.write(writes).await {
            Ok(()) => return Ok(acted),
            // Changed since read (a racing sweep, the seller's response): look again.
            Err(WriteFailure::Cancelled(_)) => continue,
            Err(WriteFailure::Store(error)) => return Err(error),
        }
    }
    Err(StoreError::new("claim sweep", "the claim kept changing"))
}
