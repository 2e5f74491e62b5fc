//! A seller's week, read from its day tallies: sales against the week before, the health
//! measures over their own windows, reviews, refunds, response to buyers, stock at risk now,
//! and what went overdue. What the weekly email shows, and what the operator report sums.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domains::figures::measures::{Measure, Reading};
use crate::domains::figures::tally::{SellerDays, counter, days_ending, monday_of, top_skus};
use crate::domains::figures::week::{
    AtRisk, ClaimWeek, Overdue, RefundWeek, ResponseWeek, ReviewWeek, STOCK_LISTED, Sales, SellerWeek,
};
use crate::domains::questions::figures::{ResponseFigures, summed};
use crate::domains::stock::assess::{Level, StockItem, assess};
use crate::domains::stock::records::seller_watchlist;
use crate::mechanisms::function::Function;
use crate::storage::{Storage, StoreError};

/// The SKUs a week lists as best sellers.
const TOP_SKUS: usize = 5;

/// The functions whose tallies a seller's week reads.
pub const SOURCES: [Function; 5] = [
    Function::OrderIntake,
    Function::StockAlerts,
    Function::ReviewMonitor,
    Function::RefundProcessor,
    Function::BuyerMessaging,
];

/// The longest window read: the order defect rate's 60 days.
pub const DAYS_READ: i64 = 60;

/// What a seller's week is made from: its day tallies and its best sellers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeekRead {
    pub days: SellerDays,
    pub top_skus: Vec<(String, i64)>,
}

/// The seller's tallies for the week ending `last_day` and every window its measures need, one
/// `BatchGetItem` per 100 day items (three for a seller), and the week's best sellers, one
/// query: four requests whatever its volume or catalogue.
pub async fn read_week(store: &impl Storage, seller_id: &str, last_day: NaiveDate) -> Result<WeekRead, StoreError> {
    let days = SellerDays::read(store, seller_id, &SOURCES, days_ending(last_day, DAYS_READ)).await?;
    let top_skus = top_skus(store, seller_id, monday_of(last_day), TOP_SKUS).await?;
    Ok(WeekRead { days, top_skus })
}

/// The week ending `last_day`, from what [`read_week`] read and the stock at risk.
pub fn seller_week(seller_id: &str, read: &WeekRead, last_day: NaiveDate, mut stock: Vec<AtRisk>) -> SellerWeek {
    let days = &read.days;
    let stock_not_listed = stock.len().saturating_sub(STOCK_LISTED);
    stock.truncate(STOCK_LISTED);
    let week = days_ending(last_day, 7);
    let before = days_ending(last_day - Duration::days(7), 7);
    let sales = sales(days, &week, read.top_skus.clone());
    let refunds = refund_week(days, &week, sales.orders);
    SellerWeek {
        seller_id: seller_id.to_owned(),
        first_day: *week.start(),
        last_day,
        // The week before is compared by its sums; its best sellers are not shown.
        sales_before: self::sales(days, &before, Vec::new()),
        health: readings(days, last_day),
        reviews: review_week(days, &week),
        response: response_week(&summed(&days.items(Function::BuyerMessaging, &week), 7)),
        overdue: Overdue {
            breaches: days.sum(Function::BuyerMessaging, "breaches", &week),
            late_shipments: days.sum(Function::BuyerMessaging, "late_shipments", &week),
            refunds_by_deadline: days.sum(Function::RefundProcessor, counter::REFUNDS_BY_DEADLINE, &week),
        },
        claims: ClaimWeek {
            opened: days.sum(Function::RefundProcessor, counter::CLAIMS_OPENED, &week),
            decided: days.sum(Function::RefundProcessor, counter::CLAIMS_DECIDED, &week),
            lost: days.sum(Function::RefundProcessor, counter::CLAIMS_LOST, &week),
        },
        sales,
        refunds,
        stock,
        stock_not_listed,
    }
}

fn sales(days: &SellerDays, week: &RangeInclusive<NaiveDate>, top_skus: Vec<(String, i64)>) -> Sales {
    let orders = Function::OrderIntake;
    let filled = days.sum(Function::StockAlerts, counter::BACKORDERS_FILLED, week);
    let waited = days.sum(Function::StockAlerts, counter::BACKORDER_WAIT_HOURS, week);
    Sales {
        orders: days.sum(orders, counter::ORDERS, week),
        units: days.sum(orders, counter::UNITS, week),
        revenue: days.family(orders, "revenue", week),
        top_skus,
        backordered: days.sum(orders, counter::BACKORDERED, week),
        backorders_filled: filled,
        mean_backorder_wait_hours: (filled > 0).then(|| waited / filled),
    }
}

/// Every measure over its own window ending `last_day`. Contact response leaves out the last
/// day: its questions may still be inside their 24 hours.
pub fn readings(days: &SellerDays, last_day: NaiveDate) -> Vec<Reading> {
    let window = |measure: Measure| days_ending(last_day, measure.window_days());
    let orders = |measure| days.sum(Function::OrderIntake, counter::ORDERS, &window(measure));
    let shipped = |measure| days.sum(Function::OrderIntake, counter::SHIPPED, &window(measure));
    let late = |measure| days.sum(Function::OrderIntake, counter::SHIPPED_LATE, &window(measure));
    // Orders with a bad review, a claim or a defect refund, each counted once by the function
    // whose defect came first (see figures::defects).
    let defects = {
        let sixty = window(Measure::OrderDefectRate);
        days.sum(Function::ReviewMonitor, counter::ORDER_DEFECTS, &sixty)
            + days.sum(Function::RefundProcessor, counter::ORDER_DEFECTS, &sixty)
    };
    let asked = days_ending(last_day - Duration::days(1), Measure::ResponseWithin24h.window_days());
    vec![
        Reading::new(Measure::OrderDefectRate, defects, orders(Measure::OrderDefectRate)),
        Reading::new(
            Measure::LateShipmentRate10,
            late(Measure::LateShipmentRate10),
            shipped(Measure::LateShipmentRate10),
        ),
        Reading::new(
            Measure::LateShipmentRate30,
            late(Measure::LateShipmentRate30),
            shipped(Measure::LateShipmentRate30),
        ),
        Reading::new(
            Measure::CancelRate,
            days.sum(
                Function::OrderIntake,
                counter::SELLER_CANCELS,
                &window(Measure::CancelRate),
            ),
            orders(Measure::CancelRate),
        ),
        Reading::new(
            Measure::ValidTrackingRate,
            days.sum(
                Function::OrderIntake,
                counter::VALID_TRACKING,
                &window(Measure::ValidTrackingRate),
            ),
            shipped(Measure::ValidTrackingRate),
        ),
        Reading::new(
            Measure::ResponseWithin24h,
            days.sum(Function::BuyerMessaging, "answered_within_24h", &asked),
            days.sum(Function::BuyerMessaging, "sent_to_seller", &asked),
        ),
    ]
}

fn review_week(days: &SellerDays, week: &RangeInclusive<NaiveDate>) -> ReviewWeek {
    let reviews = days.sum(Function::ReviewMonitor, counter::REVIEWS, week);
    let stars = days.sum(Function::ReviewMonitor, counter::RATING_SUM, week);
    ReviewWeek {
        reviews,
        average_hundredths: (reviews > 0).then(|| (stars * 200 / reviews + 1) / 2),
        negative: days.sum(Function::ReviewMonitor, counter::NEGATIVE_REVIEWS, week),
        reasons: most_first(days.family(Function::ReviewMonitor, "reason", week)),
    }
}

fn refund_week(days: &SellerDays, week: &RangeInclusive<NaiveDate>, orders: i64) -> RefundWeek {
    let refunds = days.sum(Function::RefundProcessor, counter::REFUNDS, week);
    RefundWeek {
        refunds,
        amounts: days.family(Function::RefundProcessor, "refunded", week),
        rate_bp: crate::domains::figures::measures::rate_bp(refunds, orders),
        automatic: days.sum(Function::RefundProcessor, counter::REFUNDS_AUTOMATIC, week),
    }
}

fn response_week(figures: &ResponseFigures) -> ResponseWeek {
    ResponseWeek {
        received: figures.received,
        answered_automatically: figures.answered_automatically,
        sent_to_seller: figures.sent_to_seller,
        answered_within_24h: figures.answered_within_24h,
        median_response_within_minutes: figures.median_response_within_minutes,
        breaches: figures.breaches,
    }
}

/// The watched SKUs a seller's week assesses: the first this many by key.
pub const WATCHED_READ: usize = 500;

/// The seller's watched SKUs that are out, low or running out at `now`, worst first: one
/// query and a `BatchGetItem` per 100 SKUs, at most [`WATCHED_READ`] of them.
pub async fn seller_stock_at_risk(
    store: &impl Storage,
    seller_id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AtRisk>, StoreError> {
    let watched = seller_watchlist(store, seller_id, WATCHED_READ).await?;
    Ok(stock_at_risk(&watched.items, now).remove(seller_id).unwrap_or_default())
}

/// The SKUs of the stock alerts' watchlist that are out, low or running out at `now`, by
/// seller, worst first: what each seller's week lists as needing stock.
pub fn stock_at_risk(items: &[StockItem], now: DateTime<Utc>) -> BTreeMap<String, Vec<AtRisk>> {
    let mut by_seller: BTreeMap<String, Vec<(Level, AtRisk)>> = BTreeMap::new();
    for item in items {
        let assessment = assess(item, now);
        if assessment.level == Level::Healthy {
            continue;
        }
        by_seller.entry(item.seller_id.clone()).or_default().push((
            assessment.level,
            AtRisk {
                sku: item.sku.clone(),
                level: assessment.level.as_str().to_owned(),
                available: item.available,
                days_of_cover: assessment.days_of_cover,
            },
        ));
    }
    by_seller
        .into_iter()
        .map(|(seller, mut skus)| {
            skus.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.sku.cmp(&b.1.sku)));
            (seller, skus.into_iter().map(|(_, sku)| sku).collect())
        })
        .collect()
}

pub fn most_first(counts: BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}
