//! The privacy events, checked on their own: every rule, in the order the fields are written.

use chrono::{DateTime, Utc};

use super::schema::{ErasureRequestedData, ExportRequestedData};
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::ids::is_identifier;
use crate::values::pii::EmailAddress;

/// An erasure, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Erasure {
    pub buyer_id: String,
    pub email: Option<EmailAddress>,
    /// What the buyer held until then is erased; an order or a thread after it is a new
    /// relationship, and kept.
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub buyer_id: String,
    pub export_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: &'static str },
    #[error("data.email is not an email address")]
    InvalidEmail,
    #[error("data.requested_at must be an RFC 3339 time")]
    InvalidTimestamp,
    #[error("data.requested_at is after the event was sent")]
    RequestedInFuture,
    #[error("data.closed_at must be an RFC 3339 time")]
    InvalidClosedAt,
    #[error("data.closed_at is after the event was sent")]
    ClosedInFuture,
    #[error("seller {seller_id} is not known to the back office")]
    UnknownSeller { seller_id: String },
}

impl From<PrivacyError> for Rejection {
    fn from(error: PrivacyError) -> Self {
        let (code, field) = match &error {
            PrivacyError::InvalidIdentifier { field } => ("invalid_identifier", *field),
            PrivacyError::InvalidEmail => ("invalid_email", "data.email"),
            PrivacyError::InvalidTimestamp => ("invalid_timestamp", "data.requested_at"),
            PrivacyError::RequestedInFuture => ("requested_in_future", "data.requested_at"),
            PrivacyError::InvalidClosedAt => ("invalid_timestamp", "data.closed_at"),
            PrivacyError::ClosedInFuture => ("closed_in_future", "data.closed_at"),
            PrivacyError::UnknownSeller { .. } => ("seller_not_found", "data.seller_id"),
        };
        let kind = match error {
            PrivacyError::RequestedInFuture | PrivacyError::ClosedInFuture => RejectionKind::Unprocessable,
            PrivacyError::UnknownSeller { .. } => RejectionKind::NotFound,
            _ => RejectionKind::BadRequest,
        };
        Rejection::new(kind, code, error.to_string()).on_field(field)
    }
}

fn identifier(value: String, field: &'static str) -> Result<String, PrivacyError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(PrivacyError::InvalidIdentifier { field })
    }
}

/// An erasure sent at `sent_at` (the envelope's time): it cannot ask for a later one.
pub fn erasure(data: ErasureRequestedData, sent_at: DateTime<Utc>) -> Result<Erasure, PrivacyError> {
    let buyer_id = identifier(data.buyer_id, "data.buyer_id")?;
    let email = data
        .email
        .map(|email| EmailAddress::parse(&email).map_err(|_| PrivacyError::InvalidEmail))
        .transpose()?;
    let requested_at = DateTime::parse_from_rfc3339(&data.requested_at)
        .map_err(|_| PrivacyError::InvalidTimestamp)?
        .with_timezone(&Utc);
    if requested_at > sent_at {
        return Err(PrivacyError::RequestedInFuture);
    }
    Ok(Erasure {
        buyer_id,
        email,
        requested_at,
    })
}

pub fn export_request(data: ExportRequestedData) -> Result<ExportRequest, PrivacyError> {
    Ok(ExportRequest {
        buyer_id: identifier(data.buyer_id, "data.buyer_id")?,
        export_id: identifier(data.export_id, "data.export_id")?,
    })
}
