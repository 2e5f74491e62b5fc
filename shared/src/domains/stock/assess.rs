//! How a SKU stands: available stock against its safety stock, and its days of cover at the
//! recent sales rate against its restock lead time.
//!
//! **The sales rate** is the units reserved by orders over the last [`SALES_WINDOW_DAYS`]
//! (kept per day on the SKU by order intake, in the reservation's own write), divided by the
//! days of history in that window: from the first day with a sale to today, at least
//! [`MIN_HISTORY_DAYS`] so that one busy first day does not read as a trend. Cancellations do
//! not take sales back: they were demand all the same. Integer arithmetic throughout:
//! running out means `available / (units / days) < lead time`, i.e.
//! `available × days < lead time × units`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const SALES_WINDOW_DAYS: i64 = 28;
pub const MIN_HISTORY_DAYS: i64 = 7;

/// From no problem to the worst; a higher level is a new, worse problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Healthy,
    /// Forecast to sell out before a restock ordered today could arrive.
    RunningOut,
    /// At or below its safety stock.
    Low,
    Out,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::RunningOut => "running_out",
            Level::Low => "low",
            Level::Out => "out",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Level::Healthy, Level::RunningOut, Level::Low, Level::Out]
            .into_iter()
            .find(|level| level.as_str() == text)
    }
}

/// One SKU's stock as stored, with what the assessment reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockItem {
    pub seller_id: String,
    pub sku: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
    pub safety_stock: i64,
    pub lead_time_days: i64,
    /// Units reserved per day (UTC), as recorded; may hold days older than the window.
    pub daily_sales: BTreeMap<NaiveDate, i64>,
    pub alert: AlertState,
    /// Whether the SKU is on the sweep's watchlist now.
    pub watched: bool,
}

/// The problem a seller was last told about, and how many problems the SKU has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertState {
    pub level: Level,
    /// Counts raised alerts; a new problem is a new episode.
    pub episode: u32,
}

impl Default for AlertState {
    fn default() -> Self {
        Self {
            level: Level::Healthy,
            episode: 0,
        }
    }
}

/// Recent sales: `units` over `days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesRate {
    pub units: i64,
    pub days: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    pub level: Level,
    pub rate: SalesRate,
    /// Whole days the available stock lasts at the rate; `None` without sales.
    pub days_of_cover: Option<i64>,
}

pub fn window_start(today: NaiveDate) -> NaiveDate {
    today - Duration::days(SALES_WINDOW_DAYS - 1)
}

pub fn sales_rate(daily_sales: &BTreeMap<NaiveDate, i64>, today: NaiveDate) -> SalesRate {
    let recent = daily_sales
        .range(window_start(today)..=today)
        .filter(|(_, units)| **units > 0);
    let mut first = None;
    let mut units = 0;
    for (day, sold) in recent {
        first.get_or_insert(*day);
        units += sold;
    }
    let history = first.map_or(0, |first| (today - first).num_days() + 1);
    SalesRate {
        units,
        days: history.clamp(MIN_HISTORY_DAYS, SALES_WINDOW_DAYS),
    }
}

pub fn assess(item: &StockItem, now: DateTime<Utc>) -> Assessment {
    let rate = sales_rate(&item.daily_sales, now.date_naive());
    let days_of_cover = (rate.units > 0).then(|| item.available.max(0) * rate.days / rate.units);
    let running_out = rate.units > 0 && item.available * rate.days < item.lead_time_days * rate.units;
    let level = if item.available <= 0 {
        Level::Out
    } else if item.available <= item.safety_stock {
        Level::Low
    } else if running_out {
        Level::RunningOut
    } else {
        Level::Healthy
    };
    Assessment {
        level,
        rate,
        days_of_cover,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn item(available: i64, safety_stock: i64, lead_time_days: i64) -> StockItem {
        StockItem {
            seller_id: "sel_1".into(),
            sku: "POT".into(),
            on_hand: available,
            reserved: 0,
            available,
            safety_stock,
            lead_time_days,
            daily_sales: BTreeMap::new(),
            alert: AlertState::default(),
            watched: false,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    fn selling(mut item: StockItem, per_day: i64, days: i64) -> StockItem {
        let today = now().date_naive();
        for back in 0..days {
            item.daily_sales.insert(today - Duration::days(back), per_day);
        }
        item
    }

    #[test]
    fn ten_a_day_with_25_available_and_a_5_day_lead_time_is_running_out() {
        let assessment = assess(&selling(item(25, 5, 5), 10, 7), now());
        assert_eq!(assessment.rate, SalesRate { units: 70, days: 7 });
        assert_eq!(assessment.days_of_cover, Some(2));
        assert_eq!(assessment.level, Level::RunningOut);
        let enough = assess(&selling(item(60, 5, 5), 10, 7), now());
        assert_eq!((enough.level, enough.days_of_cover), (Level::Healthy, Some(6)));
    }

    #[test]
    fn out_is_worse_than_low_which_is_worse_than_running_out() {
        assert_eq!(assess(&item(0, 5, 5), now()).level, Level::Out);
        assert_eq!(assess(&item(5, 5, 5), now()).level, Level::Low);
        assert_eq!(assess(&selling(item(4, 5, 5), 10, 7), now()).level, Level::Low);
        assert_eq!(
            assess(&item(6, 5, 5), now()).level,
            Level::Healthy,
            "no sales, no forecast"
        );
        assert!(Level::Out > Level::Low && Level::Low > Level::RunningOut && Level::RunningOut > Level::Healthy);
    }

    #[test]
    fn the_rate_reads_only_the_window_and_at_least_a_week_of_history() {
        let today = now().date_naive();
        let mut sales = BTreeMap::new();
        sales.insert(today, 14);
        assert_eq!(
            sales_rate(&sales, today),
            SalesRate { units: 14, days: 7 },
            "one busy first day"
        );
        sales.insert(today - Duration::days(27), 28);
        assert_eq!(sales_rate(&sales, today), SalesRate { units: 42, days: 28 });
        sales.insert(today - Duration::days(28), 1000);
        assert_eq!(sales_rate(&sales, today).units, 42, "older than the window");
    }
}
