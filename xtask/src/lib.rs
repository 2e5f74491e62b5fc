//! Developer tooling for the back office, as a library so that the end-to-end tests start the
//! same local stack `cargo xtask up` runs. The binary (`main.rs`) is the command line.

pub mod bench;
pub mod event_sources;
pub mod gateway;
pub mod http;
pub mod local_aws;
pub mod mail;
pub mod operations;
pub mod paths;
pub mod processes;
pub mod provision;
pub mod runtime_api;
pub mod schedule;
pub mod seed;
pub mod stack;
pub mod streams;
pub mod template;
pub mod venv;
