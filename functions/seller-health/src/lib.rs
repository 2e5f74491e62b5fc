//! Seller health: every hour, the weekly reports that are due.
//!
//! - Each listed seller whose Monday 08:00 (in its time zone) has come gets its week by email,
//!   once: a claim and the email's outbox entry in one transaction (see
//!   [`backoffice::domains::health::weekly`]).
//! - On Monday from 08:00 UTC, the operator report across sellers is written to the reports
//!   bucket, one object per week (writing it again writes the same key).
//!
//! The run's clock is the schedule's `time`: EventBridge stamps each firing, so a retried
//! event reproduces its run instead of reporting another hour. A stamp outside the six hours
//! a retry can take is refused, so no invocation can choose the week reported.

mod s3;
#[cfg(test)]
mod tests;

use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::health::page::render;
use backoffice::domains::health::report::{
    ReportShelf, last_day_before, operator_report, operator_report_due, report_key,
};
use backoffice::domains::health::week::stock_at_risk;
use backoffice::domains::health::weekly::{Report, listed_sellers, report_due, send_weekly_report};
use backoffice::domains::stock::records::watchlist;
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::trigger::{InvocationError, Trigger, schedule_clock};
use backoffice::storage::{Storage, StoreError, Table};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument;

pub use s3::S3Shelf;

/// The days an operator report charts.
pub const REPORT_DAYS: i64 = 28;

/// Seller health over its store and the shelf its operator reports go to.
pub struct SellerHealth<Store, Shelf> {
    store: Store,
    shelf: Shelf,
    /// Whether a schedule's stamp is taken whatever its time ([`REPLAYS_SCHEDULES`]).
    replays_schedules: bool,
}

/// Set by the local stack alone, whose demo and bench fire next Monday's run today. The
/// template never sets it (`tests/tests/template_checks.rs` proves so): deployed, a stamp
/// outside a retry's six hours is refused.
pub const REPLAYS_SCHEDULES: &str = "REPLAYS_SCHEDULES";

/// The function as Lambda runs it.
pub type OnAws = SellerHealth<DynamoStorage, S3Shelf>;

/// As the template deploys it: the sellers and their day tallies, the stock watchlist, its
/// claims, the outbox, and the reports bucket.
impl Deployed for OnAws {
    const FUNCTION: Function = Function::SellerHealth;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Sellers,
        Table::Figures,
        Table::Inventory,
        Table::Outbox,
    ];

    fn deployed(env: &dyn Source, aws: Aws) -> Result<Self, ConfigError> {
        let shelf = S3Shelf::new(&aws.config, env.required("REPORTS_BUCKET")?);
        let mut health = Self::new(aws.storage, shelf);
        health.replays_schedules = env.flag(REPLAYS_SCHEDULES, false)?;
        Ok(health)
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Run {
    pub sellers: usize,
    pub reports_sent: usize,
    pub sent_before: usize,
    /// Reports whose write failed this run: each is tried again by the next hour's.
    pub reports_failed: usize,
    /// The operator report's key, when one was due.
    pub operator_report: Option<String>,
}

impl<Store: Storage, Shelf: ReportShelf> SellerHealth<Store, Shelf> {
    pub fn new(store: Store, shelf: Shelf) -> Self {
        Self {
            store,
            shelf,
            replays_schedules: false,
        }
    }

    /// The reports due at `at`: each seller's at its Monday 08:00, the operator's at 08:00 UTC.
    pub async fn run(&self, at: DateTime<Utc>) -> Result<Run, InvocationError> {
        let incomplete = |error: StoreError| InvocationError::Incomplete(error.to_string());
        let sellers = listed_sellers(&self.store).await.map_err(incomplete)?;
        let due: Vec<_> = sellers
            .iter()
            .filter_map(|seller| Some((seller, report_due(seller.time_zone, at)?)))
            .collect();
        let mut run = Run {
            sellers: sellers.len(),
            ..Run::default()
        };
        if !due.is_empty() {
            let stock = watchlist(&self.store).await.map_err(incomplete)?;
            let mut at_risk = stock_at_risk(&stock.items, at);
            for (seller, monday) in due {
                let span = tracing::info_span!("weekly_report", seller_id = %seller.contact.seller_id, %monday);
                let skus = at_risk.remove(&seller.contact.seller_id).unwrap_or_default();
                // One seller's failure is that seller's: the others and the operator report go
                // on, and the next hour's run (its report is due all day) tries it again.
                match send_weekly_report(&self.store, seller, monday, skus, at)
                    .instrument(span.clone())
                    .await
                {
                    Ok(Report::Sent(_)) => run.reports_sent += 1,
                    Ok(Report::SentBefore) => run.sent_before += 1,
                    Err(error) => {
                        span.in_scope(|| tracing::error!(%error, "weekly report not sent; the next hour tries again"));
                        run.reports_failed += 1;
                    }
                }
            }
        }
        if let Some(monday) = operator_report_due(at) {
            let last_day = last_day_before(monday);
            let report = operator_report(&self.store, &sellers, last_day, REPORT_DAYS, at)
                .await
                .map_err(incomplete)?;
            let key = report_key(last_day);
            self.shelf
                .put(&key, render(&report))
                .await
                .map_err(|error| InvocationError::Incomplete(error.to_string()))?;
            run.operator_report = Some(key);
        }
        metrics::count("SellerReportsSent", run.reports_sent as u64, &[]);
        metrics::count("SellerReportsFailed", run.reports_failed as u64, &[]);
        tracing::info!(?run, "seller health run");
        Ok(run)
    }
}

/// Every invocation is the hourly schedule.
impl<Store: Storage, Shelf: ReportShelf> Handler for SellerHealth<Store, Shelf> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Schedule(event) => {
                let at = match (self.replays_schedules, event.time) {
                    (true, Some(time)) => time,
                    _ => schedule_clock(&event, now)?,
                };
                Ok(serde_json::to_value(self.run(at).await?)?)
            }
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}
