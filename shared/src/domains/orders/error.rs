//! Why an order event is refused, one variant per rule; each maps to the HTTP answer the
//! product contract gives it, naming the field.

use crate::domains::orders::status::InvalidTransition;
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::money::MoneyError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: String },
    #[error("{field} must be 1 to 64 ASCII letters, digits, '-', '_' or '.'")]
    InvalidSku { field: String },
    #[error("{field} must be a whole number from 1 to {max}, not {quantity}")]
    InvalidQuantity { field: String, quantity: i64, max: i64 },
    #[error("an order needs at least one line")]
    NoLines,
    #[error("an order may have at most {max} lines, not {count}")]
    TooManyLines { count: usize, max: usize },
    #[error("{field}: SKU {sku} is already on another line; send one line per SKU")]
    DuplicateSku { field: String, sku: String },
    #[error("{field}: line id {line_id} is used twice")]
    DuplicateLineId { field: String, line_id: String },
    #[error("{field}: {source}")]
    InvalidMoney { field: String, source: MoneyError },
    #[error("total {stated} does not equal the sum of the lines, {computed}")]
    TotalMismatch { stated: String, computed: String },
    #[error("{field} is not an email address")]
    InvalidEmail { field: String },
    #[error("{field} {reason}")]
    InvalidText { field: String, reason: &'static str },
    #[error("{field} must be a language tag such as \"en\" or \"zh-CN\"")]
    InvalidLocale { field: String },
    #[error("{field} must be an RFC 3339 timestamp")]
    InvalidTimestamp { field: String },
    #[error("{field} must be an ISO 3166 country code such as \"DE\"")]
    InvalidCountry { field: String },
    #[error("{field} must link to a known carrier's tracking page, not {host}")]
    UntrustedTrackingUrl { field: String, host: String },
    #[error("SKU {sku} of seller {seller_id} is not in the catalogue")]
    UnknownSku {
        field: String,
        sku: String,
        seller_id: String,
    },
    #[error("{sku} has {available} available, fewer than the {requested} to ship")]
    InsufficientStock {
        field: String,
        sku: String,
        requested: u32,
        available: i64,
    },
    #[error("order {order_id} was not found for this seller")]
    OrderNotFound { order_id: String },
    #[error("order {order_id} already exists with other contents")]
    OrderExists { order_id: String },
    #[error(transparent)]
    Transition(#[from] InvalidTransition),
}

impl OrderError {
    fn code(&self) -> &'static str {
        match self {
            OrderError::InvalidIdentifier { .. } => "invalid_identifier",
            OrderError::InvalidSku { .. } => "invalid_sku",
            OrderError::InvalidQuantity { .. } => "invalid_quantity",
            OrderError::NoLines => "no_lines",
            OrderError::TooManyLines { .. } => "too_many_lines",
            OrderError::DuplicateSku { .. } => "duplicate_sku",
            OrderError::DuplicateLineId { .. } => "duplicate_line_id",
            OrderError::InvalidMoney {
                source: MoneyError::UnknownCurrency(_),
                ..
            } => "unknown_currency",
            OrderError::InvalidMoney { .. } => "invalid_money",
            OrderError::TotalMismatch { .. } => "total_mismatch",
            OrderError::InvalidEmail { .. } => "invalid_email",
            OrderError::InvalidText { .. } => "invalid_text",
            OrderError::InvalidLocale { .. } => "invalid_locale",
            OrderError::InvalidTimestamp { .. } => "invalid_timestamp",
            OrderError::InvalidCountry { .. } => "invalid_country",
            OrderError::UntrustedTrackingUrl { .. } => "untrusted_tracking_url",
            OrderError::UnknownSku { .. } => "unknown_sku",
            OrderError::InsufficientStock { .. } => "insufficient_stock",
            OrderError::OrderNotFound { .. } => "order_not_found",
            OrderError::OrderExists { .. } => "order_exists",
            OrderError::Transition(_) => "invalid_transition",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            OrderError::TotalMismatch { .. }
            | OrderError::UnknownSku { .. }
            | OrderError::InsufficientStock { .. }
            | OrderError::UntrustedTrackingUrl { .. }
            | OrderError::Transition(_) => RejectionKind::Unprocessable,
            OrderError::OrderNotFound { .. } => RejectionKind::NotFound,
            OrderError::OrderExists { .. } => RejectionKind::Conflict,
            _ => RejectionKind::BadRequest,
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            OrderError::InvalidIdentifier { field }
            | OrderError::InvalidSku { field }
            | OrderError::InvalidQuantity { field, .. }
            | OrderError::DuplicateSku { field, .. }
            | OrderError::DuplicateLineId { field, .. }
            | OrderError::InvalidMoney { field, .. }
            | OrderError::InvalidEmail { field }
            | OrderError::InvalidText { field, .. }
            | OrderError::InvalidLocale { field }
            | OrderError::InvalidTimestamp { field }
            | OrderError::InvalidCountry { field }
            | OrderError::UntrustedTrackingUrl { field, .. }
            | OrderError::UnknownSku { field, .. }
            | OrderError::InsufficientStock { field, .. } => Some(field.clone()),
            OrderError::NoLines | OrderError::TooManyLines { .. } => Some("data.lines".to_owned()),
            OrderError::TotalMismatch { .. } => Some("data.total".to_owned()),
            OrderError::OrderNotFound { .. } | OrderError::OrderExists { .. } => Some("data.order_id".to_owned()),
            OrderError::Transition(_) => Some("type".to_owned()),
        }
    }
}

impl From<OrderError> for Rejection {
    fn from(error: OrderError) -> Self {
        let rejection = Rejection::new(error.kind(), error.code(), error.to_string());
        match error.field() {
            Some(field) => rejection.on_field(field),
            None => rejection,
        }
    }
}
