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

/// What order intake's writes to a SKU name (its key, and `sold_<day>` for any day): a
/// reservation, its release, a shipment. The template's `dynamodb:Attributes` condition on
/// order intake's role is this list, so the function cannot rewrite a SKU's thresholds,
/// restock history or anything else the seller set.
pub const ORDER_ATTRIBUTES: &[&str] = &["sku_key", "available", "reserved", "on_hand", "watch", "sold_*"];

/// What a refund's restock names: refund processing's `dynamodb:Attributes` on the SKUs.
pub const RESTOCK_ATTRIBUTES: &[&str] = &["sku_key", "on_hand", "available", "watch"];

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

/// Returned units back on the shelf (a refund's restock): on hand, available, watched.
pub fn restock(seller_id: &str, sku: &str, quantity: u32) -> Write {
    let quantity = i64::from(quantity);
    Write::update(Table::Inventory, sku_key(seller_id, sku))
        .add("on_hand", quantity)
        .add("available", quantity)
        .set("watch", WATCHLIST)
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

#[cfg(test)]
mod attribute_tests {
    use super::*;
    use crate::storage::Action;

    /// Every attribute a write names, its condition's included, as IAM's `dynamodb:Attributes`
    /// sees them.
    fn named(write: &Write) -> Vec<String> {
        let mut names = vec!["sku_key".to_owned()];
        if let Action::Update(changes) = &write.action {
            names.extend(changes.iter().map(|change| change.attribute().to_owned()));
        }
        names.extend(write.condition.iter().flat_map(|condition| condition.attributes()));
        names
    }

    fn allowed(list: &[&str], name: &str) -> bool {
        list.iter().any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => *pattern == name,
        })
    }

    #[test]
    fn order_writes_name_only_the_attributes_order_intake_may_touch() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        for write in [
            reserve("sel", "SKU", 2, day),
            release("sel", "SKU", 2),
            ship_reserved("sel", "SKU", 2),
            ship_unreserved("sel", "SKU", 2),
        ] {
            for name in named(&write) {
                assert!(allowed(ORDER_ATTRIBUTES, &name), "{name}");
            }
        }
        for name in named(&restock("sel", "SKU", 1)) {
            assert!(allowed(RESTOCK_ATTRIBUTES, &name), "{name}");
        }
        assert!(!allowed(ORDER_ATTRIBUTES, "low_stock_threshold"));
    }
}
