//! The marketplace back office's shared crate: the domain every function works in, the
//! webhook edge and SQS batch loop they all go through, and the AWS adapters behind the
//! domain's store traits.
//!
//! The domain modules name no AWS type; only [`adapters`] does.

pub mod adapters;
pub mod batch;
pub mod config;
pub mod email;
pub mod follow_ups;
pub mod idempotency;
pub mod ids;
pub mod metrics;
pub mod money;
pub mod orders;
pub mod outbox;
pub mod pii;
pub mod stock;
pub mod store;
pub mod telemetry;
pub mod trigger;
pub mod webhook;
