//! The rules a review event must keep, from the marketplace's shapes to the domain's types.
//! Every rule has its own error naming its field.

use chrono::{DateTime, Utc};

use super::language::{detect, primary_language};
use super::schema::{ReviewCreatedData, ReviewRemovedData, ReviewUpdatedData};
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::ids::{is_identifier, is_sku};
use crate::values::text::{refused_in_line, refused_in_text};

pub const MAX_TITLE: usize = 200;
pub const MAX_TEXT: usize = 5_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: &'static str },
    #[error("{field} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidSku { field: &'static str },
    #[error("{field} must be a whole number of stars from 1 to 5, not {rating}")]
    InvalidRating { field: &'static str, rating: i64 },
    #[error("{field} may hold at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("{field} holds control characters")]
    ControlCharacters { field: &'static str },
    #[error("{field} holds markup; reviews are plain text")]
    Markup { field: &'static str },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: {reason}")]
    InvalidLanguage { field: &'static str, reason: String },
    #[error("{field} must be an RFC 3339 timestamp")]
    InvalidTimestamp { field: &'static str },
    #[error("review {review_id} was not found for this seller")]
    ReviewNotFound { review_id: String },
    #[error("order {order_id} was not found for this seller")]
    OrderNotFound { order_id: String },
    #[error("review {review_id} already exists with other contents; a new review needs a new id")]
    ReviewExists { review_id: String },
    #[error("review {review_id} was removed by moderation")]
    ReviewRemoved { review_id: String },
}

impl ReviewError {
    fn code(&self) -> &'static str {
        match self {
            ReviewError::InvalidIdentifier { .. } => "invalid_identifier",
            ReviewError::InvalidSku { .. } => "invalid_sku",
            ReviewError::InvalidRating { .. } => "invalid_rating",
            ReviewError::TooLong { .. } => "too_long",
            ReviewError::ControlCharacters { .. } => "control_characters",
            ReviewError::Markup { .. } => "markup_not_allowed",
            ReviewError::Empty { .. } => "empty_text",
            ReviewError::InvalidLanguage { .. } => "invalid_language",
            ReviewError::InvalidTimestamp { .. } => "invalid_timestamp",
            ReviewError::ReviewNotFound { .. } => "review_not_found",
            ReviewError::OrderNotFound { .. } => "order_not_found",
            ReviewError::ReviewExists { .. } => "review_exists",
            ReviewError::ReviewRemoved { .. } => "review_removed",
        }
    }

    fn kind(&self) -> RejectionKind {
        match self {
            ReviewError::ReviewNotFound { .. } | ReviewError::OrderNotFound { .. } => RejectionKind::NotFound,
            ReviewError::ReviewExists { .. } => RejectionKind::Conflict,
            ReviewError::ReviewRemoved { .. } => RejectionKind::Unprocessable,
            _ => RejectionKind::BadRequest,
        }
    }

    fn field(&self) -> &'static str {
        match self {
            ReviewError::InvalidIdentifier { field }
            | ReviewError::InvalidSku { field }
            | ReviewError::InvalidRating { field, .. }
            | ReviewError::TooLong { field, .. }
            | ReviewError::ControlCharacters { field }
            | ReviewError::Markup { field }
            | ReviewError::Empty { field }
            | ReviewError::InvalidLanguage { field, .. }
            | ReviewError::InvalidTimestamp { field } => field,
            ReviewError::ReviewNotFound { .. }
            | ReviewError::ReviewExists { .. }
            | ReviewError::ReviewRemoved { .. } => "data.review_id",
            ReviewError::OrderNotFound { .. } => "data.order_id",
        }
    }
}

impl From<ReviewError> for Rejection {
    fn from(error: ReviewError) -> Self {
        Rejection::new(error.kind(), error.code(), error.to_string()).on_field(error.field())
    }
}

/// A review's words and stars, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewWords {
    pub rating: u8,
    pub title: String,
    pub text: String,
    /// Two letters (`en`, `zh`), or `und`.
    pub language: String,
}

/// A new review, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub review_id: String,
    pub seller_id: String,
    pub sku: String,
    pub order_id: Option<String>,
    pub buyer_id: String,
    pub words: ReviewWords,
    pub created_at: DateTime<Utc>,
}

/// A change to an existing review of the seller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewRef {
    pub review_id: String,
    pub seller_id: String,
}

pub fn new_review(data: ReviewCreatedData) -> Result<NewReview, ReviewError> {
    Ok(NewReview {
        review_id: identifier(data.review_id, "data.review_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        sku: sku(data.sku)?,
        order_id: data
            .order_id
            .map(|order| identifier(order, "data.order_id"))
            .transpose()?,
        buyer_id: identifier(data.buyer_id, "data.buyer_id")?,
        words: words(data.rating, data.title, data.text, data.language)?,
        created_at: timestamp(&data.created_at, "data.created_at")?,
    })
}

pub fn updated_review(data: ReviewUpdatedData) -> Result<(ReviewRef, ReviewWords, DateTime<Utc>), ReviewError> {
    let review = ReviewRef {
        review_id: identifier(data.review_id, "data.review_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
    };
    let words = words(data.rating, data.title, data.text, data.language)?;
    Ok((review, words, timestamp(&data.updated_at, "data.updated_at")?))
}

pub fn removed_review(data: ReviewRemovedData) -> Result<ReviewRef, ReviewError> {
    if let Some(reason) = &data.reason {
        single_line(reason, "data.reason", MAX_TITLE)?;
    }
    Ok(ReviewRef {
        review_id: identifier(data.review_id, "data.review_id")?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
    })
}

fn words(rating: i64, title: String, text: String, language: Option<String>) -> Result<ReviewWords, ReviewError> {
    if !(1..=5).contains(&rating) {
        return Err(ReviewError::InvalidRating {
            field: "data.rating",
            rating,
        });
    }
    single_line(&title, "data.title", MAX_TITLE)?;
    plain_text(&text, "data.text", MAX_TEXT)?;
    if title.trim().is_empty() && text.trim().is_empty() {
        return Err(ReviewError::Empty { field: "data.text" });
    }
    let declared = match language.as_deref() {
        Some(tag) => primary_language(tag).map_err(|error| ReviewError::InvalidLanguage {
            field: "data.language",
            reason: error.to_string(),
        })?,
        None => None,
    };
    let language = declared.unwrap_or_else(|| detect(&format!("{title} {text}")));
    Ok(ReviewWords {
        rating: rating as u8,
        title: title.trim().to_owned(),
        text: text.trim().to_owned(),
        language,
    })
}

fn single_line(value: &str, field: &'static str, max: usize) -> Result<(), ReviewError> {
    if value.chars().any(refused_in_line) {
        return Err(ReviewError::ControlCharacters { field });
    }
    plain_text(value, field, max)
}

/// At most `max` characters, no control characters but line breaks and tabs, no markup.
fn plain_text(value: &str, field: &'static str, max: usize) -> Result<(), ReviewError> {
    if value.chars().count() > max {
        return Err(ReviewError::TooLong { field, max });
    }
    if value.chars().any(refused_in_text) {
        return Err(ReviewError::ControlCharacters { field });
    }
    // A tag's opening: `<` followed by a letter, `/` or `!`. "<3" and "a < b" are words.
    let markup = value
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0] == b'<' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'/' | b'!')));
    if markup {
        return Err(ReviewError::Markup { field });
    }
    Ok(())
}

fn identifier(value: String, field: &'static str) -> Result<String, ReviewError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(ReviewError::InvalidIdentifier { field })
    }
}

fn sku(value: String) -> Result<String, ReviewError> {
    if is_sku(&value) {
        Ok(value)
    } else {
        Err(ReviewError::InvalidSku { field: "data.sku" })
    }
}

fn timestamp(value: &str, field: &'static str) -> Result<DateTime<Utc>, ReviewError> {
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| ReviewError::InvalidTimestamp { field })
}
