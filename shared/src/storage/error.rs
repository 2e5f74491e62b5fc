//! The one error for a failed call to a store, queue or mailer, whatever its backend, and the
//! one wait before a retry.

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

/// Waits before retrying work that lost a race: full jitter, a random wait up to an
/// exponentially growing ceiling (10 ms to 640 ms), so that racers do not collide again.
pub async fn back_off(attempt: u32) {
    let ceiling = 10u64 << attempt.min(6);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    tokio::time::sleep(std::time::Duration::from_millis(u64::from(nanos) % ceiling)).await;
}
