//! The in-memory store: the same tables, conditions and atomic write sets as DynamoDB, in a
//! mutex, so that handlers are tested in milliseconds with no AWS at all.
//!
//! It keeps DynamoDB's rules where breaking them would hide a bug: conditions are checked
//! against the items as they were before the set, a set may not touch one item twice, an
//! update may not change the key or name an attribute twice, and arithmetic on a missing
//! attribute fails. It counts the requests each call would cost, and can be told to fail the
//! next ones, as an outage would.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::write::Action;
use super::{
    Cancelled, Change, Cmp, Condition, Cursor, Found, Item, ItemKey, Operand, Query, Reason, Storage, StoreError,
    Table, WriteFailure, WriteSet, cursor_at, text,
};

/// DynamoDB's limit on the writes of one TransactWriteItems.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// DynamoDB's limit on one item: 400 KB, names and values together.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

#[derive(Debug, Clone, Default)]
pub struct MemoryStorage {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    tables: BTreeMap<Table, BTreeMap<String, Item>>,
    requests: usize,
    failures_left: usize,
}

impl State {
    fn item(&self, table: Table, key: &str) -> Option<&Item> {
        self.tables.get(&table).and_then(|items| items.get(key))
    }

    /// Counts a request; fails it while an injected outage lasts.
    fn request(&mut self, operation: &'static str) -> Result<(), StoreError> {
        self.requests += 1;
        if self.failures_left > 0 {
            self.failures_left -= 1;
            return Err(StoreError::new(operation, "injected outage"));
        }
        Ok(())
    }
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock has failed already; keep the data readable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The requests made since the last call: what the same calls would cost in DynamoDB.
    pub fn take_requests(&self) -> usize {
        std::mem::take(&mut self.state().requests)
    }

    /// The next `calls` requests fail, as they would while DynamoDB is unreachable.
    pub fn fail_next(&self, calls: usize) {
        self.state().failures_left = calls;
    }

    pub fn item(&self, table: Table, key: &str) -> Option<Item> {
        self.state().item(table, key).cloned()
    }

    pub fn items(&self, table: Table) -> Vec<Item> {
        self.state()
            .tables
            .get(&table)
            .map(|items| items.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Puts an item directly, as a test's setup.
    pub fn insert(&self, table: Table, item: Item) {
        let key = text(&item, table.key_attribute()).to_owned();
        self.state().tables.entry(table).or_default().insert(key, item);
    }

    /// Removes an item directly, as a TTL would.
    pub fn forget(&self, table: Table, key: &str) {
        if let Some(items) = self.state().tables.get_mut(&table) {
            items.remove(key);
        }
    }
}

impl Storage for MemoryStorage {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        let mut state = self.state();
        state.request("GetItem")?;
        Ok(state.item(table, key).cloned())
    }

    async fn get_many(&self, keys: &[ItemKey]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut state = self.state();
        for _ in keys.chunks(100) {
            state.request("BatchGetItem")?;
        }
        Ok(keys.iter().map(|at| state.item(at.table, &at.key).cloned()).collect())
    }

    async fn query(&self, query: &Query) -> Result<Found, StoreError> {
        let mut state = self.state();
        state.request("Query")?;
        let index = query.index;
        let (partition, sort) = (index.partition_attribute(), index.sort_attribute());
        let mut items: Vec<Item> = state
            .tables
            .get(&index.table())
            .into_iter()
            .flat_map(|items| items.values())
            // An index holds only the items that carry both its keys.
            .filter(|item| item.get(partition).and_then(Value::as_str) == Some(query.partition.as_str()))
            .filter(|item| match item.get(sort) {
                Some(Value::Number(_)) => index.sorts_by_number(),
                Some(Value::String(value)) => {
                    !index.sorts_by_number()
                        && query
                            .sort_prefix
                            .as_deref()
                            .is_none_or(|prefix| value.starts_with(prefix))
                        && query.sort_until.as_deref().is_none_or(|last| value.as_str() <= last)
                }
                _ => false,
            })
            .cloned()
            .collect();
        let cursor = |item: &Item| cursor_at(index, item);
        // DynamoDB's order: numbers by value, text by bytes, then the item's key; reversed whole
        // when highest first.
        let position = |cursor: &Cursor| {
            let number = index
                .sorts_by_number()
                .then(|| cursor.sort.parse::<i64>().unwrap_or(i64::MIN));
            (number, cursor.sort.clone(), cursor.key.clone())
        };
        items.sort_by_cached_key(|item| position(&cursor(item)));
        if query.highest_first {
            items.reverse();
        }
        if let Some(after) = &query.after {
            let after = position(after);
            items.retain(|item| {
                let at = position(&cursor(item));
                if query.highest_first { at < after } else { at > after }
            });
        }
        let mut next = None;
        if let Some(limit) = query.limit.filter(|limit| items.len() > *limit) {
            items.truncate(limit);
            next = items.last().map(cursor);
        }
        if index.keys_only() {
            let kept = [index.table().key_attribute(), partition, sort];
            for item in &mut items {
                item.retain(|name, _| kept.contains(&name.as_str()));
            }
        }
        Ok(Found {
            read: items.len(),
            items,
            next,
        })
    }

    async fn write(&self, writes: WriteSet) -> Result<(), WriteFailure> {
        let mut state = self.state();
        let alone = writes.len() == 1 && !matches!(writes.writes()[0].action, Action::Check);
        state.request(if alone { "PutItem" } else { "TransactWriteItems" })?;
        if writes.len() > MAX_TRANSACTION_ITEMS {
            return Err(invalid("a transaction holds at most 100 items").into());
        }
        let mut touched = HashSet::new();
        if !writes
            .writes()
            .iter()
            .all(|write| touched.insert((write.table, &write.key)))
        {
            return Err(invalid("a write set may not touch one item twice").into());
        }
        let reasons: Vec<Reason> = writes
            .writes()
            .iter()
            .map(|write| {
                let current = state.item(write.table, &write.key);
                match &write.condition {
                    Some(condition) if !holds(condition, current) => Reason::ConditionFailed(current.cloned()),
                    _ => Reason::Passed,
                }
            })
            .collect();
        if reasons.iter().any(|reason| *reason != Reason::Passed) {
            return Err(WriteFailure::Cancelled(Cancelled { reasons }));
        }
        let mut results = Vec::with_capacity(writes.len());
        for write in writes.writes() {
            let after = applied(
                &write.action,
                write.table,
                &write.key,
                state.item(write.table, &write.key),
            )?;
            if after.as_ref().is_some_and(|item| item_size(item) > MAX_ITEM_BYTES) {
                return Err(invalid("Item size has exceeded the maximum allowed size").into());
            }
            results.push((write.table, write.key.clone(), after));
        }
        for (table, key, after) in results {
            let items = state.tables.entry(table).or_default();
            match after {
                Some(item) => items.insert(key, item),
                None => items.remove(&key),
            };
        }
        Ok(())
    }
}

/// An item's size as DynamoDB counts it, near enough to hold a test to the limit: the bytes of
/// each name and of each value's text (a number's digits, a string's UTF-8).
pub fn item_size(item: &Item) -> usize {
    fn value_size(value: &Value) -> usize {
        match value {
            Value::String(text) => text.len(),
            Value::Array(values) => values.iter().map(value_size).sum::<usize>() + 3,
            Value::Object(map) => {
                map.iter()
                    .map(|(name, value)| name.len() + value_size(value))
                    .sum::<usize>()
                    + 3
            }
            other => other.to_string().len(),
        }
    }
    item.iter().map(|(name, value)| name.len() + value_size(value)).sum()
}

fn invalid(message: &str) -> StoreError {
    StoreError::new("in-memory write (ValidationException)", message.to_owned())
}

fn holds(condition: &Condition, item: Option<&Item>) -> bool {
    let attribute = |name: &str| item.and_then(|item| item.get(name));
    match condition {
        Condition::ItemExists => item.is_some(),
        Condition::ItemMissing => item.is_none(),
        Condition::Has(name) => attribute(name).is_some(),
        Condition::Lacks(name) => attribute(name).is_none(),
        Condition::Compare(name, cmp, value) => attribute(name).is_some_and(|found| compares(found, *cmp, value)),
        Condition::All(all) => all.iter().all(|condition| holds(condition, item)),
        Condition::Any(any) => any.iter().any(|condition| holds(condition, item)),
    }
}

/// DynamoDB's comparisons: numbers by value, text by its bytes, anything else is false.
fn compares(found: &Value, cmp: Cmp, value: &Value) -> bool {
    let ordering = match (found, value) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => return false,
        },
        (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Value::Bool(a), Value::Bool(b)) if cmp == Cmp::Eq => return a == b,
        _ => return false,
    };
    match cmp {
        Cmp::Eq => ordering.is_eq(),
        Cmp::Lt => ordering.is_lt(),
        Cmp::Le => ordering.is_le(),
        Cmp::Gt => ordering.is_gt(),
        Cmp::Ge => ordering.is_ge(),
    }
}

/// The item after `action`; `None` when it is deleted.
fn applied(action: &Action, table: Table, key: &str, current: Option<&Item>) -> Result<Option<Item>, StoreError> {
    let key_attribute = table.key_attribute();
    match action {
        Action::Delete => Ok(None),
        Action::Check => Ok(current.cloned()),
        Action::Put(item) if text(item, key_attribute) == key => Ok(Some(item.clone())),
        Action::Put(_) => Err(invalid("a put's item must carry its key")),
        Action::Update(changes) => {
            let before = current.cloned().unwrap_or_else(|| {
                let mut fresh = Item::new();
                fresh.insert(key_attribute.to_owned(), Value::from(key));
                fresh
            });
            let mut named = HashSet::new();
            for change in changes {
                if change.attribute() == key_attribute {
                    return Err(invalid("an update may not change the key"));
                }
                if !named.insert(change.attribute()) {
                    return Err(invalid("two changes of an update name the same attribute"));
                }
            }
            let mut after = before.clone();
            for change in changes {
                // Every value is taken from the item as it was, as DynamoDB evaluates them.
                match change {
                    Change::Set(name, operand) => {
                        after.insert(name.clone(), operand_value(operand, &before)?);
                    }
                    Change::Add(name, left, right) => {
                        let sum = whole(left, &before)?.checked_add(whole(right, &before)?);
                        after.insert(name.clone(), sum.ok_or_else(|| invalid("overflow"))?.into());
                    }
                    Change::Subtract(name, left, right) => {
                        let difference = whole(left, &before)?.checked_sub(whole(right, &before)?);
                        after.insert(name.clone(), difference.ok_or_else(|| invalid("overflow"))?.into());
                    }
                    Change::Remove(name) => {
                        after.remove(name);
                    }
                }
            }
            Ok(Some(after))
        }
    }
}

fn operand_value(operand: &Operand, item: &Item) -> Result<Value, StoreError> {
    match operand {
        Operand::Value(value) => Ok(value.clone()),
        Operand::Attribute(name) => item
            .get(name)
            .cloned()
            .ok_or_else(|| invalid("the expression refers to an attribute the item does not have")),
        Operand::AttributeOr(name, default) => Ok(item.get(name).cloned().unwrap_or_else(|| default.clone())),
    }
}

fn whole(operand: &Operand, item: &Item) -> Result<i64, StoreError> {
    operand_value(operand, item)?
        .as_i64()
        .ok_or_else(|| invalid("arithmetic on something that is not a whole number"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::storage::{Index, Write};

    fn item(value: Value) -> Item {
        value.as_object().cloned().unwrap()
    }

    #[tokio::test]
    async fn a_set_applies_whole_or_not_at_all() {
        let store = MemoryStorage::new();
        store.insert(Table::Inventory, item(json!({"sku_key": "s#A", "available": 1})));
        let reserve = |sku: &str| {
            Write::update(Table::Inventory, sku)
                .add("available", -1)
                .when(Condition::at_least("available", 1))
        };
        let both: WriteSet = vec![reserve("s#A"), reserve("s#B")].into();
        let Err(WriteFailure::Cancelled(cancelled)) = store.write(both).await else {
            panic!("s#B has no stock")
        };
        assert!(!cancelled.failed(0) && cancelled.failed(1));
        assert_eq!(cancelled.existing(1), None, "there is no s#B");
        assert_eq!(
            store.item(Table::Inventory, "s#A").unwrap()["available"],
            1,
            "nothing applied"
        );
        store.write(vec![reserve("s#A")].into()).await.unwrap();
        assert_eq!(store.item(Table::Inventory, "s#A").unwrap()["available"], 0);
        assert_eq!(store.take_requests(), 2);
    }

    #[tokio::test]
    async fn an_item_past_400_kb_is_refused_whether_put_or_grown() {
        let store = MemoryStorage::new();
        let text = "x".repeat(200 * 1024);
        let grow = |name: &str| Write::update(Table::Threads, "t1").set(name, text.as_str());
        store.write(vec![grow("a")].into()).await.unwrap();
        let Err(WriteFailure::Store(error)) = store.write(vec![grow("b")].into()).await else {
            panic!("two 200 KiB attributes are past the limit")
        };
        assert!(error.to_string().contains("maximum allowed size"), "{error}");
        assert!(store.item(Table::Threads, "t1").unwrap().get("b").is_none());
    }

    #[tokio::test]
    async fn dynamodb_refusals_are_kept() {
        let store = MemoryStorage::new();
        let twice: WriteSet = vec![
            Write::update(Table::Orders, "o1").set("a", 1),
            Write::update(Table::Orders, "o1").set("b", 1),
        ]
        .into();
        assert!(matches!(store.write(twice).await, Err(WriteFailure::Store(_))));
        let missing = Write::update(Table::Orders, "o1").add("count", 1);
        assert!(matches!(
            store.write(vec![missing].into()).await,
            Err(WriteFailure::Store(_))
        ));
        let from_zero = Write::update(Table::Orders, "o1")
            .add_from_zero("count", 2)
            .set_less("left", 5, "count");
        assert!(
            matches!(store.write(vec![from_zero].into()).await, Err(WriteFailure::Store(_))),
            "values come from the item as it was, which had no count"
        );
        store.fail_next(1);
        assert!(store.get(Table::Orders, "o1").await.is_err());
        assert!(store.get(Table::Orders, "o1").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_sparse_keys_only_index_holds_what_carries_its_keys() {
        let store = MemoryStorage::new();
        store.insert(
            Table::Inventory,
            item(json!({"sku_key": "s#B", "watch": "sweep", "on_hand": 3})),
        );
        store.insert(Table::Inventory, item(json!({"sku_key": "s#A", "watch": "sweep"})));
        store.insert(Table::Inventory, item(json!({"sku_key": "s#C", "on_hand": 3})));
        let found = store.query(&Query::new(Index::Watchlist, "sweep")).await.unwrap();
        let keys: Vec<&str> = found.items.iter().map(|item| text(item, "sku_key")).collect();
        assert_eq!(keys, ["s#A", "s#B"]);
        assert!(!found.items[1].contains_key("on_hand"), "keys only");
    }
}
