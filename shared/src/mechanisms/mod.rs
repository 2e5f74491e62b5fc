//! Layer 3, mechanisms: how an event travels, whatever it says. They read values and storage,
//! and no domain: a domain's words reach them as JSON, keys and write sets.
//!
//! Within the layer, lowest first: `function`, `config`, `telemetry`, `metrics`; `idempotency`
//! and the `outbox`; `batch`, `trigger` and `lambda`; the `webhook` edge.

pub mod batch;
pub mod config;
pub mod function;
pub mod idempotency;
pub mod lambda;
pub mod metrics;
pub mod outbox;
pub mod telemetry;
pub mod trigger;
pub mod webhook;
