//! Email: the requests every function sends buyer messaging, their words in each language,
//! the MIME message, who may receive what, and the one path that delivers a request exactly
//! once ([`postman::Postman`]).
//!
//! Reads figures only (a seller's week, for the weekly email's content): every other domain
//! builds its emails from the contents defined here, so email sits just above figures.

pub mod compose;
pub mod feedback;
pub mod ledger;
pub mod letter;
pub mod locale;
pub mod mailer;
pub mod mime;
pub mod policy;
pub mod postman;
pub mod preferences;
pub mod request;
pub mod suppressions;
mod weekly;
pub mod words;

pub use request::{EmailContent, EmailRequest, EmailTemplate, Recipient, RecipientRole};
