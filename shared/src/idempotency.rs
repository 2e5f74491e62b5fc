//! The idempotency guard: one record per key, so that the same event or message processed
//! twice has one effect.
//!
//! A caller *claims* a key with the payload's fingerprint. The first claim wins and holds a
//! lease while it works; it then *completes* the key with the outcome it answered, or
//! *releases* it when it refused or failed so that a retry can run again. A claim that loses
//! learns why: the key completed before (answer the stored outcome again), it is being
//! processed right now, or it was used with a different payload. A lease that runs out (a
//! crashed or timed-out invocation) can be claimed again.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Nobody has processed this key: the caller owns it until it completes or releases it.
    Acquired,
    /// Processed before with the same payload; this is what the first run answered.
    Completed(Value),
    /// Another invocation holds the lease on this key right now.
    InProgress,
    /// The key was used before with a different payload.
    Mismatch,
}

/// Where claims are kept. The DynamoDB implementation is
/// [`crate::adapters::dynamodb::DynamoIdempotencyStore`].
pub trait IdempotencyStore: Send + Sync {
    fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Records the first answer. Written whole, whether or not a claim is still there: a retry
    /// that re-ran after the lease ran out completes too.
    fn complete(
        &self,
        key: &str,
        fingerprint: &str,
        outcome: &Value,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn release(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Keys start with the function that owns them, which is what the template's IAM
/// `dynamodb:LeadingKeys` condition checks, then the kind of work:
/// `order-intake#webhook#evt_1`, `buyer-messaging#email#order-confirmation#o1`.
pub fn scoped_key(owner: &str, kind: &str, id: &str) -> String {
    format!("{owner}#{kind}#{id}")
}

/// A claim to be written, already completed with its answer, in the same transaction as the
/// work it guards: the key is taken exactly when the work is done, with no round trip before or
/// after. When that transaction fails on the claim, the work did not happen, and
/// [`IdempotencyStore::claim`] tells the caller why (done before, in progress, or reused).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimWrite {
    pub key: String,
    pub fingerprint: String,
    pub now: DateTime<Utc>,
}
