//! Buyer protection claims: a buyer whose seller did not help asks the marketplace to step in.
//! The seller has its time to respond (a full refund closes the claim); otherwise support
//! staff decide, on their own clock, and a refund they decide goes through the refund ledger.
//!
//! - [`validate`] reads the events; [`rules`] decides who may open what, with no I/O.
//! - [`open`], [`respond`], [`decide`] and [`withdraw`] are the use cases, each a read and one
//!   write set over the [`records`]; [`settle`] is the ledger entry a claim's refund is;
//!   [`notices`] what the seller, the buyer and support staff are told.
//! - [`clock`] is the sweep of the seller's and support staff's deadlines.
//! - [`support`] answers support staff: their queue, oldest due first, and a claim's facts.
//! - [`erasure`] is what a buyer's erasure leaves of a claim.
//!
//! Reads refunds (the ledger, whose approvals it writes through), orders, questions (a breached
//! question), reviews (the buyer's review of the order), sellers, email and figures.

pub mod clock;
pub mod decide;
pub mod erasure;
pub mod notices;
pub mod open;
pub mod outcome;
pub mod records;
pub mod respond;
pub mod rules;
pub mod schema;
pub mod settle;
pub mod support;
pub mod validate;
pub mod withdraw;
