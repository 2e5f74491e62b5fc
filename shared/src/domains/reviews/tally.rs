//! What review monitoring counts of a seller's day: published reviews, their stars, the
//! negative ones and their reasons, and the 1–2 star reviews of an order (an order defect),
//! all on the day the review was written. An edit or a removal counts its difference on that
//! same day, so a week's figures always describe the reviews as they stand.
//!
//! A defect also stands on its order's mark ([`crate::domains::figures::defects`]), so the
//! order defect rate counts the order once whatever else went wrong with it.

use super::records::StoredReview;
use crate::domains::figures::defects::{DefectChange, DefectMark, source_added, source_removed, written_with};
use crate::domains::figures::tally::{Tally, counter};
use crate::mechanisms::function::Function;
use crate::storage::{StoreError, Write};

/// A published, verified review of one or two stars: an order defect.
pub fn is_defect(review: &StoredReview) -> bool {
    review.contribution().is_some() && review.verified && review.rating <= 2
}

/// What `after` changes on its order's defect mark (read as `mark`) over `before`.
pub fn defect_change(
    before: Option<&StoredReview>,
    after: &StoredReview,
    mark: Option<&DefectMark>,
) -> Result<Option<DefectChange>, StoreError> {
    let Some(order_id) = after.order_id.as_deref() else {
        return Ok(None);
    };
    let source = format!("review#{}", after.review_id);
    match (before.is_some_and(is_defect), is_defect(after)) {
        (false, true) => source_added(
            mark,
            Function::ReviewMonitor,
            &after.seller_id,
            order_id,
            &source,
            after.created_at,
        ),
        (true, false) => source_removed(mark, &source),
        _ => Ok(None),
    }
}

/// The difference `after` makes to its day's tally over `before` (none for a new review), and
/// to its order's defect mark.
pub fn counted(before: Option<&StoredReview>, after: &StoredReview, defect: Option<DefectChange>) -> Vec<Write> {
    let mut tally = Tally::new(Function::ReviewMonitor, &after.seller_id, after.created_at);
    for (review, sign) in [(Some(after), 1), (before, -1)] {
        if let Some(review) = review.filter(|review| review.contribution().is_some()) {
            tally = add(tally, review, sign);
        }
    }
    written_with(defect, tally, Function::ReviewMonitor, &after.seller_id)
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
