//! The rules a claim event keeps on its own, from the marketplace's shapes to the domain's
//! types, and every refusal claims can give, each with its code and field. The rules that need
//! live data (who may open what) are [`super::rules`]'.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::schema::{ClaimDecidedData, ClaimOpenedData, ClaimRespondedData, ClaimWithdrawnData};
use crate::domains::refunds::payout::PaidBy;
use crate::domains::refunds::schema::RefundLineData;
use crate::domains::refunds::validate::{Decimal, RefundError, identifier, lines_requested, text};
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::money::Currency;
use crate::values::pii::Private;
use crate::values::text::refused_in_line;

const MAX_NOTE: usize = 2_000;
const MAX_REASON: usize = 1_000;
const MAX_TRACKING: usize = 64;

/// Why the buyer asks the marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimReason {
    NotReceived,
    NotAsDescribed,
    RefundRefused,
    RefundNotPaid,
    NoSellerResponse,
}

impl ClaimReason {
    fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }

    pub fn code(self) -> &'static str {
        match self {
            ClaimReason::NotReceived => "not_received",
            ClaimReason::NotAsDescribed => "not_as_described",
            ClaimReason::RefundRefused => "refund_refused",
            ClaimReason::RefundNotPaid => "refund_not_paid",
            ClaimReason::NoSellerResponse => "no_seller_response",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLine {
    pub line_id: String,
    pub quantity: u32,
}

/// What the buyer asks back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Lines(Vec<ClaimLine>),
    Amount(Decimal),
    /// All that is left to refund of the order.
    Rest,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimOpening {
    pub claim_id: String,
    pub order_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    pub reason: ClaimReason,
    pub asked: Asked,
    pub currency: Option<Currency>,
    pub refund_id: Option<String>,
    pub thread_id: Option<String>,
    pub review_id: Option<String>,
    pub note: Option<Private<String>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    pub carrier: String,
    pub tracking_number: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// All the claim asks (`None`), or less.
    Refund { amount: Option<Decimal> },
    Evidence {
        tracking: Option<Tracking>,
        message: Option<Private<String>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimResponse {
    pub claim_id: String,
    pub seller_id: String,
    pub response: Response,
}

/// Support staff's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ruling {
    /// What the claim asks, less what the seller refunded on it.
    Refund {
        paid_by: PaidBy,
    },
    Partial {
        amount: Decimal,
        paid_by: PaidBy,
    },
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimDecision {
    pub claim_id: String,
    pub seller_id: String,
    pub decided_by: String,
    pub ruling: Ruling,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimWithdrawal {
    pub claim_id: String,
    pub seller_id: String,
    pub buyer_id: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The checks claims share with refunds: identifiers, amounts, text, lines against the order.
    #[error(transparent)]
    Refund(#[from] RefundError),
    // 400: the event on its own.
    #[error(
        "data.reason must be one of not_received, not_as_described, refund_refused, refund_not_paid, no_seller_response"
    )]
    UnknownReason,
    #[error("a claim names lines or an amount, not both")]
    LinesAndAmount,
    #[error("data.refund_id is required for {reason}: it names the refund the claim is about")]
    RefundIdRequired { reason: &'static str },
    #[error("data.thread_id is required for no_seller_response: it names the unanswered question")]
    ThreadIdRequired,
    #[error("data.response must be refund or evidence")]
    InvalidResponse,
    #[error("evidence needs data.tracking or data.message")]
    EvidenceRequired,
    #[error("data.amount is for a refund; evidence has none")]
    AmountWithEvidence,
    #[error("{field} must be one line of 1 to {MAX_TRACKING} characters")]
    InvalidTracking { field: &'static str },
    #[error("data.decision must be refund, partial or deny")]
    InvalidDecision,
    #[error("data.paid_by must be seller or marketplace")]
    InvalidPaidBy,
    #[error("data.paid_by is required for a refund: the seller or the marketplace pays it")]
    PaidByRequired,
    #[error("data.paid_by is for a refund; a denial pays nothing")]
    PaidByWithDenial,
    #[error("data.amount is required for a partial refund")]
    AmountRequired,
    #[error("data.amount is only for a partial refund")]
    AmountNotPartial,
    #[error("data.reason is required: it is what the buyer and the seller are told")]
    ReasonRequired,
    // 404: not this seller's to know of.
    #[error("order {order_id} was not found for this seller")]
    OrderNotFound { order_id: String },
    #[error("claim {claim_id} was not found for this seller")]
    ClaimNotFound { claim_id: String },
    // 409.
    #[error("claim {claim_id} was opened before with other contents; a new claim needs a new id")]
    ClaimExists { claim_id: String },
    // 422: the rules, against live data.
    #[error("order {order_id} is not buyer {buyer_id}'s")]
    BuyerMismatch { order_id: String, buyer_id: String },
    #[error("order {order_id} was cancelled: there is nothing to claim")]
    OrderCancelled { order_id: String },
    #[error("order {order_id} already has claim {claim_id} open; one claim per order at a time")]
    ClaimAlreadyOpen { order_id: String, claim_id: String },
    #[error("order {order_id} was delivered; not_received does not apply")]
    AlreadyDelivered { order_id: String },
    #[error("order {order_id} may be claimed not_received from {from}")]
    TooEarlyForNotReceived { order_id: String, from: String },
    #[error("order {order_id} has not been delivered; a claim before delivery is for not_received")]
    NotDelivered { order_id: String },
    #[error("claims on order {order_id} closed at the end of {last_day} (UTC)")]
    OutsideClaimWindow { order_id: String, last_day: String },
    #[error("refund {refund_id} is not a rejected refund of order {order_id}")]
    RefundNotRejected { refund_id: String, order_id: String },
    #[error("refund {refund_id} is not an approved refund of order {order_id}")]
    RefundNotApproved { refund_id: String, order_id: String },
    #[error("refund {refund_id} was approved on {approved_at}; its payment may be claimed missing from {from}")]
    TooEarlyForRefundNotPaid {
        refund_id: String,
        approved_at: String,
        from: String,
    },
    #[error("thread {thread_id} is not a question about order {order_id} whose answer is overdue")]
    QuestionNotBreached { thread_id: String, order_id: String },
    #[error("order {order_id} has nothing left to refund")]
    NothingLeftToRefund { order_id: String },
    #[error("data.created_at is {at}, later than the back office's clock allows (it is {now})")]
    CreatedInFuture { at: String, now: String },
    #[error("claim {claim_id} is {state}: it takes no more events")]
    ClaimClosed { claim_id: String, state: &'static str },
    #[error("claim {claim_id} is with support staff: the seller's time to respond is over")]
    NotAwaitingSeller { claim_id: String },
    #[error("{field}: at most {left} is left to refund on claim {claim_id}")]
    AmountExceedsClaim {
        field: &'static str,
        claim_id: String,
        left: String,
    },
    #[error("claim {claim_id} is not buyer {buyer_id}'s")]
    NotTheClaimant { claim_id: String, buyer_id: String },
}

impl ClaimError {
    fn described(&self) -> (RejectionKind, &'static str, String) {
        use ClaimError::*;
        use RejectionKind::{BadRequest, Conflict, NotFound, Unprocessable};
        let field = |name: &str| name.to_owned();
        match self {
            Refund(error) => (error.kind(), error.code(), error.field()),
            UnknownReason => (BadRequest, "unknown_reason", field("data.reason")),
            LinesAndAmount => (BadRequest, "lines_and_amount", field("data.amount")),
            RefundIdRequired { .. } => (BadRequest, "refund_id_required", field("data.refund_id")),
            ThreadIdRequired => (BadRequest, "thread_id_required", field("data.thread_id")),
            InvalidResponse => (BadRequest, "invalid_response", field("data.response")),
            EvidenceRequired => (BadRequest, "evidence_required", field("data.tracking")),
            AmountWithEvidence => (BadRequest, "amount_with_evidence", field("data.amount")),
            InvalidTracking { field } => (BadRequest, "invalid_tracking", (*field).to_owned()),
            InvalidDecision => (BadRequest, "invalid_decision", field("data.decision")),
            InvalidPaidBy => (BadRequest, "invalid_paid_by", field("data.paid_by")),
            PaidByRequired => (BadRequest, "paid_by_required", field("data.paid_by")),
            PaidByWithDenial => (BadRequest, "paid_by_with_denial", field("data.paid_by")),
            AmountRequired => (BadRequest, "amount_required", field("data.amount")),
            AmountNotPartial => (BadRequest, "amount_not_partial", field("data.amount")),
            ReasonRequired => (BadRequest, "reason_required", field("data.reason")),
            OrderNotFound { .. } => (NotFound, "order_not_found", field("data.order_id")),
            ClaimNotFound { .. } => (NotFound, "claim_not_found", field("data.claim_id")),
            ClaimExists { .. } => (Conflict, "claim_exists", field("data.claim_id")),
            BuyerMismatch { .. } => (Unprocessable, "buyer_mismatch", field("data.buyer_id")),
            OrderCancelled { .. } => (Unprocessable, "order_cancelled", field("data.order_id")),
            ClaimAlreadyOpen { .. } => (Unprocessable, "claim_already_open", field("data.order_id")),
            AlreadyDelivered { .. } => (Unprocessable, "already_delivered", field("data.reason")),
            TooEarlyForNotReceived { .. } => (Unprocessable, "too_early_for_not_received", field("data.created_at")),
            NotDelivered { .. } => (Unprocessable, "not_delivered", field("data.reason")),
            OutsideClaimWindow { .. } => (Unprocessable, "outside_claim_window", field("data.created_at")),
            RefundNotRejected { .. } => (Unprocessable, "refund_not_rejected", field("data.refund_id")),
            RefundNotApproved { .. } => (Unprocessable, "refund_not_approved", field("data.refund_id")),
            TooEarlyForRefundNotPaid { .. } => {
                (Unprocessable, "too_early_for_refund_not_paid", field("data.created_at"))
            }
            QuestionNotBreached { .. } => (Unprocessable, "question_not_breached", field("data.thread_id")),
            NothingLeftToRefund { .. } => (Unprocessable, "nothing_left_to_refund", field("data.order_id")),
            CreatedInFuture { .. } => (Unprocessable, "created_in_future", field("data.created_at")),
            ClaimClosed { .. } => (Unprocessable, "claim_closed", field("data.claim_id")),
            NotAwaitingSeller { .. } => (Unprocessable, "not_awaiting_seller", field("data.claim_id")),
            AmountExceedsClaim { field, .. } => (Unprocessable, "amount_exceeds_claim", (*field).to_owned()),
            NotTheClaimant { .. } => (Unprocessable, "not_the_claimant", field("data.buyer_id")),
        }
    }
}

impl From<ClaimError> for Rejection {
    fn from(error: ClaimError) -> Self {
        let (kind, code, field) = error.described();
        Rejection::new(kind, code, error.to_string()).on_field(field)
    }
}

pub fn claim_opening(data: ClaimOpenedData) -> Result<ClaimOpening, ClaimError> {
    let reason = ClaimReason::parse(&data.reason).ok_or(ClaimError::UnknownReason)?;
    let asked = match (data.lines, data.amount) {
        (Some(_), Some(_)) => return Err(ClaimError::LinesAndAmount),
        (Some(lines), None) => Asked::Lines(claim_lines(lines)?),
        (None, Some(amount)) => Asked::Amount(Decimal::parse(&amount, "data.amount")?),
        (None, None) => Asked::Rest,
    };
    let optional_id = |value: Option<String>, field: &str| value.map(|value| identifier(value, field)).transpose();
    let opening = ClaimOpening {
        claim_id: identifier(data.claim_id, "data.claim_id")?,
        order_id: identifier(data.order_id, "data.order_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        buyer_id: identifier(data.buyer_id, "data.buyer_id")?,
        reason,
        asked,
        currency: data
            .currency
            .map(|code| {
                Currency::parse(&code).map_err(|_| RefundError::InvalidCurrency {
                    field: "data.currency".to_owned(),
                })
            })
            .transpose()?,
        refund_id: optional_id(data.refund_id, "data.refund_id")?,
        thread_id: optional_id(data.thread_id, "data.thread_id")?,
        review_id: optional_id(data.review_id, "data.review_id")?,
        note: data
            .note
            .map(|note| text(note, "data.note", MAX_NOTE).map(Private))
            .transpose()?
            .filter(|note| !note.0.is_empty()),
        created_at: DateTime::parse_from_rfc3339(&data.created_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| RefundError::InvalidTimestamp {
                field: "data.created_at".to_owned(),
            })?,
    };
    match opening.reason {
        ClaimReason::RefundRefused | ClaimReason::RefundNotPaid if opening.refund_id.is_none() => {
            Err(ClaimError::RefundIdRequired {
                reason: opening.reason.code(),
            })
        }
        ClaimReason::NoSellerResponse if opening.thread_id.is_none() => Err(ClaimError::ThreadIdRequired),
        _ => Ok(opening),
    }
}

/// A claim's lines, checked as a refund's are (a claim's carry no amount and no restock).
fn claim_lines(lines: Vec<super::schema::ClaimLineData>) -> Result<Vec<ClaimLine>, ClaimError> {
    let as_refund = lines
        .into_iter()
        .map(|line| RefundLineData {
            line_id: line.line_id,
            quantity: line.quantity,
            amount: None,
            restock: false,
        })
        .collect();
    Ok(lines_requested(as_refund)?
        .into_iter()
        .map(|line| ClaimLine {
            line_id: line.line_id,
            quantity: line.quantity,
        })
        .collect())
}

pub fn claim_response(data: ClaimRespondedData) -> Result<ClaimResponse, ClaimError> {
    let response = match data.response.as_str() {
        "refund" => Response::Refund {
            amount: data
                .amount
                .map(|amount| Decimal::parse(&amount, "data.amount"))
                .transpose()?,
        },
        "evidence" => {
            if data.amount.is_some() {
                return Err(ClaimError::AmountWithEvidence);
            }
            let tracking = data.tracking.map(tracking).transpose()?;
            let message = data
                .message
                .map(|message| text(message, "data.message", MAX_NOTE).map(Private))
                .transpose()?
                .filter(|message| !message.0.is_empty());
            if tracking.is_none() && message.is_none() {
                return Err(ClaimError::EvidenceRequired);
            }
            Response::Evidence { tracking, message }
        }
        _ => return Err(ClaimError::InvalidResponse),
    };
    Ok(ClaimResponse {
        claim_id: identifier(data.claim_id, "data.claim_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        response,
    })
}

fn tracking(data: super::schema::TrackingData) -> Result<Tracking, ClaimError> {
    let line = |value: String, field: &'static str| {
        let value = value.trim().to_owned();
        if value.is_empty() || value.chars().count() > MAX_TRACKING || value.chars().any(refused_in_line) {
            Err(ClaimError::InvalidTracking { field })
        } else {
            Ok(value)
        }
    };
    Ok(Tracking {
        carrier: line(data.carrier, "data.tracking.carrier")?,
        tracking_number: line(data.tracking_number, "data.tracking.tracking_number")?,
    })
}

pub fn claim_decision(data: ClaimDecidedData) -> Result<ClaimDecision, ClaimError> {
    let paid_by = data
        .paid_by
        .as_deref()
        .map(|payer| PaidBy::parse(payer).ok_or(ClaimError::InvalidPaidBy))
        .transpose()?;
    let ruling = match data.decision.as_str() {
        "refund" if data.amount.is_some() => return Err(ClaimError::AmountNotPartial),
        "refund" => Ruling::Refund {
            paid_by: paid_by.ok_or(ClaimError::PaidByRequired)?,
        },
        "partial" => Ruling::Partial {
            amount: Decimal::parse(&data.amount.ok_or(ClaimError::AmountRequired)?, "data.amount")?,
            paid_by: paid_by.ok_or(ClaimError::PaidByRequired)?,
        },
        "deny" if data.amount.is_some() => return Err(ClaimError::AmountNotPartial),
        "deny" if paid_by.is_some() => return Err(ClaimError::PaidByWithDenial),
        "deny" => Ruling::Deny,
        _ => return Err(ClaimError::InvalidDecision),
    };
    let reason = text(data.reason, "data.reason", MAX_REASON)?;
    if reason.is_empty() {
        return Err(ClaimError::ReasonRequired);
    }
    Ok(ClaimDecision {
        claim_id: identifier(data.claim_id, "data.claim_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        decided_by: identifier(data.decided_by, "data.decided_by")?,
        ruling,
        reason,
    })
}

pub fn claim_withdrawal(data: ClaimWithdrawnData) -> Result<ClaimWithdrawal, ClaimError> {
    Ok(ClaimWithdrawal {
        claim_id: identifier(data.claim_id, "data.claim_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        buyer_id: identifier(data.buyer_id, "data.buyer_id")?,
        reason: data
            .reason
            .map(|reason| text(reason, "data.reason", MAX_REASON))
            .transpose()?
            .filter(|reason| !reason.is_empty()),
    })
}
