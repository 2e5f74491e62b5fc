//! The message events checked on their own, each refusal with its code and field.

use chrono::{DateTime, Utc};

use super::schema::{MessageReceivedData, MessageRepliedData};
use crate::domains::orders::OrderError;
use crate::domains::orders::validate::{Buyer, buyer};
use crate::mechanisms::webhook::{Rejection, RejectionKind};
use crate::values::ids::is_identifier;
use crate::values::text::{refused_in_line, refused_in_text};

pub const MAX_TEXT: usize = 5_000;
pub const MAX_SUBJECT: usize = 200;

/// A buyer's question, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub message_id: String,
    pub thread_id: String,
    /// Whether the event named its thread (a follow-up) or starts one.
    pub continues_thread: bool,
    pub buyer: Buyer,
    pub seller_id: String,
    pub order_id: Option<String>,
    pub subject: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// A seller's answer, checked on its own (what it may say is [`super::prohibited`]'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub message_id: String,
    pub thread_id: String,
    pub seller_id: String,
    pub answer: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Text(String),
    NoResponseNeeded,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuestionError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: &'static str },
    #[error("{field} must be at most {max} characters, without control characters other than line breaks and tabs")]
    InvalidText { field: &'static str, max: usize },
    #[error("{field} must not be empty")]
    EmptyText { field: &'static str },
    #[error("data.created_at must be an RFC 3339 timestamp")]
    InvalidTimestamp,
    #[error("a reply has either text or no_response_needed: true")]
    TextOrNoResponse,
    #[error(transparent)]
    Buyer(#[from] OrderError),
    // 404, 422: against what is stored.
    #[error("thread {thread_id} was not found for this seller")]
    ThreadNotFound { thread_id: String },
    #[error("thread {thread_id} is another buyer's")]
    ThreadOfAnotherBuyer { thread_id: String },
    #[error("the reply contains {what}: marketplaces forbid taking buyers off the platform")]
    ProhibitedContent { what: &'static str },
    #[error("message {message_id} was sent before with other contents; a new message needs a new id")]
    MessageExists { message_id: String },
}

impl From<QuestionError> for Rejection {
    fn from(error: QuestionError) -> Self {
        let (kind, code, field) = match &error {
            QuestionError::Buyer(order) => return Rejection::from(order.clone()),
            QuestionError::InvalidIdentifier { field } => (RejectionKind::BadRequest, "invalid_identifier", *field),
            QuestionError::InvalidText { field, .. } => (RejectionKind::BadRequest, "invalid_text", *field),
            QuestionError::EmptyText { field } => (RejectionKind::BadRequest, "empty_text", *field),
            QuestionError::InvalidTimestamp => (RejectionKind::BadRequest, "invalid_timestamp", "data.created_at"),
            QuestionError::TextOrNoResponse => (RejectionKind::BadRequest, "text_or_no_response", "data.text"),
            QuestionError::ThreadNotFound { .. } => (RejectionKind::NotFound, "thread_not_found", "data.thread_id"),
            QuestionError::ThreadOfAnotherBuyer { .. } => (
                RejectionKind::Unprocessable,
                "thread_of_another_buyer",
                "data.thread_id",
            ),
            QuestionError::ProhibitedContent { .. } => {
                (RejectionKind::Unprocessable, "prohibited_content", "data.text")
            }
            QuestionError::MessageExists { .. } => (RejectionKind::Conflict, "message_exists", "data.message_id"),
        };
        Rejection::new(kind, code, error.to_string()).on_field(field)
    }
}

pub fn question(data: MessageReceivedData) -> Result<Question, QuestionError> {
    let message_id = identifier(data.message_id, "data.message_id")?;
    let (thread_id, continues_thread) = match data.thread_id {
        Some(thread_id) => (thread(thread_id)?, true),
        // A new thread is named after its first message, so a retry finds the same thread.
        None => (format!("thr_{message_id}"), false),
    };
    Ok(Question {
        thread_id,
        continues_thread,
        message_id,
        buyer: buyer(data.buyer)?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        order_id: data
            .order_id
            .map(|order_id| identifier(order_id, "data.order_id"))
            .transpose()?,
        subject: one_line(&data.subject, "data.subject")?,
        text: words(&data.text, "data.text")?,
        created_at: DateTime::parse_from_rfc3339(&data.created_at)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|_| QuestionError::InvalidTimestamp)?,
    })
}

pub fn reply(data: MessageRepliedData) -> Result<Reply, QuestionError> {
    let answer = match (data.text, data.no_response_needed) {
        (Some(text), None | Some(false)) => Answer::Text(words(&text, "data.text")?),
        (None, Some(true)) => Answer::NoResponseNeeded,
        _ => return Err(QuestionError::TextOrNoResponse),
    };
    Ok(Reply {
        message_id: identifier(data.message_id, "data.message_id")?,
        thread_id: thread(data.thread_id)?,
        seller_id: identifier(data.seller_id, "data.seller_id")?,
        answer,
    })
}

/// A thread's id: the marketplace's, or ours, `thr_` and the first message's id (which may
/// already be 64 characters long).
fn thread(value: String) -> Result<String, QuestionError> {
    let ours = value.strip_prefix("thr_").is_some_and(is_identifier);
    if ours || is_identifier(&value) {
        Ok(value)
    } else {
        Err(QuestionError::InvalidIdentifier {
            field: "data.thread_id",
        })
    }
}

fn identifier(value: String, field: &'static str) -> Result<String, QuestionError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(QuestionError::InvalidIdentifier { field })
    }
}

/// A message's text: lines and tabs allowed, other control characters not; kept as written
/// (emails escape it).
fn words(value: &str, field: &'static str) -> Result<String, QuestionError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(QuestionError::EmptyText { field });
    }
    let control = trimmed.chars().any(refused_in_text);
    if control || trimmed.chars().count() > MAX_TEXT {
        return Err(QuestionError::InvalidText { field, max: MAX_TEXT });
    }
    Ok(trimmed.to_owned())
}

/// A subject: one line, may be empty.
fn one_line(value: &str, field: &'static str) -> Result<String, QuestionError> {
    let trimmed = value.trim();
    if trimmed.chars().any(refused_in_line) || trimmed.chars().count() > MAX_SUBJECT {
        return Err(QuestionError::InvalidText {
            field,
            max: MAX_SUBJECT,
        });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_named_after_a_64_character_message_can_be_replied_to() {
        let message_id = "m".repeat(64);
        let reply_to = |thread_id: &str| {
            reply(MessageRepliedData {
                message_id: "msg_reply".into(),
                thread_id: thread_id.into(),
                seller_id: "sel_1".into(),
                text: Some("Hello".into()),
                no_response_needed: None,
            })
        };
        assert!(reply_to(&format!("thr_{message_id}")).is_ok());
        assert_eq!(
            reply_to(&format!("thr_{message_id}x")).unwrap_err(),
            QuestionError::InvalidIdentifier {
                field: "data.thread_id"
            }
        );
        assert!(reply_to("thr 1").is_err());
    }
}
