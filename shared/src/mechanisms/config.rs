//! Configuration from environment variables: the one loader every function uses.
//!
//! Values come through [`Source`] so that tests pass a map instead of changing the process
//! environment (which is `unsafe` to mutate in edition 2024, and shared between tests).

use std::collections::{BTreeMap, HashMap};

use crate::storage::Table;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} must be true or false, not {value:?}")]
    NotABoolean { name: &'static str, value: String },
    #[error("environment variable {name} is {reason}")]
    Invalid { name: &'static str, reason: &'static str },
    #[error("what environment variable {name} names cannot be read: {reason}")]
    Unreadable { name: &'static str, reason: String },
}

pub trait Source {
    fn get(&self, name: &str) -> Option<String>;

    /// The variable's value; a missing or empty variable is an error naming it.
    fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.get(name)
            .filter(|value| !value.trim().is_empty())
            .ok_or(ConfigError::Missing(name))
    }

    fn optional(&self, name: &'static str) -> Option<String> {
        self.get(name).filter(|value| !value.trim().is_empty())
    }

    /// `true` or `false`; `default` when unset.
    fn flag(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(name).map(|value| value.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(value) if value == "true" => Ok(true),
            Some(value) if value == "false" => Ok(false),
            Some(value) => Err(ConfigError::NotABoolean { name, value }),
        }
    }
}

/// Whether a function opens its AWS connections during init (`OPEN_CONNECTIONS_AT_INIT`),
/// so that its first event does not wait for a TLS handshake. The template turns it on; the
/// local stack, whose AWS is plain HTTP on loopback, leaves it off.
pub fn open_connections_at_init(source: &(impl Source + ?Sized)) -> Result<bool, ConfigError> {
    source.flag("OPEN_CONNECTIONS_AT_INIT", false)
}

/// The process environment, as Lambda sets it from the template.
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for BTreeMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        BTreeMap::get(self, name).cloned()
    }
}

impl Source for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

/// The physical names of the tables a function uses, from the variables the template sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableNames(BTreeMap<Table, String>);

impl TableNames {
    /// Each of `tables` from its variable (`ORDERS_TABLE`, …); a missing one is named.
    pub fn from_env(source: &(impl Source + ?Sized), tables: &[Table]) -> Result<Self, ConfigError> {
        tables
            .iter()
            .map(|table| Ok((*table, source.required(table.variable())?)))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// Adds or renames one table.
    pub fn with(mut self, table: Table, name: impl Into<String>) -> Self {
        self.0.insert(table, name.into());
        self
    }

    pub fn name(&self, table: Table) -> Option<&str> {
        self.0.get(&table).map(String::as_str)
    }

    /// The table behind a physical name, as DynamoDB's answers name them.
    pub fn table_named(&self, name: &str) -> Option<Table> {
        self.0.iter().find(|(_, known)| *known == name).map(|(table, _)| *table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_table_name_comes_from_its_variable() {
        let env: &[(&str, &str)] = &[("ORDERS_TABLE", "stack-orders"), ("OUTBOX_TABLE", "stack-outbox")];
        let names = TableNames::from_env(env, &[Table::Orders, Table::Outbox]).unwrap();
        assert_eq!(names.name(Table::Orders), Some("stack-orders"));
        assert_eq!(names.table_named("stack-outbox"), Some(Table::Outbox));
        assert_eq!(names.name(Table::Emails), None);
        assert_eq!(
            TableNames::from_env(env, &[Table::Inventory]),
            Err(ConfigError::Missing("INVENTORY_TABLE"))
        );
    }

    #[test]
    fn a_missing_or_empty_variable_is_named() {
        let env: &[(&str, &str)] = &[("ORDERS_TABLE", "orders"), ("EMPTY", " ")];
        assert_eq!(env.required("ORDERS_TABLE"), Ok("orders".to_owned()));
        assert_eq!(
            env.required("EMAIL_QUEUE_URL"),
            Err(ConfigError::Missing("EMAIL_QUEUE_URL"))
        );
        assert_eq!(env.required("EMPTY"), Err(ConfigError::Missing("EMPTY")));
        assert_eq!(
            ConfigError::Missing("X").to_string(),
            "environment variable X is not set"
        );
    }

    #[test]
    fn flags_are_true_or_false_and_anything_else_is_named() {
        let env: &[(&str, &str)] = &[("OPEN_CONNECTIONS_AT_INIT", "True")];
        assert_eq!(open_connections_at_init(env), Ok(true));
        let unset: &[(&str, &str)] = &[];
        assert_eq!(open_connections_at_init(unset), Ok(false));
        let wrong: &[(&str, &str)] = &[("OPEN_CONNECTIONS_AT_INIT", "yes")];
        assert_eq!(
            open_connections_at_init(wrong),
            Err(ConfigError::NotABoolean {
                name: "OPEN_CONNECTIONS_AT_INIT",
                value: "yes".to_owned()
            })
        );
    }
}
