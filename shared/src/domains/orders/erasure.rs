//! What a buyer's erasure leaves of an order: the bookkeeping (ids, SKUs, quantities, money,
//! dates, status, history) and nothing that names, reaches or locates the buyer. The buyer's
//! id stays, as refunds and the ledger are keyed by it; the `buyer_id` the `ByBuyer` index
//! reads goes, so an erased order leaves the index that found it.

use chrono::{DateTime, Utc};

use super::order::StoredOrder;
use super::records::update_changed;
use super::validate::{Address, Buyer};
use crate::storage::{StoreError, Write};
use crate::values::pii::EmailAddress;

impl Buyer {
    /// The buyer as an erased record keeps them: the id (what refunds and the ledger are keyed
    /// by) and the locale, no name, an address no mail system delivers to.
    pub fn erased(&self) -> Self {
        Self {
            id: self.id.clone(),
            name: String::new(),
            email: EmailAddress::erased(),
            locale: self.locale.clone(),
        }
    }
}

impl StoredOrder {
    /// Whether it still holds the buyer's personal data.
    pub fn holds_buyer_data(&self) -> bool {
        self.erased_at.is_none()
    }

    /// The order with its buyer erased at `at`: the next version, so a change racing the
    /// erasure from an earlier reading fails its condition and reads the erased order again.
    pub fn erased(&self, at: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.buyer = self.buyer.erased();
        // The country stays: what was sold where is bookkeeping (tax, the seller's figures).
        next.shipping_address = Address {
            name: String::new(),
            line1: String::new(),
            line2: None,
            city: String::new(),
            region: None,
            postal_code: String::new(),
            country: self.shipping_address.country.clone(),
        };
        if let Some(shipment) = &mut next.shipment {
            shipment.tracking_number.clear();
            shipment.tracking_url = None;
        }
        next.erased_at = Some(at);
        next.version += 1;
        next
    }
}

/// The attributes an erasure changes, and the only ones buyer privacy may write to an order
/// (its role's grant names the same list): `buyer_id` goes, so the order leaves `ByBuyer`.
pub const ERASURE_ATTRIBUTES: &[&str] = &[
    "buyer",
    "shipping_address",
    "shipment",
    "erased_at",
    "buyer_id",
    "version",
];

/// The order's erasure at `at`, as an update of [`ERASURE_ATTRIBUTES`] over the version read.
pub fn update_erased(order: &StoredOrder, at: DateTime<Utc>) -> Result<Write, StoreError> {
    update_changed(&order.erased(at), ERASURE_ATTRIBUTES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::orders::outbox_entry::tests::order;
    use crate::domains::orders::status::OrderStatus;

    #[test]
    fn an_erased_order_keeps_its_bookkeeping_and_loses_its_buyer() {
        let placed = order(OrderStatus::Shipped);
        let erased = placed.erased("2026-12-01T00:00:00Z".parse().unwrap());
        let text = serde_json::to_string(&erased).unwrap();
        for personal in [
            placed.buyer.name.as_str(),
            placed.buyer.email.expose(),
            placed.shipping_address.line1.as_str(),
            placed.shipping_address.postal_code.as_str(),
        ] {
            assert!(!text.contains(personal), "{personal} survived");
        }
        assert_eq!(erased.total_minor, placed.total_minor);
        assert_eq!(erased.lines.len(), placed.lines.len());
        assert_eq!(erased.buyer.id, placed.buyer.id);
        assert_eq!(erased.version, placed.version + 1);
        assert!(!erased.holds_buyer_data());
        let read: StoredOrder = serde_json::from_str(&text).unwrap();
        assert_eq!(read, erased);
    }

    /// Anything outside the list would silently stay: an erasure that left an address.
    #[test]
    fn an_erasure_changes_only_the_attributes_its_update_writes() {
        use crate::domains::orders::records::order_item_for_tests as item;
        let placed = order(OrderStatus::Shipped);
        let erased = placed.erased("2026-12-01T00:00:00Z".parse().unwrap());
        let (before, after) = (item(&placed), item(&erased));
        let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
        names.sort();
        names.dedup();
        for name in names {
            if before.get(name) != after.get(name) {
                assert!(
                    ERASURE_ATTRIBUTES.contains(&name.as_str()),
                    "{name} changes but is not written"
                );
            }
        }
    }
}
