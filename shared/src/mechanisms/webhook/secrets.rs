//! Where a function's signing secrets come from. Deployed, from Secrets Manager: read once
//! during init, then again every few minutes, and at once (at most every
//! [`MISMATCH_REFETCH`]) when a signature matches none of them, so that a rotation takes
//! effect without a redeploy. The current secret and the pending one are both accepted while
//! a rotation is under way. In tests, fixed.
//!
//! The secret is never in the function's configuration, where anyone allowed
//! `lambda:GetFunctionConfiguration` could read it.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;

use super::signature::{SignatureError, SignatureVerifier, WebhookSecret};
use crate::storage::StoreError;

/// How long secrets read are used before they are read again.
pub const REFETCH_EVERY: Duration = Duration::minutes(5);
/// A signature matching no secret reads them again, at most this often: a rotation shows at
/// once, and a flood of bad signatures costs at most one read per interval.
pub const MISMATCH_REFETCH: Duration = Duration::seconds(30);

/// The secrets in use: the current one first, then the pending one if a rotation is under way.
pub struct SecretVersions {
    pub current: WebhookSecret,
    pub pending: Option<WebhookSecret>,
}

/// Reads the secrets in use (the Secrets Manager adapter).
pub type FetchSecrets = Arc<dyn Fn() -> BoxFuture<'static, Result<SecretVersions, StoreError>> + Send + Sync>;

pub struct SigningSecrets {
    held: RwLock<Held>,
    fetch: Option<FetchSecrets>,
}

struct Held {
    /// `None` for a function that takes no webhooks.
    verifier: Option<Arc<SignatureVerifier>>,
    read_at: DateTime<Utc>,
}

impl From<WebhookSecret> for SigningSecrets {
    /// One secret that never changes.
    fn from(secret: WebhookSecret) -> Self {
        Self {
            held: RwLock::new(Held {
                verifier: Some(Arc::new(SignatureVerifier::new(secret))),
                read_at: DateTime::<Utc>::MIN_UTC,
            }),
            fetch: None,
        }
    }
}

impl SigningSecrets {
    /// No secret at all: a function without a Function URL (an outbox relay, a queue
    /// consumer) is given none, and refuses every signature, so a request-shaped payload
    /// handed to it directly is never applied.
    pub fn none() -> Self {
        Self {
            held: RwLock::new(Held {
                verifier: None,
                read_at: DateTime::<Utc>::MIN_UTC,
            }),
            fetch: None,
        }
    }

    /// Read through `fetch` now (during init: a function that cannot read its secret does not
    /// start), and again as they age.
    pub async fn fetched(fetch: FetchSecrets, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let versions = fetch().await?;
        Ok(Self {
            held: RwLock::new(Held {
                verifier: Some(Arc::new(verifier(versions))),
                read_at: now,
            }),
            fetch: Some(fetch),
        })
    }

    /// Checks a request's signature against the secrets in use at `now`.
    pub async fn verify(&self, header: Option<&str>, body: &[u8], now: DateTime<Utc>) -> Result<(), SignatureError> {
        if self.read_at() + REFETCH_EVERY <= now {
            self.refetch(now).await;
        }
        let check = |verifier: Option<Arc<SignatureVerifier>>| match verifier {
            Some(verifier) => verifier.verify(header, body, now.timestamp()),
            None => Err(SignatureError::Mismatch),
        };
        let outcome = check(self.verifier());
        if outcome == Err(SignatureError::Mismatch)
            && self.read_at() + MISMATCH_REFETCH <= now
            && self.refetch(now).await
        {
            return check(self.verifier());
        }
        outcome
    }

    /// Reads the secrets again; whether they could be read. On failure the ones held stay in
    /// use until the next try.
    async fn refetch(&self, now: DateTime<Utc>) -> bool {
        let Some(fetch) = &self.fetch else {
            return false;
        };
        let fetched = fetch().await;
        let mut held = self.held.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.read_at = now;
        match fetched {
            Ok(versions) => {
                held.verifier = Some(Arc::new(verifier(versions)));
                true
            }
            Err(error) => {
                tracing::warn!(%error, "signing secrets not read again; the ones held stay in use");
                false
            }
        }
    }

    fn verifier(&self) -> Option<Arc<SignatureVerifier>> {
        self.held
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .verifier
            .clone()
    }

    fn read_at(&self) -> DateTime<Utc> {
        self.held
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .read_at
    }
}

fn verifier(versions: SecretVersions) -> SignatureVerifier {
    SignatureVerifier::with_secrets(versions.current, versions.pending.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn signed(secret: &str, now: DateTime<Utc>) -> String {
        SignatureVerifier::new(WebhookSecret::new(secret)).sign(BODY, now.timestamp())
    }

    /// A Secrets Manager stand-in: what it holds now, and how often it was read.
    struct Vault {
        versions: Mutex<(String, Option<String>)>,
        reads: AtomicUsize,
    }

    fn vault(current: &str) -> Arc<Vault> {
        Arc::new(Vault {
            versions: Mutex::new((current.to_owned(), None)),
            reads: AtomicUsize::new(0),
        })
    }

    fn reader(vault: &Arc<Vault>) -> FetchSecrets {
        let vault = Arc::clone(vault);
        Arc::new(move || {
            let vault = Arc::clone(&vault);
            Box::pin(async move {
                vault.reads.fetch_add(1, Ordering::SeqCst);
                let (current, pending) = vault.versions.lock().unwrap().clone();
                if current.is_empty() {
                    return Err(StoreError::new("GetSecretValue", "unreachable"));
                }
                Ok(SecretVersions {
                    current: WebhookSecret::new(current),
                    pending: pending.map(WebhookSecret::new),
                })
            })
        })
    }

    #[tokio::test]
    async fn a_rotation_is_accepted_without_a_restart_and_both_secrets_work_meanwhile() {
        let vault = vault("old");
        let secrets = SigningSecrets::fetched(reader(&vault), at(0)).await.unwrap();
        assert!(secrets.verify(Some(&signed("old", at(1))), BODY, at(1)).await.is_ok());

        // The rotation begins: a pending secret, which the marketplace starts signing with.
        vault.versions.lock().unwrap().1 = Some("new".to_owned());
        let now = at(60);
        assert!(
            secrets.verify(Some(&signed("new", now)), BODY, now).await.is_ok(),
            "read again at once"
        );
        assert!(
            secrets.verify(Some(&signed("old", now)), BODY, now).await.is_ok(),
            "the old one still works"
        );

        // It completes: the new secret is current, the old one gone.
        *vault.versions.lock().unwrap() = ("new".to_owned(), None);
        let later = at(60) + REFETCH_EVERY;
        assert!(secrets.verify(Some(&signed("new", later)), BODY, later).await.is_ok());
        assert_eq!(
            secrets.verify(Some(&signed("old", later)), BODY, later).await,
            Err(SignatureError::Mismatch)
        );
    }

    #[tokio::test]
    async fn bad_signatures_read_the_secrets_at_most_once_per_interval() {
        let vault = vault("right");
        let secrets = SigningSecrets::fetched(reader(&vault), at(0)).await.unwrap();
        let now = at(100);
        for _ in 0..50 {
            let refused = secrets.verify(Some(&signed("wrong", now)), BODY, now).await;
            assert_eq!(refused, Err(SignatureError::Mismatch));
        }
        assert_eq!(
            vault.reads.load(Ordering::SeqCst),
            2,
            "init, then one read for the flood"
        );
    }

    #[tokio::test]
    async fn an_unreadable_vault_keeps_the_secrets_held() {
        let vault = vault("right");
        let secrets = SigningSecrets::fetched(reader(&vault), at(0)).await.unwrap();
        vault.versions.lock().unwrap().0 = String::new();
        let later = at(0) + REFETCH_EVERY;
        assert!(secrets.verify(Some(&signed("right", later)), BODY, later).await.is_ok());
    }

    #[tokio::test]
    async fn a_function_that_cannot_read_its_secret_does_not_start() {
        assert!(SigningSecrets::fetched(reader(&vault("")), at(0)).await.is_err());
    }

    #[tokio::test]
    async fn a_function_given_no_secret_refuses_every_signature() {
        let none = SigningSecrets::none();
        let header = signed("whsec_anything", at(0));
        assert_eq!(
            none.verify(Some(&header), BODY, at(0)).await,
            Err(SignatureError::Mismatch)
        );
        assert_eq!(none.verify(None, BODY, at(0)).await, Err(SignatureError::Mismatch));
    }
}
