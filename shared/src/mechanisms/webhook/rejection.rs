//! Why an event was refused, and the one mapping from that to an HTTP answer.
//!
//! Every refusal carries a stable machine code (what integrators branch on), a human message,
//! and the field it is about, as `{"error": {"code", "message", "field"}}`.

use serde_json::{Value, json};

/// The HTTP class of a refusal. Domain errors pick one; only this module turns it into a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The request cannot be read: malformed JSON, wrong types, missing fields. `400`
    BadRequest,
    /// The signature is missing, wrong or stale. `401`
    Unauthorized,
    /// The event names something that belongs to another seller or does not exist. `404`
    NotFound,
    /// The event id was used before with a different body. `409`
    Conflict,
    /// The body is over the size limit. `413`
    PayloadTooLarge,
    /// A valid shape that refers to something unknown or breaks a business rule. `422`
    Unprocessable,
    /// An event type this deployment does not handle yet. `501`
    NotImplemented,
    /// A dependency failed or the same event is being processed right now; retry later. `503`
    Unavailable,
}

impl RejectionKind {
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::PayloadTooLarge => 413,
            Self::Unprocessable => 422,
            Self::NotImplemented => 501,
            Self::Unavailable => 503,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejection {
    pub kind: RejectionKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

impl Rejection {
    pub fn new(kind: RejectionKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectionKind::BadRequest, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectionKind::Unprocessable, code, message)
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(RejectionKind::Unavailable, code, message)
    }

    /// A store, queue or mailer failed: the marketplace should send the event again later.
    /// The one place such a failure is logged, with its cause (never the event's data).
    pub fn dependency_unavailable(error: &crate::storage::StoreError) -> Self {
        tracing::error!(%error, "a dependency failed; the event is deferred");
        Self::unavailable(
            "dependency_unavailable",
            "the event could not be recorded; send it again later",
        )
    }

    /// Names the field the refusal is about, as a path into the envelope (`data.lines[0].quantity`).
    pub fn on_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn body(&self) -> Value {
        json!({ "error": { "code": self.code, "message": self.message, "field": self.field } })
    }

    /// Whether the marketplace should send the same event again later.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, RejectionKind::Unavailable)
    }
}

/// Reads `data` into a typed schema, naming the offending field on failure
/// (`data.lines[2].quantity: invalid type: floating point 1.5, expected u32`).
pub fn parse_data<T: serde::de::DeserializeOwned>(data: &Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(data).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let message = inner.to_string();
        let (code, field) = match missing_field_name(&message) {
            Some(name) => ("missing_field", join_path(&path, name)),
            None => ("invalid_field", join_path(&path, "")),
        };
        Rejection::bad_request(code, format!("{field}: {message}")).on_field(field)
    })
}

fn missing_field_name(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn join_path(path: &str, leaf: &str) -> String {
    let parent = if path == "." {
        "data".to_owned()
    } else {
        format!("data.{path}")
    };
    if leaf.is_empty() {
        parent
    } else {
        format!("{parent}.{leaf}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        quantity: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Data {
        seller_id: String,
        lines: Vec<Line>,
    }

    #[test]
    fn a_wrong_type_names_the_nested_field() {
        let data = json!({"seller_id": "s1", "lines": [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1.5}]});
        let rejection = parse_data::<Data>(&data).unwrap_err();
        assert_eq!(rejection.status(), 400);
        assert_eq!(rejection.code, "invalid_field");
        assert_eq!(rejection.field.as_deref(), Some("data.lines[1].quantity"));
    }

    #[test]
    fn a_missing_field_is_named() {
        let data = json!({"lines": []});
        let rejection = parse_data::<Data>(&data).unwrap_err();
        assert_eq!(rejection.code, "missing_field");
        assert_eq!(rejection.field.as_deref(), Some("data.seller_id"));
        let nested = json!({"seller_id": "s", "lines": [{"sku": "A"}]});
        assert_eq!(
            parse_data::<Data>(&nested).unwrap_err().field.as_deref(),
            Some("data.lines[0].quantity")
        );
    }

    #[test]
    fn body_has_code_message_and_field() {
        let body = Rejection::unprocessable("unknown_sku", "SKU X is not in the catalogue")
            .on_field("data.lines[0].sku")
            .body();
        assert_eq!(body["error"]["code"], "unknown_sku");
        assert_eq!(body["error"]["field"], "data.lines[0].sku");
        assert!(body["error"]["message"].as_str().unwrap().contains("SKU X"));
    }
}
