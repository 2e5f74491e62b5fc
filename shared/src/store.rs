//! The one error type for a failed call to a store or queue, whatever its backend.

use std::error::Error as StdError;

pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A dependency (DynamoDB, SQS, SES) failed. Retrying the same work later may succeed.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed: {source}")]
pub struct StoreError {
    pub operation: &'static str,
    #[source]
    pub source: BoxError,
}

impl StoreError {
    pub fn new(operation: &'static str, source: impl Into<BoxError>) -> Self {
        Self {
            operation,
            source: source.into(),
        }
    }
}
