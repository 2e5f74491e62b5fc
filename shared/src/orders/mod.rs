//! Orders: what the marketplace's order events carry, the rules they must keep, and the
//! lifecycle an order moves through. Stored by `crate::adapters::dynamodb` (nothing here
//! names AWS).

pub mod error;
pub mod schema;
pub mod status;
pub mod validate;

pub use error::OrderError;
pub use status::{InvalidTransition, OrderChange, OrderStatus};
pub use validate::{Address, Buyer, NewOrder, OrderLine, Shipment};
