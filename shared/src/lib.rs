//! The marketplace back office's shared crate: the domain every function works in, the edges
//! every invocation goes through, and the AWS adapters behind the domain's traits.
//!
//! Five layers, lowest first. Each module imports only from its own layer and the layers
//! below it (`shared/tests/layers.rs` reads every `use crate::` line and holds the crate to
//! that, with no cycle among files or modules):
//!
//! 1. [`values`]: what every layer passes around: [`values::money`] (minor units with an ISO
//!    currency), [`values::ids`], [`values::pii`] (buyer data that never reaches a log),
//!    [`values::snippet`] and [`values::text`] (which characters a buyer's words may hold).
//! 2. [`storage`]: the domain's view of the tables: items, conditions, atomic write sets, and
//!    [`storage::MemoryStorage`], which applies them as DynamoDB would, for tests.
//! 3. [`mechanisms`]: how an event travels, whatever it says: [`mechanisms::lambda`] and
//!    [`mechanisms::trigger`] (a webhook, an SQS batch, a stream batch, a schedule),
//!    [`mechanisms::webhook`] (size, signature, envelope, the one error-to-response mapping),
//!    [`mechanisms::batch`] (the one SQS batch loop), [`mechanisms::idempotency`] (an
//!    event's claim, committed with its effect), [`mechanisms::outbox`] (follow-ups written
//!    with their change and relayed by the stream, carried without being read),
//!    [`mechanisms::function`] (the functions' names, routes and keys),
//!    [`mechanisms::config`], [`mechanisms::telemetry`] and [`mechanisms::metrics`].
//! 4. [`domains`]: what the back office decides, one module per concept, in a graph without
//!    cycles: figures ← email ← sellers ← stock ← orders ← {reviews, questions, refunds} ←
//!    {health, privacy}. Each use case builds one write set and reads why it was cancelled; each domain
//!    defines the follow-ups it asks of other functions.
//! 5. The top, where the functions are wired: [`follow_ups`], the one list of follow-ups the
//!    queues carry, and [`adapters`], the only code that names AWS SDK types (DynamoDB storage,
//!    the SNS publisher, the SES mailer, Secrets Manager, SQS, the HTTPS client).
//!
//! An event's journey: `functions/<name>/src/main.rs` wires its builder to
//! [`mechanisms::lambda::run`]; the trigger is told apart, a webhook checked, the domain's use
//! case decides and writes its change with its follow-ups into the outbox; the relay publishes
//! them and the next function's queue delivers them.

pub mod values;

pub mod storage;

pub mod mechanisms;

pub mod domains;

pub mod adapters;
pub mod follow_ups;
