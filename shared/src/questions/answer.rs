//! The emails a message leads to, as outbox entries: the buyer's automatic answer or the
//! seller's reply, and the seller's notice of a question waiting on its clock.

use chrono::{DateTime, Utc};

use super::records::StoredThread;
use crate::email::request::{QuestionDue, ReplyEmail, SellerDigest, StatusReply};
use crate::email::{EmailContent, EmailRequest, Recipient, RecipientRole};
use crate::follow_ups::FollowUp;
use crate::function::Function;
use crate::orders::StoredOrder;
use crate::orders::outbox_entry::order_email;
use crate::outbox::OutboxEntry;
use crate::sellers::SellerContact;
use crate::snippet::snippet;

/// "Where is my order", answered from `order`.
pub fn status_answer(thread: &StoredThread, message_id: &str, question: &str, order: &StoredOrder) -> OutboxEntry {
    let content = EmailContent::OrderStatusReply(StatusReply {
        question_id: message_id.to_owned(),
        question: question.to_owned(),
        status: order.status.to_string(),
        order: order_email(order),
        shipped_at: order.shipped_at,
        delivered_at: order.delivered_at,
    });
    to_buyer(thread, Function::BuyerMessaging.key(&[message_id, "answer"]), content)
}

/// The seller's answer, quoting the buyer's last question.
pub fn seller_reply(thread: &StoredThread, message_id: &str, question: &str, reply: &str) -> OutboxEntry {
    let content = EmailContent::QuestionReply(ReplyEmail {
        question_id: message_id.to_owned(),
        order_id: thread.order_id.clone(),
        question: question.to_owned(),
        reply: reply.to_owned(),
    });
    to_buyer(thread, Function::BuyerMessaging.key(&[message_id, "reply"]), content)
}

fn to_buyer(thread: &StoredThread, key: String, content: EmailContent) -> OutboxEntry {
    let buyer = &thread.buyer;
    OutboxEntry {
        key: key.clone(),
        follow_ups: vec![FollowUp::Email(EmailRequest {
            dedupe_key: key,
            recipient: Recipient {
                role: RecipientRole::Buyer,
                id: buyer.id.clone(),
                name: buyer.name.clone(),
                email: buyer.email.clone(),
            },
            locale: buyer.locale.clone(),
            content,
        })],
    }
}

/// The seller's notice of a question and when its answer is due; none while the seller has
/// no contact (the clock still runs, and the sweep's reminder tells it).
pub fn question_notice(
    thread: &StoredThread,
    message_id: &str,
    text: &str,
    due_at: DateTime<Utc>,
    contact: Option<&SellerContact>,
) -> Option<OutboxEntry> {
    let contact = contact?;
    let key = Function::BuyerMessaging.key(&[message_id, "to-seller"]);
    let digest = SellerDigest {
        seller_id: thread.seller_id.clone(),
        questions_due: vec![QuestionDue {
            question_id: thread.thread_id.clone(),
            due_at,
            excerpt: snippet(text),
        }],
        ..SellerDigest::default()
    };
    Some(OutboxEntry {
        key: key.clone(),
        follow_ups: vec![FollowUp::Email(EmailRequest {
            dedupe_key: key,
            recipient: Recipient {
                role: RecipientRole::Seller,
                id: contact.seller_id.clone(),
                name: contact.name.clone(),
                email: contact.email.clone(),
            },
            locale: contact.locale.clone(),
            content: EmailContent::SellerDigest(digest),
        })],
    })
}
