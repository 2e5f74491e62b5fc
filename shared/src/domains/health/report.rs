//! The operator report: the marketplace's days across every listed seller, and the sellers
//! failing or at risk on a measure, drawn by [`super::page`]. Read from the day tallies only:
//! a few `BatchGetItem`s per seller, whatever the sellers sold. A run's pages each write a
//! [`ReportPart`] of their sellers; its last page sums the parts into the report.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::page::{OperatorReport, SellerAtRisk, Series};
use super::week::{DAYS_READ, SOURCES, most_first, readings};
use super::weekly::Listed;
use crate::domains::figures::measures::{Status, limit_text, percent};
use crate::domains::figures::tally::{SellerDays, counter, days_ending, days_of};
use crate::domains::questions::figures::{RESPONSE_BUCKETS_MINUTES, response_buckets};
use crate::mechanisms::function::Function;
use crate::storage::{BoxError, Item, ItemKey, Storage, StoreError, Table, Write, text};
use crate::values::pii::Unquoted;

/// The daily series the report charts: key, title, function and counter.
const DAILY: [(&str, &str, Function, &str); 9] = [
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
    (
        "claims",
        "Buyer protection claims opened",
        Function::RefundProcessor,
        counter::CLAIMS_OPENED,
    ),
    (
        "claims_lost",
        "Claims decided against sellers",
        Function::RefundProcessor,
        counter::CLAIMS_LOST,
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

/// One page's share of the operator report: its sellers' sums over the period, kept as an
/// item of its own until the run's last page puts the parts together. Its size follows the
/// page's sellers, never the marketplace's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportPart {
    pub sellers: usize,
    /// Each daily series (in the report's order), a value per day of the period.
    pub series: Vec<Vec<i64>>,
    pub reasons: BTreeMap<String, i64>,
    /// First responses by histogram bucket.
    pub responses: Vec<i64>,
    pub sellers_at_risk: Vec<SellerAtRisk>,
}

/// The report's period: `days` (1 to 366) ending `last_day`.
fn period_of(last_day: NaiveDate, days: i64) -> RangeInclusive<NaiveDate> {
    days_ending(last_day, days.clamp(1, 366))
}

/// The figures of `sellers` for the `days` days ending `last_day`: three `BatchGetItem`s of
/// day tallies per seller.
pub async fn report_part(
    store: &impl Storage,
    sellers: &[Listed],
    last_day: NaiveDate,
    days: i64,
) -> Result<ReportPart, StoreError> {
    let period = period_of(last_day, days);
    let read = days_ending(last_day, days.clamp(1, 366).max(DAYS_READ));
    let length = days_of(&period).count();
    let mut part = ReportPart {
        sellers: sellers.len(),
        series: vec![vec![0; length]; DAILY.len()],
        responses: vec![0; RESPONSE_BUCKETS_MINUTES.len() + 1],
        ..ReportPart::default()
    };
    for seller in sellers {
        let tallies = SellerDays::read(store, &seller.contact.seller_id, &SOURCES, read.clone()).await?;
        for (values, (_, _, function, counter)) in part.series.iter_mut().zip(DAILY) {
            for (value, day) in values.iter_mut().zip(days_of(&period)) {
                *value += tallies.sum(function, counter, &(day..=day));
            }
        }
        for (reason, count) in tallies.family(Function::ReviewMonitor, "reason", &period) {
            *part.reasons.entry(reason).or_default() += count;
        }
        for (count, (_, bucket)) in part.responses.iter_mut().zip(response_buckets()) {
            *count += tallies.sum(Function::BuyerMessaging, &bucket, &period);
        }
        part.sellers_at_risk.extend(at_risk(seller, &tallies, last_day));
    }
    Ok(part)
}

/// The report of the `days` days ending `last_day`, from every page's part.
pub fn assemble(parts: &[ReportPart], last_day: NaiveDate, days: i64, now: DateTime<Utc>) -> OperatorReport {
    let period = period_of(last_day, days);
    let length = days_of(&period).count();
    let mut report = OperatorReport {
        generated_at: now,
        days: days_of(&period).collect(),
        series: DAILY
            .iter()
            .map(|(key, title, _, _)| Series {
                key,
                title: (*title).to_owned(),
                values: vec![0; length],
            })
            .collect(),
        negative_reasons: Vec::new(),
        response_times: Vec::new(),
        sellers_at_risk: Vec::new(),
        sellers: 0,
    };
    let mut reasons = BTreeMap::new();
    let mut responses = vec![0; RESPONSE_BUCKETS_MINUTES.len() + 1];
    for part in parts {
        report.sellers += part.sellers;
        for (series, values) in report.series.iter_mut().zip(&part.series) {
            for (value, added) in series.values.iter_mut().zip(values) {
                *value += added;
            }
        }
        for (reason, count) in &part.reasons {
            *reasons.entry(reason.clone()).or_default() += count;
        }
        for (count, added) in responses.iter_mut().zip(&part.responses) {
            *count += added;
        }
        report.sellers_at_risk.extend(part.sellers_at_risk.iter().cloned());
    }
    report.negative_reasons = most_first(reasons);
    report.response_times = response_labels().into_iter().zip(responses).collect();
    report.sellers_at_risk.sort_by_key(|seller| seller.status != "failing");
    report
}

/// Where page `page` of the run at `run_at` keeps its part.
pub fn part_key(run_at: DateTime<Utc>, page: u32) -> String {
    Function::SellerHealth.key(&["report", &run_at.to_rfc3339(), "part", &page.to_string()])
}

/// The part as its item: written by its page (again, the same, if the page runs twice), kept
/// two days.
pub fn put_part(part: &ReportPart, run_at: DateTime<Utc>, page: u32) -> Result<Write, StoreError> {
    let json = serde_json::to_string(part).map_err(|error| StoreError::new("report part", error.to_string()))?;
    let mut item = Item::new();
    item.insert("pk".to_owned(), part_key(run_at, page).into());
    item.insert("part".to_owned(), json.into());
    item.insert("expires_at".to_owned(), (run_at + Duration::days(2)).timestamp().into());
    Ok(Write::put(Table::Figures, item))
}

/// The parts of the run's first `pages` pages, in `BatchGetItem`s of 100; `None` while one is
/// not written yet (its page has not run, or is running).
pub async fn read_parts(
    store: &impl Storage,
    run_at: DateTime<Utc>,
    pages: u32,
) -> Result<Option<Vec<ReportPart>>, StoreError> {
    let keys: Vec<ItemKey> = (0..pages)
        .map(|page| ItemKey::new(Table::Figures, part_key(run_at, page)))
        .collect();
    let mut parts = Vec::with_capacity(keys.len());
    for item in store.get_many(&keys).await? {
        let Some(item) = item else { return Ok(None) };
        let part = serde_json::from_str(text(&item, "part"))
            .map_err(|error| StoreError::new("report part", Unquoted(&error).to_string()))?;
        parts.push(part);
    }
    Ok(Some(parts))
}

/// The claim that the week's operator report is written: later runs of its day leave it.
pub fn operator_claim_key(last_day: NaiveDate) -> String {
    Function::SellerHealth.key(&["operator", &last_day.to_string()])
}

/// Whether the report ending `last_day` is written already.
pub async fn operator_report_written(store: &impl Storage, last_day: NaiveDate) -> Result<bool, StoreError> {
    Ok(store
        .get(Table::Idempotency, &operator_claim_key(last_day))
        .await?
        .is_some())
}

/// Records that the report ending `last_day` is on the shelf, kept past its day.
pub fn operator_report_claim(last_day: NaiveDate, now: DateTime<Utc>) -> Write {
    let mut item = Item::new();
    item.insert("pk".to_owned(), operator_claim_key(last_day).into());
    item.insert("written_at".to_owned(), now.to_rfc3339().into());
    item.insert("expires_at".to_owned(), (now + Duration::days(30)).timestamp().into());
    Write::put(Table::Idempotency, item)
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
            status: reading.status.as_str().to_owned(),
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
