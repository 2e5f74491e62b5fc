//! Refund processing: the marketplace's `refund.requested` and `refund.decided` webhooks, the
//! payout instructions approvals send (handed to the payment integration's queue once each),
//! and the sweep of pending refunds (reminders, then approval at the deadline).
//!
//! - A request is one read (the refund, the order, the buyer's refund history, the seller's
//!   settings) and one transaction: the claim, the ledger entry, and either everything an
//!   approval changes or the seller's notice of a refund waiting for it.
//! - A decision approves (all or less) or rejects a pending refund of the seller's own.
//! - Buyer protection claims (`claim.opened`, `claim.responded`, `claim.decided`,
//!   `claim.withdrawn`) arrive on the same URL: a claim's refunds are this ledger's entries.
//! - Payouts come back from the follow-up topic on the payout request queue; each is sent to
//!   the payment integration's FIFO queue unless its ledger entry says it was.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use backoffice::adapters::dynamodb::DynamoStorage;
use backoffice::adapters::sqs::SqsPayouts;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::claims::clock::{ClaimSweep, sweep_claims};
use backoffice::domains::claims::decide::decide_claim;
use backoffice::domains::claims::open::open_claim;
use backoffice::domains::claims::outcome::ClaimOutcome;
use backoffice::domains::claims::respond::respond_to_claim;
use backoffice::domains::claims::rules::ClaimRules;
use backoffice::domains::claims::schema::{ClaimDecidedData, ClaimOpenedData, ClaimRespondedData, ClaimWithdrawnData};
use backoffice::domains::claims::validate::{claim_decision, claim_opening, claim_response, claim_withdrawal};
use backoffice::domains::claims::withdraw::withdraw_claim;
use backoffice::domains::orders::EventContext;
use backoffice::domains::refunds::commit::RefundOutcome;
use backoffice::domains::refunds::decide::decide_refund;
use backoffice::domains::refunds::payout::{Handed, PayoutQueue, hand_over};
use backoffice::domains::refunds::records::RefundState;
use backoffice::domains::refunds::request::request_refund;
use backoffice::domains::refunds::schema::{RefundDecidedData, RefundRequestedData};
use backoffice::domains::refunds::sweep::{PendingSweep, sweep_pending};
use backoffice::domains::refunds::validate::{refund_decision, refund_request};
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::batch::process_batch;
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

/// Refund processing over its store and the payment integration's queue.
pub struct RefundProcessor<Store, Payouts> {
    edge: WebhookEdge,
    store: Store,
    payouts: Payouts,
    claim_rules: ClaimRules,
}

/// What one run of the schedule did: the pending refunds (as before, at the top level) and
/// the claims' clocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    #[serde(flatten)]
    pub refunds: PendingSweep,
    pub claims: ClaimSweep,
}

/// The function as Lambda runs it.
pub type OnAws = RefundProcessor<DynamoStorage, SqsPayouts>;

/// As the template deploys it: refunds and claims, the orders and stock they change, sellers'
/// settings, the threads claims name, idempotency claims, the outbox, and the payout queue.
impl Deployed for OnAws {
    const FUNCTION: Function = Function::RefundProcessor;
    const TABLES: &'static [Table] = &[
        Table::Idempotency,
        Table::Refunds,
        Table::Orders,
        Table::Inventory,
        Table::Sellers,
        Table::Outbox,
        Table::Figures,
        Table::Threads,
    ];

    fn deployed(env: &dyn Source, mut aws: Aws) -> Result<Self, ConfigError> {
        let payouts = SqsPayouts::new(&aws.config, env.required("REFUND_PAYOUT_QUEUE_URL")?);
        let not_received_days = match env.optional("NOT_RECEIVED_DAYS") {
            None => ClaimRules::default().not_received_days,
            Some(days) => days
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|days| (1..=90).contains(days))
                .ok_or(ConfigError::Invalid {
                    name: "NOT_RECEIVED_DAYS",
                    reason: "not a whole number of days from 1 to 90",
                })?,
        };
        Ok(Self::new(aws.take_signing_secrets(), aws.storage, payouts)
            .with_claim_rules(ClaimRules { not_received_days }))
    }
}

impl<Store: Storage, Payouts: PayoutQueue> RefundProcessor<Store, Payouts> {
    pub fn new(secrets: impl Into<SigningSecrets>, store: Store, payouts: Payouts) -> Self {
        Self {
            edge: WebhookEdge::new(Function::RefundProcessor, secrets),
            store,
            payouts,
            claim_rules: ClaimRules::default(),
        }
    }

    pub fn with_claim_rules(mut self, rules: ClaimRules) -> Self {
        self.claim_rules = rules;
        self
    }

    /// A batch of payout instructions: each handed over once; a failure fails alone.
    pub async fn hand_over_payouts(&self, batch: SqsEvent) -> SqsBatchResponse {
        process_batch(batch, |follow_up: FollowUp, _delivery| async move {
            let FollowUp::RefundPayout(payout) = follow_up else {
                return Err(format!("a {} follow-up on the payout request queue", follow_up.kind()).into());
            };
            let span = tracing::info_span!("payout", refund_id = %payout.refund_id, order_id = %payout.order_id);
            match hand_over(&self.store, &self.payouts, &payout).instrument(span).await? {
                Handed::Sent(_) => metrics::count("RefundPayoutsSent", 1, &[]),
                Handed::Before => metrics::count("RefundPayoutDuplicates", 1, &[]),
            }
            Ok::<(), BoxError>(())
        })
        .await
    }

    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Swept, InvocationError> {
        let incomplete = |error: backoffice::storage::StoreError| InvocationError::Incomplete(error.to_string());
        let refunds = sweep_pending(&self.store, now).await.map_err(incomplete)?;
        tracing::info!(swept = ?refunds, "pending refunds swept");
        metrics::count("RefundsApprovedAtDeadline", refunds.approved as u64, &[]);
        metrics::count("RefundRemindersSent", refunds.reminded as u64, &[]);
        let claims = sweep_claims(&self.store, now).await.map_err(incomplete)?;
        tracing::info!(swept = ?claims, "claims' clocks swept");
        metrics::count("ClaimRemindersSent", claims.reminded as u64, &[]);
        metrics::count("ClaimsEscalated", claims.escalated as u64, &[]);
        metrics::count("ClaimDecisionsOverdue", claims.breached as u64, &[]);
        Ok(Swept { refunds, claims })
    }

    async fn apply_claim(
        &self,
        envelope: &Envelope,
        event: &EventContext,
        claim: &Claim,
    ) -> Result<Accepted, NotAccepted> {
        let outcome = match envelope.event_type.as_str() {
            "claim.opened" => {
                let opening = claim_opening(parse_data::<ClaimOpenedData>(&envelope.data)?).map_err(Rejection::from)?;
                open_claim(&self.store, &opening, self.claim_rules, event, claim).await?
            }
            "claim.responded" => {
                let response =
                    claim_response(parse_data::<ClaimRespondedData>(&envelope.data)?).map_err(Rejection::from)?;
                respond_to_claim(&self.store, &response, event, claim).await?
            }
            "claim.decided" => {
                let decision =
                    claim_decision(parse_data::<ClaimDecidedData>(&envelope.data)?).map_err(Rejection::from)?;
                decide_claim(&self.store, &decision, event, claim).await?
            }
            "claim.withdrawn" => {
                let withdrawal =
                    claim_withdrawal(parse_data::<ClaimWithdrawnData>(&envelope.data)?).map_err(Rejection::from)?;
                withdraw_claim(&self.store, &withdrawal, event, claim).await?
            }
            _ => return Err(not_handled_yet(envelope).into()),
        };
        match outcome {
            ClaimOutcome::Now(stored) => {
                metrics::count("ClaimEvents", 1, &[("State", stored.state.as_str())]);
                tracing::info!(claim_id = %stored.claim_id, order_id = %stored.order_id, state = stored.state.as_str(), "claim changed");
                Ok(stored.receipt())
            }
            ClaimOutcome::Earlier(stored) => Err(NotAccepted::AppliedBefore(stored.receipt())),
        }
    }
}

/// `refund.requested`, `refund.decided`, and the `claim.*` events.
impl<Store: Storage, Payouts: PayoutQueue> Webhooks for RefundProcessor<Store, Payouts> {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, claim: Claim) -> Result<Accepted, NotAccepted> {
        let event = EventContext {
            id: envelope.id.clone(),
            fingerprint: envelope.fingerprint.clone(),
            at: envelope.created_at,
        };
        let outcome = match envelope.event_type.as_str() {
            "refund.requested" => {
                let request =
                    refund_request(parse_data::<RefundRequestedData>(&envelope.data)?).map_err(Rejection::from)?;
                request_refund(&self.store, &request, &event, &claim).await?
            }
            "refund.decided" => {
                let decision =
                    refund_decision(parse_data::<RefundDecidedData>(&envelope.data)?).map_err(Rejection::from)?;
                decide_refund(&self.store, &decision, &event, &claim).await?
            }
            "claim.opened" | "claim.responded" | "claim.decided" | "claim.withdrawn" => {
                return self.apply_claim(&envelope, &event, &claim).await;
            }
            _ => return Err(not_handled_yet(&envelope).into()),
        };
        match outcome {
            RefundOutcome::Now(refund) => {
                let decision = refund.state.as_str();
                metrics::count("RefundDecisions", 1, &[("Decision", decision)]);
                if refund.state == RefundState::Approved {
                    tracing::info!(refund_id = %refund.refund_id, decided_by = ?refund.decided_by, "refund approved");
                }
                Ok(refund.receipt())
            }
            RefundOutcome::Earlier(refund) => Err(NotAccepted::AppliedBefore(refund.receipt())),
        }
    }
}

/// Every invocation: a webhook, a batch of payout instructions, or the schedule.
impl<Store: Storage, Payouts: PayoutQueue> Handler for RefundProcessor<Store, Payouts> {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            Trigger::Queue(batch) => Ok(serde_json::to_value(self.hand_over_payouts(batch).await)?),
            Trigger::Schedule(_) => Ok(serde_json::to_value(self.sweep(now).await?)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}

#[cfg(test)]
mod tests;
