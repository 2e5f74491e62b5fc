//! Orders: what the marketplace's order events carry, the rules they must keep, the lifecycle
//! an order moves through, and the use cases that apply them (place, change, fill a
//! backorder), each one write set over [`crate::storage`].
//!
//! Reads stock (an order reserves, releases and consumes it, and asks stock alerts to look
//! again), email (the buyer's order emails) and figures (orders counted in the seller's day).

pub mod backorders;
pub mod carriers;
pub mod change;
pub mod erasure;
pub mod error;
pub mod order;
pub mod outbox_entry;
pub mod place;
pub mod records;
pub mod schema;
pub mod status;
pub mod tally;
pub mod validate;

pub use backorders::fill_backorder;
pub use change::change_order;
pub use error::OrderError;
pub use order::{
    Applied, AppliedEvent, ApplyError, ChangeRequest, EventContext, Fill, Refunded, RefundedLine, ShortLine,
    StoredLine, StoredOrder,
};
pub use place::place_order;
pub use status::{InvalidTransition, OrderChange, OrderStatus};
pub use validate::{Address, Buyer, NewOrder, OrderLine, OrderRef, Shipment};
