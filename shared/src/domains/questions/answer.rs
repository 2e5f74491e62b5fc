//! The emails a message leads to, as outbox entries: the buyer's automatic answer or the
//! seller's reply, and the seller's notice of a question waiting on its clock.

use chrono::{DateTime, Utc};

use super::records::StoredThread;
use crate::domains::email::EmailContent;
use crate::domains::email::request::{LateOrder, QuestionDue, ReplyEmail, SellerDigest, StatusReply, email_entry};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::outbox_entry::order_email;
use crate::domains::sellers::SellerContact;
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::OutboxEntry;
use crate::values::pii::Private;
use crate::values::snippet::snippet;

/// "Where is my order", answered from `order`.
pub fn status_answer(thread: &StoredThread, message_id: &str, question: &str, order: &StoredOrder) -> OutboxEntry {
    let content = EmailContent::OrderStatusReply(StatusReply {
        question_id: message_id.to_owned(),
        question: Private(question.to_owned()),
        status: order.status.to_string(),
        order: order_email(order),
        shipped_at: order.shipped_at,
        delivered_at: order.delivered_at,
    });
    to_buyer(
        thread,
        Function::BuyerMessaging.key(&[&thread.thread_id, message_id, "answer"]),
        content,
    )
}

/// The seller's answer, quoting the buyer's last question.
pub fn seller_reply(thread: &StoredThread, message_id: &str, question: &str, reply: &str) -> OutboxEntry {
    let content = EmailContent::QuestionReply(ReplyEmail {
        question_id: message_id.to_owned(),
        order_id: thread.order_id.clone(),
        question: Private(question.to_owned()),
        reply: Private(reply.to_owned()),
    });
    to_buyer(
        thread,
        Function::BuyerMessaging.key(&[&thread.thread_id, message_id, "reply"]),
        content,
    )
}

fn to_buyer(thread: &StoredThread, key: String, content: EmailContent) -> OutboxEntry {
    email_entry(key, thread.buyer.recipient(), &thread.buyer.locale, content)
}

/// What the seller is told of a question on its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A new question, and when its answer is due.
    Asked,
    /// Its answer is due within hours.
    Reminder,
    /// Its answer is overdue.
    Overdue,
}

impl Notice {
    fn name(self) -> &'static str {
        match self {
            Notice::Asked => "to-seller",
            Notice::Reminder => "reminder",
            Notice::Overdue => "overdue",
        }
    }
}

/// The seller's notice of a question (keyed by the thread and the message that started the
/// clock: a message id is new only within its thread); none
/// while the seller has no contact (the clock still runs, and the sweep's reminder tells it
/// once a contact exists).
pub fn question_notice(
    thread: &StoredThread,
    message_id: &str,
    text: &str,
    due_at: DateTime<Utc>,
    notice: Notice,
    contact: Option<&SellerContact>,
) -> Option<OutboxEntry> {
    let digest = SellerDigest {
        seller_id: thread.seller_id.clone(),
        questions_due: vec![QuestionDue {
            question_id: thread.thread_id.clone(),
            due_at,
            excerpt: snippet(text),
            reminder: notice == Notice::Reminder,
            overdue: notice == Notice::Overdue,
        }],
        ..SellerDigest::default()
    };
    let key = Function::BuyerMessaging.key(&[&thread.thread_id, message_id, notice.name()]);
    Some(to_seller(key, digest, contact?).about(&thread.buyer.id))
}

/// The seller's alert of an order past its ship-by date.
pub fn late_order_notice(order: &StoredOrder, contact: &SellerContact) -> OutboxEntry {
    let digest = SellerDigest {
        seller_id: order.seller_id.clone(),
        late_orders: vec![LateOrder {
            order_id: order.order_id.clone(),
            ship_by: order.ship_by,
        }],
        ..SellerDigest::default()
    };
    let key = Function::BuyerMessaging.key(&["late", &order.order_id, "seller"]);
    to_seller(key, digest, contact)
}

/// The buyer's notice that the order is late.
pub fn delay_notice(order: &StoredOrder) -> OutboxEntry {
    let key = Function::BuyerMessaging.key(&["late", &order.order_id, "buyer"]);
    let content = EmailContent::DelayNotice(order_email(order));
    email_entry(key, order.buyer.recipient(), &order.buyer.locale, content)
}

fn to_seller(key: String, digest: SellerDigest, contact: &SellerContact) -> OutboxEntry {
    email_entry(
        key,
        contact.recipient(),
        &contact.locale,
        EmailContent::SellerDigest(digest),
    )
}
