//! The JSON envelope every marketplace event arrives in:
//! `{"id": "evt_…", "type": "order.created", "created_at": "<RFC 3339>", "data": {…}}`.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::rejection::Rejection;

const MAX_ID_LEN: usize = 128;

#[derive(Clone, PartialEq)]
pub struct Envelope {
    /// Unique per event; the idempotency key.
    pub id: String,
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    pub data: Value,
    /// SHA-256 of the envelope in canonical form (keys sorted, no whitespace), so the same
    /// event re-sent with other formatting is still recognised as the same.
    pub fingerprint: String,
}

/// Without `data`, which holds buyers' addresses, emails and words.
impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("id", &self.id)
            .field("event_type", &self.event_type)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// How far ahead of our clock an event's `created_at` may be when it decides which event wins:
/// the marketplace's clock and ours differ by seconds, never by minutes.
pub const MAX_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

impl Envelope {
    /// `created_at`, for an event whose time decides which of several wins (the latest
    /// preference, settings or count). One from further ahead than [`MAX_AHEAD`] is refused:
    /// accepted, it would win over every real event until its day came.
    pub fn ordering_time(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, Rejection> {
        if self.created_at > now + MAX_AHEAD {
            return Err(Rejection::unprocessable(
                "created_at_in_future",
                format!(
                    "created_at {} is more than 5 minutes ahead of the back office's clock ({})",
                    self.created_at.to_rfc3339(),
                    now.to_rfc3339()
                ),
            )
            .on_field("created_at"));
        }
        Ok(self.created_at)
    }

    pub fn parse(body: &[u8]) -> Result<Self, Rejection> {
        let value: Value = serde_json::from_slice(body).map_err(|error| {
            Rejection::bad_request("malformed_json", format!("the body is not valid JSON: {error}"))
        })?;
        let Value::Object(mut fields) = value else {
            return Err(Rejection::bad_request(
                "malformed_envelope",
                "the body must be a JSON object",
            ));
        };
        let fingerprint = fingerprint(&fields);
        Ok(Self {
            id: event_id(&mut fields)?,
            event_type: required_string(&mut fields, "type")?,
            created_at: created_at(&mut fields)?,
            data: data(&mut fields)?,
            fingerprint,
        })
    }
}

fn fingerprint(fields: &Map<String, Value>) -> String {
    // serde_json's map is ordered by key, so serialising it is already canonical.
    let canonical = serde_json::to_vec(fields).expect("a JSON value always serialises");
    hex::encode(Sha256::digest(canonical))
}

fn event_id(fields: &mut Map<String, Value>) -> Result<String, Rejection> {
    let id = required_string(fields, "id")?;
    let well_formed = id.starts_with("evt_")
        && id.len() > 4
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !well_formed {
        return Err(Rejection::bad_request(
            "invalid_event_id",
            format!("id must be \"evt_\" followed by letters, digits, '_' or '-', at most {MAX_ID_LEN} characters"),
        )
        .on_field("id"));
    }
    Ok(id)
}

fn created_at(fields: &mut Map<String, Value>) -> Result<DateTime<Utc>, Rejection> {
    let text = required_string(fields, "created_at")?;
    DateTime::parse_from_rfc3339(&text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            Rejection::bad_request("invalid_timestamp", "created_at must be an RFC 3339 timestamp")
                .on_field("created_at")
        })
}

fn data(fields: &mut Map<String, Value>) -> Result<Value, Rejection> {
    match fields.remove("data") {
        Some(data @ Value::Object(_)) => Ok(data),
        Some(_) => Err(Rejection::bad_request("invalid_field", "data must be a JSON object").on_field("data")),
        None => Err(Rejection::bad_request("missing_field", "data is required").on_field("data")),
    }
}

fn required_string(fields: &mut Map<String, Value>, name: &'static str) -> Result<String, Rejection> {
    match fields.remove(name) {
        Some(Value::String(text)) if !text.trim().is_empty() => Ok(text),
        Some(Value::String(_)) => {
            Err(Rejection::bad_request("invalid_field", format!("{name} must not be empty")).on_field(name))
        }
        Some(_) => Err(Rejection::bad_request("invalid_field", format!("{name} must be a string")).on_field(name)),
        None => Err(Rejection::bad_request("missing_field", format!("{name} is required")).on_field(name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Envelope, Rejection> {
        Envelope::parse(text.as_bytes())
    }

    const VALID: &str = r#"{"id":"evt_123","type":"order.created","created_at":"2026-11-22T10:00:00Z","data":{"a":1}}"#;

    #[test]
    fn a_valid_envelope_parses() {
        let envelope = parse(VALID).unwrap();
        assert_eq!(envelope.id, "evt_123");
        assert_eq!(envelope.event_type, "order.created");
        assert_eq!(envelope.data["a"], 1);
    }

    #[test]
    fn formatting_and_key_order_do_not_change_the_fingerprint() {
        let reordered =
            r#"{ "data": {"a": 1}, "type": "order.created", "id": "evt_123", "created_at": "2026-11-22T10:00:00Z" }"#;
        assert_eq!(parse(VALID).unwrap().fingerprint, parse(reordered).unwrap().fingerprint);
        let changed = VALID.replace(r#""a":1"#, r#""a":2"#);
        assert_ne!(parse(VALID).unwrap().fingerprint, parse(&changed).unwrap().fingerprint);
    }

    #[test]
    fn each_envelope_error_names_its_field() {
        let cases = [
            ("{not json", "malformed_json", None),
            ("[1,2]", "malformed_envelope", None),
            (
                r#"{"type":"order.created","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "missing_field",
                Some("id"),
            ),
            (
                r#"{"id":7,"type":"order.created","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "invalid_field",
                Some("id"),
            ),
            (
                r#"{"id":"order_1","type":"order.created","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "invalid_event_id",
                Some("id"),
            ),
            (
                r#"{"id":"evt_<script>","type":"order.created","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "invalid_event_id",
                Some("id"),
            ),
            (
                r#"{"id":"evt_1","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "missing_field",
                Some("type"),
            ),
            (
                r#"{"id":"evt_1","type":"","created_at":"2026-11-22T10:00:00Z","data":{}}"#,
                "invalid_field",
                Some("type"),
            ),
            (
                r#"{"id":"evt_1","type":"order.created","created_at":"yesterday","data":{}}"#,
                "invalid_timestamp",
                Some("created_at"),
            ),
            (
                r#"{"id":"evt_1","type":"order.created","created_at":"2026-11-22T10:00:00Z"}"#,
                "missing_field",
                Some("data"),
            ),
            (
                r#"{"id":"evt_1","type":"order.created","created_at":"2026-11-22T10:00:00Z","data":[]}"#,
                "invalid_field",
                Some("data"),
            ),
        ];
        for (body, code, field) in cases {
            let rejection = parse(body).unwrap_err();
            assert_eq!((rejection.code, rejection.field.as_deref()), (code, field), "{body}");
            assert_eq!(rejection.status(), 400, "{body}");
        }
    }

    #[test]
    fn an_overlong_id_is_refused() {
        let body = VALID.replace("evt_123", &format!("evt_{}", "x".repeat(200)));
        assert_eq!(parse(&body).unwrap_err().code, "invalid_event_id");
    }
}
