//! Follow-ups: what a change in one function asks of the others. Each is one message on the
//! queue of the function that acts on it, with a deterministic dedupe key, so a follow-up sent
//! twice (a retry after a failed send) is acted on once.

use std::future::Future;

pub use crate::email::request::{EmailContent, EmailRequest, EmailTemplate, Recipient, RecipientRole};
use crate::storage::{Cursor, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
// Built a handful at a time and serialised at once: boxing the email would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum FollowUp {
    /// For stock alerts: these SKUs' stock moved.
    StockChange(StockChange),
    /// For stock alerts: the sweep goes on with the watchlist's next page.
    StockSweep(SweepPage),
    /// For buyer messaging: send this email.
    Email(EmailRequest),
    /// For review monitoring's digest: a seller is to hear of a review or a trend.
    ReviewNotice(crate::reviews::notice::ReviewNotice),
    /// For refund processing, to hand the payment integration once: pay this refund out.
    RefundPayout(crate::refunds::payout::Payout),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockChange {
    pub dedupe_key: String,
    pub seller_id: String,
    pub skus: Vec<String>,
    pub reason: StockChangeReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Set on a continuation: backorder filling goes on after this order (one page of the
    /// seller's backorders per message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
}

impl StockChange {
    /// The change that goes on filling this one's backorders after `after`: deduplicated by
    /// the first change's key and the page's start, so a retry hands on the same page once.
    pub fn continued_after(&self, after: Cursor) -> Self {
        Self {
            dedupe_key: format!("{}{CONTINUED}{}", self.first_key(), after.key),
            after: Some(after),
            ..self.clone()
        }
    }

    /// The key of the change that started the filling, whichever page this is.
    pub fn first_key(&self) -> &str {
        self.dedupe_key.split(CONTINUED).next().unwrap_or_default()
    }
}

/// What separates a page handed on from the key of the work it continues.
const CONTINUED: &str = "#after#";

/// One page of a sweep of the watchlist, after `after`; `run` names the scheduled sweep
/// (its time), so that a sweep firing twice hands on each page once and the next hour's
/// sweep starts afresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPage {
    pub dedupe_key: String,
    pub run: String,
    pub after: Cursor,
}

impl SweepPage {
    pub fn new(run: &str, after: Cursor) -> Self {
        Self {
            dedupe_key: format!("stock-alerts#sweep#{run}{CONTINUED}{}", after.key),
            run: run.to_owned(),
            after,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChangeReason {
    /// An order reserved stock.
    Reserved,
    /// A cancelled order gave its reservation back.
    Released,
    /// A shipped order took its stock out of the warehouse.
    Shipped,
    /// An order could not be reserved: demand for stock that is not there.
    Backordered,
    /// A seller restocked (added to on hand).
    Restocked,
    /// A seller counted (set on hand), which may add or take away.
    Counted,
}

impl StockChangeReason {
    /// Whether backordered orders should try the stock now: it may have been freed, or a new
    /// backorder may have missed a restock that landed while it was being placed.
    pub fn may_fill_backorders(self) -> bool {
        matches!(
            self,
            StockChangeReason::Released
                | StockChangeReason::Restocked
                | StockChangeReason::Counted
                | StockChangeReason::Backordered
        )
    }
}

impl FollowUp {
    /// The message attribute the topic's subscriptions filter on.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowUp::StockChange(_) => "stock_change",
            FollowUp::StockSweep(_) => "stock_sweep",
            FollowUp::Email(_) => "email",
            FollowUp::ReviewNotice(_) => "review_notice",
            FollowUp::RefundPayout(_) => "refund_payout",
        }
    }

    /// The message as published: the follow-up's JSON.
    pub fn message(&self) -> String {
        serde_json::to_string(self).expect("follow-ups are plain data")
    }

    /// What SNS counts of the follow-up against its limits: the message's UTF-8 bytes and its
    /// `kind` attribute's name, type and value.
    pub fn published_bytes(&self) -> usize {
        self.message().len() + KIND_ATTRIBUTE.len() + "String".len() + self.kind().len()
    }

    pub fn dedupe_key(&self) -> &str {
        match self {
            FollowUp::StockChange(change) => &change.dedupe_key,
            FollowUp::StockSweep(page) => &page.dedupe_key,
            FollowUp::Email(email) => &email.dedupe_key,
            FollowUp::ReviewNotice(notice) => &notice.dedupe_key,
            FollowUp::RefundPayout(payout) => &payout.dedupe_key,
        }
    }
}

/// The message attribute naming a follow-up's kind.
pub const KIND_ATTRIBUTE: &str = "kind";

/// SNS takes at most ten messages in one `PublishBatch`…
pub const MAX_PUBLISH_COUNT: usize = 10;
/// …and at most 256 KiB in a message and in a whole batch, in bytes, attributes included.
pub const MAX_PUBLISH_BYTES: usize = 256 * 1024;

/// Follow-ups gathered for one `PublishBatch`, within what SNS takes.
#[derive(Debug, Default)]
pub struct PublishBatch {
    follow_ups: Vec<FollowUp>,
    bytes: usize,
}

impl PublishBatch {
    /// Whether a follow-up of `bytes` (its [`FollowUp::published_bytes`]) still fits.
    pub fn has_room_for(&self, bytes: usize) -> bool {
        self.follow_ups.len() < MAX_PUBLISH_COUNT && self.bytes + bytes <= MAX_PUBLISH_BYTES
    }

    pub fn push(&mut self, follow_up: FollowUp, bytes: usize) {
        self.follow_ups.push(follow_up);
        self.bytes += bytes;
    }

    pub fn is_empty(&self) -> bool {
        self.follow_ups.is_empty()
    }

    /// The gathered follow-ups; the batch is empty again.
    pub fn take(&mut self) -> Vec<FollowUp> {
        self.bytes = 0;
        std::mem::take(&mut self.follow_ups)
    }
}

/// `follow_ups` in order, cut into as few batches as SNS takes. A follow-up too large for
/// any batch is a batch of its own, which SNS refuses.
pub fn publish_batches(follow_ups: &[FollowUp]) -> Vec<&[FollowUp]> {
    let mut batches = Vec::new();
    let (mut start, mut count, mut bytes) = (0, 0, 0);
    for (index, follow_up) in follow_ups.iter().enumerate() {
        let size = follow_up.published_bytes();
        if count > 0 && (count == MAX_PUBLISH_COUNT || bytes + size > MAX_PUBLISH_BYTES) {
            batches.push(&follow_ups[start..index]);
            (start, count, bytes) = (index, 0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        batches.push(&follow_ups[start..]);
    }
    batches
}

/// Sends follow-ups to the functions that act on them. The SNS implementation is
/// [`crate::adapters::sns::SnsFollowUps`]: one request per [`publish_batches`] batch.
pub trait FollowUpPublisher: Send + Sync {
    fn publish(&self, follow_ups: &[FollowUp]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A publisher that keeps what it is given, for running a function without SNS (its tests).
#[derive(Debug, Clone, Default)]
pub struct KeptFollowUps(std::sync::Arc<std::sync::Mutex<Vec<FollowUp>>>);

impl KeptFollowUps {
    /// Everything published so far, and forgets it.
    pub fn take(&self) -> Vec<FollowUp> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl FollowUpPublisher for KeptFollowUps {
    async fn publish(&self, follow_ups: &[FollowUp]) -> Result<(), StoreError> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.extend(follow_ups.iter().cloned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::email::request::RefundEmail;
    use crate::pii::EmailAddress;

    #[test]
    fn follow_ups_carry_their_kind_and_never_show_an_address_in_debug() {
        let email = FollowUp::Email(EmailRequest {
            dedupe_key: "order-intake#ord_1#accepted#email".into(),
            recipient: Recipient {
                role: RecipientRole::Buyer,
                id: "buy_1".into(),
                name: "Li Wei".into(),
                email: EmailAddress::parse("li.wei@example.cn").unwrap(),
            },
            locale: "zh".into(),
            content: EmailContent::RefundConfirmation(RefundEmail {
                refund_id: "ref_1".into(),
                order_id: "ord_1".into(),
                currency: "CNY".into(),
                amount: "88.00".into(),
                reason: None,
                lines: Vec::new(),
            }),
        });
        let wire = serde_json::to_value(&email).unwrap();
        assert_eq!(wire["kind"], "email");
        assert_eq!(wire["template"], "refund_confirmation");
        assert_eq!(wire["data"]["amount"], "88.00");
        assert_eq!(wire["recipient"]["email"], "li.wei@example.cn");
        assert_eq!(serde_json::from_value::<FollowUp>(wire).unwrap(), email);
        assert!(!format!("{email:?}").contains("li.wei"));
        assert_eq!(email.kind(), "email");
    }
}
