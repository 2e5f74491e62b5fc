//! Where a buyer's data sits outside the tables: the exports on the reports shelf, and the
//! dead-letter queues, whose messages cannot be edited, only taken out.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::storage::StoreError;
use crate::values::pii::EmailAddress;
use sha2::{Digest, Sha256};

/// Whom a dead letter may name: the buyer's id, and the address the request gave as a second
/// key (an SES notification of a bounce names the address alone), as a SHA-256 of it lower
/// cased: the erasure's pages carry that, never the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub buyer_id: String,
    pub email_sha256: Option<String>,
}

/// The SHA-256 of an address, lower cased, as [`Named`] compares it.
pub fn email_sha256(email: &EmailAddress) -> String {
    hex::encode(Sha256::digest(email.expose().to_lowercase().as_bytes()))
}

impl Named {
    /// Whether `body` names them: their id as a whole JSON string, or any address in it whose
    /// hash is theirs (an address is a run of the characters one may hold, with an `@`).
    pub fn in_body(&self, body: &str) -> bool {
        if names_buyer(body, &self.buyer_id) {
            return true;
        }
        let Some(wanted) = &self.email_sha256 else { return false };
        body.split(|c: char| c.is_whitespace() || "\"'<>,;:\\[](){}".contains(c))
            .filter(|token| token.contains('@'))
            .any(|token| hex::encode(Sha256::digest(token.to_lowercase().as_bytes())) == *wanted)
    }
}

/// The reports bucket's exports.
pub trait ExportShelf: Send + Sync {
    /// One private, encrypted object.
    fn put(&self, key: &str, document: Vec<u8>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every object under `prefix`; how many there were.
    fn delete_under(&self, prefix: &str) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Every dead-letter queue of the stack.
pub trait DeadLetters: Send + Sync {
    /// Takes out of every dead-letter queue each message whose body names the buyer
    /// ([`Named::in_body`]), and hands every other back at once; how many were taken.
    fn remove_naming(&self, named: &Named) -> impl Future<Output = Result<usize, StoreError>> + Send;
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
    async fn remove_naming(&self, named: &Named) -> Result<usize, StoreError> {
        let mut kept = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = kept.len();
        kept.retain(|body| !named.in_body(body));
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

    #[test]
    fn a_body_names_a_buyer_by_the_address_asked_for_too() {
        let named = Named {
            buyer_id: "buy_1".into(),
            email_sha256: Some(email_sha256(&EmailAddress::parse("Li.Wei@example.cn").unwrap())),
        };
        assert!(named.in_body(r#"{"bouncedRecipients":[{"emailAddress":"li.wei@example.cn"}]}"#));
        assert!(named.in_body(r#"{"Message":"{\"destination\":[\"LI.WEI@example.cn\"]}"}"#));
        assert!(named.in_body("To: Li Wei <li.wei@example.cn>"));
        assert!(!named.in_body(r#"{"emailAddress":"xli.wei@example.cn"}"#));
        let by_id_only = Named {
            email_sha256: None,
            ..named
        };
        assert!(!by_id_only.in_body(r#"{"emailAddress":"li.wei@example.cn"}"#));
    }
}
