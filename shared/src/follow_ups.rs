//! The one list of follow-ups the back office's queues carry: what each function parses from
//! its queue. Each follow-up is defined by the domain that asks for it, beside its use cases;
//! the outbox carries any of them as a [`Message`] without knowing which. This list sits
//! above every domain, where the functions are wired: the topic's subscriptions route each
//! `kind` to the queue of the function that acts on it.

use serde::{Deserialize, Serialize};

pub use crate::domains::email::request::{EmailContent, EmailRequest, EmailTemplate, Recipient, RecipientRole};
use crate::domains::health::run::RunPage;
use crate::domains::privacy::closure::ClosurePage;
use crate::domains::privacy::page::{ErasurePage, ExportJob};
use crate::domains::refunds::payout::Payout;
use crate::domains::reviews::notice::ReviewNotice;
pub use crate::domains::stock::change::{StockChange, StockChangeReason, SweepPage};
use crate::mechanisms::outbox::{FollowUpPublisher, Message, Relayed};
use crate::storage::StoreError;

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
    ReviewNotice(ReviewNotice),
    /// For refund processing, to hand the payment integration once: pay this refund out.
    RefundPayout(Payout),
    /// For seller health: its run goes on with the next page of sellers.
    SellerHealthPage(RunPage),
    /// For buyer privacy: the buyer's erasure goes on with its next page.
    ErasurePage(ErasurePage),
    /// For buyer privacy: write the buyer's export.
    BuyerExport(ExportJob),
    /// For buyer privacy: a closed seller's run goes on with its next page of orders.
    ClosurePage(ClosurePage),
}

impl FollowUp {
    /// The message attribute the topic's subscriptions filter on.
    pub fn kind(&self) -> &'static str {
        match self {
            FollowUp::StockChange(_) => StockChange::KIND,
            FollowUp::StockSweep(_) => SweepPage::KIND,
            FollowUp::Email(_) => EmailRequest::KIND,
            FollowUp::ReviewNotice(_) => ReviewNotice::KIND,
            FollowUp::RefundPayout(_) => Payout::KIND,
            FollowUp::SellerHealthPage(_) => RunPage::KIND,
            FollowUp::ErasurePage(_) => ErasurePage::KIND,
            FollowUp::BuyerExport(_) => ExportJob::KIND,
            FollowUp::ClosurePage(_) => ClosurePage::KIND,
        }
    }

    pub fn dedupe_key(&self) -> &str {
        match self {
            FollowUp::StockChange(change) => change.dedupe_key(),
            FollowUp::StockSweep(page) => page.dedupe_key(),
            FollowUp::Email(email) => email.dedupe_key(),
            FollowUp::ReviewNotice(notice) => notice.dedupe_key(),
            FollowUp::RefundPayout(payout) => payout.dedupe_key(),
            FollowUp::SellerHealthPage(page) => page.dedupe_key(),
            FollowUp::ErasurePage(page) => page.dedupe_key(),
            FollowUp::BuyerExport(job) => job.dedupe_key(),
            FollowUp::ClosurePage(page) => page.dedupe_key(),
        }
    }

    /// The follow-up as the outbox carries it.
    pub fn message(&self) -> Message {
        match self {
            FollowUp::StockChange(change) => Message::of(change),
            FollowUp::StockSweep(page) => Message::of(page),
            FollowUp::Email(email) => Message::of(email),
            FollowUp::ReviewNotice(notice) => Message::of(notice),
            FollowUp::RefundPayout(payout) => Message::of(payout),
            FollowUp::SellerHealthPage(page) => Message::of(page),
            FollowUp::ErasurePage(page) => Message::of(page),
            FollowUp::BuyerExport(job) => Message::of(job),
            FollowUp::ClosurePage(page) => Message::of(page),
        }
    }

    /// What SNS counts of the follow-up against its limits.
    pub fn published_bytes(&self) -> usize {
        self.message().published_bytes()
    }
}

impl TryFrom<&Message> for FollowUp {
    type Error = serde_json::Error;

    fn try_from(message: &Message) -> Result<Self, Self::Error> {
        message.read()
    }
}

/// A publisher that keeps what it is given, as the functions would read it from their queues,
/// for running a function without SNS (its tests).
#[derive(Debug, Clone, Default)]
pub struct KeptFollowUps(std::sync::Arc<std::sync::Mutex<Vec<FollowUp>>>);

impl KeptFollowUps {
    /// Everything published so far, and forgets it.
    pub fn take(&self) -> Vec<FollowUp> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl FollowUpPublisher for KeptFollowUps {
    async fn publish(&self, follow_ups: &[Message]) -> Result<(), StoreError> {
        let read = follow_ups
            .iter()
            .map(FollowUp::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| StoreError::new("follow-up", error))?;
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        kept.extend(read);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::email::request::RefundEmail;
    use crate::values::pii::EmailAddress;

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
