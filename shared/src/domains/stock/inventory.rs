//! The inventory table's items, one per seller and SKU, and every write that moves stock.
//!
//! | attribute | meaning |
//! |---|---|
//! | `sku_key` | `<seller_id>#<sku>` |
//! | `seller_id`, `sku` | whose, and which |
//! | `on_hand`, `reserved`, `available` | `available` = `on_hand` − `reserved`, kept alongside because a condition cannot subtract and a reservation must be conditional on it |
//! | `safety_stock`, `lead_time_days` | the seller's settings for alerts |
//! | `sold_<day>` | units reserved that day, for the sales rate |
//! | `alert_level`, `alert_episode`, `alert_changed_at`, `alert_cleared_at` | the problem the seller last heard of |
//! | `watch` | present only while the SKU is on the sweep's watchlist (the sparse `Watchlist` index) |

use chrono::NaiveDate;

use crate::storage::{Condition, Table, Write};

/// The value of `watch` on every SKU on the sweep's watchlist.
pub const WATCHLIST: &str = "sweep";
pub const SOLD_PREFIX: &str = "sold_";

pub fn sku_key(seller_id: &str, sku: &str) -> String {
    format!("{seller_id}#{sku}")
}

/// The attribute counting a day's units sold: `sold_2026-11-22`.
pub fn sold_attribute(day: NaiveDate) -> String {
    format!("{SOLD_PREFIX}{}", day.format("%Y-%m-%d"))
}

/// Takes `quantity` of the SKU's available stock, only if that much is available; counts it as
/// sold on `day` (for the sales rate) and puts the SKU on the sweep's watchlist. A SKU the
/// seller does not have fails the condition with no item.
pub fn reserve(seller_id: &str, sku: &str, quantity: u32, day: NaiveDate) -> Write {
    let quantity = i64::from(quantity);
    Write::update(Table::Inventory, sku_key(seller_id, sku))
        .add("available", -quantity)
        .add("reserved", quantity)
        .add_from_zero(sold_attribute(day), quantity)
        .set("watch", WATCHLIST)
        .when(Condition::at_least("available", quantity))
}

/// Gives a cancelled order's reservation back.
pub fn release(seller_id: &str, sku: &str, quantity: u32) -> Write {
    let quantity = i64::from(quantity);
    Write::update(Table::Inventory, sku_key(seller_id, sku))
        .add("available", quantity)
        .add("reserved", -quantity)
        .when(Condition::ItemExists)
}

/// A shipped order's reserved units leave the warehouse.
pub fn ship_reserved(seller_id: &str, sku: &str, quantity: u32) -> Write {
    let quantity = i64::from(quantity);
    Write::update(Table::Inventory, sku_key(seller_id, sku))
        .add("on_hand", -quantity)
        .add("reserved", -quantity)
        .when(Condition::ItemExists)
}

/// A backordered order shipped anyway (the seller found the units): it takes what is
/// available, and never below zero.
pub fn ship_unreserved(seller_id: &str, sku: &str, quantity: u32) -> Write {
    let quantity = i64::from(quantity);
    Write::update(Table::Inventory, sku_key(seller_id, sku))
        .add("on_hand", -quantity)
        .add("available", -quantity)
        .when(Condition::at_least("available", quantity))
}
