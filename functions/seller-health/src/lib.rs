//! Seller health: every hour, the weekly reports that are due, a page of sellers at a time
//! (see [`backoffice::domains::health::run`]): the schedule starts a run with its first page,
//! and each page hands the next on through the outbox to this function's queue.
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

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::health::page::render;
use backoffice::domains::health::report::{
    ReportShelf, assemble, last_day_before, operator_report_claim, operator_report_due, operator_report_written,
    put_part, read_parts, report_key, report_part,
};
use backoffice::domains::health::run::{RunPage, SELLERS_PER_PAGE};
use backoffice::domains::health::week::seller_stock_at_risk;
use backoffice::domains::health::weekly::{Listed, Report, listed_page, report_due, send_weekly_report};
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::batch::process_batch;
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::outbox::hand_on;
use backoffice::mechanisms::trigger::{InvocationError, Trigger, schedule_clock};
use backoffice::storage::{Storage, StoreError, Table, WriteSet};
use chrono::{DateTime, NaiveDate, Utc};
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
    sellers_per_page: usize,
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

/// What one page of a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Run {
    pub page: u32,
    /// The listed sellers this page looked at.
    pub sellers: usize,
    pub reports_sent: usize,
    pub sent_before: usize,
    /// Reports whose write failed this run: each is tried again by the next hour's.
    pub reports_failed: usize,
    /// Whether the page after this one was handed on.
    pub continues: bool,
    /// The operator report's key, when this page, the run's last, wrote it.
    pub operator_report: Option<String>,
}

impl<Store: Storage, Shelf: ReportShelf> SellerHealth<Store, Shelf> {
    pub fn new(store: Store, shelf: Shelf) -> Self {
        Self {
            store,
            shelf,
            replays_schedules: false,
            sellers_per_page: SELLERS_PER_PAGE,
        }
    }

    /// With pages of `size` sellers (tests take small ones, to see pages handed on).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.sellers_per_page = size.max(1);
        self
    }

    /// Starts the run the schedule stamped `at`: its first page, which decides whether the
    /// run writes the operator report (due at 08:00 UTC on Monday, until one is written).
    pub async fn run(&self, at: DateTime<Utc>) -> Result<Run, InvocationError> {
        let incomplete = |error: StoreError| InvocationError::Incomplete(error.to_string());
        let operator_report = match operator_report_due(at).map(last_day_before) {
            Some(last_day)
                if !operator_report_written(&self.store, last_day)
                    .await
                    .map_err(incomplete)? =>
            {
                Some(last_day)
            }
            _ => None,
        };
        self.run_page(&RunPage::first(at, operator_report), at).await
    }

    /// One page of a run: the next page handed on first, then the reports due among the
    /// page's sellers (each seller's failure its own), then its part of the operator report,
    /// and on the last page the report itself.
    pub async fn run_page(&self, page: &RunPage, now: DateTime<Utc>) -> Result<Run, InvocationError> {
        let incomplete = |error: StoreError| InvocationError::Incomplete(error.to_string());
        let at = page.run_at;
        let listed = listed_page(&self.store, self.sellers_per_page, page.after.clone())
            .await
            .map_err(incomplete)?;
        let mut run = Run {
            page: page.page,
            sellers: listed.items.len(),
            continues: listed.next.is_some(),
            ..Run::default()
        };
        if let Some(next) = &listed.next {
            hand_on(&self.store, &page.next(next.clone()), now)
                .await
                .map_err(incomplete)?;
        }
        for seller in &listed.items {
            let Some(monday) = report_due(seller.time_zone, at) else {
                continue;
            };
            let span = tracing::info_span!("weekly_report", seller_id = %seller.contact.seller_id, %monday);
            // One seller's failure is that seller's: the others and the operator report go
            // on, and the next hour's run (its report is due all day) tries it again.
            let sent = async {
                let stock = seller_stock_at_risk(&self.store, &seller.contact.seller_id, at).await?;
                send_weekly_report(&self.store, seller, monday, stock, at).await
            }
            .instrument(span.clone())
            .await;
            match sent {
                Ok(Report::Sent(_)) => run.reports_sent += 1,
                Ok(Report::SentBefore) => run.sent_before += 1,
                Err(error) => {
                    span.in_scope(|| tracing::error!(%error, "weekly report not sent; the next hour tries again"));
                    run.reports_failed += 1;
                }
            }
        }
        if let Some(last_day) = page.operator_report {
            run.operator_report = self
                .report_page(page, &listed.items, listed.next.is_none(), last_day, now)
                .await?;
        }
        metrics::count("SellerReportsSent", run.reports_sent as u64, &[]);
        metrics::count("SellerReportsFailed", run.reports_failed as u64, &[]);
        tracing::info!(?run, "seller health page");
        Ok(run)
    }

    /// The page's part of the operator report; on the last page, every part put together
    /// and shelved. A last page that finds an earlier part missing (its page still running)
    /// fails, and its queue delivers it again.
    async fn report_page(
        &self,
        page: &RunPage,
        sellers: &[Listed],
        last: bool,
        last_day: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, InvocationError> {
        let incomplete = |error: StoreError| InvocationError::Incomplete(error.to_string());
        let part = report_part(&self.store, sellers, last_day, REPORT_DAYS)
            .await
            .map_err(incomplete)?;
        let write = put_part(&part, page.run_at, page.page).map_err(incomplete)?;
        self.store
            .write(WriteSet::from(vec![write]))
            .await
            .map_err(|failure| InvocationError::Incomplete(failure.to_string()))?;
        if !last {
            return Ok(None);
        }
        let parts = read_parts(&self.store, page.run_at, page.page + 1)
            .await
            .map_err(incomplete)?
            .ok_or_else(|| {
                InvocationError::Incomplete(
                    "an earlier page's part of the operator report is not written yet".to_owned(),
                )
            })?;
        let report = assemble(&parts, last_day, REPORT_DAYS, now);
        let key = report_key(last_day);
        self.shelf
            .put(&key, render(&report))
            .await
            .map_err(|error| InvocationError::Incomplete(error.to_string()))?;
        self.store
            .write(WriteSet::from(vec![operator_report_claim(last_day, now)]))
            .await
            .map_err(|failure| InvocationError::Incomplete(failure.to_string()))?;
        Ok(Some(key))
    }

    /// Pages handed on through the queue, each alone: one that fails is delivered again
    /// without the others.
    pub async fn handle_pages(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch(batch, |follow_up: FollowUp, _| async move {
            match follow_up {
                FollowUp::SellerHealthPage(page) => {
                    let span = tracing::info_span!("seller_health_page", run = %page.run_at, page = page.page);
                    self.run_page(&page, now).instrument(span).await?;
                    Ok(())
                }
                other => Err(format!("a {} follow-up on the seller health queue", other.kind()).into()),
            }
        })
        .await
    }
}

/// Every invocation is the hourly schedule or a batch of its pages.
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
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.handle_pages(batch, now).await)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}
