//! Figures: what every domain counts about a seller, and the measures read from the counts.
//! The lowest domain: orders, stock, reviews, refunds and questions add to a seller's day
//! tallies in the transactions that change what they count; email shows a seller's week;
//! health reads the tallies back. It reads no other domain.
//!
//! - [`defects`]: each defective order's mark, so the order defect rate counts it once.
//! - [`tally`]: the day items in `FiguresTable`, written by their one function, read by key.
//! - [`measures`]: order defect, late shipment, cancel and valid tracking rates and contact
//!   response, against the marketplace's thresholds, with good / at risk / failing.
//! - [`week`]: a seller's week as plain figures, what the weekly email shows.

pub mod defects;
pub mod measures;
pub mod tally;
pub mod week;
