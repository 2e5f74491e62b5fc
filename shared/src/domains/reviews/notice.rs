//! What review monitoring tells a seller, as follow-ups on the review alert queue: a negative
//! review (once per review, again only if an edit made it newly negative or gave it a new
//! reason), or a trend raised. The queue's consumer gathers them into one digest per seller.

use serde::{Deserialize, Serialize};

use super::reason::Reason;
use super::records::StoredReview;
use super::trends::TrendAlert;
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Relayed;
use crate::values::snippet::snippet;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewNotice {
    /// One notice per key, however often it is delivered.
    pub dedupe_key: String,
    pub seller_id: String,
    pub sku: String,
    pub about: Noticed,
    /// The reviewer, whose words the notice quotes (none for a trend): its outbox entry and
    /// the digest that tells it are found by their erasure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
}

impl Relayed for ReviewNotice {
    const KIND: &'static str = "review_notice";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }

    fn data_subject(&self) -> Option<&str> {
        self.buyer_id.as_deref()
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Noticed {
    NegativeReview {
        review_id: String,
        rating: u8,
        reasons: Vec<Reason>,
        verified: bool,
        /// The start of the buyer's words, contact details removed.
        snippet: String,
    },
    Trend(TrendAlert),
}

impl ReviewNotice {
    /// The alert for a negative review, numbered by how often its seller heard of it.
    pub fn negative_review(review: &StoredReview) -> Self {
        let words = if review.text.is_empty() {
            &review.title
        } else {
            &review.text
        };
        Self {
            dedupe_key: Function::ReviewMonitor.key(&[
                "review",
                &review.seller_id,
                &review.review_id,
                &review.alerts.to_string(),
            ]),
            seller_id: review.seller_id.clone(),
            sku: review.sku.clone(),
            about: Noticed::NegativeReview {
                review_id: review.review_id.clone(),
                rating: review.rating,
                reasons: review.reasons.clone(),
                verified: review.verified,
                snippet: snippet(words),
            },
            buyer_id: Some(review.buyer_id.clone()),
        }
    }

    pub fn trend(seller_id: &str, sku: &str, alert: TrendAlert) -> Self {
        let episode = alert.episode.to_string();
        Self {
            dedupe_key: Function::ReviewMonitor.key(&["trend", seller_id, sku, &alert.trend.key(), &episode]),
            seller_id: seller_id.to_owned(),
            sku: sku.to_owned(),
            about: Noticed::Trend(alert),
            buyer_id: None,
        }
    }
}

impl std::fmt::Debug for Noticed {
    // Keeps the buyer's words out of any log line that prints a notice.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Noticed::NegativeReview {
                review_id,
                rating,
                reasons,
                ..
            } => write!(f, "NegativeReview({review_id}, {rating} stars, {reasons:?})"),
            Noticed::Trend(alert) => write!(f, "Trend({:?}, episode {})", alert.trend, alert.episode),
        }
    }
}
