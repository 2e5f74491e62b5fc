//! The `data` of the claim events as the marketplace sends them, read before any rule.

use serde::Deserialize;

/// `claim.opened`: the buyer asks the marketplace to step in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimOpenedData {
    pub claim_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    /// `not_received`, `not_as_described`, `refund_refused`, `refund_not_paid`,
    /// `no_seller_response`.
    pub reason: String,
    /// The lines the claim is about; with neither lines nor amount, all that is left of the order.
    #[serde(default)]
    pub lines: Option<Vec<ClaimLineData>>,
    /// What the buyer asks back, as a decimal string (`"12.50"`).
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO 4217; when given, it must be the order's.
    #[serde(default)]
    pub currency: Option<String>,
    /// The refund the seller refused or did not pay (`refund_refused`, `refund_not_paid`).
    #[serde(default)]
    pub refund_id: Option<String>,
    /// The question the seller left unanswered (`no_seller_response`).
    #[serde(default)]
    pub thread_id: Option<String>,
    /// The buyer's review of the order, if there is one: shown to support staff.
    #[serde(default)]
    pub review_id: Option<String>,
    /// The buyer's words: shown to the seller and support staff, never logged.
    #[serde(default)]
    pub note: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimLineData {
    pub line_id: String,
    /// Signed, so that 0 and -1 are refused by their own rule.
    pub quantity: i64,
}

/// `claim.responded`: the seller's answer, before its deadline.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRespondedData {
    pub claim_id: String,
    pub seller_id: String,
    /// `refund` or `evidence`.
    pub response: String,
    /// To refund less than the claim asks (then support staff decide the rest).
    #[serde(default)]
    pub amount: Option<String>,
    #[serde(default)]
    pub tracking: Option<TrackingData>,
    /// The seller's words to support staff.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackingData {
    pub carrier: String,
    pub tracking_number: String,
}

/// `claim.decided`: support staff's decision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimDecidedData {
    pub claim_id: String,
    pub seller_id: String,
    /// The operator who decided.
    pub decided_by: String,
    /// `refund`, `partial` or `deny`.
    pub decision: String,
    /// `seller` or `marketplace`: who pays a refund.
    #[serde(default)]
    pub paid_by: Option<String>,
    /// Required for `partial`.
    #[serde(default)]
    pub amount: Option<String>,
    /// What the buyer and the seller are told.
    pub reason: String,
}

/// `claim.withdrawn`: the buyer no longer needs the marketplace.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimWithdrawnData {
    pub claim_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    #[serde(default)]
    pub reason: Option<String>,
}
