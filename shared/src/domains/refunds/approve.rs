//! What every approval writes beside the refund's ledger entry, in the same transaction: the
//! order's refunded amounts (only over the order's version read, so refunds racing for one
//! order can never pass what was paid), the buyer's refund history, the returned sellable
//! units back on hand, and the outbox entry: a stock change (backorders, alerts), the buyer's
//! confirmation, and the payout instruction.

use chrono::{DateTime, Utc};

use super::payout::Payout;
use super::policy::fits;
use super::records::{BuyerHistory, Decider, StoredRefund, outbox_key as key, put_history};
use super::validate::{RefundError, RefundReason};
use crate::domains::email::request::{RefundEmail, RefundEmailLine};
use crate::domains::email::{EmailContent, EmailRequest};
use crate::domains::figures::defects::{DefectMark, source_added, written_with};
use crate::domains::figures::tally::{Tally, counter};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::{REFUND_ATTRIBUTES, update_changed};
use crate::domains::stock::change::{StockChange, StockChangeReason};
use crate::domains::stock::inventory::restock;
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Message;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::storage::{StoreError, Write};
use crate::values::money::shown;

/// The approval's writes, and the SKUs whose restock writes follow the first two (the order,
/// the history), in that order.
pub struct ApprovalWrites {
    pub writes: Vec<Write>,
    pub restocked: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The order no longer has room for it (refunds approved since it was asked).
    #[error(transparent)]
    Refund(#[from] RefundError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a refund settling a buyer protection claim changes in its approval: the claim's
/// emails tell the buyer and the seller (in place of the buyer's refund confirmation), and the
/// claim's counts join the approval's day tally (one item is written once per transaction).
#[derive(Debug, Clone, Default)]
pub struct OnClaim {
    pub emails: Vec<Message>,
    pub counts: Vec<(&'static str, i64)>,
}

/// The writes that approve `refund` (its approved amount set) against `order` as read, leaving
/// out the restock of `skip`'s SKUs (gone from the catalogue).
/// `defect` is the order's defect mark as read: a defect refund stands on it.
pub fn approval_writes(
    refund: &StoredRefund,
    order: &StoredOrder,
    history: Option<&BuyerHistory>,
    defect: Option<&DefectMark>,
    at: DateTime<Utc>,
    skip: &[String],
) -> Result<ApprovalWrites, ApprovalError> {
    approval(refund, order, history, defect, at, skip, None)
}

/// The writes that approve a refund settling a claim (nothing to restock: a claim names no
/// returned units).
pub fn claim_approval_writes(
    refund: &StoredRefund,
    order: &StoredOrder,
    history: Option<&BuyerHistory>,
    at: DateTime<Utc>,
    on_claim: OnClaim,
) -> Result<Vec<Write>, ApprovalError> {
    Ok(approval(refund, order, history, None, at, &[], Some(on_claim))?.writes)
}

fn approval(
    refund: &StoredRefund,
    order: &StoredOrder,
    history: Option<&BuyerHistory>,
    defect: Option<&DefectMark>,
    at: DateTime<Utc>,
    skip: &[String],
    on_claim: Option<OnClaim>,
) -> Result<ApprovalWrites, ApprovalError> {
    let amount = refund.approved_minor.unwrap_or(refund.requested_minor);
    fits(order, &refund.lines, amount)?;
    let next = order.refunded_by(
        refund
            .lines
            .iter()
            .map(|line| (line.line_id.as_str(), line.quantity, line.amount_minor)),
        amount,
    );

    let read_history = history.map(|history| history.version);
    let history = history.cloned().unwrap_or_else(|| BuyerHistory {
        buyer_id: refund.buyer_id.clone(),
        ..BuyerHistory::default()
    });
    let mut writes = vec![
        update_changed(&next, REFUND_ATTRIBUTES)?,
        put_history(&history.with_approval(at), read_history)?,
    ];

    let mut restocked = Vec::new();
    for line in refund
        .lines
        .iter()
        .filter(|line| line.restock && !skip.contains(&line.sku))
    {
        writes.push(restock(&refund.seller_id, &line.sku, line.quantity));
        restocked.push(line.sku.clone());
    }
    let (emails, counts) = match on_claim {
        Some(on_claim) => (Some(on_claim.emails), on_claim.counts),
        None => (None, Vec::new()),
    };
    writes.push(outbox::put(
        &approved_entry(refund, order, amount, &restocked, emails),
        at,
    ));
    writes.extend(counted(refund, amount, at, &counts, defect)?);
    Ok(ApprovalWrites { writes, restocked })
}

/// Refund processing's count of an approval, on the day approved: how much, whether it was
/// automatic, and whether it is an order defect (a refund for a fault of the seller's, or one
/// the seller left to its deadline), which stands on the order's defect mark. A claim's
/// refund is not one: the claim is counted.
fn counted(
    refund: &StoredRefund,
    amount: i64,
    at: DateTime<Utc>,
    also: &[(&'static str, i64)],
    mark: Option<&DefectMark>,
) -> Result<Vec<Write>, StoreError> {
    let by_deadline = refund.decided_by == Some(Decider::Deadline);
    let defect = refund.claim_id.is_none()
        && (by_deadline
            || matches!(
                refund.reason,
                RefundReason::Defective
                    | RefundReason::NotAsDescribed
                    | RefundReason::WrongItem
                    | RefundReason::NotReceived
            ));
    let mut tally = Tally::new(Function::RefundProcessor, &refund.seller_id, at);
    for (counter, count) in also {
        tally = tally.add(*counter, *count);
    }
    tally = tally
        .add(counter::REFUNDS, 1)
        .add(counter::refunded(&refund.currency), amount)
        .count_if(
            refund.decided_by == Some(Decider::Automatic),
            counter::REFUNDS_AUTOMATIC,
        )
        .count_if(by_deadline, counter::REFUNDS_BY_DEADLINE)
        .count_if(defect, counter::REFUND_DEFECTS);
    let source = format!("refund#{}", refund.refund_id);
    let change = match defect {
        true => source_added(
            mark,
            Function::RefundProcessor,
            &refund.seller_id,
            &refund.order_id,
            &source,
            at,
        )?,
        false => None,
    };
    Ok(written_with(
        change,
        tally,
        Function::RefundProcessor,
        &refund.seller_id,
    ))
}

/// The follow-ups of an approval: the units back in stock (for backorders and alerts), the
/// buyer's confirmation, the payout.
fn approved_entry(
    refund: &StoredRefund,
    order: &StoredOrder,
    amount: i64,
    restocked: &[String],
    emails: Option<Vec<Message>>,
) -> OutboxEntry {
    let mut follow_ups = Vec::new();
    if !restocked.is_empty() {
        follow_ups.push(Message::of(&StockChange {
            dedupe_key: key(refund, "stock"),
            seller_id: refund.seller_id.clone(),
            skus: restocked.to_vec(),
            reason: StockChangeReason::Restocked,
            order_id: Some(refund.order_id.clone()),
            after: None,
        }));
    }
    match emails {
        Some(emails) => follow_ups.extend(emails),
        None => follow_ups.push(buyer_email(
            refund,
            order,
            EmailContent::RefundConfirmation(refund_email(refund, order, amount, None)),
        )),
    }
    follow_ups.push(Message::of(&Payout {
        dedupe_key: key(refund, "payout"),
        refund_id: refund.refund_id.clone(),
        order_id: refund.order_id.clone(),
        seller_id: refund.seller_id.clone(),
        buyer_id: refund.buyer_id.clone(),
        amount: shown(amount, &refund.currency),
        amount_minor: amount,
        currency: refund.currency.clone(),
        paid_by: refund.paid_by,
    }));
    OutboxEntry {
        key: key(refund, "approved"),
        follow_ups,
    }
}

/// The buyer's email that a refund was rejected, and why.
pub fn rejected_entry(refund: &StoredRefund, order: &StoredOrder, reason: &str) -> OutboxEntry {
    let content = EmailContent::RefundRejected(refund_email(refund, order, refund.requested_minor, Some(reason)));
    OutboxEntry {
        key: key(refund, "rejected"),
        follow_ups: vec![buyer_email(refund, order, content)],
    }
}

fn refund_email(refund: &StoredRefund, order: &StoredOrder, amount: i64, reason: Option<&str>) -> RefundEmail {
    let lines = refund
        .lines
        .iter()
        .map(|line| {
            let bought = order.lines.iter().find(|bought| bought.line_id == line.line_id);
            RefundEmailLine {
                sku: line.sku.clone(),
                title: bought.and_then(|bought| bought.title.clone()),
                quantity: line.quantity,
                unit_price: shown(bought.map_or(0, |bought| bought.unit_price_minor), &refund.currency),
                amount: shown(line.amount_minor, &refund.currency),
            }
        })
        .collect();
    RefundEmail {
        refund_id: refund.refund_id.clone(),
        order_id: refund.order_id.clone(),
        currency: refund.currency.clone(),
        amount: shown(amount, &refund.currency),
        reason: reason.map(str::to_owned),
        lines,
    }
}

fn buyer_email(refund: &StoredRefund, order: &StoredOrder, content: EmailContent) -> Message {
    Message::of(&EmailRequest {
        dedupe_key: key(refund, "email"),
        recipient: order.buyer.recipient(),
        locale: order.buyer.locale.clone(),
        content,
    })
}
