//! Day tallies: what each function counts about a seller, one item per function, seller and
//! UTC day in `FiguresTable` (`<function>#<seller>#<day>`), added in the same transaction as
//! the change it counts. A seller's health is then read from a few dozen small items, however
//! many orders, reviews or messages it had; nothing is ever scanned.
//!
//! Each function writes only keys that start with its own name (the template's `LeadingKeys`
//! conditions hold it to that), so a tally has one writer and one meaning.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::mechanisms::function::Function;
use crate::storage::{Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, number, text};

/// How long a tally is kept: the longest window read (90 days) and the week before a year
/// ago, for comparisons, then DynamoDB's TTL removes it.
const KEPT_DAYS: i64 = 400;

/// The counters, by name. A name with a `#` is a family (`revenue#EUR`, `reason#late`): a
/// family's members are a short, fixed list (currencies, reasons), never the catalogue's SKUs.
pub mod counter {
    pub const ORDERS: &str = "orders";
    pub const UNITS: &str = "units";
    pub const BACKORDERED: &str = "backordered";
    pub const CANCELLED: &str = "cancelled";
    pub const SELLER_CANCELS: &str = "cancelled_by_seller";
    pub const SHIPPED: &str = "shipped";
    pub const SHIPPED_LATE: &str = "shipped_late";
    pub const VALID_TRACKING: &str = "valid_tracking";
    pub const BACKORDERS_FILLED: &str = "backorders_filled";
    pub const BACKORDER_WAIT_HOURS: &str = "backorder_wait_hours";
    pub const STOCK_ALERTS: &str = "stock_alerts";
    pub const REVIEWS: &str = "reviews";
    pub const RATING_SUM: &str = "rating_sum";
    pub const NEGATIVE_REVIEWS: &str = "negative_reviews";
    /// Published reviews of 1 or 2 stars of an order (verified): an order defect.
    pub const REVIEW_DEFECTS: &str = "review_defects";
    pub const REFUNDS: &str = "refunds";
    pub const REFUNDS_AUTOMATIC: &str = "refunds_automatic";
    pub const REFUNDS_BY_DEADLINE: &str = "refunds_by_deadline";
    /// Approved refunds for a defect (`defective`, `not_as_described`, `wrong_item`,
    /// `not_received`) or approved because the seller did not answer: an order defect.
    pub const REFUND_DEFECTS: &str = "refund_defects";
    /// Buyer protection claims opened against the seller: an order defect.
    pub const CLAIMS_OPENED: &str = "claims_opened";
    /// Orders with a defect (a bad review, a defect refund or a claim), each counted once:
    /// see [`super::super::defects`].
    pub const ORDER_DEFECTS: &str = "order_defects";
    /// Claims support staff decided.
    pub const CLAIMS_DECIDED: &str = "claims_decided";
    /// Claims decided against the seller: a refund the seller pays.
    pub const CLAIMS_LOST: &str = "claims_lost";

    pub fn revenue(currency: &str) -> String {
        format!("revenue#{currency}")
    }

    pub fn refunded(currency: &str) -> String {
        format!("refunded#{currency}")
    }

    pub fn reason(reason: &str) -> String {
        format!("reason#{reason}")
    }
}

pub fn tally_key(function: Function, seller_id: &str, day: NaiveDate) -> String {
    function.key(&[seller_id, &day.to_string()])
}

/// Counts of one function about one seller on one day, built up and then written as one
/// `UpdateItem` (`ADD` of each counter) inside the change's own write set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    function: Function,
    seller_id: String,
    day: NaiveDate,
    counts: BTreeMap<String, i64>,
}

impl Tally {
    pub fn new(function: Function, seller_id: &str, at: DateTime<Utc>) -> Self {
        Self::on(function, seller_id, at.date_naive())
    }

    pub fn on(function: Function, seller_id: &str, day: NaiveDate) -> Self {
        Self {
            function,
            seller_id: seller_id.to_owned(),
            day,
            counts: BTreeMap::new(),
        }
    }

    pub fn day(&self) -> NaiveDate {
        self.day
    }

    /// Adds `amount` (negative to take back what an earlier change counted).
    pub fn add(mut self, counter: impl Into<String>, amount: i64) -> Self {
        *self.counts.entry(counter.into()).or_default() += amount;
        self
    }

    /// Adds one when `yes`.
    pub fn count_if(self, yes: bool, counter: impl Into<String>) -> Self {
        if yes { self.add(counter, 1) } else { self }
    }

    /// The write, or `None` when every count nets to zero (an edit that changed nothing
    /// counted writes nothing).
    pub fn write(self) -> Option<Write> {
        let counts: Vec<(String, i64)> = self.counts.into_iter().filter(|(_, amount)| *amount != 0).collect();
        if counts.is_empty() {
            return None;
        }
        let expires = (self.day + Duration::days(KEPT_DAYS))
            .and_hms_opt(0, 0, 0)
            .map_or(0, |midnight| midnight.and_utc().timestamp());
        let mut write = Write::update(Table::Figures, tally_key(self.function, &self.seller_id, self.day))
            .set("seller_id", self.seller_id.as_str())
            .set("day", self.day.to_string())
            .set("expires_at", expires);
        for (counter, amount) in counts {
            write = write.add_from_zero(counter, amount);
        }
        Some(write)
    }
}

/// Units of one SKU sold in one UTC week (Monday to Sunday), an item of its own
/// (`order-intake#<seller>#week#<monday>#sku#<sku>`), so a seller's day tally holds the same
/// few counters however many SKUs it sells. Its `sku_week` and `units` are the keys of the
/// `TopSkus` index, which answers a week's best sellers in one query.
pub fn sold_in_week(seller_id: &str, sku: &str, at: DateTime<Utc>, units: i64) -> Write {
    let monday = monday_of(at.date_naive());
    let expires = (monday + Duration::days(KEPT_DAYS))
        .and_hms_opt(0, 0, 0)
        .map_or(0, |midnight| midnight.and_utc().timestamp());
    let key = Function::OrderIntake.key(&[seller_id, "week", &monday.to_string(), "sku", sku]);
    Write::update(Table::Figures, key)
        .set("seller_id", seller_id)
        .set("sku", sku)
        .set("sku_week", sku_week(seller_id, monday))
        .set("expires_at", expires)
        .add_from_zero("units", units)
}

fn sku_week(seller_id: &str, monday: NaiveDate) -> String {
    format!("{seller_id}#{monday}")
}

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The `count` SKUs the seller sold most of in the week starting `monday`, most first: one
/// query of `TopSkus`, whatever the catalogue. Which of SKUs tied at the last place is shown is
/// the index's choice; those shown are ordered by SKU within a tie.
pub async fn top_skus(
    store: &impl Storage,
    seller_id: &str,
    monday: NaiveDate,
    count: usize,
) -> Result<Vec<(String, i64)>, StoreError> {
    let query = Query::new(Index::TopSkus, sku_week(seller_id, monday))
        .highest_first()
        .first(count);
    let found = store.query(&query).await?;
    let mut top: Vec<(String, i64)> = found
        .items
        .iter()
        .map(|item| (text(item, "sku").to_owned(), number(item, "units")))
        .filter(|(_, units)| *units > 0)
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(top)
}

/// A seller's tallies of some functions over a run of days, read by key in `BatchGetItem`s
/// of up to 100: their number depends on the days asked for, never on the orders counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SellerDays {
    items: BTreeMap<(Function, NaiveDate), Item>,
}

impl SellerDays {
    pub async fn read(
        store: &impl Storage,
        seller_id: &str,
        functions: &[Function],
        days: RangeInclusive<NaiveDate>,
    ) -> Result<Self, StoreError> {
        let wanted: Vec<(Function, NaiveDate)> = functions
            .iter()
            .flat_map(|function| days_of(&days).map(move |day| (*function, day)))
            .collect();
        let keys: Vec<ItemKey> = wanted
            .iter()
            .map(|(function, day)| ItemKey::new(Table::Figures, tally_key(*function, seller_id, *day)))
            .collect();
        let found = store.get_many(&keys).await?;
        let items = wanted
            .into_iter()
            .zip(found)
            .filter_map(|(at, item)| Some((at, item?)))
            .collect();
        Ok(Self { items })
    }

    /// The sum of `counter` over `days`.
    pub fn sum(&self, function: Function, counter: &str, days: &RangeInclusive<NaiveDate>) -> i64 {
        self.on(function, days).map(|item| number(item, counter)).sum()
    }

    /// The sums of a family of counters (`revenue#…`) over `days`, by what follows the `#`.
    pub fn family(&self, function: Function, family: &str, days: &RangeInclusive<NaiveDate>) -> BTreeMap<String, i64> {
        let prefix = format!("{family}#");
        let mut sums = BTreeMap::new();
        for item in self.on(function, days) {
            for (name, value) in item {
                if let (Some(member), Some(amount)) = (name.strip_prefix(&prefix), value.as_i64()) {
                    *sums.entry(member.to_owned()).or_default() += amount;
                }
            }
        }
        sums.retain(|_, amount| *amount != 0);
        sums
    }

    /// The items of `function` over `days` (days without one left out).
    pub fn items(&self, function: Function, days: &RangeInclusive<NaiveDate>) -> Vec<&Item> {
        self.on(function, days).collect()
    }

    fn on<'a>(&'a self, function: Function, days: &RangeInclusive<NaiveDate>) -> impl Iterator<Item = &'a Item> {
        self.items
            .range((function, *days.start())..=(function, *days.end()))
            .map(|(_, item)| item)
    }
}

/// The days of a range, first to last.
pub fn days_of(days: &RangeInclusive<NaiveDate>) -> impl Iterator<Item = NaiveDate> + use<> {
    let (first, last) = (*days.start(), *days.end());
    first.iter_days().take_while(move |day| *day <= last)
}

/// The `count` days that end with `last`.
pub fn days_ending(last: NaiveDate, count: i64) -> RangeInclusive<NaiveDate> {
    (last - Duration::days(count - 1))..=last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{MemoryStorage, WriteSet};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[tokio::test]
    async fn tallies_add_up_per_function_and_day_and_families_sum_by_member() {
        let store = MemoryStorage::new();
        let tallies = [
            Tally::on(Function::OrderIntake, "sel_1", day("2026-11-20"))
                .add(counter::ORDERS, 1)
                .add(counter::revenue("EUR"), 1250),
            Tally::on(Function::OrderIntake, "sel_1", day("2026-11-21"))
                .add(counter::ORDERS, 2)
                .add(counter::revenue("EUR"), 500)
                .add(counter::revenue("USD"), 99),
            Tally::on(Function::OrderIntake, "sel_2", day("2026-11-21")).add(counter::ORDERS, 7),
            Tally::on(Function::ReviewMonitor, "sel_1", day("2026-11-21")).add(counter::ORDERS, 100),
        ];
        for tally in tallies {
            store.write(WriteSet::from(vec![tally.write().unwrap()])).await.unwrap();
        }
        let week = days_ending(day("2026-11-21"), 7);
        let read = SellerDays::read(&store, "sel_1", &[Function::OrderIntake], week.clone())
            .await
            .unwrap();
        assert_eq!(read.sum(Function::OrderIntake, counter::ORDERS, &week), 3);
        assert_eq!(read.sum(Function::ReviewMonitor, counter::ORDERS, &week), 0, "not read");
        let revenue = read.family(Function::OrderIntake, "revenue", &week);
        assert_eq!(
            revenue,
            BTreeMap::from([("EUR".to_owned(), 1750), ("USD".to_owned(), 99)])
        );
        let one_day = day("2026-11-21")..=day("2026-11-21");
        assert_eq!(read.sum(Function::OrderIntake, counter::ORDERS, &one_day), 2);
    }

    #[test]
    fn a_tally_that_nets_to_nothing_writes_nothing() {
        let undone = Tally::on(Function::ReviewMonitor, "sel_1", day("2026-11-20"))
            .add(counter::REVIEWS, 1)
            .add(counter::REVIEWS, -1)
            .count_if(false, counter::NEGATIVE_REVIEWS);
        assert_eq!(undone.write(), None);
    }

    #[test]
    fn days_ending_counts_back_from_the_last_day() {
        let week = days_ending(day("2026-11-29"), 7);
        assert_eq!(days_of(&week).collect::<Vec<_>>().len(), 7);
        assert_eq!(*week.start(), day("2026-11-23"));
    }
}
