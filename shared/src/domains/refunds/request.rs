//! `refund.requested`: two requests. One `BatchGetItem` (the refund, its order, the buyer's
//! refund history, the seller's settings); one transaction: the event's claim, the ledger
//! entry, and either the approval's writes ([`super::approve`]) or, for a pending refund, the
//! seller's notice. A transaction that lost a race for the order or the history reads again.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::approve::approval_writes;
use super::commit::{ATTEMPTS, RefundFailure, RefundOutcome, commit};
use super::policy::{Decision, assess, decide};
use super::records::{Decider, RefundEvent, RefundState, StoredRefund, put_refund, read_context};
use super::validate::{RefundError, RefundRequest, Requested};
use crate::domains::email::EmailContent;
use crate::domains::email::request::{RefundAwaiting, SellerDigest, email_entry};
use crate::domains::orders::EventContext;
use crate::domains::sellers::SellerContact;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::mechanisms::webhook::Accepted;
use crate::storage::{Storage, StoreError, WriteSet};
use crate::values::money::{Money, shown};
use crate::values::snippet::snippet;

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
/// apart from another request given the same id. Written out field by field: the `Debug`
/// text it once was hides the note's words (they are private), so two notes of one length
/// were one request.
fn content_of(request: &RefundRequest) -> String {
    let requested = match &request.requested {
        Requested::Goodwill(amount) => json!({"amount": amount.as_str()}),
        Requested::Lines(lines) => Value::Array(
            lines
                .iter()
                .map(|line| {
                    json!({
                        "line_id": line.line_id,
                        "quantity": line.quantity,
                        "amount": line.amount.as_ref().map(|amount| amount.as_str()),
                        "restock": line.restock,
                    })
                })
                .collect(),
        ),
    };
    let fields = json!({
        "refund_id": request.refund_id,
        "order_id": request.order_id,
        "seller_id": request.seller_id,
        "buyer_id": request.buyer_id,
        "requested": requested,
        "currency": request.currency.map(|currency| currency.code()),
        "reason": request.reason.code(),
        "note": request.note.as_ref().map(|note| note.0.as_str()),
        "created_at": request.created_at.to_rfc3339(),
    });
    hex::encode(Sha256::digest(fields.to_string()))[..32].to_owned()
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
        let assessed = assess(request, context.order.as_ref(), &context.settings, now)?;
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
                let approval = approval_writes(
                    &refund,
                    order,
                    context.history.as_ref(),
                    context.defect.as_ref(),
                    now,
                    &skip,
                )?;
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
        erased_at: None,
        paid_by: Default::default(),
        claim_id: None,
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
    let key = super::records::outbox_key(refund, what);
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
                .map(|note| crate::values::pii::Private(snippet(note)))
                .filter(|note| !note.is_empty()),
        }],
        ..SellerDigest::default()
    };
    let content = EmailContent::SellerDigest(digest);
    Some(email_entry(key, contact.recipient(), &contact.locale, content).about(&refund.buyer_id))
}
