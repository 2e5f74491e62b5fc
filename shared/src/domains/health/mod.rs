//! Seller health: a seller's week and the marketplace's report across sellers, read from the
//! day tallies ([`crate::domains::figures`]) that each function adds in the transactions
//! that change what they count.
//!
//! Reads: figures (the tallies and measures), stock (what is at risk now), questions (response
//! figures), sellers (who gets the report, in which time zone) and email (the weekly email
//! it puts in the outbox). No domain reads health: it is the top of the graph.
//!
//! - [`week`]: a seller's week from its tallies: sales against the week before, the
//!   measures, reviews, refunds, response times, stock at risk and what went overdue.
//! - [`weekly`]: Monday 08:00 in the seller's time zone, the week emailed once.
//! - [`report`] and [`page`]: the operator report across sellers, one self-contained page,
//!   put together from one part per page of sellers.
//! - [`run`]: an hourly run in pages of sellers, each handed on through the outbox.

pub mod page;
pub mod report;
pub mod run;
pub mod week;
pub mod weekly;
