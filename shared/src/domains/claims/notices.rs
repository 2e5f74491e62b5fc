//! What a claim tells whom: the seller, that a claim waits for its response (and, at half its
//! time, a reminder); the buyer and the seller, each once and in their own language, what
//! support staff decided.

use super::records::{StoredClaim, outbox_key};
use super::validate::Ruling;
use crate::domains::email::request::{ClaimAwaiting, ClaimEmail, ClaimReader, SellerDigest, email_entry};
use crate::domains::email::{EmailContent, EmailRequest};
use crate::domains::orders::StoredOrder;
use crate::domains::sellers::SellerContact;
use crate::mechanisms::outbox::{Message, OutboxEntry};
use crate::values::money::shown;
use crate::values::pii::Private;
use crate::values::snippet::snippet;

/// The seller's notice of a claim waiting for its response; none while it has no contact.
pub fn awaiting_notice(claim: &StoredClaim, contact: Option<&SellerContact>, reminder: bool) -> Option<OutboxEntry> {
    let contact = contact?;
    let digest = SellerDigest {
        seller_id: claim.seller_id.clone(),
        claims_awaiting: vec![ClaimAwaiting {
            claim_id: claim.claim_id.clone(),
            order_id: claim.order_id.clone(),
            reason: claim.reason.code().to_owned(),
            currency: claim.currency.clone(),
            amount: shown(claim.left_minor(), &claim.currency),
            due_at: claim.respond_by,
            reminder,
            note: claim
                .note
                .as_deref()
                .map(|note| Private(snippet(note)))
                .filter(|note| !note.is_empty()),
        }],
        ..SellerDigest::default()
    };
    let key = outbox_key(claim, if reminder { "reminder" } else { "awaiting" });
    Some(
        email_entry(
            key,
            contact.recipient(),
            &contact.locale,
            EmailContent::SellerDigest(digest),
        )
        .about(&claim.buyer_id),
    )
}

/// The decision's two emails: the buyer's (from the order) and the seller's (none while it has
/// no contact).
pub fn decision_emails(
    claim: &StoredClaim,
    order: &StoredOrder,
    contact: Option<&SellerContact>,
    ruling: &Ruling,
    refunded_minor: i64,
    reason: &str,
) -> Vec<Message> {
    let (outcome, paid_by) = match ruling {
        Ruling::Refund { paid_by } => ("refund", Some(paid_by.as_str().to_owned())),
        Ruling::Partial { paid_by, .. } => ("partial", Some(paid_by.as_str().to_owned())),
        Ruling::Deny => ("deny", None),
    };
    let email = |reader: ClaimReader| ClaimEmail {
        claim_id: claim.claim_id.clone(),
        order_id: claim.order_id.clone(),
        reader,
        outcome: outcome.to_owned(),
        currency: claim.currency.clone(),
        amount: (refunded_minor > 0).then(|| shown(refunded_minor, &claim.currency)),
        paid_by: paid_by.clone(),
        reason: reason.to_owned(),
    };
    let mut emails = vec![Message::of(&EmailRequest {
        dedupe_key: outbox_key(claim, "decided#buyer"),
        recipient: order.buyer.recipient(),
        locale: order.buyer.locale.clone(),
        content: EmailContent::ClaimDecided(email(ClaimReader::Buyer)),
    })];
    if let Some(contact) = contact {
        emails.push(
            Message::of(&EmailRequest {
                dedupe_key: outbox_key(claim, "decided#seller"),
                recipient: contact.recipient(),
                locale: contact.locale.clone(),
                content: EmailContent::ClaimDecided(email(ClaimReader::Seller)),
            })
            .about(&claim.buyer_id),
        );
    }
    emails
}

/// The decision's emails as an outbox entry of their own (a denial: no refund carries them).
pub fn decided_entry(claim: &StoredClaim, emails: Vec<Message>) -> OutboxEntry {
    OutboxEntry {
        key: outbox_key(claim, "decided"),
        follow_ups: emails,
    }
}
