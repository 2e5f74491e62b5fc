//! Stock alerts: sellers' counts and restocks (`inventory.adjusted`, through the Function
//! URL), the stock changes order intake and restocks send (the stock change queue), and the
//! hourly sweep.
//!
//! - An adjustment is one transaction: the event's completed claim, the stock, the seller's
//!   contact if given, and a stock change in the outbox, which the outbox relay sends back here.
//! - A stock change that may have freed stock fills the seller's backordered orders for those
//!   SKUs, oldest first, each all or nothing. Then the SKUs are assessed: a new problem goes
//!   into one digest for the seller, written with the SKUs' new alert states in one
//!   transaction (the digest email waits in the outbox), so a retry never alerts twice.
//! - The sweep assesses the watchlist (SKUs with a problem, or whose stock moved since they
//!   were assessed) through a sparse index: its cost grows with those, not the catalogue.
//! - Neither grows without bound in one invocation: the sweep assesses a page of the watchlist
//!   and backorder filling reads a page of the seller's backorders, then each hands the rest on
//!   through the outbox as a message of its own (see [`Pages`]).

use std::collections::BTreeMap;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::email::EmailContent;
use backoffice::domains::email::request::SellerDigest;
use backoffice::domains::email::request::email_entry;
use backoffice::domains::orders::records::backordered;
use backoffice::domains::orders::{Fill, fill_backorder};
use backoffice::domains::sellers::seller_contact;
use backoffice::domains::sellers::update::{SellerUpdatedData, update_seller};
use backoffice::domains::stock::adjustment::{InventoryAdjustedData, adjust_stock};
use backoffice::domains::stock::alerts::{self, Evaluated};
use backoffice::domains::stock::assess::{StockItem, assess};
use backoffice::domains::stock::records::{Recorded, record_evaluations, stock_items, watchlist_page};
use backoffice::follow_ups::{FollowUp, StockChange, SweepPage};
use backoffice::mechanisms::batch::process_batch_grouped;
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::Claim;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::outbox::{OutboxEntry, hand_on};
use backoffice::mechanisms::trigger::{InvocationError, Trigger};
use backoffice::mechanisms::webhook::{
    Accepted, Envelope, NotAccepted, Rejection, SigningSecrets, WebhookEdge, Webhooks, not_handled_yet, parse_data,
};
use backoffice::storage::{BoxError, Cursor, Storage, StoreError, Table, back_off};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;

/// SKUs per evaluation write set: their updates and the digest within DynamoDB's 100 items.
const SKUS_PER_RECORD: usize = 90;
/// Evaluations that lost a race (an order or restock of one of their SKUs since they read it)
/// read and assess again this often; then the message is retried by the queue.
const ATTEMPTS: u32 = 5;

/// Stock alerts over its store.
pub struct StockAlerts<Store> {
    edge: WebhookEdge,
    store: Store,
    pages: Pages,
}

/// How much of a list one invocation or message takes on before it hands the rest on: enough
/// to be worth a message, few enough that a page stays well within the function's timeout
/// (each SKU or order may cost a transaction) whatever the catalogue's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pages {
    /// Watched SKUs per page of the sweep.
    pub sweep: usize,
    /// A seller's backordered orders read per stock change.
    pub backorders: usize,
}

impl Default for Pages {
    fn default() -> Self {
        Self {
            sweep: 250,
            backorders: 25,
        }
    }
}

/// As the template deploys it, over DynamoDB: stock, the orders its restocks fill, sellers'
/// contacts, claims and the outbox.
/// The function as Lambda runs it.
pub type OnAws = StockAlerts<DynamoStorage>;

impl Deployed for OnAws {
    const FUNCTION: Function = Function::StockAlerts;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Inventory,
        Table::Orders,
        Table::Outbox,
        Table::Sellers,
        Table::Figures,
    ];

    fn deployed(_: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        Ok(Self::new(aws.take_signing_secrets(), aws.storage))
    }
}

/// What one evaluation or sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub skus_assessed: usize,
    pub alerts_raised: usize,
    pub digests: usize,
    /// Items the sweep read: watchlist index entries, then the items (0 for events).
    pub items_read: usize,
    /// Sellers whose new alerts wait for a contact (see `AlertError::NoContact`).
    pub sellers_without_contact: Vec<String>,
    /// Whether the sweep handed the watchlist's next page on to a message of its own.
    pub continues: bool,
}

impl Summary {
    /// Adds another page's or chunk's summary to this one.
    pub fn add(&mut self, other: Summary) {
        self.skus_assessed += other.skus_assessed;
        self.alerts_raised += other.alerts_raised;
        self.digests += other.digests;
        self.items_read += other.items_read;
        for seller in other.sellers_without_contact {
            if !self.sellers_without_contact.contains(&seller) {
                self.sellers_without_contact.push(seller);
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("seller {0} has no contact for alerts; send one with seller.updated")]
    NoContact(String),
    #[error("the SKUs kept changing while they were assessed")]
    KeptChanging,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The group a queued follow-up belongs to: its seller; a page of the sweep, or anything else,
/// is a group of its own.
fn group_of(follow_up: &FollowUp) -> String {
    match follow_up {
        FollowUp::StockChange(change) => change.seller_id.clone(),
        other => format!("({} {})", other.kind(), other.dedupe_key()),
    }
}

/// What names a scheduled sweep: its schedule's time, the same however often it is delivered
/// (an event without one, which EventBridge never sends, is named by when it arrived).
fn sweep_run(event: &EventBridgeEvent, now: DateTime<Utc>) -> String {
    event.time.unwrap_or(now).format("%Y-%m-%dT%H:%M").to_string()
}

/// The distinct SKUs of some changes.
fn skus_of<'a>(changes: impl Iterator<Item = &'a StockChange>) -> Vec<String> {
    let mut skus: Vec<String> = changes.flat_map(|change| change.skus.iter().cloned()).collect();
    skus.sort();
    skus.dedup();
    skus
}

/// `inventory.adjusted` (a count or restock) and `seller.updated` (the seller's contact and
/// settings), each committed with its claim.
impl<Store: Storage> Webhooks for StockAlerts<Store> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        match envelope.event_type.as_str() {
            "inventory.adjusted" => {
                let adjustment = parse_data::<InventoryAdjustedData>(&envelope.data)?
                    .validate()
                    .map_err(Rejection::from)?;
                let counted_at = envelope.ordering_time(claim.now)?;
                Ok(adjust_stock(&self.store, &adjustment, &claim, &envelope.id, counted_at).await?)
            }
            "seller.updated" => {
                let update = parse_data::<SellerUpdatedData>(&envelope.data)?
                    .validate()
                    .map_err(Rejection::from)?;
                let updated_at = envelope.ordering_time(claim.now)?;
                update_seller(&self.store, &update, updated_at, &envelope.id, &claim).await
            }
            _ => Err(not_handled_yet(&envelope).into()),
        }
    }
}

/// Every invocation: a webhook, a batch of stock changes, or the schedule.
impl<Store: Storage> Handler for StockAlerts<Store> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.handle_stock_changes(batch, now).await)?),
            Trigger::Schedule(event) => Ok(serde_json::to_value(
                self.sweep(&sweep_run(&event, now), None, now).await?,
            )?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}

impl<Store: Storage> StockAlerts<Store> {
    pub fn new(secrets: impl Into<SigningSecrets>, store: Store) -> Self {
        Self {
            edge: WebhookEdge::new(Function::StockAlerts, secrets),
            store,
            pages: Pages::default(),
        }
    }

    /// With other page sizes (tests take small ones, to see the hand-over with a few items).
    pub fn with_pages(mut self, pages: Pages) -> Self {
        self.pages = pages;
        self
    }

    /// The batch's stock changes, one seller at a time so that a burst makes one digest:
    /// fill what waits for the stock, then assess the SKUs. A page of the sweep goes alone.
    pub async fn handle_stock_changes(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch_grouped(batch, group_of, |group, follow_ups: Vec<FollowUp>| async move {
            let mut changes = Vec::new();
            for follow_up in follow_ups {
                match follow_up {
                    FollowUp::StockChange(change) => changes.push(change),
                    FollowUp::StockSweep(page) => {
                        self.sweep(&page.run, Some(page.after), now).await?;
                    }
                    other => return Err(format!("a {} follow-up on the stock change queue", other.kind()).into()),
                }
            }
            if changes.is_empty() {
                return Ok(());
            }
            let span = tracing::info_span!("stock_changes", seller_id = %group, changes = changes.len());
            self.apply_changes(&group, &changes, now).instrument(span).await
        })
        .await
    }

    /// One seller's stock changes: backorders filled if one of them may have freed stock,
    /// then the SKUs assessed.
    async fn apply_changes(
        &self,
        seller_id: &str,
        changes: &[StockChange],
        now: DateTime<Utc>,
    ) -> Result<(), BoxError> {
        let filling: Vec<&StockChange> = changes
            .iter()
            .filter(|change| change.reason.may_fill_backorders())
            .collect();
        // The earliest page asked for covers the others: a fresh change starts at the oldest
        // backorder, a continuation after the order its page ended at.
        if let Some(first) = filling.iter().min_by(|a, b| a.after.cmp(&b.after)) {
            let skus = skus_of(filling.iter().copied());
            let change = StockChange {
                skus,
                ..(*first).clone()
            };
            self.fill_backorders(&change, now).await?;
        }
        let items = stock_items(&self.store, seller_id, &skus_of(changes.iter())).await?;
        self.evaluate_all(seller_id, items, now).await?;
        Ok(())
    }

    /// A page of the seller's backordered orders that need one of the change's SKUs, oldest
    /// first: each filled whole if the stock is there now. A younger order may be filled when
    /// an older one, which needs more, still cannot be. The next page, if any, is handed on as
    /// a change of its own.
    async fn fill_backorders(&self, change: &StockChange, now: DateTime<Utc>) -> Result<usize, BoxError> {
        let page = backordered(
            &self.store,
            &change.seller_id,
            self.pages.backorders,
            change.after.clone(),
        )
        .await?;
        let mut filled = 0;
        for order in page.items {
            if !order.lines.iter().any(|line| change.skus.contains(&line.sku)) {
                continue;
            }
            if let Fill::Filled(order) = fill_backorder(&self.store, &order, change.first_key(), now).await? {
                tracing::info!(order_id = %order.order_id, "backordered order filled");
                metrics::count("BackordersFilled", 1, &[]);
                filled += 1;
            }
        }
        if let Some(next) = page.next {
            tracing::info!(after = %next.key, "backorder filling continues in a message of its own");
            hand_on(&self.store, &change.continued_after(next), now).await?;
        }
        Ok(filled)
    }

    /// Assesses one seller's SKUs, at most [`SKUS_PER_RECORD`] to a transaction (so a seller
    /// with more than that changing at once gets one digest per chunk).
    async fn evaluate_all(
        &self,
        seller_id: &str,
        mut items: Vec<StockItem>,
        now: DateTime<Utc>,
    ) -> Result<Summary, AlertError> {
        let mut summary = Summary::default();
        while !items.is_empty() {
            let rest = items.split_off(items.len().min(SKUS_PER_RECORD));
            summary.add(self.evaluate(seller_id, items, now).await?);
            items = rest;
        }
        Ok(summary)
    }

    /// Assesses some of one seller's SKUs and records what changed, with one digest for what
    /// was raised; re-reads the SKUs when an order or restock changed them first.
    async fn evaluate(
        &self,
        seller_id: &str,
        mut items: Vec<StockItem>,
        now: DateTime<Utc>,
    ) -> Result<Summary, AlertError> {
        let skus: Vec<String> = items.iter().map(|item| item.sku.clone()).collect();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let evaluated: Vec<Evaluated> = items
                .into_iter()
                .map(|item| {
                    let assessment = assess(&item, now);
                    Evaluated::new(item, assessment)
                })
                .collect();
            let mut digest = alerts::digest(seller_id, &evaluated);
            let mut entry = None;
            let mut without_contact = Vec::new();
            if let Some(found) = &digest {
                match self.digest_entry(found, &evaluated).await {
                    Ok(found) => entry = Some(found),
                    // Nobody to tell: record the rest, keep the problems on the watchlist, and
                    // raise them once a contact arrives. The message itself is done.
                    Err(AlertError::NoContact(seller)) => {
                        tracing::error!(seller_id = %seller, "a seller has new stock alerts but no contact");
                        metrics::count("SellersWithoutContact", 1, &[]);
                        without_contact.push(seller);
                        digest = None;
                    }
                    Err(error) => return Err(error),
                }
            }
            let evaluated: Vec<Evaluated> = if without_contact.is_empty() {
                evaluated
            } else {
                evaluated.into_iter().map(Evaluated::hold_back_raise).collect()
            };
            if record_evaluations(&self.store, &evaluated, entry.as_ref(), now).await? == Recorded::Done {
                let raised = evaluated.iter().filter(|e| e.raised().is_some()).count();
                if raised > 0 {
                    tracing::info!(raised, "stock alerts raised");
                    metrics::count("StockAlertsRaised", raised as u64, &[]);
                }
                return Ok(Summary {
                    skus_assessed: evaluated.len(),
                    alerts_raised: raised,
                    digests: usize::from(digest.is_some()),
                    sellers_without_contact: without_contact,
                    ..Summary::default()
                });
            }
            items = stock_items(&self.store, seller_id, &skus).await?;
        }
        Err(AlertError::KeptChanging)
    }

    /// The digest as an email request to the seller, in the outbox under its dedupe key.
    async fn digest_entry(&self, digest: &SellerDigest, evaluated: &[Evaluated]) -> Result<OutboxEntry, AlertError> {
        let contact = seller_contact(&self.store, &digest.seller_id)
            .await?
            .ok_or_else(|| AlertError::NoContact(digest.seller_id.clone()))?;
        let key = alerts::digest_key(digest, evaluated);
        let content = EmailContent::SellerDigest(digest.clone());
        Ok(email_entry(key, contact.recipient(), &contact.locale, content))
    }

    /// Assesses a page of the watchlist, after `after` (from its start for the schedule): one
    /// digest per seller with something new. The next page is handed on, through the outbox, to
    /// a message of its own; it is handed on before a seller's failure is reported, so that one
    /// seller's trouble holds up nobody else's alerts.
    pub async fn sweep(
        &self,
        run: &str,
        after: Option<Cursor>,
        now: DateTime<Utc>,
    ) -> Result<Summary, InvocationError> {
        let span = tracing::info_span!("sweep", run, after = after.as_ref().map(|cursor| cursor.key.as_str()));
        async {
            let incomplete = |error: StoreError| InvocationError::Incomplete(error.to_string());
            let page = watchlist_page(&self.store, self.pages.sweep, after)
                .await
                .map_err(incomplete)?;
            let mut by_seller: BTreeMap<String, Vec<StockItem>> = BTreeMap::new();
            for item in page.items {
                by_seller.entry(item.seller_id.clone()).or_default().push(item);
            }
            let mut summary = Summary {
                items_read: page.items_read,
                continues: page.next.is_some(),
                ..Summary::default()
            };
            if let Some(next) = page.next {
                hand_on(&self.store, &SweepPage::new(run, next), now)
                    .await
                    .map_err(incomplete)?;
            }
            let mut failed = Vec::new();
            for (seller_id, items) in by_seller {
                match self.evaluate_all(&seller_id, items, now).await {
                    Ok(done) => summary.add(done),
                    Err(error) => {
                        tracing::error!(%error, seller_id = %seller_id, "sweep could not assess the seller's SKUs");
                        failed.push(seller_id);
                    }
                }
            }
            tracing::info!(?summary, "sweep page done");
            metrics::count("SweepItemsRead", summary.items_read as u64, &[]);
            if failed.is_empty() {
                Ok(summary)
            } else {
                Err(InvocationError::Incomplete(format!(
                    "the sweep assessed {} SKUs but failed for sellers {}; it is safe to run again",
                    summary.skus_assessed,
                    failed.join(", ")
                )))
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests;
