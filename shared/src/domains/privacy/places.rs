//! Where a buyer's data sits outside the tables: the exports on the reports shelf, and the
//! dead-letter queues, whose messages cannot be edited, only taken out.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::storage::StoreError;

/// The reports bucket's exports.
pub trait ExportShelf: Send + Sync {
    /// One private, encrypted object.
    fn put(&self, key: &str, document: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every object under `prefix`; how many there were.
    fn delete_under(&self, prefix: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Every dead-letter queue of the stack.
pub trait DeadLetters: Send + Sync {
    /// Takes out of every dead-letter queue each message whose body names the buyer (their id
    /// as a JSON string), and hands every other back at once; how many were taken.
    fn remove_naming(&self, buyer_id: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Whether a message's body names the buyer: their id as a whole JSON string, so `buy_1`
/// does not match `buy_12`.
pub fn names_buyer(body: &str, buyer_id: &str) -> bool {
    let quoted = serde_json::to_string(buyer_id).unwrap_or_default();
    // A message relayed through SNS carries the follow-up as an escaped string.
    let escaped = serde_json::to_string(&quoted).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    body.contains(&quoted) || body.contains(escaped)
}

/// Exports kept in memory, by key (the handlers' tests).
#[derive(Debug, Clone, Default)]
pub struct KeptExports(Arc<Mutex<BTreeMap<String, Vec<u8>>>>);

impl KeptExports {
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(key)
            .cloned()
    }

    pub fn keys(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .keys()
            .cloned()
            .collect()
    }
}

impl ExportShelf for KeptExports {
    async fn put(&self, key: &str, document: Vec<u8>) -> Result<(), StoreError> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key.to_owned(), document);
        Ok(())
    }

    async fn delete_under(&self, prefix: &str) -> Result<usize, StoreError> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = kept.len();
        kept.retain(|key, _| !key.starts_with(prefix));
        Ok(before - kept.len())
    }
}

/// Dead letters kept in memory, as bodies (the handlers' tests).
#[derive(Debug, Clone, Default)]
pub struct KeptDeadLetters(Arc<Mutex<Vec<String>>>);

impl KeptDeadLetters {
    pub fn push(&self, body: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(body.into());
    }

    pub fn bodies(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }
}

impl DeadLetters for KeptDeadLetters {
    async fn remove_naming(&self, buyer_id: &str) -> Result<usize, StoreError> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = kept.len();
        kept.retain(|body| !names_buyer(body, buyer_id));
        Ok(before - kept.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_a_buyer_by_the_whole_id_plain_or_escaped() {
        assert!(names_buyer(r#"{"recipient":{"id":"buy_1"}}"#, "buy_1"));
        assert!(names_buyer(r#"{"Message":"{\"id\":\"buy_1\"}"}"#, "buy_1"));
        assert!(!names_buyer(r#"{"recipient":{"id":"buy_12"}}"#, "buy_1"));
        assert!(!names_buyer(r#"{"Message":"{\"id\":\"buy_12\"}"}"#, "buy_1"));
    }
}
