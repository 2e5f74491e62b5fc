//! DynamoDB implementations of the domain's stores.

mod email;
mod idempotency;
mod orders;
mod stock;

pub use email::{DynamoEmailLedger, DynamoSuppressions};
pub use idempotency::DynamoIdempotencyStore;
pub use orders::{DynamoOrders, OrderTables, SOLD_PREFIX, WATCHLIST, sku_key, sold_attribute};
pub use stock::{DynamoStock, StockTables, adjustment_receipt};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

use crate::store::StoreError;

/// A function's DynamoDB client; with `open_now` (`OPEN_CONNECTIONS_AT_INIT`), its connection
/// is opened right away, during init ([`open_connection`]).
pub async fn client(
    config: &aws_config::SdkConfig,
    open_now: bool,
    idempotency_table: &str,
    function: crate::webhook::Function,
) -> aws_sdk_dynamodb::Client {
    let client = aws_sdk_dynamodb::Client::new(config);
    if open_now {
        open_connection(&client, idempotency_table, function.name()).await;
    }
    client
}

/// Opens the client's connection to DynamoDB during init with one cheap read of a key that
/// never exists (`<function>#warm-up`, inside the function's own idempotency keys), so that
/// the first event does not pay for the TLS handshake. A failure is logged and ignored: the
/// first event then opens the connection itself.
pub async fn open_connection(client: &aws_sdk_dynamodb::Client, idempotency_table: &str, function: &str) {
    let read = client
        .get_item()
        .table_name(idempotency_table)
        .key("pk", string(format!("{function}#warm-up")))
        .send()
        .await;
    if let Err(error) = read {
        tracing::warn!(error = %DisplayErrorContext(error), "DynamoDB connection not opened during init");
    }
}

/// Wraps an SDK error with its whole chain of causes, which the SDK's own `Display` hides.
pub(crate) fn store_error<E: std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
    error: E,
) -> StoreError {
    StoreError::new(operation, DisplayErrorContext(error).to_string())
}

/// Whether a conditional write was made (`false`: its condition failed); any other failure is
/// an error.
pub(crate) fn written<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    operation: &'static str,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(error)
            if aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&error)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(error) => Err(store_error(operation, error)),
    }
}

/// How long an outbox entry is kept after the stream relayed it; for investigations only.
const OUTBOX_RETENTION_DAYS: i64 = 7;

/// An outbox entry as the item a transaction puts into `table`; its stream relays it.
pub(crate) fn outbox_put(
    table: &str,
    entry: &crate::outbox::OutboxEntry,
    now: chrono::DateTime<chrono::Utc>,
) -> TransactWriteItem {
    let expires_at = now + chrono::Duration::days(OUTBOX_RETENTION_DAYS);
    let put = Put::builder()
        .table_name(table)
        .item("key", string(&entry.key))
        .item("follow_ups", string(entry.follow_ups_json()))
        .item("expires_at", number(expires_at.timestamp()))
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

pub(crate) fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
