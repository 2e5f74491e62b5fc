//! Seller health: the figures marketplaces judge a seller by, read from day tallies that each
//! function adds in the transactions that change what they count.
//!
//! - [`tally`]: the day items in `FiguresTable`, written by their one function, read by key.
//! - [`measures`]: order defect, late shipment, cancel and valid tracking rates and contact
//!   response, against the marketplace's thresholds, with good / at risk / failing.
//! - [`week`]: a seller's week: sales against the week before, the measures, reviews,
//!   refunds, response times, stock at risk and what went overdue.
//! - [`weekly`]: Monday 08:00 in the seller's time zone, the week emailed once.
//! - [`report`] and [`page`]: the operator report across sellers, one self-contained page.

pub mod measures;
pub mod page;
pub mod report;
pub mod tally;
pub mod week;
pub mod weekly;
