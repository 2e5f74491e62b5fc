//! Orders: what the marketplace's order events carry, the rules they must keep, and the
//! lifecycle an order moves through. Stored by `crate::adapters::dynamodb` (nothing here
//! names AWS).

pub mod error;
pub mod follow_ups;
pub mod schema;
pub mod status;
pub mod store;
pub mod validate;

pub use error::OrderError;
pub use status::{InvalidTransition, OrderChange, OrderStatus};
pub use store::{
    Applied, AppliedEvent, Backorders, ChangeRequest, EventContext, Fill, OrderStore, ShortLine, StoreRefusal,
    StoredLine, StoredOrder,
};
pub use validate::{Address, Buyer, NewOrder, OrderLine, OrderRef, Shipment};
