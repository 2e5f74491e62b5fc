//! Write sets: the puts, updates and deletes of one atomic change, each with the condition it
//! depends on, and why a set was cancelled.
//!
//! The vocabulary is what DynamoDB's expressions can say and no more (one `+` or `-` per
//! assignment, `if_not_exists`, comparisons with a value), so that every write the domain
//! builds has one DynamoDB request and one in-memory meaning.

use serde_json::Value;

use super::{Item, StoreError, Table};

/// What a value in an assignment is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value(Value),
    /// The item's attribute; the write fails if the item lacks it.
    Attribute(String),
    /// The item's attribute, or this value when the item lacks it (`if_not_exists`).
    AttributeOr(String, Value),
}

/// One assignment of an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `attribute = operand`
    Set(String, Operand),
    /// `attribute = left + right`, whole numbers.
    Add(String, Operand, Operand),
    /// `attribute = left - right`, whole numbers.
    Subtract(String, Operand, Operand),
    Remove(String),
}

impl Change {
    pub fn attribute(&self) -> &str {
        match self {
            Change::Set(name, _) | Change::Add(name, ..) | Change::Subtract(name, ..) | Change::Remove(name) => name,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What must hold of the item, as it is before the write set, for a write to apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    ItemExists,
    ItemMissing,
    Has(String),
    Lacks(String),
    /// The attribute is present, of the value's type, and compares so with it.
    Compare(String, Cmp, Value),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

impl Condition {
    /// The attributes the condition reads, as IAM's `dynamodb:Attributes` counts them.
    pub fn attributes(&self) -> Vec<String> {
        match self {
            Condition::ItemExists | Condition::ItemMissing => Vec::new(),
            Condition::Has(name) | Condition::Lacks(name) | Condition::Compare(name, _, _) => vec![name.clone()],
            Condition::All(all) | Condition::Any(all) => all.iter().flat_map(Condition::attributes).collect(),
        }
    }

    pub fn has(attribute: impl Into<String>) -> Self {
        Condition::Has(attribute.into())
    }

    pub fn lacks(attribute: impl Into<String>) -> Self {
        Condition::Lacks(attribute.into())
    }

    pub fn equals(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Compare(attribute.into(), Cmp::Eq, value.into())
    }

    pub fn at_least(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Compare(attribute.into(), Cmp::Ge, value.into())
    }

    pub fn at_most(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Compare(attribute.into(), Cmp::Le, value.into())
    }

    pub fn below(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        Condition::Compare(attribute.into(), Cmp::Lt, value.into())
    }

    /// The attribute is absent or equal to `value`: what it was when read, absent included.
    pub fn unchanged(attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        let attribute = attribute.into();
        Condition::Any(vec![
            Condition::Lacks(attribute.clone()),
            Condition::equals(attribute, value),
        ])
    }

    pub fn and(self, other: Condition) -> Self {
        match self {
            Condition::All(mut all) => {
                all.push(other);
                Condition::All(all)
            }
            first => Condition::All(vec![first, other]),
        }
    }

    pub fn or(self, other: Condition) -> Self {
        match self {
            Condition::Any(mut any) => {
                any.push(other);
                Condition::Any(any)
            }
            first => Condition::Any(vec![first, other]),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Replaces the whole item.
    Put(Item),
    /// Changes some attributes, creating the item if there is none.
    Update(Vec<Change>),
    Delete,
    /// Writes nothing: the set applies only if the write's condition holds on the item (a
    /// transaction's `ConditionCheck`).
    Check,
}

/// One write of a set.
#[derive(Debug, Clone, PartialEq)]
pub struct Write {
    pub table: Table,
    pub key: String,
    pub action: Action,
    pub condition: Option<Condition>,
}

impl Write {
    /// Puts `item`, keyed by its own key attribute.
    pub fn put(table: Table, item: Item) -> Self {
        let key = super::text(&item, table.key_attribute()).to_owned();
        Self {
            table,
            key,
            action: Action::Put(item),
            condition: None,
        }
    }

    pub fn update(table: Table, key: impl Into<String>) -> Self {
        Self {
            table,
            key: key.into(),
            action: Action::Update(Vec::new()),
            condition: None,
        }
    }

    pub fn delete(table: Table, key: impl Into<String>) -> Self {
        Self {
            table,
            key: key.into(),
            action: Action::Delete,
            condition: None,
        }
    }

    /// Holds the set to `condition` on an item it does not change.
    pub fn check(table: Table, key: impl Into<String>, condition: Condition) -> Self {
        Self {
            table,
            key: key.into(),
            action: Action::Check,
            condition: Some(condition),
        }
    }

    /// Applies only if `condition` holds; several calls must all hold.
    pub fn when(mut self, condition: Condition) -> Self {
        self.condition = Some(match self.condition.take() {
            Some(earlier) => earlier.and(condition),
            None => condition,
        });
        self
    }

    fn change(mut self, change: Change) -> Self {
        if let Action::Update(changes) = &mut self.action {
            changes.push(change);
        } else {
            debug_assert!(false, "only an update has changes");
        }
        self
    }

    pub fn set(self, attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        self.change(Change::Set(attribute.into(), Operand::Value(value.into())))
    }

    /// Sets the attribute only where the item lacks it.
    pub fn set_if_missing(self, attribute: impl Into<String>, value: impl Into<Value>) -> Self {
        let attribute = attribute.into();
        self.change(Change::Set(
            attribute.clone(),
            Operand::AttributeOr(attribute, value.into()),
        ))
    }

    /// Adds `amount` (which may be negative) to a number the item has.
    pub fn add(self, attribute: impl Into<String>, amount: i64) -> Self {
        let attribute = attribute.into();
        self.change(Change::Add(
            attribute.clone(),
            Operand::Attribute(attribute),
            Operand::Value(amount.into()),
        ))
    }

    /// Adds `amount` to a number, counting from 0 where the item lacks it.
    pub fn add_from_zero(self, attribute: impl Into<String>, amount: i64) -> Self {
        let attribute = attribute.into();
        self.change(Change::Add(
            attribute.clone(),
            Operand::AttributeOr(attribute, 0.into()),
            Operand::Value(amount.into()),
        ))
    }

    /// `attribute = value - other`, for a value derived from another attribute of the item.
    pub fn set_less(self, attribute: impl Into<String>, value: i64, other: impl Into<String>) -> Self {
        self.change(Change::Subtract(
            attribute.into(),
            Operand::Value(value.into()),
            Operand::Attribute(other.into()),
        ))
    }

    pub fn remove(self, attribute: impl Into<String>) -> Self {
        self.change(Change::Remove(attribute.into()))
    }
}

/// The writes of one atomic change, in order: a cancellation names its reasons by position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriteSet {
    writes: Vec<Write>,
}

impl WriteSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a write; answers its position.
    pub fn push(&mut self, write: Write) -> usize {
        self.writes.push(write);
        self.writes.len() - 1
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    pub fn writes(&self) -> &[Write] {
        &self.writes
    }
}

impl From<Vec<Write>> for WriteSet {
    fn from(writes: Vec<Write>) -> Self {
        Self { writes }
    }
}

impl Extend<Write> for WriteSet {
    fn extend<I: IntoIterator<Item = Write>>(&mut self, writes: I) {
        self.writes.extend(writes);
    }
}

impl IntoIterator for WriteSet {
    type Item = Write;
    type IntoIter = std::vec::IntoIter<Write>;

    fn into_iter(self) -> Self::IntoIter {
        self.writes.into_iter()
    }
}

/// Why one write of a cancelled set did not apply.
#[derive(Clone, PartialEq)]
pub enum Reason {
    /// Its condition held; it was cancelled with the others.
    Passed,
    /// Its condition failed; the item as it stood (`None`: there was none).
    ConditionFailed(Option<Item>),
    /// Another write to the same item was in flight: the set may succeed if tried again.
    Conflict,
}

/// Items may hold buyers' addresses: a reason shows only whether there was one.
impl std::fmt::Debug for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Passed => f.write_str("Passed"),
            Reason::ConditionFailed(Some(_)) => f.write_str("ConditionFailed(<item>)"),
            Reason::ConditionFailed(None) => f.write_str("ConditionFailed(no item)"),
            Reason::Conflict => f.write_str("Conflict"),
        }
    }
}

/// A write set that applied nothing, with a reason per write, by position.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancelled {
    pub reasons: Vec<Reason>,
}

impl Cancelled {
    /// Whether the write at `position` failed its condition.
    pub fn failed(&self, position: usize) -> bool {
        matches!(self.reasons.get(position), Some(Reason::ConditionFailed(_)))
    }

    /// The item that failed the condition of the write at `position`, as it stood.
    pub fn existing(&self, position: usize) -> Option<&Item> {
        match self.reasons.get(position) {
            Some(Reason::ConditionFailed(item)) => item.as_ref(),
            _ => None,
        }
    }

    /// Whether the set collided with another: trying it again may succeed.
    pub fn collided(&self) -> bool {
        self.reasons.contains(&Reason::Conflict)
    }

    /// The first position in `positions` whose condition failed.
    pub fn first_failed(&self, positions: std::ops::Range<usize>) -> Option<usize> {
        positions.into_iter().find(|position| self.failed(*position))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteFailure {
    #[error("the write set was cancelled: {0:?}")]
    Cancelled(Cancelled),
    #[error(transparent)]
    Store(#[from] StoreError),
}
