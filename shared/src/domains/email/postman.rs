//! Delivers one email request exactly once.
//!
//! The order of work, and the crash window it leaves:
//! 1. read the recipient's standing; an email the rules forbid is recorded as skipped, once;
//! 2. render (a request that cannot be rendered fails before anything is written);
//! 3. **record, then send**: take the dedupe key in the ledger with a lease, send through
//!    SES, then mark the key sent. A second delivery of the same request finds the key sent
//!    (or leased) and sends nothing; a send that fails gives the key back, so the queue's
//!    retry sends it.
//!
//! The one window: SES accepted the email but this attempt never learned it (the call timed
//! out or the connection dropped; the SES client does not retry on its own) or died before
//! marking it sent. The key keeps its lease. SES has no idempotency key, so what closes the
//! window is SES's own word: every email is tagged with a reference to its key, the
//! configuration set publishes a `Send` event for each email SES takes, and buyer messaging
//! records it (`ledger::record_send_event`). The attempt that takes a lapsed lease over does so
//! only where no send was reported, in one transaction, and otherwise records the key sent.
//! What remains is an event slower than the queue's retry (180 s): a duplicate, never a lost
//! email. Send-then-record would have the same window and no guard against two consumers
//! racing; record-then-send without a lease would lose the email instead. The lease (60 s)
//! outlives the function's timeout (30 s), so a live attempt is never overtaken, and ends
//! well within the email queue's visibility timeout (180 s), so the redelivered message finds
//! the key free.

use chrono::{DateTime, Utc};

use super::compose::compose;
use super::ledger::{Attempt, Entry, send_reference};
use super::letter::Letter;
use super::mailer::{Mailer, Outgoing, SendError};
use super::mime::{self, Envelope};
use super::policy::{SkipReason, skip_reason};
use super::request::EmailRequest;
use super::suppressions;
use crate::mechanisms::metrics;
use crate::storage::{Storage, StoreError};
use crate::values::pii::EmailAddress;

/// Delivers email requests: `store` holds the emails and suppression tables, `mailer` sends.
pub struct Postman<Store, Mail> {
    pub store: Store,
    pub mailer: Mail,
    /// The `From` address, inside the configured SES identity.
    pub from: EmailAddress,
    /// What blocked addresses are keyed by; `None` in a function that sends no email (a URL
    /// function), where a delivery fails instead of reading blocks it could not find.
    pub salt: Option<suppressions::AddressSalt>,
}

/// What happened to a request that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Sent {
        message_id: String,
    },
    Skipped(SkipReason),
    /// Sent or skipped before: this delivery was a duplicate.
    AlreadyDone,
}

/// Why a request must be tried again; the queue does so, and after its redrive limit the
/// request waits in the dead-letter queue for a replay.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("another attempt is sending this email right now")]
    InFlight,
    #[error("the email could not be rendered: {0}")]
    Render(#[from] askama::Error),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<Store: Storage, Mail: Mailer> Postman<Store, Mail> {
    /// The salt, or why this function cannot look an address up.
    pub fn salt(&self) -> Result<&suppressions::AddressSalt, StoreError> {
        self.salt
            .as_ref()
            .ok_or_else(|| StoreError::new("suppression", "no ADDRESS_SALT_SECRET_ID: this function sends no email"))
    }

    pub async fn deliver(
        &self,
        request: &EmailRequest,
        attempt_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        let template = request.content.template();
        let attempt = Attempt {
            dedupe_key: request.dedupe_key.clone(),
            attempt_id: attempt_id.to_owned(),
            template,
            role: request.recipient.role,
            recipient_id: request.recipient.id.clone(),
            locale: request.locale.clone(),
        };
        let standing = suppressions::standing(&self.store, self.salt()?, &request.recipient).await?;
        if let Some(reason) = skip_reason(template, request.recipient.role, standing) {
            return self.skip(&attempt, reason, now).await;
        }
        let letter = compose(request);
        let outgoing = self.outgoing(request, &letter)?;
        match attempt.begin(&self.store, now).await? {
            Entry::Taken => {}
            Entry::Sent | Entry::Skipped => return Ok(self.already_done(&attempt)),
            Entry::InFlight => return Err(DeliveryError::InFlight),
            // Erased between the read of the buyer's standing and now.
            Entry::Erased => return self.skip(&attempt, SkipReason::Erased, now).await,
        }
        self.send(&attempt, &outgoing, now).await
    }

    fn outgoing(&self, request: &EmailRequest, letter: &Letter) -> Result<Outgoing, DeliveryError> {
        let rendered = letter.render()?;
        let envelope = Envelope {
            from: &self.from,
            to_name: &request.recipient.name,
            to: &request.recipient.email,
            language: letter.locale.tag(),
        };
        Ok(Outgoing {
            to: request.recipient.email.clone(),
            raw: mime::message(&envelope, &rendered),
            template: request.content.template(),
            reference: send_reference(&request.dedupe_key),
        })
    }

    async fn send(
        &self,
        attempt: &Attempt,
        outgoing: &Outgoing,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        let template = attempt.template.name();
        match self.mailer.send(outgoing).await {
            Ok(message_id) => {
                // SES has the email: whatever happens to the record now, the request is done.
                // Failing it would send again once the lease runs out.
                if let Err(error) = attempt.sent(&self.store, &message_id, now).await {
                    tracing::error!(%error, dedupe_key = %attempt.dedupe_key, "email sent but not recorded as sent");
                    metrics::count("EmailSendsUnrecorded", 1, &[("Template", template)]);
                }
                tracing::info!(dedupe_key = %attempt.dedupe_key, template, %message_id, "email sent");
                metrics::count("EmailsSent", 1, &[("Template", template)]);
                Ok(Delivered::Sent { message_id })
            }
            Err(error) => {
                // Refused or throttled: not sent, so the key goes back for the queue's retry. Lost
                // in transit: SES may have it, so the lease stays and the retry waits it out.
                let not_sent = !matches!(error, SendError::Unavailable(_));
                if not_sent && let Err(release) = attempt.abandon(&self.store).await {
                    // The lease runs out on its own; the retry then takes the key.
                    tracing::warn!(error = %release, "could not give the email's key back after a failed send");
                }
                metrics::count("EmailSendsFailed", 1, &[("Template", template)]);
                Err(error.into())
            }
        }
    }

    async fn skip(
        &self,
        attempt: &Attempt,
        reason: SkipReason,
        now: DateTime<Utc>,
    ) -> Result<Delivered, DeliveryError> {
        match attempt.skip(&self.store, reason, now).await? {
            Entry::Taken => {
                tracing::info!(dedupe_key = %attempt.dedupe_key, template = attempt.template.name(), reason = reason.name(), "email skipped");
                metrics::count("EmailsSkipped", 1, &[("Reason", reason.name())]);
                Ok(Delivered::Skipped(reason))
            }
            Entry::Sent | Entry::Skipped => Ok(self.already_done(attempt)),
            // A skip is never guarded.
            Entry::InFlight | Entry::Erased => Err(DeliveryError::InFlight),
        }
    }

    fn already_done(&self, attempt: &Attempt) -> Delivered {
        tracing::info!(dedupe_key = %attempt.dedupe_key, "email request delivered again; nothing sent");
        metrics::count("EmailDuplicates", 1, &[("Template", attempt.template.name())]);
        Delivered::AlreadyDone
    }
}
