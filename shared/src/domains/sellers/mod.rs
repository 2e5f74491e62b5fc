//! Sellers: where each seller's alerts go, and the settings its refunds and reviews are judged
//! by, one item per seller in the sellers table.
//!
//! `seller.updated` states a seller's whole settings (a field left out takes its default);
//! the latest event by `created_at` wins, so an older one arriving late changes nothing.
//! `inventory.adjusted` may still name the seller's contact alone ([`records::update_contact`]),
//! which leaves the other settings as they are.
//!
//! Reads email (a seller's contact is an email recipient in a language); stock, orders,
//! reviews, refunds, questions and health read the sellers.

pub mod records;
pub mod settings;
pub mod update;

pub use records::{SellerContact, seller_contact, seller_settings};
pub use settings::SellerSettings;
