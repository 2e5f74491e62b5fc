//! Each seller's response figures, buyer messaging's day tallies in `FiguresTable`
//! (`buyer-messaging#<seller>#<day>`, see [`crate::domains::figures::tally`]), counted in the same
//! transaction as the change they count: no scan, no second source of truth. A question counts on the day it was asked (its answer and
//! its breach too), a late shipment on the day the order was due to ship. The response times
//! are kept as a histogram, so that a window's median is read without keeping every time.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::domains::figures::tally::{SellerDays, Tally, days_ending};
use crate::mechanisms::function::Function;
use crate::storage::{Item, Storage, StoreError, Write, number};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Received,
    AnsweredAutomatically,
    SentToSeller,
    /// The seller answered (or marked it as needing none).
    Answered,
    AnsweredWithinDay,
    Breached,
    LateShipment,
}

impl Figure {
    fn attribute(self) -> &'static str {
        match self {
            Figure::Received => "received",
            Figure::AnsweredAutomatically => "answered_automatically",
            Figure::SentToSeller => "sent_to_seller",
            Figure::Answered => "answered",
            Figure::AnsweredWithinDay => "answered_within_24h",
            Figure::Breached => "breaches",
            Figure::LateShipment => "late_shipments",
        }
    }
}

/// The response-time histogram's upper bounds, in minutes; the last bucket holds the rest.
pub const RESPONSE_BUCKETS_MINUTES: [i64; 9] = [15, 30, 60, 120, 240, 480, 720, 1440, 2880];

/// Adds one to each of `figures` of `seller_id` on the day of `at`, and the response time to
/// its histogram when there is one.
pub fn counted(seller_id: &str, at: DateTime<Utc>, figures: &[Figure], response_seconds: Option<i64>) -> Option<Write> {
    let mut tally = Tally::new(Function::BuyerMessaging, seller_id, at);
    for figure in figures {
        tally = tally.add(figure.attribute(), 1);
    }
    if let Some(seconds) = response_seconds {
        tally = tally.add(bucket_attribute(seconds), 1);
    }
    tally.write()
}

fn bucket_attribute(seconds: i64) -> String {
    let minutes = (seconds.max(0) + 59) / 60;
    bucket_name(RESPONSE_BUCKETS_MINUTES.iter().copied().find(|bound| minutes <= *bound))
}

/// The histogram's buckets in order: each one's upper bound in minutes (`None` for the last,
/// which holds the rest) and the attribute that counts it.
pub fn response_buckets() -> Vec<(Option<i64>, String)> {
    RESPONSE_BUCKETS_MINUTES
        .iter()
        .map(|bound| Some(*bound))
        .chain([None])
        .map(|bound| (bound, bucket_name(bound)))
        .collect()
}

fn bucket_name(bound: Option<i64>) -> String {
    match bound {
        Some(bound) => format!("response_within_{bound}m"),
        None => "response_longer".to_owned(),
    }
}

/// A seller's figures over the last `days` days (today included).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ResponseFigures {
    pub days: i64,
    pub received: i64,
    pub answered_automatically: i64,
    pub sent_to_seller: i64,
    pub answered: i64,
    pub answered_within_24h: i64,
    pub breaches: i64,
    pub late_shipments: i64,
    /// The median first response is at most this many minutes (the bound of the histogram
    /// bucket holding it); `None` with no answer in the window, or past the last bound.
    pub median_response_within_minutes: Option<i64>,
}

/// The seller's figures over 7, 30 and 90 days, in one `BatchGetItem` of 90 day items.
pub async fn response_figures(
    store: &impl Storage,
    seller_id: &str,
    today: NaiveDate,
) -> Result<[ResponseFigures; 3], StoreError> {
    let read = SellerDays::read(store, seller_id, &[Function::BuyerMessaging], days_ending(today, 90)).await?;
    Ok([7, 30, 90].map(|window| {
        summed(
            &read.items(Function::BuyerMessaging, &days_ending(today, window)),
            window,
        )
    }))
}

/// The figures of a run of day items, `days` long.
pub fn summed(items: &[&Item], days: i64) -> ResponseFigures {
    let sum = |figure: Figure| items.iter().map(|item| number(item, figure.attribute())).sum::<i64>();
    let buckets: Vec<(Option<i64>, i64)> = response_buckets()
        .into_iter()
        .map(|(bound, name)| (bound, items.iter().map(|item| number(item, &name)).sum::<i64>()))
        .collect();
    let answers: i64 = buckets.iter().map(|(_, count)| count).sum();
    let mut seen = 0;
    let median = buckets.iter().find_map(|(bound, count)| {
        seen += count;
        (answers > 0 && seen * 2 >= answers).then_some(*bound)
    });
    ResponseFigures {
        days,
        received: sum(Figure::Received),
        answered_automatically: sum(Figure::AnsweredAutomatically),
        sent_to_seller: sum(Figure::SentToSeller),
        answered: sum(Figure::Answered),
        answered_within_24h: sum(Figure::AnsweredWithinDay),
        breaches: sum(Figure::Breached),
        late_shipments: sum(Figure::LateShipment),
        median_response_within_minutes: median.flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemoryStorage, WriteSet};
    use chrono::Duration;

    #[tokio::test]
    async fn figures_are_summed_over_their_windows_with_the_median_response() {
        let store = MemoryStorage::new();
        let today: DateTime<Utc> = "2026-11-27T12:00:00Z".parse().unwrap();
        let asked = |days_ago: i64| today - Duration::days(days_ago);
        let writes = vec![
            counted("sel_1", asked(0), &[Figure::Received, Figure::SentToSeller], None),
            counted(
                "sel_1",
                asked(1),
                &[Figure::Received, Figure::AnsweredAutomatically],
                None,
            ),
            counted(
                "sel_1",
                asked(10),
                &[Figure::Received, Figure::SentToSeller, Figure::Breached],
                None,
            ),
            counted("sel_1", asked(40), &[Figure::LateShipment], None),
            counted("sel_2", asked(0), &[Figure::Received], None),
        ];
        for write in writes {
            store.write(WriteSet::from(vec![write.unwrap()])).await.unwrap();
        }
        for (days_ago, minutes) in [(0, 10), (2, 50), (3, 200), (20, 3000)] {
            let answered = counted("sel_1", asked(days_ago), &[Figure::Answered], Some(minutes * 60));
            store.write(WriteSet::from(vec![answered.unwrap()])).await.unwrap();
        }
        let [week, month, quarter] = response_figures(&store, "sel_1", today.date_naive()).await.unwrap();
        assert_eq!((week.received, week.answered_automatically, week.breaches), (2, 1, 0));
        assert_eq!(week.median_response_within_minutes, Some(60), "10, 50, 200 minutes");
        assert_eq!((month.received, month.breaches, month.late_shipments), (3, 1, 0));
        assert_eq!(
            month.median_response_within_minutes,
            Some(60),
            "10, 50, 200, 3000: the second"
        );
        assert_eq!((quarter.late_shipments, quarter.answered), (1, 4));
    }
}
