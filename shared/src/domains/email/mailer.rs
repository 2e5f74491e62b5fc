//! How buyer messaging sends: a finished MIME message handed to a mailer. The AWS
//! implementation is `adapters::ses::SesMailer`.

use std::future::Future;

use super::request::EmailTemplate;
use crate::values::pii::EmailAddress;

/// A finished message for one recipient.
#[derive(Clone)]
pub struct Outgoing {
    pub to: EmailAddress,
    /// The MIME message, whose headers name the address.
    pub raw: Vec<u8>,
    pub template: EmailTemplate,
    /// Tags the message, so that SES's `Send` event names it (see `ledger::send_reference`).
    pub reference: String,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("to", &self.to)
            .field("raw", &format_args!("<{} bytes>", self.raw.len()))
            .field("template", &self.template)
            .field("reference", &self.reference)
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

/// A mailer that keeps what it is given, for running buyer messaging without SES (its tests).
/// Its next sends can be made to fail as SES would.
#[derive(Debug, Clone, Default)]
pub struct KeptMail {
    sent: std::sync::Arc<std::sync::Mutex<Vec<Outgoing>>>,
    failures: std::sync::Arc<std::sync::Mutex<Vec<SendError>>>,
    answers_to_lose: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl KeptMail {
    /// Every message sent so far, and forgets them.
    pub fn take(&self) -> Vec<Outgoing> {
        std::mem::take(&mut self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The next send fails with `error` (in the order they were added).
    pub fn fail_next(&self, error: SendError) {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(error);
    }
}

impl KeptMail {
    /// The next send is kept, as SES would take it, but its answer is lost on the way back.
    pub fn lose_next_answer(&self) {
        self.answers_to_lose.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Mailer for KeptMail {
    async fn send(&self, outgoing: &Outgoing) -> Result<String, SendError> {
        let failure = {
            let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            (!failures.is_empty()).then(|| failures.remove(0))
        };
        if let Some(error) = failure {
            return Err(error);
        }
        let mut sent = self.sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        sent.push(outgoing.clone());
        let lose = self
            .answers_to_lose
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok();
        if lose {
            return Err(SendError::Unavailable("the answer was lost".to_owned()));
        }
        Ok(format!("kept-{}", sent.len()))
    }
}
