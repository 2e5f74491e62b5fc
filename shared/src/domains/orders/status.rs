//! An order's lifecycle:
//!
//! ```text
//! accepted ──┬──> shipped ──> delivered
//! backordered┘
//! accepted | backordered ──> cancelled
//! ```
//!
//! Any other move is refused, naming both states.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Every line's stock is reserved.
    Accepted,
    /// Some line was short, so nothing is reserved; it waits for a restock.
    Backordered,
    Shipped,
    Delivered,
    Cancelled,
}

/// What the marketplace says happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderChange {
    Cancel,
    Ship,
    Deliver,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot become {to}")]
pub struct InvalidTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderChange {
    pub fn target(self) -> OrderStatus {
        match self {
            OrderChange::Cancel => OrderStatus::Cancelled,
            OrderChange::Ship => OrderStatus::Shipped,
            OrderChange::Deliver => OrderStatus::Delivered,
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Accepted,
        OrderStatus::Backordered,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    /// The status after `change`, if the lifecycle allows it.
    pub fn apply(self, change: OrderChange) -> Result<OrderStatus, InvalidTransition> {
        use OrderStatus::*;
        let to = change.target();
        match (self, change) {
            (Accepted | Backordered, OrderChange::Cancel | OrderChange::Ship) => Ok(to),
            (Shipped, OrderChange::Deliver) => Ok(to),
            _ => Err(InvalidTransition { from: self, to }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Accepted => "accepted",
            OrderStatus::Backordered => "backordered",
            OrderStatus::Shipped => "shipped",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Still waiting to ship: the late-shipment sweep looks at these.
    pub fn awaits_shipment(self) -> bool {
        matches!(self, OrderStatus::Accepted | OrderStatus::Backordered)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
            .ok_or_else(|| format!("unknown order status {text:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::OrderChange::*;
    use super::OrderStatus::*;
    use super::*;

    #[test]
    fn the_lifecycle_allows_exactly_its_moves() {
        let allowed = [
            (Accepted, Ship, Shipped),
            (Accepted, Cancel, Cancelled),
            (Backordered, Ship, Shipped),
            (Backordered, Cancel, Cancelled),
            (Shipped, Deliver, Delivered),
        ];
        for from in OrderStatus::ALL {
            for change in [Cancel, Ship, Deliver] {
                let expected = allowed
                    .iter()
                    .find(|(f, c, _)| *f == from && *c == change)
                    .map(|(_, _, to)| *to);
                match (from.apply(change), expected) {
                    (Ok(to), Some(expected)) => assert_eq!(to, expected),
                    (Err(refused), None) => {
                        assert_eq!((refused.from, refused.to), (from, change.target()));
                        assert!(refused.to_string().contains(from.as_str()));
                    }
                    (result, expected) => panic!("{from} + {change:?}: got {result:?}, expected {expected:?}"),
                }
            }
        }
    }

    #[test]
    fn statuses_round_trip_through_text() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
        }
        assert!("lost".parse::<OrderStatus>().is_err());
    }
}
