//! What review monitoring counts of a seller's day: published reviews, their stars, the
//! negative ones and their reasons, and the 1–2 star reviews of an order (an order defect),
//! all on the day the review was written. An edit or a removal counts its difference on that
//! same day, so a week's figures always describe the reviews as they stand.

use super::records::StoredReview;
use crate::domains::figures::tally::{Tally, counter};
use crate::mechanisms::function::Function;
use crate::storage::Write;

/// The difference `after` makes to its day's tally over `before` (none for a new review).
pub fn counted(before: Option<&StoredReview>, after: &StoredReview) -> Option<Write> {
    let mut tally = Tally::new(Function::ReviewMonitor, &after.seller_id, after.created_at);
    for (review, sign) in [(Some(after), 1), (before, -1)] {
        if let Some(review) = review.filter(|review| review.contribution().is_some()) {
            tally = add(tally, review, sign);
        }
    }
    tally.write()
}

fn add(mut tally: Tally, review: &StoredReview, sign: i64) -> Tally {
    let defect = review.verified && review.rating <= 2;
    tally = tally
        .add(counter::REVIEWS, sign)
        .add(counter::RATING_SUM, sign * i64::from(review.rating))
        .add(counter::NEGATIVE_REVIEWS, sign * i64::from(review.negative))
        .add(counter::REVIEW_DEFECTS, sign * i64::from(defect));
    if review.negative {
        for reason in &review.reasons {
            tally = tally.add(counter::reason(reason.as_str()), sign);
        }
    }
    tally
}
