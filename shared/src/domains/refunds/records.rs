//! The refunds table: the ledger, one entry per refund, and each buyer's recent approvals.
//!
//! | key | item |
//! |---|---|
//! | `refund#<refund_id>` | the refund ([`StoredRefund`]), with `seller_id` + `status_due` for `BySellerStatus` (pending ones due soonest first), `buyer_id` + `requested` for `ByBuyerDate`, and, while pending, `pending` + `next_at` for the sparse `PendingDue` index the sweep reads |
//! | `buyer#<buyer_id>` | the buyer's approved refunds of the last 90 days, across sellers ([`BuyerHistory`]): the automatic approval's check, read with the order |

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::policy::{HISTORY_DAYS, RefundLine};
use super::validate::RefundReason;
use crate::domains::figures::defects::{DefectMark, mark_key, mark_of};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::sellers::SellerSettings;
use crate::domains::sellers::records::{SellerContact, contact_of};
use crate::storage::{
    Condition, Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, from_item, sortable, text, to_item,
};

/// The value of `pending` on a refund waiting for its seller.
pub const PENDING: &str = "pending";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Approved,
    Rejected,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Approved => "approved",
            RefundState::Rejected => "rejected",
        }
    }
}

/// Who decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    /// Within the seller's automatic limit.
    Automatic,
    Seller,
    /// The seller did not decide in time (`seller_did_not_respond`).
    Deadline,
    /// Support staff, deciding a buyer protection claim.
    Support,
}

/// Who pays a refund back: the seller (the usual case, charged to its balance) or the
/// marketplace (a buyer protection claim it decided to fund itself).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaidBy {
    #[default]
    Seller,
    Marketplace,
}

impl PaidBy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "seller" => Some(PaidBy::Seller),
            "marketplace" => Some(PaidBy::Marketplace),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaidBy::Seller => "seller",
            PaidBy::Marketplace => "marketplace",
        }
    }
}

/// An event that changed a refund, and its body's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundEvent {
    pub event_id: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRefund {
    pub refund_id: String,
    pub seller_id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub currency: String,
    /// Empty for a goodwill refund.
    pub lines: Vec<RefundLine>,
    /// What was asked, in minor units.
    pub requested_minor: i64,
    /// What was approved (at most what was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_minor: Option<i64>,
    pub reason: RefundReason,
    /// The buyer's words: never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<crate::values::pii::Private<String>>,
    pub state: RefundState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Decider>,
    /// Why: the seller's words for a rejection, `seller_did_not_respond` for a deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    pub requested_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_due: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remind_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reminded: bool,
    /// Units that could not go back on hand (their SKU is gone from the catalogue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restock_skipped: Vec<String>,
    /// The payment integration's queue took its payout instruction (SQS message id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_message_id: Option<String>,
    /// A fingerprint of the request, to tell the same request sent again from another
    /// request given the same id.
    pub content: String,
    pub history: Vec<RefundEvent>,
    pub version: u64,
    /// Who pays it back: the seller unless support staff had the marketplace fund a claim.
    #[serde(default, skip_serializing_if = "is_seller")]
    pub paid_by: PaidBy,
    /// The buyer protection claim it settles, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_id: Option<String>,
    /// When its buyer was erased (see [`super::erasure`]): the ledger stays, the words go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

fn is_seller(paid_by: &PaidBy) -> bool {
    *paid_by == PaidBy::Seller
}

impl StoredRefund {
    pub fn applied(&self, event_id: &str) -> Option<&str> {
        self.history
            .iter()
            .find(|applied| applied.event_id == event_id)
            .map(|applied| applied.fingerprint.as_str())
    }

    /// When the sweep next has something to do for it: the reminder, then the deadline.
    fn next_at(&self) -> Option<DateTime<Utc>> {
        if self.state != RefundState::Pending {
            return None;
        }
        match (self.reminded, self.remind_at, self.decision_due) {
            (false, Some(remind_at), _) => Some(remind_at),
            (_, _, due) => due,
        }
    }
}

/// A buyer's approved refunds, kept for [`HISTORY_DAYS`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuyerHistory {
    pub buyer_id: String,
    #[serde(default)]
    pub approved: Vec<DateTime<Utc>>,
    #[serde(default)]
    pub version: u64,
}

impl BuyerHistory {
    pub fn recent(&self, now: DateTime<Utc>) -> usize {
        let since = now - Duration::days(HISTORY_DAYS);
        self.approved.iter().filter(|at| **at > since).count()
    }

    /// With one more approval at `at`, older ones forgotten.
    pub fn with_approval(&self, at: DateTime<Utc>) -> Self {
        let since = at - Duration::days(HISTORY_DAYS);
        let mut approved: Vec<DateTime<Utc>> = self.approved.iter().copied().filter(|at| *at > since).collect();
        approved.push(at);
        Self {
            buyer_id: self.buyer_id.clone(),
            approved,
            version: self.version + 1,
        }
    }
}

/// A refund's key names its seller: refund ids are the platform's, and a seller reusing
/// another's finds its own namespace empty instead of learning that the other's exists.
pub fn refund_key(seller_id: &str, refund_id: &str) -> String {
    format!("refund#{seller_id}#{refund_id}")
}

/// An outbox key of `refund`'s: its seller and its id, as its ledger entry is keyed.
pub fn outbox_key(refund: &StoredRefund, what: &str) -> String {
    crate::mechanisms::function::Function::RefundProcessor.key(&[&refund.seller_id, &refund.refund_id, what])
}

pub fn buyer_key(buyer_id: &str) -> String {
    format!("buyer#{buyer_id}")
}

/// The refund as its item, written only over the version read (or only if new).
pub fn put_refund(refund: &StoredRefund, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(refund)?;
    item.insert("pk".to_owned(), refund_key(&refund.seller_id, &refund.refund_id).into());
    let due_or_asked = sortable(refund.decision_due.unwrap_or(refund.requested_at));
    item.insert(
        "status_due".to_owned(),
        format!("{}#{due_or_asked}#{}", refund.state.as_str(), refund.refund_id).into(),
    );
    item.insert(
        "requested".to_owned(),
        format!("{}#{}", sortable(refund.requested_at), refund.refund_id).into(),
    );
    if let Some(next_at) = refund.next_at() {
        item.insert("pending".to_owned(), PENDING.into());
        item.insert(
            "next_at".to_owned(),
            format!("{}#{}", sortable(next_at), refund.refund_id).into(),
        );
    }
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Refunds, item).when(condition))
}

/// The buyer's history, only over the version read (or only if it had none).
pub fn put_history(history: &BuyerHistory, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(history)?;
    item.insert("pk".to_owned(), buyer_key(&history.buyer_id).into());
    // Nothing in it counts once its last approval is older than the window it is read over.
    if let Some(last) = history.approved.iter().max() {
        item.insert(
            "expires_at".to_owned(),
            (*last + Duration::days(HISTORY_DAYS)).timestamp().into(),
        );
    }
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Refunds, item).when(condition))
}

/// What a refund event reads, in one request.
#[derive(Debug, Clone, Default)]
pub struct RefundContext {
    pub refund: Option<StoredRefund>,
    pub order: Option<StoredOrder>,
    pub history: Option<BuyerHistory>,
    pub settings: SellerSettings,
    pub contact: Option<SellerContact>,
    /// The order's defect mark: a defect refund stands on it.
    pub defect: Option<DefectMark>,
}

/// The refund, its order, its buyer's history, its seller's settings and the order's defect
/// mark, in one `BatchGetItem`.
pub async fn read_context(
    store: &impl Storage,
    refund_id: &str,
    order_id: &str,
    buyer_id: &str,
    seller_id: &str,
) -> Result<RefundContext, StoreError> {
    let keys = [
        ItemKey::new(Table::Refunds, refund_key(seller_id, refund_id)),
        ItemKey::new(Table::Orders, order_id),
        ItemKey::new(Table::Refunds, buyer_key(buyer_id)),
        ItemKey::new(Table::Sellers, seller_id),
        mark_key(seller_id, order_id),
    ];
    let mut found = store.get_many(&keys).await?.into_iter();
    let refund = found.next().flatten().map(from_item::<StoredRefund>).transpose()?;
    let order = found.next().flatten().map(order_from).transpose()?;
    let history = found.next().flatten().map(from_item::<BuyerHistory>).transpose()?;
    let seller = found.next().flatten();
    let defect = mark_of(found.next().flatten())?;
    Ok(RefundContext {
        refund,
        order,
        history,
        settings: SellerSettings::of(seller.as_ref()),
        contact: seller.as_ref().and_then(|item| contact_of(seller_id, item)),
        defect,
    })
}

pub async fn read_refund(
    store: &impl Storage,
    seller_id: &str,
    refund_id: &str,
) -> Result<Option<StoredRefund>, StoreError> {
    store
        .get(Table::Refunds, &refund_key(seller_id, refund_id))
        .await?
        .map(from_item)
        .transpose()
}

/// The refunds whose reminder or deadline has come, soonest first: the sparse `PendingDue`
/// index holds only pending refunds, so the cost follows them, not the orders.
/// At most `limit` of them: a settled refund leaves the index (or moves past now), so the
/// next sweep's first page starts where this one's work ended, with no cursor to keep.
/// Answers whether more may be due.
pub async fn due_refunds(
    store: &impl Storage,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<DueRefund>, bool), StoreError> {
    let query = Query::new(Index::PendingDue, PENDING).due_by(now).first(limit);
    let found = store.query(&query).await?;
    let due = found
        .items
        .iter()
        .filter_map(|item| DueRefund::of(text(item, "pk")))
        .collect();
    Ok((due, found.next.is_some()))
}

/// A refund the sweep found due, by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRefund {
    pub seller_id: String,
    pub refund_id: String,
}

impl DueRefund {
    fn of(pk: &str) -> Option<Self> {
        let (seller_id, refund_id) = pk.strip_prefix("refund#")?.split_once('#')?;
        Some(Self {
            seller_id: seller_id.to_owned(),
            refund_id: refund_id.to_owned(),
        })
    }
}

/// An item as the store gave it back, for the webhook's duplicate answers.
pub fn refund_of(item: Item) -> Result<StoredRefund, StoreError> {
    from_item(item)
}
