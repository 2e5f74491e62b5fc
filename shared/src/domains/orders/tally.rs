//! What order intake counts of a seller's day, in the order's own write set: placements
//! (orders, units, revenue, backorders) on the day placed, with each SKU's units in its own
//! week item; cancels on the day cancelled (by whom); shipments on the day shipped (late or
//! not, trackable or not). A backorder filled is counted by stock alerts, whose restock filled
//! it, with how long it waited.

use chrono::{DateTime, Utc};

use super::order::StoredOrder;
use super::schema::CancelledBy;
use super::status::OrderStatus;
use super::validate::Shipment;
use crate::domains::figures::tally::{Tally, counter, sold_in_week};
use crate::mechanisms::function::Function;
use crate::storage::Write;

/// The tally of the change that left `order` as it is, if it counts anything.
pub fn counted(order: &StoredOrder) -> Option<Write> {
    let tally = |at| Tally::new(Function::OrderIntake, &order.seller_id, at);
    let tally = match order.status {
        OrderStatus::Accepted | OrderStatus::Backordered if order.version == 0 => placed(order, tally(order.placed_at)),
        OrderStatus::Cancelled => tally(order.cancelled_at?)
            .add(counter::CANCELLED, 1)
            .count_if(order.cancelled_by == Some(CancelledBy::Seller), counter::SELLER_CANCELS),
        OrderStatus::Shipped => {
            let shipped_at = order.shipped_at?;
            tally(shipped_at)
                .add(counter::SHIPPED, 1)
                .count_if(shipped_at > order.ship_by, counter::SHIPPED_LATE)
                .count_if(
                    order.shipment.as_ref().is_some_and(has_valid_tracking),
                    counter::VALID_TRACKING,
                )
        }
        _ => return None,
    };
    tally.write()
}

fn placed(order: &StoredOrder, tally: Tally) -> Tally {
    let units: u32 = order.lines.iter().map(|line| line.quantity).sum();
    tally
        .add(counter::ORDERS, 1)
        .add(counter::UNITS, i64::from(units))
        .add(counter::revenue(&order.currency), order.total_minor)
        .count_if(order.status == OrderStatus::Backordered, counter::BACKORDERED)
}

/// The units of each SKU a new order placed, each in the SKU's week item (see
/// [`sold_in_week`]): one write per line, in the order's own write set.
pub fn sold(order: &StoredOrder) -> Vec<Write> {
    let placed = matches!(order.status, OrderStatus::Accepted | OrderStatus::Backordered) && order.version == 0;
    if !placed {
        return Vec::new();
    }
    order
        .lines
        .iter()
        .map(|line| sold_in_week(&order.seller_id, &line.sku, order.placed_at, i64::from(line.quantity)))
        .collect()
}

/// A backordered order filled at `at` (stock alerts' count, written with the fill).
pub fn filled(order: &StoredOrder, at: DateTime<Utc>) -> Option<Write> {
    let waited = (at - order.placed_at).num_hours().max(0);
    Tally::new(Function::StockAlerts, &order.seller_id, at)
        .add(counter::BACKORDERS_FILLED, 1)
        .add(counter::BACKORDER_WAIT_HOURS, waited)
        .write()
}

/// Whether a buyer could follow the parcel: a tracking link, or a number that looks like a
/// carrier's (8 to 40 letters and digits, at least 6 of them digits, not one repeated
/// character: `N/A`, `123`, `0000000000` are not tracking).
pub fn has_valid_tracking(shipment: &Shipment) -> bool {
    let number: Vec<char> = shipment
        .tracking_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let shaped = (8..=40).contains(&number.len())
        && number.iter().all(char::is_ascii_alphanumeric)
        && number.iter().filter(|c| c.is_ascii_digit()).count() >= 6
        && number.iter().any(|c| *c != number[0]);
    shaped || shipment.tracking_url.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(number: &str, url: Option<&str>) -> Shipment {
        Shipment {
            carrier: "UPS".into(),
            tracking_number: number.into(),
            tracking_url: url.map(str::to_owned),
        }
    }

    #[test]
    fn tracking_is_valid_when_a_buyer_could_follow_it() {
        for good in [
            "1Z999AA10123456784",
            "JD0012345678",
            "SF 1234 5678 9012",
            "773-1234-5678",
        ] {
            assert!(has_valid_tracking(&shipment(good, None)), "{good}");
        }
        for bad in [
            "N/A",
            "JD1",
            "0000000000",
            "ABCDEFGHIJ12",
            "pending",
            "1Z999AA1012345678!",
        ] {
            assert!(!has_valid_tracking(&shipment(bad, None)), "{bad}");
        }
        assert!(has_valid_tracking(&shipment("JD1", Some("https://track.example/JD1"))));
    }
}
