//! Buyer questions: a buyer's message read for its intent, "where is my order" answered at
//! once from the order, every other question sent to its seller on a 24-hour clock that the
//! seller's reply (or "no response needed") stops.
//!
//! - [`validate`]: the events on their own; [`intent`]: what a question asks and [`named`]:
//!   which orders it names in words (no I/O);
//!   [`prohibited`]: what a seller's reply may not carry.
//! - [`receive`]: `message.received`, one read and one transaction;
//!   [`reply`]: `message.replied`, the same.
//! - [`records`]: threads as stored, and the sparse `OpenThreads` keys the clock's sweep reads;
//!   [`answer`]: the emails a message leads to, as outbox entries.
//! - [`sweep`]: the clock (reminders, breaches, late orders); [`figures`]: each seller's
//!   response figures per day, counted where they change.
//!
//! Reads orders ("where is my order" is answered from the order; late orders), sellers (who
//! answers), email (the answers and reminders) and figures (response times per day).

pub mod answer;
pub mod erasure;
pub mod figures;
pub mod intent;
pub mod named;
pub mod prohibited;
pub mod receive;
pub mod records;
pub mod reply;
pub mod schema;
pub mod sweep;
pub mod validate;
