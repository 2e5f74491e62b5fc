//! `refund.requested`: two requests. One `BatchGetItem` (the refund, its order, the buyer's
//! refund history, the seller's settings); one transaction: the event's claim, the ledger
//! entry, and either the approval's writes ([`super::approve`]) or, for a pending refund, the
//! seller's notice. A transaction that lost a race for the order or the history reads again.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::approve::{ApprovalError, approval_writes};
use super::decide::gone_skus;
use super::policy::{Decision, assess, decide};
use super::records::{Decider, RefundEvent, RefundState, StoredRefund, put_refund, read_context};
use super::validate::{RefundError, RefundRequest};
use crate::email::EmailContent;
use crate::email::request::{RefundAwaiting, SellerDigest};
use crate::function::Function;
use crate::idempotency::Claim;
use crate::money::{Currency, Money};
use crate::orders::EventContext;
use crate::outbox::{self, OutboxEntry};
use crate::sellers::SellerContact;
use crate::snippet::snippet;
use crate::storage::{Item, Storage, StoreError, WriteFailure, WriteSet, back_off};
use crate::webhook::{Accepted, NotAccepted, Rejection, event_id_reused};

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

pub(crate) fn shown(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        |_| minor.to_string(),
        |currency| Money::from_minor(minor, currency).to_string(),
    )
}

impl StoredRefund {
    /// What the webhook answers: the decision and the amount it covers.
    pub fn receipt(&self) -> Accepted {
        let amount = self.approved_minor.unwrap_or(self.requested_minor);
        let mut receipt = json!({
            "refund_id": self.refund_id,
            "decision": self.state.as_str(),
            "amount": shown(amount, &self.currency),
            "currency": self.currency,
        });
        if let Some(due) = self.decision_due.filter(|_| self.state == RefundState::Pending) {
            receipt["decision_due"] = json!(due.to_rfc3339());
        }
        if let Some(by) = self.decided_by {
            receipt["decided_by"] = json!(by);
        }
        receipt.as_object().cloned().unwrap_or_default()
    }
}

/// A fingerprint of what a request asks, so the same request under another event is told
/// apart from another request given the same id.
fn content_of(request: &RefundRequest) -> String {
    let text = format!("{request:?}");
    hex::encode(Sha256::digest(text))[..32].to_owned()
}

pub async fn request_refund(
    store: &impl Storage,
    request: &RefundRequest,
    event: &EventContext,
    claim: &Claim,
) -> Result<RefundOutcome, RefundFailure> {
    let content = content_of(request);
    let now = claim.now;
    let mut skip: Vec<String> = Vec::new();
    for attempt in 0..ATTEMPTS {
        let context = read_context(
            store,
            &request.refund_id,
            &request.order_id,
            &request.buyer_id,
            &request.seller_id,
        )
        .await?;
        if let Some(existing) = context.refund {
            return match existing.applied(&event.id) {
                Some(fingerprint) if fingerprint == event.fingerprint => Ok(RefundOutcome::Earlier(existing)),
                Some(_) => Err(RefundFailure::EventReused),
                None if existing.content == content && existing.seller_id == request.seller_id => {
                    Ok(RefundOutcome::Earlier(existing))
                }
                None => Err(RefundError::RefundExists {
                    refund_id: request.refund_id.clone(),
                }
                .into()),
            };
        }
        let assessed = assess(request, context.order.as_ref(), &context.settings)?;
        let order = context.order.as_ref().expect("assessed against its order");
        let recent = context.history.as_ref().map_or(0, |history| history.recent(now));
        let decision = decide(assessed.amount, &context.settings, recent, now);
        let refund = new_refund(
            request,
            event,
            &assessed.lines,
            assessed.amount,
            decision,
            &content,
            now,
            &skip,
        );

        let mut writes = WriteSet::new();
        writes.push(claim.completed(&Value::Object(refund.receipt())));
        writes.push(put_refund(&refund, None)?);
        let restocked = match decision {
            Decision::Approved => {
                let approval = approval_writes(&refund, order, context.history.as_ref(), now, &skip)?;
                for write in approval.writes {
                    writes.push(write);
                }
                approval.restocked
            }
            Decision::Pending { .. } => {
                if let Some(entry) = awaiting_entry(&refund, context.contact.as_ref(), false) {
                    writes.push(outbox::put(&entry, now));
                }
                Vec::new()
            }
        };
        if commit(store, writes, &restocked, &mut skip, attempt).await? {
            return Ok(RefundOutcome::Now(refund));
        }
    }
    Err(StoreError::new("refund transaction", "kept colliding with other refunds of the order").into())
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

#[allow(clippy::too_many_arguments)]
fn new_refund(
    request: &RefundRequest,
    event: &EventContext,
    lines: &[super::policy::RefundLine],
    amount: Money,
    decision: Decision,
    content: &str,
    now: DateTime<Utc>,
    skip: &[String],
) -> StoredRefund {
    let (state, decided_by, decided_at, approved_minor, decision_due, remind_at) = match decision {
        Decision::Approved => (
            RefundState::Approved,
            Some(Decider::Automatic),
            Some(now),
            Some(amount.minor_units()),
            None,
            None,
        ),
        Decision::Pending { due, remind_at } => (RefundState::Pending, None, None, None, Some(due), Some(remind_at)),
    };
    StoredRefund {
        refund_id: request.refund_id.clone(),
        seller_id: request.seller_id.clone(),
        order_id: request.order_id.clone(),
        buyer_id: request.buyer_id.clone(),
        currency: amount.currency().code().to_owned(),
        lines: lines.to_vec(),
        requested_minor: amount.minor_units(),
        approved_minor,
        reason: request.reason,
        note: request.note.clone(),
        state,
        decided_by,
        decision_reason: None,
        decided_at,
        requested_at: request.created_at,
        received_at: now,
        decision_due,
        remind_at,
        reminded: false,
        restock_skipped: lines
            .iter()
            .filter(|line| line.restock && skip.contains(&line.sku))
            .map(|line| line.sku.clone())
            .collect(),
        payout_message_id: None,
        content: content.to_owned(),
        history: vec![RefundEvent {
            event_id: event.id.clone(),
            fingerprint: event.fingerprint.clone(),
        }],
        version: 0,
    }
}

/// The seller's notice of a refund waiting for its decision (or, `reminder`, still waiting at
/// half its time); none when the seller has no contact yet.
pub(crate) fn awaiting_entry(
    refund: &StoredRefund,
    contact: Option<&SellerContact>,
    reminder: bool,
) -> Option<OutboxEntry> {
    let contact = contact?;
    let what = if reminder { "reminder" } else { "awaiting" };
    let key = Function::RefundProcessor.key(&[&refund.refund_id, what]);
    let digest = SellerDigest {
        seller_id: refund.seller_id.clone(),
        refunds_awaiting: vec![RefundAwaiting {
            refund_id: refund.refund_id.clone(),
            order_id: refund.order_id.clone(),
            currency: refund.currency.clone(),
            amount: shown(refund.requested_minor, &refund.currency),
            due_at: refund.decision_due,
            reminder,
            reason: Some(refund.reason.code().to_owned()),
            note: refund
                .note
                .as_deref()
                .map(|note| crate::pii::Private(snippet(note)))
                .filter(|note| !note.is_empty()),
        }],
        ..SellerDigest::default()
    };
    let content = EmailContent::SellerDigest(digest);
    Some(OutboxEntry::email(key, contact.recipient(), &contact.locale, content))
}
