//! The `data` of the review events as the marketplace sends them, read before any rule.

use serde::Deserialize;

/// `review.created`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewCreatedData {
    pub review_id: String,
    pub seller_id: String,
    pub sku: String,
    /// The order reviewed, when the marketplace knows it: makes the review verified.
    #[serde(default)]
    pub order_id: Option<String>,
    pub buyer_id: String,
    /// Whole stars, 1 to 5. Signed, so that 0 and -1 are refused by their own rule.
    pub rating: i64,
    pub title: String,
    pub text: String,
    /// BCP 47; detected from the text when absent or `und`.
    #[serde(default)]
    pub language: Option<String>,
    pub created_at: String,
}

/// `review.updated`: the buyer's new rating, title and text for a review.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewUpdatedData {
    pub review_id: String,
    pub seller_id: String,
    pub rating: i64,
    pub title: String,
    pub text: String,
    #[serde(default)]
    pub language: Option<String>,
    pub updated_at: String,
}

/// `review.removed`: taken down by the marketplace's moderation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRemovedData {
    pub review_id: String,
    pub seller_id: String,
    #[serde(default)]
    pub reason: Option<String>,
}
