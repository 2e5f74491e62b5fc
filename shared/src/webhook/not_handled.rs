//! A function whose event types no release handles yet.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Accepted, Envelope, NotAccepted, WebhookEdge, Webhooks, not_handled_yet};
use crate::config::{ConfigError, ProcessEnv, webhook_secret};
use crate::function::Function;
use crate::lambda::Handler;
use crate::trigger::{InvocationError, Trigger};

/// Answers every authentic event `501 event_type_not_handled`, storing nothing, so the
/// marketplace keeps the events and sends them again once the function is built.
pub struct NotHandledYet {
    edge: WebhookEdge,
}

impl NotHandledYet {
    pub fn from_env(function: Function) -> Result<Self, ConfigError> {
        Ok(Self {
            edge: WebhookEdge::new(function, webhook_secret(&ProcessEnv)?),
        })
    }
}

impl Webhooks for NotHandledYet {
    fn edge(&self) -> &WebhookEdge {
        &self.edge
    }

    async fn apply(&self, envelope: Envelope, _: crate::idempotency::Claim) -> Result<Accepted, NotAccepted> {
        Err(not_handled_yet(&envelope).into())
    }
}

impl Handler for NotHandledYet {
    async fn handle(&self, payload: Value, now: DateTime<Utc>) -> Result<Value, InvocationError> {
        match Trigger::from_payload(payload)? {
            Trigger::Webhook(request) => Ok(serde_json::to_value(self.handle_webhook(&request, now).await)?),
            other => Err(InvocationError::NotATrigger(other.kind())),
        }
    }
}
