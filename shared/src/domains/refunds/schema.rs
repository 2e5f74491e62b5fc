//! The `data` of the refund events as the marketplace sends them, read before any rule.

use serde::Deserialize;

/// `refund.requested`: either `lines` or an order-level `amount`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestedData {
    pub refund_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    #[serde(default)]
    pub lines: Option<Vec<RefundLineData>>,
    /// A goodwill refund of the order: money, no units. A decimal string (`"5.00"`).
    #[serde(default)]
    pub amount: Option<String>,
    /// ISO 4217; when given, it must be the order's.
    #[serde(default)]
    pub currency: Option<String>,
    pub reason: String,
    /// The buyer's words: shown to the seller, never logged.
    #[serde(default)]
    pub note: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundLineData {
    pub line_id: String,
    /// Signed, so that 0 and -1 are refused by their own rule.
    pub quantity: i64,
    /// Less than the units' price, for a partial refund of the line.
    #[serde(default)]
    pub amount: Option<String>,
    /// Whether the units come back sellable.
    #[serde(default)]
    pub restock: bool,
}

/// `refund.decided`: the seller's answer to a pending refund.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundDecidedData {
    pub refund_id: String,
    pub seller_id: String,
    /// `approve` or `reject`.
    pub decision: String,
    /// Required to reject: what the buyer is told.
    #[serde(default)]
    pub reason: Option<String>,
    /// To approve less than was asked.
    #[serde(default)]
    pub amount: Option<String>,
}
