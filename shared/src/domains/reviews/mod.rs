//! Reviews: what the marketplace's review events carry and the rules they keep, what a review
//! says went wrong (in English and Chinese), the trends in a SKU's reviews, and what its
//! seller hears, once.
//!
//! - [`classify`] reads a review with the [`lexicon`]s: negative or not, and why ([`reason`]).
//! - [`apply`] is the use cases (created, updated, removed), each one write set over the
//!   [`records`]: the review, its SKU's [`trends`], and the [`notice`]s for its seller.
//! - [`digest`] tells a seller its notices, once each, in one email.
//!
//! Reads orders (a review of a delivered order is verified), sellers (thresholds and who is
//! alerted), email (the digest) and figures. Defines the notice its digest consumes.

pub mod apply;
pub mod classify;
pub mod digest;
pub mod erasure;
pub mod language;
pub mod lexicon;
pub mod notice;
pub mod reason;
pub mod records;
pub mod schema;
pub mod sweep;
pub mod tally;
pub mod trends;
pub mod validate;

#[cfg(test)]
mod labelled;
