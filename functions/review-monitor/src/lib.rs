//! Review monitoring: the marketplace's `review.*` webhooks, the review notice queue, and the
//! hourly trend sweep.
//!
//! - A review event is read (the review, the seller's settings, the SKU's stats and the order
//!   it names, in one request) and applied in one write set: its claim, the review classified
//!   in English and Chinese, the SKU's day buckets and trends, and what its seller is to hear
//!   (a negative review, a trend raised) in the outbox.
//! - The outbox relay sends those notices to the review notice queue; each batch is told a
//!   seller at a time, in one digest email per seller, each notice once.
//! - The sweep re-checks the SKUs with an open trend as their windows move on.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::orders::EventContext;
use backoffice::domains::reviews::apply::{ReviewOutcome, record_review, remove_review, update_review};
use backoffice::domains::reviews::classify::load_lexicons;
use backoffice::domains::reviews::digest::tell_seller;
use backoffice::domains::reviews::notice::ReviewNotice;
use backoffice::domains::reviews::schema::{ReviewCreatedData, ReviewRemovedData, ReviewUpdatedData};
use backoffice::domains::reviews::sweep::{TrendSweep, sweep_trends};
use backoffice::domains::reviews::validate::{new_review, removed_review, updated_review};
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::batch::process_batch_grouped;
use backoffice::mechanisms::config::{ConfigError, Source};
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::Claim;
use backoffice::mechanisms::lambda::Handler;
use backoffice::mechanisms::metrics;
use backoffice::mechanisms::trigger::{InvocationError, Trigger};
use backoffice::mechanisms::webhook::{
    Accepted, Envelope, NotAccepted, Rejection, SigningSecrets, WebhookEdge, Webhooks, not_handled_yet, parse_data,
};
use backoffice::storage::{BoxError, Storage, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::Instrument;

/// Review monitoring over its store.
pub struct ReviewMonitor<Store> {
    edge: WebhookEdge,
    store: Store,
}

/// The function as Lambda runs it.
pub type OnAws = ReviewMonitor<DynamoStorage>;

/// As the template deploys it, over DynamoDB: reviews, the orders they name, sellers'
/// settings, claims and the outbox.
impl Deployed for OnAws {
    const FUNCTION: Function = Function::ReviewMonitor;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Reviews,
        Table::Orders,
        Table::Sellers,
        Table::Outbox,
        Table::Figures,
    ];

    fn deployed(_: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        // During init, not in the first review.
        load_lexicons();
        Ok(Self::new(aws.take_signing_secrets(), aws.storage))
    }
}

impl<Store: Storage> ReviewMonitor<Store> {
    pub fn new(secrets: impl Into<SigningSecrets>, store: Store) -> Self {
        Self {
            edge: WebhookEdge::new(Function::ReviewMonitor, secrets),
            store,
        }
    }

    /// The batch's notices, one seller at a time: one digest each.
    pub async fn tell_sellers(&self, batch: SqsEvent, now: DateTime<Utc>) -> SqsBatchResponse {
        process_batch_grouped(batch, seller_of, |seller_id, follow_ups: Vec<FollowUp>| async move {
            let notices = follow_ups
                .into_iter()
                .map(|follow_up| match follow_up {
                    FollowUp::ReviewNotice(notice) => Ok(notice),
                    other => Err(format!("a {} follow-up on the review notice queue", other.kind())),
                })
                .collect::<Result<Vec<ReviewNotice>, String>>()?;
            let span = tracing::info_span!("review_notices", seller_id = %seller_id, notices = notices.len());
            let told = tell_seller(&self.store, &seller_id, notices, now)
                .instrument(span)
                .await?;
            if told > 0 {
                metrics::count("ReviewNoticesTold", told as u64, &[]);
            }
            Ok::<(), BoxError>(())
        })
        .await
    }

    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<TrendSweep, InvocationError> {
        let swept = sweep_trends(&self.store, now)
            .await
            .map_err(|error| InvocationError::Incomplete(error.to_string()))?;
        tracing::info!(?swept, "review trend sweep done");
        metrics::count("ReviewTrendsRecovered", swept.recovered as u64, &[]);
        Ok(swept)
    }
}

/// The group a queued follow-up belongs to: its seller (anything else fails on its own).
fn seller_of(follow_up: &FollowUp) -> String {
    match follow_up {
        FollowUp::ReviewNotice(notice) => notice.seller_id.clone(),
        other => format!("({} follow-up)", other.kind()),
    }
}

/// `review.created`, `review.updated`, `review.removed`.
impl<Store: Storage> Webhooks for ReviewMonitor<Store> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let event = EventContext {
            id: envelope.id.clone(),
            fingerprint: envelope.fingerprint.clone(),
            at: envelope.created_at,
        };
        let now = claim.now;
        let outcome = match envelope.event_type.as_str() {
            "review.created" => {
                let review = new_review(parse_data::<ReviewCreatedData>(&envelope.data)?).map_err(Rejection::from)?;
                record_review(&self.store, &review, &event, &claim, now).await?
            }
            "review.updated" => {
                let (review, words, at) =
                    updated_review(parse_data::<ReviewUpdatedData>(&envelope.data)?).map_err(Rejection::from)?;
                update_review(&self.store, &review, &words, at, &event, &claim, now).await?
            }
            "review.removed" => {
                let review =
                    removed_review(parse_data::<ReviewRemovedData>(&envelope.data)?).map_err(Rejection::from)?;
                remove_review(&self.store, &review, &event, &claim, now).await?
            }
            _ => return Err(not_handled_yet(&envelope).into()),
        };
        match outcome {
            ReviewOutcome::Now(review) => {
                if review.negative {
                    metrics::count("NegativeReviews", 1, &[("Language", &review.language)]);
                }
                Ok(review.receipt())
            }
            ReviewOutcome::Earlier(review) => Err(NotAccepted::AppliedBefore(review.receipt())),
        }
    }
}

/// Every invocation: a webhook, a batch of review notices, or the schedule.
impl<Store: Storage> Handler for ReviewMonitor<Store> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.tell_sellers(batch, now).await)?),
            Trigger::Schedule(_) => Ok(serde_json::to_value(self.sweep(now).await?)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}

#[cfg(test)]
mod tests;
