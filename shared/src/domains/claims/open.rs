//! `claim.opened`: two requests. One `BatchGetItem` (the claim, the order's open claim, the
//! order, the seller, and the refund or thread the claim names); one transaction: the event's
//! claim, the claim on the seller's clock, the order's open-claim mark (only if it has none),
//! the seller's notice, the order's defect mark and the day's count. A broken rule stores
//! nothing.

use chrono::Duration;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::notices::awaiting_notice;
use super::outcome::{ATTEMPTS, ClaimFailure, ClaimOutcome, applied_before, commit, kept_colliding};
use super::records::{ClaimState, StoredClaim, mark_open, put_claim, read_opening};
use super::rules::{Admitted, ClaimRules, admit};
use super::validate::{Asked, ClaimError, ClaimOpening};
use crate::domains::figures::defects::{source_added, written_with};
use crate::domains::figures::tally::{Tally, counter};
use crate::domains::orders::EventContext;
use crate::domains::refunds::records::RefundEvent;
use crate::domains::sellers::SellerSettings;
use crate::mechanisms::function::Function;
use crate::mechanisms::idempotency::Claim;
use crate::mechanisms::outbox;
use crate::storage::{Storage, WriteSet};

pub async fn open_claim(
    store: &impl Storage,
    opening: &ClaimOpening,
    rules: ClaimRules,
    event: &EventContext,
    idempotency: &Claim,
) -> Result<ClaimOutcome, ClaimFailure> {
    let content = content_of(opening);
    let now = idempotency.now;
    for attempt in 0..ATTEMPTS {
        let context = read_opening(store, opening).await?;
        if let Some(existing) = &context.claim {
            if let Some(answer) = applied_before(existing, &event.id, &event.fingerprint) {
                return answer;
            }
            if existing.content == content {
                return Ok(ClaimOutcome::Earlier(existing.clone()));
            }
            return Err(ClaimError::ClaimExists {
                claim_id: opening.claim_id.clone(),
            }
            .into());
        }
        let admitted = admit(opening, &context, rules, now)?;
        let claim = new_claim(opening, admitted, &context.settings, &content, event, now);
        let mut writes = WriteSet::new();
        writes.push(idempotency.completed(&claim.receipt_value()));
        writes.push(put_claim(&claim, None)?);
        writes.push(mark_open(&claim)?);
        if let Some(notice) = awaiting_notice(&claim, context.contact.as_ref(), false) {
            writes.push(outbox::put(&notice, now));
        }
        let tally = Tally::new(Function::RefundProcessor, &claim.seller_id, now).add(counter::CLAIMS_OPENED, 1);
        let source = format!("claim#{}", claim.claim_id);
        let defect = source_added(
            context.defect.as_ref(),
            Function::RefundProcessor,
            &claim.seller_id,
            &claim.order_id,
            &source,
            now,
        )?;
        for write in written_with(defect, tally, Function::RefundProcessor, &claim.seller_id) {
            writes.push(write);
        }
        if commit(store, writes, attempt).await? {
            return Ok(ClaimOutcome::Now(claim));
        }
    }
    Err(kept_colliding())
}

fn new_claim(
    opening: &ClaimOpening,
    admitted: Admitted,
    settings: &SellerSettings,
    content: &str,
    event: &EventContext,
    now: chrono::DateTime<chrono::Utc>,
) -> StoredClaim {
    let hours = Duration::hours(i64::from(settings.claim_response_hours));
    StoredClaim {
        claim_id: opening.claim_id.clone(),
        seller_id: opening.seller_id.clone(),
        order_id: opening.order_id.clone(),
        buyer_id: opening.buyer_id.clone(),
        reason: opening.reason,
        currency: admitted.asked.currency().code().to_owned(),
        lines: admitted.lines,
        asked_minor: admitted.asked.minor_units(),
        refunded_minor: 0,
        note: opening.note.clone(),
        refund_id: opening.refund_id.clone(),
        thread_id: opening.thread_id.clone(),
        review_id: opening.review_id.clone(),
        state: ClaimState::AwaitingSeller,
        opened_at: opening.created_at,
        received_at: now,
        respond_by: now + hours,
        remind_at: now + hours / 2,
        reminded: false,
        escalated_at: None,
        decide_by: None,
        breached: false,
        response: None,
        decision: None,
        closed_at: None,
        withdrawal_note: None,
        refund_ids: Vec::new(),
        content: content.to_owned(),
        history: vec![RefundEvent {
            event_id: event.id.clone(),
            fingerprint: event.fingerprint.clone(),
        }],
        version: 0,
        erased_at: None,
    }
}

/// A fingerprint of what an opening asks, field by field, so the same claim under another
/// event is told apart from another claim given the same id.
fn content_of(opening: &ClaimOpening) -> String {
    let asked = match &opening.asked {
        Asked::Rest => json!("rest"),
        Asked::Amount(amount) => json!({"amount": amount.as_str()}),
        Asked::Lines(lines) => json!(
            lines
                .iter()
                .map(|line| json!({"line_id": line.line_id, "quantity": line.quantity}))
                .collect::<Vec<_>>()
        ),
    };
    let fields = json!({
        "claim_id": opening.claim_id,
        "order_id": opening.order_id,
        "seller_id": opening.seller_id,
        "buyer_id": opening.buyer_id,
        "reason": opening.reason.code(),
        "asked": asked,
        "currency": opening.currency.map(|currency| currency.code()),
        "refund_id": opening.refund_id,
        "thread_id": opening.thread_id,
        "review_id": opening.review_id,
        "note": opening.note.as_ref().map(|note| note.0.as_str()),
        "created_at": opening.created_at.to_rfc3339(),
    });
    hex::encode(Sha256::digest(fields.to_string()))[..32].to_owned()
}
