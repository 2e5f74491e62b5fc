//! Configuration from environment variables: the one loader every function uses.
//!
//! Values come through [`Source`] so that tests pass a map instead of changing the process
//! environment (which is `unsafe` to mutate in edition 2024, and shared between tests).

use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
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

impl Source for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

/// What every function with a Function URL needs.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub secret: crate::webhook::WebhookSecret,
    pub idempotency_table: String,
}

impl WebhookSettings {
    pub fn from_env(source: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(Self {
            secret: crate::webhook::WebhookSecret::new(source.required("WEBHOOK_SECRET")?),
            idempotency_table: source.required("IDEMPOTENCY_TABLE")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
