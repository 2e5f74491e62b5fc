//! Buyer privacy: a buyer's personal data erased and exported on the marketplace's request
//! (see [`backoffice::domains::privacy`]).
//!
//! - The Function URL: `buyer.erasure_requested` marks the buyer erased (no email to them
//!   begins after it) and hands the erasure's first page on, with the event's claim;
//!   `buyer.export_requested` hands the export on and answers with the object's key.
//! - The queue (`PrivacyQueue`, fed by the outbox): each erasure page erases a bounded part
//!   of the buyer's data and hands the next on; each export job writes the buyer's document
//!   to the reports bucket, under `exports/<buyer>/`.
//! - `seller.closed` marks the seller closing for its retention (`CLOSED_SELLER_RETENTION_DAYS`,
//!   90 by default); a daily schedule starts each closure come due, whose pages erase the
//!   seller's buyers that no other seller holds, then the seller's contact and settings.

mod s3;
mod sqs;
#[cfg(test)]
mod tests;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::privacy::closure::{
    DEFAULT_RETENTION_DAYS, SellerClosedData, close_seller, closure, closure_page, sweep_closures,
};
use backoffice::domains::privacy::erase::{begin_erasure, erase_page};
use backoffice::domains::privacy::export::{export, export_answer};
use backoffice::domains::privacy::page::{ExportJob, export_object_key};
use backoffice::domains::privacy::places::{DeadLetters, ExportShelf};
use backoffice::domains::privacy::schema::{ErasureRequestedData, ExportRequestedData};
use backoffice::domains::privacy::validate::{PrivacyError, erasure, export_request};
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::batch::process_batch;
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::{Claim, CommitFailure, commit_with_claim};
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::outbox::{self, Message, OutboxEntry};
use backoffice::mechanisms::trigger::{InvocationError, Trigger};
use backoffice::mechanisms::webhook::{
    Accepted, Envelope, NotAccepted, Rejection, SigningSecrets, WebhookEdge, Webhooks, not_handled_yet, parse_data,
};
use backoffice::storage::{Storage, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;

pub use s3::S3Exports;
pub use sqs::SqsDeadLetters;

/// Buyer privacy over its store, the exports' shelf and the dead-letter queues.
pub struct BuyerPrivacy<Store, Shelf, Letters> {
    edge: WebhookEdge,
    store: Store,
    exports: Shelf,
    dead_letters: Letters,
    /// How long a closed seller's contact and settings, and its buyers, are kept.
    retention_days: i64,
}

/// The function as Lambda runs it.
pub type OnAws = BuyerPrivacy<DynamoStorage, S3Exports, SqsDeadLetters>;

/// The dead-letter queues the erasure empties of the buyer's messages, comma-separated.
pub const DEAD_LETTER_QUEUE_URLS: &str = "DEAD_LETTER_QUEUE_URLS";
/// Days a closed seller is kept (the template's `ClosedSellerRetentionDays`).
pub const CLOSED_SELLER_RETENTION_DAYS: &str = "CLOSED_SELLER_RETENTION_DAYS";

/// As the template deploys it: every table that holds a buyer's data, the reports bucket's
/// exports, and every dead-letter queue.
impl Deployed for OnAws {
    const FUNCTION: Function = Function::BuyerPrivacy;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Sellers,
        Table::Orders,
        Table::Threads,
        Table::Reviews,
        Table::Refunds,
        Table::Outbox,
        Table::Emails,
        Table::Suppression,
    ];

    fn deployed(env: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        let exports = S3Exports::new(&aws.config, env.required("REPORTS_BUCKET")?);
        let queues = env
            .optional(DEAD_LETTER_QUEUE_URLS)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .collect();
        let dead_letters = SqsDeadLetters::new(&aws.config, queues);
        let retention_days = match env.optional(CLOSED_SELLER_RETENTION_DAYS) {
            None => DEFAULT_RETENTION_DAYS,
            Some(days) => days.parse().map_err(|_| ConfigError::Invalid {
                name: CLOSED_SELLER_RETENTION_DAYS,
                reason: "not a whole number of days",
            })?,
        };
        let privacy = Self::new(aws.take_signing_secrets(), aws.storage, exports, dead_letters);
        Ok(privacy.with_retention(retention_days))
    }
}

impl<Store: Storage, Shelf: ExportShelf, Letters: DeadLetters> BuyerPrivacy<Store, Shelf, Letters> {
    pub fn new(secrets: impl Into<SigningSecrets>, store: Store, exports: Shelf, dead_letters: Letters) -> Self {
        Self {
            edge: WebhookEdge::new(Function::BuyerPrivacy, secrets),
            store,
            exports,
            dead_letters,
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }

    pub fn with_retention(mut self, days: i64) -> Self {
        self.retention_days = days.max(0);
        self
    }

    /// `seller.closed`: the seller marked closing, with the claim; a seller never heard of is
    /// refused, so no stray item is made.
    async fn close(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let data = parse_data::<SellerClosedData>(&envelope.data)?;
        let closure = closure(data, envelope.created_at).map_err(Rejection::from)?;
        let erase_at = closure.closed_at + chrono::Duration::days(self.retention_days);
        let answer = serde_json::json!({"seller_id": closure.seller_id, "closed_at": closure.closed_at.to_rfc3339(),
            "erase_at": erase_at.to_rfc3339()});
        let close = close_seller(&closure, self.retention_days);
        match commit_with_claim(&self.store, &claim, &answer, vec![close]).await {
            Ok(()) => {}
            Err(CommitFailure::Refused(_)) => {
                let unknown = PrivacyError::UnknownSeller {
                    seller_id: closure.seller_id.clone(),
                };
                return Err(Rejection::from(unknown).into());
            }
            Err(failure) => return Err(failure.into()),
        }
        tracing::info!(seller_id = %closure.seller_id, %erase_at, "seller closing");
        metrics::count("SellersClosed", 1, &[]);
        Ok(answer.as_object().cloned().unwrap_or_default())
    }

    /// `buyer.erasure_requested`: the mark and the first page, with the claim.
    async fn request_erasure(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let data = parse_data::<ErasureRequestedData>(&envelope.data)?;
        let erasure = erasure(data, envelope.created_at).map_err(Rejection::from)?;
        let begun = begin_erasure(&erasure, claim.now);
        let answer = begun.answer;
        match commit_with_claim(&self.store, &claim, &answer, vec![begun.mark.clone(), begun.first_page]).await {
            Ok(()) => {}
            // Its first page was handed on by a request for the same erasure with another body.
            Err(CommitFailure::Refused(_)) => commit_with_claim(&self.store, &claim, &answer, vec![begun.mark]).await?,
            Err(failure) => return Err(failure.into()),
        }
        tracing::info!(buyer_id = %erasure.buyer_id, %answer, "erasure begun");
        metrics::count("ErasuresRequested", 1, &[]);
        Ok(answer.as_object().cloned().unwrap_or_default())
    }

    /// `buyer.export_requested`: the job, with the claim; the answer names the object.
    async fn request_export(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let request = export_request(parse_data::<ExportRequestedData>(&envelope.data)?).map_err(Rejection::from)?;
        let job = ExportJob {
            dedupe_key: Function::BuyerPrivacy.key(&["export", &request.buyer_id, &request.export_id]),
            object_key: export_object_key(&request.buyer_id, &request.export_id),
            buyer_id: request.buyer_id,
            export_id: request.export_id,
        };
        let entry = OutboxEntry {
            key: job.dedupe_key.clone(),
            follow_ups: vec![Message::of(&job)],
        };
        let answer = export_answer(&job);
        commit_with_claim(&self.store, &claim, &answer, vec![outbox::put(&entry, claim.now)]).await?;
        metrics::count("ExportsRequested", 1, &[]);
        Ok(answer.as_object().cloned().unwrap_or_default())
    }

    /// Erasure pages and export jobs, each alone: one that fails is delivered again without
    /// the others.
    pub async fn handle_work(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch(batch, |follow_up: FollowUp, _| async move {
            match follow_up {
                FollowUp::ErasurePage(page) => {
                    let span = tracing::info_span!(
                        "erasure_page",
                        buyer_id = %page.buyer_id,
                        erasure_id = %page.erasure_id,
                        page = page.page,
                        stage = page.stage.as_str()
                    );
                    let erased = erase_page(&self.store, &self.exports, &self.dead_letters, &page, now)
                        .instrument(span.clone())
                        .await?;
                    span.in_scope(|| tracing::info!(?erased, "erasure page done"));
                    metrics::count("ErasedItems", erased.erased as u64, &[("Stage", erased.stage)]);
                    if !erased.continues {
                        metrics::count("ErasuresCompleted", 1, &[]);
                    }
                    Ok(())
                }
                FollowUp::BuyerExport(job) => {
                    let span = tracing::info_span!("export", buyer_id = %job.buyer_id, export_id = %job.export_id);
                    let exported = export(&self.store, &self.exports, &job, now)
                        .instrument(span.clone())
                        .await?;
                    span.in_scope(|| tracing::info!(?exported, "export written"));
                    metrics::count("ExportsWritten", 1, &[]);
                    Ok(())
                }
                FollowUp::ClosurePage(page) => {
                    let span = tracing::info_span!("closure_page", seller_id = %page.seller_id, page = page.page);
                    let done = closure_page(&self.store, &page, now).instrument(span.clone()).await?;
                    span.in_scope(|| tracing::info!(?done, "closure page done"));
                    metrics::count("ClosureBuyersErased", done.buyers_erased as u64, &[]);
                    Ok(())
                }
                other => Err(format!("a {} follow-up on the privacy queue", other.kind()).into()),
            }
        })
        .await
    }
}

/// `buyer.erasure_requested`, `buyer.export_requested`.
impl<Store: Storage, Shelf: ExportShelf, Letters: DeadLetters> Webhooks for BuyerPrivacy<Store, Shelf, Letters> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        match envelope.event_type.as_str() {
            "buyer.erasure_requested" => self.request_erasure(envelope, claim).await,
            "buyer.export_requested" => self.request_export(envelope, claim).await,
            "seller.closed" => self.close(envelope, claim).await,
            _ => Err(not_handled_yet(&envelope).into()),
        }
    }
}

/// Every invocation: a webhook, or a batch of erasure pages and export jobs.
impl<Store: Storage, Shelf: ExportShelf, Letters: DeadLetters> Handler for BuyerPrivacy<Store, Shelf, Letters> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.handle_work(batch, now).await)?),
            Trigger::Schedule(_) => {
                let swept = sweep_closures(&self.store, now)
                    .await
                    .map_err(|error| InvocationError::Incomplete(error.to_string()))?;
                tracing::info!(?swept, "closures swept");
                Ok(serde_json::to_value(swept)?)
            }
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}
