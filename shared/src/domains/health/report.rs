//! The operator report: the marketplace's days across every listed seller, and the sellers
//! failing or at risk on a measure, drawn by [`super::page`]. Read from the day tallies only:
//! a few `BatchGetItem`s per seller, whatever the sellers sold.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::page::{OperatorReport, SellerAtRisk, Series};
use super::week::{DAYS_READ, SOURCES, most_first, readings};
use super::weekly::Listed;
use crate::domains::figures::measures::{Status, limit_text, percent};
use crate::domains::figures::tally::{SellerDays, counter, days_ending, days_of};
use crate::domains::questions::figures::{RESPONSE_BUCKETS_MINUTES, response_buckets};
use crate::mechanisms::function::Function;
use crate::storage::{BoxError, Storage, StoreError};

/// The daily series the report charts: key, title, function and counter.
const DAILY: [(&str, &str, Function, &str); 7] = [
    ("orders", "Orders per day", Function::OrderIntake, counter::ORDERS),
    (
        "backorders",
        "Orders backordered",
        Function::OrderIntake,
        counter::BACKORDERED,
    ),
    (
        "stock_alerts",
        "Stock alerts raised",
        Function::StockAlerts,
        counter::STOCK_ALERTS,
    ),
    (
        "negative_reviews",
        "Negative reviews",
        Function::ReviewMonitor,
        counter::NEGATIVE_REVIEWS,
    ),
    (
        "refunds",
        "Refunds approved",
        Function::RefundProcessor,
        counter::REFUNDS,
    ),
    // Every order found past its ship-by date unshipped (by the reply clock's sweep), not
    // only those shipped late since.
    (
        "late_shipments",
        "Orders past their ship-by date",
        Function::BuyerMessaging,
        "late_shipments",
    ),
    (
        "breaches",
        "Questions past 24 hours",
        Function::BuyerMessaging,
        "breaches",
    ),
];

/// The `days` days ending `last_day`, across `sellers`.
pub async fn operator_report(
    store: &impl Storage,
    sellers: &[Listed],
    last_day: NaiveDate,
    days: i64,
    now: DateTime<Utc>,
) -> Result<OperatorReport, StoreError> {
    let days = days.clamp(1, 366);
    let period = days_ending(last_day, days);
    let read = days_ending(last_day, days.max(DAYS_READ));
    let mut report = OperatorReport {
        generated_at: now,
        days: days_of(&period).collect(),
        series: DAILY
            .iter()
            .map(|(key, title, _, _)| Series {
                key,
                title: (*title).to_owned(),
                values: vec![0; days as usize],
            })
            .collect(),
        negative_reasons: Vec::new(),
        response_times: Vec::new(),
        sellers_at_risk: Vec::new(),
        sellers: sellers.len(),
    };
    let mut reasons = BTreeMap::new();
    let mut responses = vec![0; RESPONSE_BUCKETS_MINUTES.len() + 1];
    for seller in sellers {
        let seller_id = &seller.contact.seller_id;
        let tallies = SellerDays::read(store, seller_id, &SOURCES, read.clone()).await?;
        for (series, (_, _, function, counter)) in report.series.iter_mut().zip(DAILY) {
            for (value, day) in series.values.iter_mut().zip(days_of(&period)) {
                *value += tallies.sum(function, counter, &(day..=day));
            }
        }
        for (reason, count) in tallies.family(Function::ReviewMonitor, "reason", &period) {
            *reasons.entry(reason).or_default() += count;
        }
        for (count, (_, bucket)) in responses.iter_mut().zip(response_buckets()) {
            *count += tallies.sum(Function::BuyerMessaging, &bucket, &period);
        }
        report.sellers_at_risk.extend(at_risk(seller, &tallies, last_day));
    }
    report.negative_reasons = most_first(reasons);
    report.response_times = response_labels().into_iter().zip(responses).collect();
    report.sellers_at_risk.sort_by_key(|seller| seller.status != "failing");
    Ok(report)
}

fn at_risk(seller: &Listed, tallies: &SellerDays, last_day: NaiveDate) -> Vec<SellerAtRisk> {
    readings(tallies, last_day)
        .iter()
        .filter(|reading| matches!(reading.status, Status::Failing | Status::AtRisk))
        .map(|reading| SellerAtRisk {
            seller_id: seller.contact.seller_id.clone(),
            name: seller.contact.name.clone(),
            measure: reading.measure.title(false).to_owned(),
            value: reading.rate_bp.map(percent).unwrap_or_default(),
            threshold: limit_text(reading.measure.limit()),
            status: reading.status.as_str(),
        })
        .collect()
}

/// The histogram's buckets as the chart labels them: `≤ 15 min` … `≤ 48 h`, `> 48 h`.
fn response_labels() -> Vec<String> {
    let shown = |minutes: i64| match minutes {
        m if m < 60 => format!("{m} min"),
        m => format!("{} h", m / 60),
    };
    let last = RESPONSE_BUCKETS_MINUTES[RESPONSE_BUCKETS_MINUTES.len() - 1];
    response_buckets()
        .into_iter()
        .map(|(bound, _)| match bound {
            Some(bound) => format!("≤ {}", shown(bound)),
            None => format!("> {}", shown(last)),
        })
        .collect()
}

/// Where operator reports are kept: S3 in production, memory in the handler's tests.
pub trait ReportShelf: Send + Sync {
    fn put(&self, key: &str, html: String) -> impl std::future::Future<Output = Result<(), BoxError>> + Send;
}

/// Reports kept in memory, by key.
#[derive(Debug, Clone, Default)]
pub struct KeptReports(std::sync::Arc<std::sync::Mutex<BTreeMap<String, String>>>);

impl KeptReports {
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }
}

impl ReportShelf for KeptReports {
    async fn put(&self, key: &str, html: String) -> Result<(), BoxError> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.to_owned(), html);
        Ok(())
    }
}

/// The report's object key in the reports bucket: one per day it covers up to.
pub fn report_key(last_day: NaiveDate) -> String {
    format!("operator/{last_day}.html")
}

/// The Monday a weekly operator report is due for at `now` (UTC): from 08:00 that Monday for
/// a day, like the sellers' reports.
pub fn operator_report_due(now: DateTime<Utc>) -> Option<NaiveDate> {
    super::weekly::report_due(chrono_tz::Tz::UTC, now)
}

/// The day a report due on `monday` ends with.
pub fn last_day_before(monday: NaiveDate) -> NaiveDate {
    monday - Duration::days(1)
}
