//! Where buyer messaging keeps what it sent and whom it must not send to, and how it sends.
//! The AWS implementations are `adapters::dynamodb::{DynamoEmailLedger, DynamoSuppressions}`
//! and `adapters::ses::SesMailer`.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::feedback::BlockedAddress;
use super::policy::{OptionalEmail, SkipReason, Standing};
use super::request::{EmailTemplate, Recipient, RecipientRole};
use crate::pii::EmailAddress;
use crate::store::StoreError;

/// One attempt at one email request: what the ledger records about it (never the address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub dedupe_key: String,
    /// Unique per delivery of the request: only the attempt that holds the lease completes it.
    pub attempt_id: String,
    pub template: EmailTemplate,
    pub role: RecipientRole,
    pub recipient_id: String,
    pub locale: String,
}

/// What the ledger says about a dedupe key when an attempt asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// This attempt owns the key: send now (or the skip was just recorded).
    Taken,
    Sent,
    Skipped,
    /// Another attempt holds a live lease on the key.
    InFlight,
}

pub trait EmailLedger: Send + Sync {
    /// Takes the key for sending, with a lease, unless it was sent or skipped, or another
    /// attempt's lease on it is still live.
    fn begin(&self, attempt: &Attempt, now: DateTime<Utc>) -> impl Future<Output = Result<Entry, StoreError>> + Send;

    /// Records that SES accepted the email.
    fn sent(
        &self,
        attempt: &Attempt,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records, once, that the key was not sent and why.
    fn skipped(
        &self,
        attempt: &Attempt,
        reason: SkipReason,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Entry, StoreError>> + Send;

    /// Gives the key back after a send that failed, so that a retry can send it.
    fn abandon(&self, attempt: &Attempt) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Whether a preference event changed the stored choice or arrived after a newer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreferenceChange {
    Applied,
    /// A later `buyer.preferences` event was applied first; this one changes nothing.
    Superseded,
}

pub trait Suppressions: Send + Sync {
    /// The buyer's opt-out (sellers have none) and any block on the address.
    fn standing(&self, recipient: &Recipient) -> impl Future<Output = Result<Standing, StoreError>> + Send;

    fn set_preference(
        &self,
        buyer_id: &str,
        choice: OptionalEmail,
        decided_at: DateTime<Utc>,
        event_id: &str,
    ) -> impl Future<Output = Result<PreferenceChange, StoreError>> + Send;

    fn block(&self, blocked: &BlockedAddress, at: DateTime<Utc>)
    -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A finished message for one recipient.
#[derive(Clone)]
pub struct Outgoing {
    pub to: EmailAddress,
    /// The MIME message, whose headers name the address.
    pub raw: Vec<u8>,
    pub template: EmailTemplate,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("to", &self.to)
            .field("raw", &format_args!("<{} bytes>", self.raw.len()))
            .field("template", &self.template)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Over the account's sending rate; the queue retries later.
    #[error("SES throttled the send: {0}")]
    Throttled(String),
    /// SES refused this message (unverified sender, account paused, malformed message).
    #[error("SES rejected the message: {0}")]
    Rejected(String),
    /// The call failed or timed out; SES may or may not have accepted the message.
    #[error("SES could not be reached: {0}")]
    Unavailable(String),
}

pub trait Mailer: Send + Sync {
    /// Sends the message; answers SES's message id.
    fn send(&self, outgoing: &Outgoing) -> impl Future<Output = Result<String, SendError>> + Send;
}
