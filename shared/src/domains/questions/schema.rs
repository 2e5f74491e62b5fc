//! The `data` of the message events as the marketplace sends them, read before any rule.

use serde::Deserialize;

use crate::domains::orders::schema::BuyerData;

/// `message.received`: a buyer writes to a seller.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageReceivedData {
    pub message_id: String,
    /// The conversation it continues; a new one when absent.
    #[serde(default)]
    pub thread_id: Option<String>,
    pub buyer: BuyerData,
    pub seller_id: String,
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub subject: String,
    /// The buyer's words: stored, quoted to the seller and back, never logged.
    pub text: String,
    pub created_at: String,
}

/// `message.replied`: the seller answers a thread, or says it needs no answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageRepliedData {
    pub message_id: String,
    pub thread_id: String,
    pub seller_id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub no_response_needed: Option<bool>,
}
