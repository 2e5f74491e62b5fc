//! Stock: sellers' counts and restocks, how each SKU stands, and alerts raised once per problem.
//!
//! Reads sellers (who hears of an alert), email (the alerts' content) and figures (alerts
//! counted in the seller's day). Defines the stock change that orders and refunds ask for
//! ([`change`]).

pub mod adjustment;
pub mod alerts;
pub mod assess;
pub mod change;
pub mod inventory;
pub mod records;
