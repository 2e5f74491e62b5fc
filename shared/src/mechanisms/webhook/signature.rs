//! The `Marketplace-Signature` check.
//!
//! The header is `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, with one `v1=`
//! per secret the marketplace currently signs with, so that a secret can be rotated without
//! downtime: any one valid entry is enough. The comparison is constant time (the `hmac`
//! crate's `verify_slice`), and the timestamp must be within the tolerance of now so that a
//! captured request cannot be replayed later.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// How far a signature's timestamp may be from now, either way.
pub const DEFAULT_TOLERANCE_SECS: i64 = 300;

/// The shared secret. Its `Debug` never shows the value, so it cannot leak through a log line.
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Marketplace-Signature header is missing")]
    Missing,
    #[error("the Marketplace-Signature header is not of the form t=<unix seconds>,v1=<hex>")]
    Malformed,
    #[error("the signature's timestamp is more than {tolerance_secs} s from now")]
    Stale { tolerance_secs: i64 },
    #[error("no v1 signature matches the body")]
    Mismatch,
}

/// Checks signatures against every secret in use: during a rotation, the current one and the
/// one about to replace it.
#[derive(Debug, Clone)]
pub struct SignatureVerifier {
    /// Never empty; the first signs.
    secrets: Vec<WebhookSecret>,
    tolerance_secs: i64,
}

impl SignatureVerifier {
    pub fn new(secret: WebhookSecret) -> Self {
        Self::with_secrets(secret, Vec::new())
    }

    /// `current`, and `others` also accepted (a rotation's pending secret).
    pub fn with_secrets(current: WebhookSecret, others: Vec<WebhookSecret>) -> Self {
        let mut secrets = vec![current];
        secrets.extend(others);
        Self {
            secrets,
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        }
    }

    /// Checks `header` against the raw body as received, at `now` (unix seconds).
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing)?;
        let parsed = ParsedHeader::parse(header)?;
        // abs_diff: an attacker's `t=-9223372036854775808` must not overflow a subtraction.
        if now.abs_diff(parsed.timestamp) > self.tolerance_secs.unsigned_abs() {
            return Err(SignatureError::Stale {
                tolerance_secs: self.tolerance_secs,
            });
        }
        // Every secret against every candidate, valid or not, so timing says nothing about
        // which matched.
        let matched = self.secrets.iter().fold(false, |found, secret| {
            let mac = mac_for(secret, parsed.timestamp_text, body);
            parsed.candidates.iter().fold(found, |found, candidate| {
                mac.clone().verify_slice(candidate).is_ok() | found
            })
        });
        if matched { Ok(()) } else { Err(SignatureError::Mismatch) }
    }

    /// The header value the marketplace would send for `body` at `timestamp`; used by
    /// `cargo xtask send` and the tests, which play the marketplace.
    pub fn sign(&self, body: &[u8], timestamp: i64) -> String {
        let mac = mac_for(&self.secrets[0], &timestamp.to_string(), body);
        format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

fn mac_for(secret: &WebhookSecret, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(&secret.0).expect("HMAC accepts keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

struct ParsedHeader<'a> {
    timestamp: i64,
    timestamp_text: &'a str,
    candidates: Vec<Vec<u8>>,
}

impl<'a> ParsedHeader<'a> {
    fn parse(header: &'a str) -> Result<Self, SignatureError> {
        let mut timestamp_text = None;
        let mut candidates = Vec::new();
        for part in header.split(',') {
            let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed)?;
            match key {
                "t" if timestamp_text.is_none() => timestamp_text = Some(value),
                "t" => return Err(SignatureError::Malformed),
                "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
                // Other schemes (v0, a future v2) are ignored, as the marketplace documents.
                _ => {}
            }
        }
        let timestamp_text = timestamp_text.ok_or(SignatureError::Malformed)?;
        let timestamp = timestamp_text.parse().map_err(|_| SignatureError::Malformed)?;
        if candidates.is_empty() {
            return Err(SignatureError::Malformed);
        }
        Ok(Self {
            timestamp,
            timestamp_text,
            candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1","type":"order.created"}"#;

    fn verifier(secret: &str) -> SignatureVerifier {
        SignatureVerifier::new(WebhookSecret::new(secret))
    }

    #[test]
    fn valid_signature_is_accepted() {
        let v = verifier("s3cret");
        let header = v.sign(BODY, NOW);
        assert_eq!(v.verify(Some(&header), BODY, NOW + 10), Ok(()));
    }

    #[test]
    fn wrong_secret_is_refused() {
        let header = verifier("other").sign(BODY, NOW);
        assert_eq!(
            verifier("s3cret").verify(Some(&header), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn a_changed_body_is_refused() {
        let v = verifier("s3cret");
        let header = v.sign(BODY, NOW);
        assert_eq!(v.verify(Some(&header), b"{}", NOW), Err(SignatureError::Mismatch));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let v = verifier("s3cret");
        for skew in [-301, 301] {
            let header = v.sign(BODY, NOW + skew);
            assert_eq!(
                v.verify(Some(&header), BODY, NOW),
                Err(SignatureError::Stale { tolerance_secs: 300 }),
                "skew {skew}"
            );
        }
        for extreme in [i64::MIN, i64::MAX] {
            let header = format!("t={extreme},v1={}", "00".repeat(32));
            assert_eq!(
                v.verify(Some(&header), BODY, NOW),
                Err(SignatureError::Stale { tolerance_secs: 300 })
            );
        }
        let at_edge = v.sign(BODY, NOW - 300);
        assert_eq!(v.verify(Some(&at_edge), BODY, NOW), Ok(()));
    }

    #[test]
    fn any_rotated_signature_suffices() {
        let old = verifier("old-secret").sign(BODY, NOW);
        let new = verifier("new-secret").sign(BODY, NOW);
        let old_v1 = old.split_once(",v1=").unwrap().1;
        let new_v1 = new.split_once(",v1=").unwrap().1;
        let rotated = format!("t={NOW},v1={old_v1},v1={new_v1}");
        assert_eq!(verifier("new-secret").verify(Some(&rotated), BODY, NOW), Ok(()));
        assert_eq!(verifier("old-secret").verify(Some(&rotated), BODY, NOW), Ok(()));
        assert_eq!(
            verifier("third").verify(Some(&rotated), BODY, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused() {
        let v = verifier("s3cret");
        assert_eq!(v.verify(None, BODY, NOW), Err(SignatureError::Missing));
        for header in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            "t=1790000000",
            "t=1790000000,v1=zz",
            "t=1,t=2,v1=00",
        ] {
            assert_eq!(
                v.verify(Some(header), BODY, NOW),
                Err(SignatureError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn secret_never_shows_in_debug_output() {
        let shown = format!("{:?}", verifier("s3cret"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
