//! The back office on one machine: moto for AWS's services, and around it an emulation of
//! Lambda driven by `infra/template.yaml`, so that the real function binaries run with the
//! triggers the template gives them. `cargo xtask up`, the demo, the bench and the end-to-end
//! tests all use it.
//!
//! - [`local_aws`] starts `local_aws.py` (moto server, with DynamoDB made atomic) from the
//!   project's [`venv`]; [`provision`] creates what the [`template`] declares in it.
//! - [`runtime_api`] is Lambda's Runtime API: each `bootstrap` process ([`processes`]) asks it
//!   for work; an [`runtime_api::Invoker`] hands a function its events.
//! - [`gateway`] is the front door: Function URLs and Lambda's Invoke API, on loopback.
//! - [`event_sources`] polls queues and [`streams`] as event source mappings do;
//!   [`schedule`] fires EventBridge schedules.
//! - [`stack`] starts all of it; [`operations`] is what the developer commands do against a
//!   running stack (send an event, read dead letters, replay them); [`mail`] reads back the
//!   emails SES accepted; [`seed`] stocks a catalogue for tests and the bench.
//! - [`faults`] stands between the functions and the local AWS when asked, and fails a chosen
//!   share of their requests as AWS does (throttling, 500s, hangs, lost answers).
//! - [`loopback`] is the small HTTP server and client all of it speaks; [`paths`] says where
//!   things are in the checkout.

pub mod browser;
pub mod event_sources;
pub mod faults;
pub mod flood;
pub mod gateway;
pub mod local_aws;
pub mod loopback;
pub mod mail;
pub mod operations;
pub mod paths;
pub mod processes;
pub mod provision;
pub mod runtime_api;
pub mod scan;
pub mod schedule;
pub mod seed;
pub mod stack;
pub mod story;
pub mod streams;
pub mod template;
pub mod venv;
