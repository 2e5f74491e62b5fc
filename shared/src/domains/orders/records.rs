//! The orders table: one item per order, the whole [`StoredOrder`], plus the attributes its
//! indexes read (`status_placed` for `BySellerStatus`; `ship_due_day`, only on orders still to
//! ship, for the sparse `ByShipDue`; `open_for`, buyer and seller, only on orders not yet
//! delivered or cancelled, for the sparse `OpenByBuyer` that answers "where is my order" when
//! the buyer names none; `buyer_id`, until the buyer is erased, for the sparse `ByBuyer` that
//! erasure and export page through).

use serde_json::Value;

use super::order::StoredOrder;
use super::status::OrderStatus;
use crate::storage::{
    Condition, Cursor, Index, Item, Page, Query, Storage, StoreError, Table, Write, from_item, to_item,
};

fn order_item(order: &StoredOrder) -> Result<Item, StoreError> {
    let mut item = to_item(order)?;
    item.insert(
        "status_placed".to_owned(),
        format!("{}#{}", order.status, order.placed_at.to_rfc3339()).into(),
    );
    if order.holds_buyer_data() {
        item.insert("buyer_id".to_owned(), order.buyer.id.clone().into());
    }
    if let Some(refund_status) = order.refund_status() {
        item.insert("refund_status".to_owned(), refund_status.into());
    }
    if order.status.awaits_shipment() {
        item.insert(
            "ship_due_day".to_owned(),
            order.ship_by.format("%Y-%m-%d").to_string().into(),
        );
    }
    if order.status.awaits_shipment() || order.status == OrderStatus::Shipped {
        item.insert(
            "open_for".to_owned(),
            open_for(&order.buyer.id, &order.seller_id).into(),
        );
    }
    Ok(item)
}

#[cfg(test)]
pub(crate) fn order_item_for_tests(order: &StoredOrder) -> Item {
    order_item(order).unwrap()
}

/// The `OpenByBuyer` partition of a buyer's open orders with a seller.
pub fn open_for(buyer_id: &str, seller_id: &str) -> String {
    format!("{buyer_id}#{seller_id}")
}

/// The buyer's one order with the seller that is placed and not yet delivered or cancelled;
/// `None` with none or several. Reads at most two, however many the buyer has.
pub async fn only_open_order(
    store: &impl Storage,
    buyer_id: &str,
    seller_id: &str,
) -> Result<Option<StoredOrder>, StoreError> {
    let query = Query::new(Index::OrdersOpenByBuyer, open_for(buyer_id, seller_id)).first(2);
    let mut found = store.query(&query).await?.items;
    match found.len() {
        1 => found.pop().map(order_from).transpose(),
        _ => Ok(None),
    }
}

pub fn order_from(item: Item) -> Result<StoredOrder, StoreError> {
    from_item(item)
}

/// A new order, only if its id is new.
pub fn put_new(order: &StoredOrder) -> Result<Write, StoreError> {
    Ok(Write::put(Table::Orders, order_item(order)?).when(Condition::ItemMissing))
}

/// An order after a change, only if nobody changed it since the version it was made from.
pub fn put_changed(order: &StoredOrder) -> Result<Write, StoreError> {
    let read = order.version.saturating_sub(1);
    Ok(Write::put(Table::Orders, order_item(order)?)
        .when(Condition::ItemExists.and(Condition::unchanged("version", read))))
}

/// The attributes filling a backorder changes, and the only ones stock alerts may write to an
/// order (its role's grant names the same list): never the buyer, the address or the lines.
pub const FILL_ATTRIBUTES: &[&str] = &[
    "status",
    "status_placed",
    "short_lines",
    "expected_by",
    "events",
    "history",
    "version",
];

/// The attributes approving a refund changes, and the only ones refund processing may write.
pub const REFUND_ATTRIBUTES: &[&str] = &["refunded", "refund_status", "version"];

/// An order after a change that touched only `attributes` (one of the lists above), as an
/// update of those alone, only if nobody changed it since the version it was made from.
pub fn update_changed(order: &StoredOrder, attributes: &[&str]) -> Result<Write, StoreError> {
    let read = order.version.saturating_sub(1);
    let mut item = order_item(order)?;
    let mut write = Write::update(Table::Orders, order.order_id.clone())
        .when(Condition::ItemExists.and(Condition::unchanged("version", read)));
    for attribute in attributes {
        write = match item.remove(*attribute) {
            Some(Value::Null) | None => write.remove(*attribute),
            Some(value) => write.set(*attribute, value),
        };
    }
    Ok(write)
}

/// A page of the orders still holding the buyer's data, by id: at most `size`, after `after`.
pub async fn holding_buyer(
    store: &impl Storage,
    buyer_id: &str,
    size: usize,
    after: Option<Cursor>,
) -> Result<Page<String>, StoreError> {
    crate::storage::keys_page(store, &Query::new(Index::OrdersByBuyer, buyer_id).page(size, after)).await
}

pub async fn read_order(store: &impl Storage, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
    store.get(Table::Orders, order_id).await?.map(order_from).transpose()
}

/// A page of the seller's backordered orders, oldest first: at most `size`, after `after`.
pub async fn backordered(
    store: &impl Storage,
    seller_id: &str,
    size: usize,
    after: Option<Cursor>,
) -> Result<Page<StoredOrder>, StoreError> {
    let query = Query::new(Index::OrdersBySellerStatus, seller_id)
        .sort_starting_with(format!("{}#", OrderStatus::Backordered))
        .page(size, after);
    let found = store.query(&query).await?;
    Ok(Page {
        items: found.items.into_iter().map(order_from).collect::<Result<_, _>>()?,
        next: found.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::orders::outbox_entry::tests::order;
    use crate::storage::Action;

    /// The attributes in which two orders' items differ.
    fn changed(before: &StoredOrder, after: &StoredOrder) -> Vec<String> {
        let (before, after) = (order_item(before).unwrap(), order_item(after).unwrap());
        let mut names: Vec<String> = before.keys().chain(after.keys()).cloned().collect();
        names.sort();
        names.dedup();
        names.retain(|name| before.get(name) != after.get(name));
        names
    }

    /// An update of a list of attributes is complete only if the change touches nothing else:
    /// anything outside the list would silently not be written.
    #[test]
    fn a_fill_changes_only_the_attributes_its_update_writes() {
        let backordered = order(OrderStatus::Backordered);
        let filled = backordered.filled("stock-alerts#evt_restock", "2026-11-23T10:00:00Z".parse().unwrap());
        let changed = changed(&backordered, &filled);
        assert!(!changed.is_empty());
        for name in &changed {
            assert!(
                FILL_ATTRIBUTES.contains(&name.as_str()),
                "{name} changes but is not written"
            );
        }
        let Action::Update(changes) = update_changed(&filled, FILL_ATTRIBUTES).unwrap().action else {
            panic!("a fill is an update")
        };
        assert_eq!(changes.len(), FILL_ATTRIBUTES.len());
    }

    #[test]
    fn a_refund_changes_only_the_attributes_its_update_writes() {
        let delivered = order(OrderStatus::Delivered);
        let refunded = delivered.refunded_by([("l1", 1, 1000)], 1000);
        let changed = changed(&delivered, &refunded);
        assert!(changed.contains(&"refund_status".to_owned()), "{changed:?}");
        for name in changed {
            assert!(
                REFUND_ATTRIBUTES.contains(&name.as_str()),
                "{name} changes but is not written"
            );
        }
    }
}
