//! DynamoDB implementations of the domain's stores.

mod idempotency;
mod orders;

pub use idempotency::DynamoIdempotencyStore;
pub use orders::{DynamoOrders, OrderTables, sku_key};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::store::StoreError;

/// Wraps an SDK error with its whole chain of causes, which the SDK's own `Display` hides.
pub(crate) fn store_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    error: E,
) -> StoreError {
    StoreError::new(operation, DisplayErrorContext(error).to_string())
}

pub(crate) fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
