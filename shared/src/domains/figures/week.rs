//! A seller's week as the weekly email shows it and the operator report sums it: sales against
//! the week before, the health measures, reviews, refunds, response to buyers, stock at risk
//! and what went overdue. Plain figures; [`crate::domains::health::week`] reads them from the
//! day tallies.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::measures::Reading;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerWeek {
    pub seller_id: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub sales: Sales,
    pub sales_before: Sales,
    pub health: Vec<Reading>,
    pub reviews: ReviewWeek,
    pub refunds: RefundWeek,
    /// Buyer protection claims of the week.
    #[serde(default)]
    pub claims: ClaimWeek,
    pub response: ResponseWeek,
    /// SKUs out, low or running out now, worst first: at most [`STOCK_LISTED`].
    pub stock: Vec<AtRisk>,
    /// How many more SKUs are at risk than `stock` lists.
    #[serde(default)]
    pub stock_not_listed: usize,
    pub overdue: Overdue,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sales {
    pub orders: i64,
    pub units: i64,
    /// Minor units by ISO currency.
    pub revenue: BTreeMap<String, i64>,
    /// The best-selling SKUs by units, most first.
    pub top_skus: Vec<(String, i64)>,
    pub backordered: i64,
    pub backorders_filled: i64,
    /// The mean wait of the backorders filled, in whole hours.
    pub mean_backorder_wait_hours: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewWeek {
    pub reviews: i64,
    /// In hundredths of a star.
    pub average_hundredths: Option<i64>,
    pub negative: i64,
    /// Negative reviews by reason, most first.
    pub reasons: Vec<(String, i64)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundWeek {
    pub refunds: i64,
    /// Minor units by ISO currency.
    pub amounts: BTreeMap<String, i64>,
    /// Refunds per order placed in the week, in basis points.
    pub rate_bp: Option<i64>,
    pub automatic: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimWeek {
    pub opened: i64,
    pub decided: i64,
    /// Decided against the seller: a refund it pays.
    pub lost: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseWeek {
    pub received: i64,
    pub answered_automatically: i64,
    pub sent_to_seller: i64,
    pub answered_within_24h: i64,
    pub median_response_within_minutes: Option<i64>,
    pub breaches: i64,
}

/// The SKUs at risk a weekly email lists by name; the rest are counted. A seller with a
/// catalogue of thousands out of stock would otherwise make an email past SNS's 256 KiB (set
/// aside, never sent) or an outbox item past DynamoDB's 400 KB (the run's transaction fails).
pub const STOCK_LISTED: usize = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtRisk {
    pub sku: String,
    /// `out`, `low` or `running_out`.
    pub level: String,
    pub available: i64,
    pub days_of_cover: Option<i64>,
}

/// What went past its time this week.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    /// Questions left unanswered past 24 hours.
    pub breaches: i64,
    /// Orders not shipped by their ship-by date.
    pub late_shipments: i64,
    /// Refunds approved because the seller did not decide in time.
    pub refunds_by_deadline: i64,
}
