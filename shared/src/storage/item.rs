//! Items: one JSON object per stored record. Numbers are whole (every count and amount the
//! back office stores is integer minor units or units), strings are text, and nested objects
//! and lists are kept as they are.

use crate::values::pii::unquoted;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::StoreError;

pub type Item = Map<String, Value>;

/// A whole-number attribute; 0 when the item lacks it or it is not a whole number.
pub fn number(item: &Item, name: &str) -> i64 {
    item.get(name).and_then(Value::as_i64).unwrap_or(0)
}

/// A text attribute; empty when the item lacks it or it is not text.
pub fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A record as the item that stores it.
pub fn to_item<T: Serialize>(record: &T) -> Result<Item, StoreError> {
    match serde_json::to_value(record) {
        Ok(Value::Object(item)) => Ok(item),
        Ok(_) => Err(StoreError::new("item serialisation", "a record must be an object")),
        Err(error) => Err(StoreError::new("item serialisation", unquoted(&error))),
    }
}

/// An item as the record it stores.
pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_json::from_value(Value::Object(item))
        .map_err(|error| StoreError::new("item deserialisation", unquoted(&error)))
}
