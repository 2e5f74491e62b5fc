//! Who gets which email: opt-outs and suppressed addresses.
//!
//! Transactional emails (about an order, its shipping or a refund, or an answer to the
//! buyer's own question) go to buyers who opted out of optional email; optional ones do not.
//! An address that hard-bounced or complained gets nothing, whatever the email.

use serde::{Deserialize, Serialize};

use super::request::{EmailTemplate, RecipientRole};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailCategory {
    Transactional,
    Optional,
}

impl EmailTemplate {
    pub fn category(self) -> EmailCategory {
        match self {
            EmailTemplate::ReviewRequest => EmailCategory::Optional,
            _ => EmailCategory::Transactional,
        }
    }
}

/// A buyer's choice about optional email (`buyer.preferences`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionalEmail {
    OptedIn,
    OptedOut,
}

/// Why SES told us never to send to an address again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressBlock {
    HardBounce,
    Complaint,
}

/// What is known about a recipient before sending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standing {
    pub opted_out: bool,
    pub blocked: Option<AddressBlock>,
    /// The buyer's personal data was erased: nothing is sent to them again.
    pub erased: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    OptedOut,
    HardBounced,
    Complained,
    /// Queued before the buyer's erasure committed.
    Erased,
}

impl SkipReason {
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::OptedOut => "opted_out",
            SkipReason::HardBounced => "hard_bounced",
            SkipReason::Complained => "complained",
            SkipReason::Erased => "erased",
        }
    }
}

/// `None` when the email may go; otherwise why it must not.
pub fn skip_reason(template: EmailTemplate, role: RecipientRole, standing: Standing) -> Option<SkipReason> {
    if standing.erased && role == RecipientRole::Buyer {
        return Some(SkipReason::Erased);
    }
    match standing.blocked {
        Some(AddressBlock::HardBounce) => return Some(SkipReason::HardBounced),
        Some(AddressBlock::Complaint) => return Some(SkipReason::Complained),
        None => {}
    }
    let optional = template.category() == EmailCategory::Optional;
    (optional && role == RecipientRole::Buyer && standing.opted_out).then_some(SkipReason::OptedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTED_OUT: Standing = Standing {
        opted_out: true,
        blocked: None,
        erased: false,
    };

    #[test]
    fn opted_out_buyers_still_get_transactional_email_but_no_optional_email() {
        use EmailTemplate::*;
        for template in [
            OrderConfirmation,
            ShippingConfirmation,
            RefundConfirmation,
            QuestionReply,
        ] {
            assert_eq!(
                skip_reason(template, RecipientRole::Buyer, OPTED_OUT),
                None,
                "{template:?}"
            );
        }
        assert_eq!(
            skip_reason(ReviewRequest, RecipientRole::Buyer, OPTED_OUT),
            Some(SkipReason::OptedOut)
        );
        assert_eq!(
            skip_reason(ReviewRequest, RecipientRole::Buyer, Standing::default()),
            None
        );
    }

    #[test]
    fn a_bounced_or_complaining_address_gets_nothing() {
        for (block, reason) in [
            (AddressBlock::HardBounce, SkipReason::HardBounced),
            (AddressBlock::Complaint, SkipReason::Complained),
        ] {
            let standing = Standing {
                opted_out: false,
                blocked: Some(block),
                erased: false,
            };
            for role in [RecipientRole::Buyer, RecipientRole::Seller] {
                assert_eq!(
                    skip_reason(EmailTemplate::OrderConfirmation, role, standing),
                    Some(reason)
                );
            }
        }
    }
}
