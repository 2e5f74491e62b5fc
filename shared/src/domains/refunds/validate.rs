//! The rules a refund event must keep on its own, from the marketplace's shapes to the
//! domain's types, and every refusal refunds can give, each with its code and field. Amounts
//! are checked as decimal text here and become money of the order's currency once the order
//! is read ([`super::policy`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::schema::{RefundDecidedData, RefundRequestedData};
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::ids::is_identifier;
use crate::values::money::{Currency, Money, MoneyError};
use crate::values::text::refused_in_text;

/// A refund names at most this many lines: its approval's transaction holds the ledger entry,
/// the order, the buyer's history, a restock per line, the outbox entry and the claim.
pub const MAX_LINES: usize = 90;
pub const MAX_QUANTITY: i64 = 10_000;
const MAX_NOTE: usize = 1_000;
const MAX_REASON: usize = 500;

/// Why the buyer asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Damaged,
    Defective,
    NotAsDescribed,
    WrongItem,
    NotReceived,
    NoLongerNeeded,
    Other,
}

impl RefundReason {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    /// As the event and the seller's notice write it.
    pub fn code(self) -> &'static str {
        match self {
            RefundReason::Damaged => "damaged",
            RefundReason::Defective => "defective",
            RefundReason::NotAsDescribed => "not_as_described",
            RefundReason::WrongItem => "wrong_item",
            RefundReason::NotReceived => "not_received",
            RefundReason::NoLongerNeeded => "no_longer_needed",
            RefundReason::Other => "other",
        }
    }
}

/// An amount as the event writes it, a positive decimal, not yet of a currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal(String);

impl Decimal {
    pub(crate) fn parse(text: &str, field: &str) -> Result<Self, RefundError> {
        let (major, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        // No currency has more than four decimals; which are allowed is the order's currency's.
        let well_formed = !major.is_empty()
            && major.len() <= 12
            && digits(major)
            && digits(fraction)
            && fraction.len() <= 4
            && !(text.contains('.') && fraction.is_empty());
        let positive = text.bytes().any(|b| (b'1'..=b'9').contains(&b));
        if well_formed && positive {
            Ok(Self(text.to_owned()))
        } else {
            Err(RefundError::InvalidAmount {
                field: field.to_owned(),
            })
        }
    }

    /// As the event wrote it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// In `currency`, or why it cannot be.
    pub fn of(&self, currency: Currency, field: &str) -> Result<Money, RefundError> {
        Money::parse(&self.0, currency).map_err(|error| match error {
            MoneyError::TooManyDecimals { .. } => RefundError::AmountPrecision {
                field: field.to_owned(),
                currency: currency.code(),
            },
            _ => RefundError::InvalidAmount {
                field: field.to_owned(),
            },
        })
    }
}

/// One line of a refund request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub line_id: String,
    pub quantity: u32,
    pub amount: Option<Decimal>,
    pub restock: bool,
}

/// What is asked back: units of lines, or money for the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Lines(Vec<LineRequest>),
    Goodwill(Decimal),
}

/// A refund request, checked on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub refund_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    pub requested: Requested,
    pub currency: Option<Currency>,
    pub reason: RefundReason,
    pub note: Option<crate::values::pii::Private<String>>,
    pub created_at: DateTime<Utc>,
}

/// The seller's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Approve { amount: Option<Decimal> },
    Reject { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundDecision {
    pub refund_id: String,
    pub seller_id: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    // 400: the event on its own.
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: String },
    #[error("{field} must be a whole number from 1 to {MAX_QUANTITY}")]
    InvalidQuantity { field: String },
    #[error("{field} must be a positive decimal amount such as \"12.50\"")]
    InvalidAmount { field: String },
    #[error("{field} is not an ISO 4217 currency code")]
    InvalidCurrency { field: String },
    #[error(
        "{field} must be one of damaged, defective, not_as_described, wrong_item, not_received, no_longer_needed, other"
    )]
    UnknownReason { field: String },
    #[error("{field} may hold at most {max} characters and no control characters")]
    InvalidText { field: String, max: usize },
    #[error("{field} must be an RFC 3339 timestamp")]
    InvalidTimestamp { field: String },
    #[error("a refund names either lines or an amount, not both and not neither")]
    LinesOrAmount,
    #[error("data.lines must name 1 to {MAX_LINES} lines")]
    LineCount,
    #[error("{field} names a line already named")]
    DuplicateLine { field: String },
    #[error("data.decision must be approve or reject")]
    InvalidDecision,
    #[error("data.reason is required to reject a refund: it is what the buyer is told")]
    ReasonRequired,
    #[error("data.amount is for approving less than was asked; a rejection has none")]
    AmountWithRejection,
    // 404: not this seller's to know of.
    #[error("order {order_id} was not found for this seller")]
    OrderNotFound { order_id: String },
    #[error("refund {refund_id} was not found for this seller")]
    RefundNotFound { refund_id: String },
    // 409.
    #[error("refund {refund_id} was requested before with other contents; a new request needs a new id")]
    RefundExists { refund_id: String },
    // 422: against the order and the policy.
    #[error("order {order_id} is not buyer {buyer_id}'s")]
    BuyerMismatch { order_id: String, buyer_id: String },
    #[error("order {order_id} was cancelled: there is nothing to refund")]
    OrderCancelled { order_id: String },
    #[error("order {order_id} has not been delivered; a refund before delivery is for not_received")]
    NotDelivered { order_id: String },
    #[error("the return window of order {order_id} closed at the end of {last_day} (UTC)")]
    OutsideReturnWindow { order_id: String, last_day: String },
    #[error("order {order_id} has not shipped: it cannot have gone missing")]
    NotShipped { order_id: String },
    #[error("order {order_id} was delivered; not_received does not apply")]
    AlreadyDelivered { order_id: String },
    #[error("data.created_at is {at}, later than the back office's clock allows (it is {now})")]
    CreatedInFuture { at: String, now: String },
    #[error("order {order_id} shipped less than 14 days ago; not_received may be asked from {from}")]
    TooEarlyForNotReceived { order_id: String, from: String },
    #[error("{field}: order {order_id} has no line {line_id}")]
    UnknownLine {
        field: String,
        order_id: String,
        line_id: String,
    },
    #[error("{field}: at most {left} unit(s) of line {line_id} are left to refund")]
    QuantityExceedsRefundable { field: String, line_id: String, left: u32 },
    #[error("{field}: at most {left} of line {line_id} is left to refund")]
    LineAmountExceedsRefundable {
        field: String,
        line_id: String,
        left: String,
    },
    #[error("{field}: at most {left} of order {order_id} is left to refund")]
    OrderAmountExceedsRefundable {
        field: String,
        order_id: String,
        left: String,
    },
    #[error("data.currency is {given}, but order {order_id} was paid in {paid}")]
    CurrencyMismatch {
        order_id: String,
        given: &'static str,
        paid: &'static str,
    },
    #[error("{field} has more decimals than {currency} has")]
    AmountPrecision { field: String, currency: &'static str },
    #[error("refund {refund_id} was already {state}")]
    AlreadyDecided { refund_id: String, state: &'static str },
    #[error("data.amount: at most the {requested} asked can be approved")]
    AmountExceedsRequested { requested: String },
}

impl RefundError {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            RefundError::InvalidIdentifier { .. } => "invalid_identifier",
            RefundError::InvalidQuantity { .. } => "invalid_quantity",
            RefundError::InvalidAmount { .. } => "invalid_amount",
            RefundError::InvalidCurrency { .. } => "invalid_currency",
            RefundError::UnknownReason { .. } => "unknown_reason",
            RefundError::InvalidText { .. } => "invalid_text",
            RefundError::InvalidTimestamp { .. } => "invalid_timestamp",
            RefundError::LinesOrAmount => "lines_or_amount",
            RefundError::LineCount => "invalid_line_count",
            RefundError::DuplicateLine { .. } => "duplicate_line",
            RefundError::InvalidDecision => "invalid_decision",
            RefundError::ReasonRequired => "reason_required",
            RefundError::AmountWithRejection => "amount_with_rejection",
            RefundError::OrderNotFound { .. } => "order_not_found",
            RefundError::RefundNotFound { .. } => "refund_not_found",
            RefundError::RefundExists { .. } => "refund_exists",
            RefundError::BuyerMismatch { .. } => "buyer_mismatch",
            RefundError::OrderCancelled { .. } => "order_cancelled",
            RefundError::NotDelivered { .. } => "not_delivered",
            RefundError::OutsideReturnWindow { .. } => "outside_return_window",
            RefundError::NotShipped { .. } => "not_shipped",
            RefundError::AlreadyDelivered { .. } => "already_delivered",
            RefundError::TooEarlyForNotReceived { .. } => "too_early_for_not_received",
            RefundError::CreatedInFuture { .. } => "created_in_future",
            RefundError::UnknownLine { .. } => "unknown_line",
            RefundError::QuantityExceedsRefundable { .. } => "quantity_exceeds_refundable",
            RefundError::LineAmountExceedsRefundable { .. } => "amount_exceeds_refundable",
            RefundError::OrderAmountExceedsRefundable { .. } => "amount_exceeds_refundable",
            RefundError::CurrencyMismatch { .. } => "currency_mismatch",
            RefundError::AmountPrecision { .. } => "amount_precision",
            RefundError::AlreadyDecided { .. } => "already_decided",
            RefundError::AmountExceedsRequested { .. } => "amount_exceeds_requested",
        }
    }

    pub(crate) fn kind(&self) -> RejectionKind {
        match self {
            RefundError::OrderNotFound { .. } | RefundError::RefundNotFound { .. } => RejectionKind::NotFound,
            RefundError::RefundExists { .. } => RejectionKind::Conflict,
            RefundError::InvalidIdentifier { .. }
            | RefundError::InvalidQuantity { .. }
            | RefundError::InvalidAmount { .. }
            | RefundError::InvalidCurrency { .. }
            | RefundError::UnknownReason { .. }
            | RefundError::InvalidText { .. }
            | RefundError::InvalidTimestamp { .. }
            | RefundError::LinesOrAmount
            | RefundError::LineCount
            | RefundError::DuplicateLine { .. }
            | RefundError::InvalidDecision
            | RefundError::ReasonRequired
            | RefundError::AmountWithRejection => RejectionKind::BadRequest,
            _ => RejectionKind::Unprocessable,
        }
    }

    pub(crate) fn field(&self) -> String {
        match self {
            RefundError::InvalidIdentifier { field }
            | RefundError::InvalidQuantity { field }
            | RefundError::InvalidAmount { field }
            | RefundError::InvalidCurrency { field }
            | RefundError::UnknownReason { field }
            | RefundError::InvalidText { field, .. }
            | RefundError::InvalidTimestamp { field }
            | RefundError::DuplicateLine { field }
            | RefundError::UnknownLine { field, .. }
            | RefundError::QuantityExceedsRefundable { field, .. }
            | RefundError::LineAmountExceedsRefundable { field, .. }
            | RefundError::OrderAmountExceedsRefundable { field, .. }
            | RefundError::AmountPrecision { field, .. } => field.clone(),
            RefundError::LinesOrAmount | RefundError::LineCount => "data.lines".to_owned(),
            RefundError::InvalidDecision => "data.decision".to_owned(),
            RefundError::ReasonRequired => "data.reason".to_owned(),
            RefundError::AmountWithRejection | RefundError::AmountExceedsRequested { .. } => "data.amount".to_owned(),
            RefundError::OrderNotFound { .. }
            | RefundError::OrderCancelled { .. }
            | RefundError::NotDelivered { .. }
            | RefundError::NotShipped { .. } => "data.order_id".to_owned(),
            RefundError::RefundNotFound { .. }
            | RefundError::RefundExists { .. }
            | RefundError::AlreadyDecided { .. } => "data.refund_id".to_owned(),
            RefundError::BuyerMismatch { .. } => "data.buyer_id".to_owned(),
            RefundError::OutsideReturnWindow { .. }
            | RefundError::AlreadyDelivered { .. }
            | RefundError::TooEarlyForNotReceived { .. }
            | RefundError::CreatedInFuture { .. } => "data.created_at".to_owned(),
            RefundError::CurrencyMismatch { .. } => "data.currency".to_owned(),
        }
    }
}

impl From<RefundError> for Rejection {
    fn from(error: RefundError) -> Self {
        Rejection::new(error.kind(), error.code(), error.to_string()).on_field(error.field())
    }
}

pub fn refund_request(data: RefundRequestedData) -> Result<RefundRequest, RefundError> {
    let requested = match (data.lines, data.amount) {
        (Some(lines), None) => Requested::Lines(lines_requested(lines)?),
        (None, Some(amount)) => Requested::Goodwill(Decimal::parse(&amount, "data.amount")?),
        _ => return Err(RefundError::LinesOrAmount),
    };
    Ok(RefundRequest {
        refund_id: identifier(data.refund_id, "data.refund_id")?,
        order_id: identifier(data.order_id, "data.order_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        buyer_id: identifier(data.buyer_id, "data.buyer_id")?,
        requested,
        currency: data
            .currency
            .map(|code| {
                Currency::parse(&code).map_err(|_| RefundError::InvalidCurrency {
                    field: "data.currency".to_owned(),
                })
            })
            .transpose()?,
        reason: RefundReason::parse(&data.reason).ok_or_else(|| RefundError::UnknownReason {
            field: "data.reason".to_owned(),
        })?,
        note: data
            .note
            .map(|note| text(note, "data.note", MAX_NOTE).map(crate::values::pii::Private))
            .transpose()?,
        created_at: DateTime::parse_from_rfc3339(&data.created_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| RefundError::InvalidTimestamp {
                field: "data.created_at".to_owned(),
            })?,
    })
}

pub(crate) fn lines_requested(lines: Vec<super::schema::RefundLineData>) -> Result<Vec<LineRequest>, RefundError> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(RefundError::LineCount);
    }
    let mut checked: Vec<LineRequest> = Vec::with_capacity(lines.len());
    for (index, line) in lines.into_iter().enumerate() {
        let field = |name: &str| format!("data.lines[{index}].{name}");
        let line_id = identifier(line.line_id, &field("line_id"))?;
        if checked.iter().any(|earlier| earlier.line_id == line_id) {
            return Err(RefundError::DuplicateLine {
                field: field("line_id"),
            });
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(RefundError::InvalidQuantity {
                field: field("quantity"),
            });
        }
        checked.push(LineRequest {
            line_id,
            quantity: line.quantity as u32,
            amount: line
                .amount
                .map(|amount| Decimal::parse(&amount, &field("amount")))
                .transpose()?,
            restock: line.restock,
        });
    }
    Ok(checked)
}

pub fn refund_decision(data: RefundDecidedData) -> Result<RefundDecision, RefundError> {
    let verdict = match data.decision.as_str() {
        "approve" => Verdict::Approve {
            amount: data
                .amount
                .map(|amount| Decimal::parse(&amount, "data.amount"))
                .transpose()?,
        },
        "reject" => {
            if data.amount.is_some() {
                return Err(RefundError::AmountWithRejection);
            }
            let reason = data.reason.ok_or(RefundError::ReasonRequired)?;
            let reason = text(reason, "data.reason", MAX_REASON)?;
            if reason.trim().is_empty() {
                return Err(RefundError::ReasonRequired);
            }
            Verdict::Reject { reason }
        }
        _ => return Err(RefundError::InvalidDecision),
    };
    Ok(RefundDecision {
        refund_id: identifier(data.refund_id, "data.refund_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        verdict,
    })
}

pub(crate) fn identifier(value: String, field: &str) -> Result<String, RefundError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(RefundError::InvalidIdentifier {
            field: field.to_owned(),
        })
    }
}

/// Free text: at most `max` characters, no control characters but line breaks. Markup is kept
/// as the buyer wrote it: every email escapes it.
pub(crate) fn text(value: String, field: &str, max: usize) -> Result<String, RefundError> {
    let control = value.chars().any(refused_in_text);
    if control || value.chars().count() > max {
        return Err(RefundError::InvalidText {
            field: field.to_owned(),
            max,
        });
    }
    Ok(value.trim().to_owned())
}
