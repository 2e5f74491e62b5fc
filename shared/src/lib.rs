//! The marketplace back office's shared crate: the domain every function works in, the edges
//! every invocation goes through, and the AWS adapters behind the domain's traits.
//!
//! An event's journey, by module:
//!
//! - **In**: [`lambda`] runs a function's [`lambda::Handler`]; [`trigger`] tells a webhook,
//!   an SQS batch, a stream batch and a schedule apart; [`webhook`] checks a Function URL
//!   request (size, signature, envelope, routing) and answers it; [`batch`] runs each
//!   message of an SQS batch and reports only the failures.
//! - **Decide**: the domain, one module per concept: [`orders`], [`stock`], [`reviews`], [`email`],
//!   with [`money`], [`ids`] and [`pii`] for the values they share. Each use case builds one
//!   write set and reads why it was cancelled.
//! - **Keep**: [`storage`] is the domain's view of the tables (items, conditions, atomic
//!   write sets, and [`storage::MemoryStorage`] for tests); [`idempotency`] commits an
//!   event's claim with its effect; [`outbox`] holds each change's follow-ups for the stream
//!   relay; [`follow_ups`] are what one function asks of another.
//! - **Out**: [`adapters`] is the only code that names AWS SDK types: DynamoDB storage, the
//!   SNS publisher, the SES mailer.
//! - **Around**: [`function`] names the functions, routes event types and builds their keys;
//!   [`config`] reads the environment; [`telemetry`] and [`metrics`] write logs and EMF.

pub mod adapters;
pub mod batch;
pub mod config;
pub mod email;
pub mod follow_ups;
pub mod function;
pub mod health;
pub mod idempotency;
pub mod ids;
pub mod lambda;
pub mod metrics;
pub mod money;
pub mod orders;
pub mod outbox;
pub mod pii;
pub mod questions;
pub mod refunds;
pub mod reviews;
pub mod sellers;
pub mod snippet;
pub mod stock;
pub mod storage;
pub mod telemetry;
pub mod trigger;
pub mod webhook;
