//! A buyer's personal data, erased and exported on request (GDPR art. 15, 17 and 20; Shopify's
//! `customers/redact` and `customers/data_request`).
//!
//! - [`validate`]: `buyer.erasure_requested` and `buyer.export_requested` on their own.
//! - [`erase`]: the request writes the erasure mark (no email to the buyer begins after it),
//!   then the erasure runs a page at a time through the outbox ([`page`]): each page takes a
//!   bounded number of the buyer's items from one table's `ByBuyer` index and erases each,
//!   so its cost follows the buyer, not the tables, and a page delivered twice does nothing
//!   twice. Its last stages empty the buyer's exports and dead letters ([`places`]).
//! - [`export`]: one JSON document of everything held about the buyer, on the reports shelf.
//! - [`closure`]: `seller.closed`; after its retention, the seller's buyers whom no other
//!   seller holds are erased, and then the seller's own contact and settings.
//!
//! What each table keeps of an erased buyer is decided by the domain that owns it
//! (`orders::erasure`, `questions::erasure`, `reviews::erasure`, `refunds::erasure`,
//! `claims::erasure`: a buyer's claims sit beside its refunds in `ByBuyerDate`).
//!
//! Sits above every domain it erases from: orders, questions, reviews, refunds, claims and email.

pub mod closure;
pub mod erase;
pub mod export;
pub mod page;
pub mod places;
pub mod schema;
pub mod validate;
