//! Layer 4, the domains: what the back office decides. Each reads values, storage and
//! mechanisms, and the domains below it in this graph (no cycles; each `mod.rs` says what it
//! reads and why):
//!
//! ```text
//! figures ← email ← sellers ← stock ← orders ← reviews   ← privacy
//!                                          ← questions ← health
//!                                          ← refunds   ← claims
//! ```
//!
//! (`health` also reads stock, sellers, email and figures; `refunds` reads stock for restocks;
//! `privacy` reads every domain that holds a buyer's data: orders, questions, reviews, refunds,
//! claims and email; `claims` reads refunds, whose ledger its refunds go through, questions and
//! reviews.)

pub mod claims;
pub mod email;
pub mod figures;
pub mod health;
pub mod orders;
pub mod privacy;
pub mod questions;
pub mod refunds;
pub mod reviews;
pub mod sellers;
pub mod stock;
