//! Refunds: a buyer's request checked against its order and the seller's policy, approved
//! automatically or left to the seller (who has until its deadline, then it is approved for
//! them), and an approved refund recorded once with everything it causes.
//!
//! - [`validate`] reads the events; [`policy`] decides, with no I/O: is the order the
//!   seller's and the buyer's, is it within the return window, does the refund fit in what
//!   was paid less what was refunded, is it small enough to approve now.
//! - [`request`], [`decide`] and [`sweep`] are the use cases, each a read and one write set
//!   over the [`records`]; [`approve`] is what every approval writes with it: the ledger
//!   entry, the order's refunded amounts (over the version read, so racing refunds can never
//!   pass what was paid), the buyer's refund history, the returned units back on hand, and the
//!   follow-ups (a stock change, the buyer's email, the payout instruction).
//! - [`payout`] hands each approved refund to the payment integration's queue once.
//!
//! Reads orders (what was paid and refunded), sellers (the return window and limits), stock
//! (restocks, asked as a stock change), email (the buyer's and seller's emails) and figures.
//! Defines the payout it hands the payment integration.

pub mod approve;
pub mod commit;
pub mod decide;
pub mod erasure;
pub mod payout;
pub mod policy;
pub mod records;
pub mod request;
pub mod schema;
pub mod sweep;
pub mod validate;
