//! What a function asks buyer messaging to send: one email request, with a dedupe key, a
//! recipient, a locale, and the content of one template. The content is typed per template,
//! so a request that buyer messaging could not render is refused where it is built.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::mechanisms::outbox::{Message, OutboxEntry, Relayed};
use crate::values::pii::EmailAddress;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailRequest {
    /// One email per key, however often the request is delivered.
    pub dedupe_key: String,
    pub recipient: Recipient,
    /// The recipient's language (`en`, `zh`, `zh-CN`, …); anything unknown falls back to English.
    pub locale: String,
    #[serde(flatten)]
    pub content: EmailContent,
}

/// An outbox entry of one email, deduplicated by the entry's own key.
pub fn email_entry(key: String, recipient: Recipient, locale: &str, content: EmailContent) -> OutboxEntry {
    let email = EmailRequest {
        dedupe_key: key.clone(),
        recipient,
        locale: locale.to_owned(),
        content,
    };
    OutboxEntry {
        key,
        follow_ups: vec![Message::of(&email)],
    }
}

impl Relayed for EmailRequest {
    const KIND: &'static str = "email";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }

    fn data_subject(&self) -> Option<&str> {
        (self.recipient.role == RecipientRole::Buyer).then_some(self.recipient.id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    pub role: RecipientRole,
    pub id: String,
    /// Shown in the greeting and the `To` header; never trusted to be one clean line.
    pub name: String,
    pub email: EmailAddress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientRole {
    Buyer,
    Seller,
}

/// The template and what it shows. On the wire: `"template": "...", "data": {...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "template", content = "data", rename_all = "snake_case")]
pub enum EmailContent {
    OrderConfirmation(OrderEmail),
    BackorderNotice(OrderEmail),
    /// A restock filled a backordered order: it is being prepared.
    BackorderFilled(OrderEmail),
    Cancellation(OrderEmail),
    ShippingConfirmation(OrderEmail),
    DelayNotice(OrderEmail),
    /// After delivery: asks the buyer to review the order. The one optional buyer email.
    ReviewRequest(OrderEmail),
    RefundConfirmation(RefundEmail),
    RefundRejected(RefundEmail),
    /// Support staff decided a buyer protection claim: the buyer and the seller each hear why.
    ClaimDecided(ClaimEmail),
    QuestionReply(ReplyEmail),
    /// "Where is my order", answered at once from what the order knows.
    OrderStatusReply(StatusReply),
    SellerDigest(SellerDigest),
    /// Monday's report of the seller's week: health, sales, stock, reviews, what is overdue.
    SellerWeekly(Box<crate::domains::figures::week::SellerWeek>),
}

/// The template's name alone, for logs, metrics, SES tags and the send record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTemplate {
    OrderConfirmation,
    BackorderNotice,
    BackorderFilled,
    Cancellation,
    ShippingConfirmation,
    DelayNotice,
    ReviewRequest,
    RefundConfirmation,
    RefundRejected,
    ClaimDecided,
    QuestionReply,
    OrderStatusReply,
    SellerDigest,
    SellerWeekly,
}

impl EmailTemplate {
    pub fn name(self) -> &'static str {
        match self {
            EmailTemplate::OrderConfirmation => "order_confirmation",
            EmailTemplate::BackorderNotice => "backorder_notice",
            EmailTemplate::BackorderFilled => "backorder_filled",
            EmailTemplate::Cancellation => "cancellation",
            EmailTemplate::ShippingConfirmation => "shipping_confirmation",
            EmailTemplate::DelayNotice => "delay_notice",
            EmailTemplate::ReviewRequest => "review_request",
            EmailTemplate::RefundConfirmation => "refund_confirmation",
            EmailTemplate::RefundRejected => "refund_rejected",
            EmailTemplate::ClaimDecided => "claim_decided",
            EmailTemplate::QuestionReply => "question_reply",
            EmailTemplate::OrderStatusReply => "order_status_reply",
            EmailTemplate::SellerDigest => "seller_digest",
            EmailTemplate::SellerWeekly => "seller_weekly",
        }
    }
}

impl EmailContent {
    /// The order an order email is about.
    pub fn order(&self) -> Option<&OrderEmail> {
        match self {
            EmailContent::OrderConfirmation(order)
            | EmailContent::BackorderNotice(order)
            | EmailContent::BackorderFilled(order)
            | EmailContent::Cancellation(order)
            | EmailContent::ShippingConfirmation(order)
            | EmailContent::DelayNotice(order)
            | EmailContent::ReviewRequest(order) => Some(order),
            EmailContent::OrderStatusReply(reply) => Some(&reply.order),
            _ => None,
        }
    }

    pub fn template(&self) -> EmailTemplate {
        match self {
            EmailContent::OrderConfirmation(_) => EmailTemplate::OrderConfirmation,
            EmailContent::BackorderNotice(_) => EmailTemplate::BackorderNotice,
            EmailContent::BackorderFilled(_) => EmailTemplate::BackorderFilled,
            EmailContent::Cancellation(_) => EmailTemplate::Cancellation,
            EmailContent::ShippingConfirmation(_) => EmailTemplate::ShippingConfirmation,
            EmailContent::DelayNotice(_) => EmailTemplate::DelayNotice,
            EmailContent::ReviewRequest(_) => EmailTemplate::ReviewRequest,
            EmailContent::RefundConfirmation(_) => EmailTemplate::RefundConfirmation,
            EmailContent::RefundRejected(_) => EmailTemplate::RefundRejected,
            EmailContent::ClaimDecided(_) => EmailTemplate::ClaimDecided,
            EmailContent::QuestionReply(_) => EmailTemplate::QuestionReply,
            EmailContent::OrderStatusReply(_) => EmailTemplate::OrderStatusReply,
            EmailContent::SellerDigest(_) => EmailTemplate::SellerDigest,
            EmailContent::SellerWeekly(_) => EmailTemplate::SellerWeekly,
        }
    }
}

/// An order as its emails show it. Amounts are decimal strings of `currency`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEmail {
    pub order_id: String,
    pub seller_id: String,
    pub currency: String,
    pub total: String,
    pub lines: Vec<OrderEmailLine>,
    pub placed_at: DateTime<Utc>,
    pub ship_by: DateTime<Utc>,
    /// When a backordered order is expected to be ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_by: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipment: Option<ShipmentEmail>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderEmailLine {
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub quantity: u32,
    pub unit_price: String,
    pub line_total: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipmentEmail {
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundEmail {
    pub refund_id: String,
    pub order_id: String,
    pub currency: String,
    /// Refunded (or, when rejected, requested).
    pub amount: String,
    /// The seller's reason for a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The lines refunded; none for a refund of money without units (goodwill).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<RefundEmailLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundEmailLine {
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub quantity: u32,
    pub unit_price: String,
    /// What this line gives back.
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyEmail {
    pub question_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// The buyer's question, quoted back.
    pub question: crate::values::pii::Private<String>,
    pub reply: crate::values::pii::Private<String>,
}

/// An order's status as the buyer's question is answered with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReply {
    pub question_id: String,
    /// The buyer's question, quoted back.
    pub question: crate::values::pii::Private<String>,
    /// `accepted`, `backordered`, `shipped`, `delivered` or `cancelled`.
    pub status: String,
    pub order: OrderEmail,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipped_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one seller needs to hear from one sweep or burst of events, in one email.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SellerDigest {
    pub seller_id: String,
    #[serde(default)]
    pub stock: Vec<StockAlert>,
    #[serde(default)]
    pub reviews: Vec<ReviewAlert>,
    #[serde(default)]
    pub review_trends: Vec<ReviewTrendAlert>,
    #[serde(default)]
    pub refunds_awaiting: Vec<RefundAwaiting>,
    /// Buyer protection claims waiting for the seller's response.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_awaiting: Vec<ClaimAwaiting>,
    #[serde(default)]
    pub questions_due: Vec<QuestionDue>,
    /// Orders past their ship-by date and not shipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub late_orders: Vec<LateOrder>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LateOrder {
    pub order_id: String,
    pub ship_by: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockAlert {
    pub sku: String,
    pub level: StockLevel,
    pub available: i64,
    /// Days the available stock lasts at the recent sales rate, when it is running out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_of_cover: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_time_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockLevel {
    Low,
    Out,
    RunningOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewAlert {
    pub sku: String,
    pub rating: u8,
    /// Why, by key (`quality`, `shipping`, …), shown in the reader's language.
    pub reasons: Vec<String>,
    /// Written about an order of this buyer, seller and SKU.
    #[serde(default)]
    pub verified: bool,
    /// The start of the buyer's words, contact details removed.
    pub excerpt: String,
}

/// A trend in a SKU's reviews: its recent average below the seller's threshold, or the same
/// reason named again and again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewTrendAlert {
    pub sku: String,
    /// `low_average`, or the repeated reason's key.
    pub trend: String,
    pub reviews: u32,
    /// The window's average, as a decimal (`2.20`), for a low average.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average: Option<String>,
    pub window_days: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundAwaiting {
    pub refund_id: String,
    pub order_id: String,
    pub currency: String,
    pub amount: String,
    /// When it is approved for the seller if the seller has not decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// A reminder: half the seller's time has passed.
    #[serde(default)]
    pub reminder: bool,
    /// The buyer's reason, as its code (`defective`); worded in the seller's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The start of the buyer's note, contact details removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<crate::values::pii::Private<String>>,
}

/// A claim the seller must respond to, or it goes to support staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimAwaiting {
    pub claim_id: String,
    pub order_id: String,
    /// The claim's reason, as its code (`not_received`); worded in the seller's language.
    pub reason: String,
    pub currency: String,
    pub amount: String,
    pub due_at: DateTime<Utc>,
    /// A reminder: half the seller's time has passed.
    #[serde(default)]
    pub reminder: bool,
    /// The start of the buyer's note, contact details removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<crate::values::pii::Private<String>>,
}

/// Who reads a claim's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimReader {
    Buyer,
    Seller,
}

/// A claim's decision as its two emails tell it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimEmail {
    pub claim_id: String,
    pub order_id: String,
    pub reader: ClaimReader,
    /// `refund`, `partial` or `deny`.
    pub outcome: String,
    pub currency: String,
    /// What is refunded now (none for a denial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// `seller` or `marketplace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_by: Option<String>,
    /// Support staff's words.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionDue {
    pub question_id: String,
    pub due_at: DateTime<Utc>,
    pub excerpt: String,
    /// Its answer is due within hours: said once.
    #[serde(default)]
    pub reminder: bool,
    /// Its answer is overdue: the breach is recorded.
    #[serde(default)]
    pub overdue: bool,
}
