//! Claims as `RefundsTable` keeps them, beside the ledger their refunds are written to.
//!
//! | key | item |
//! |---|---|
//! | `claim#<seller_id>#<claim_id>` | the claim ([`StoredClaim`]), with `buyer_id` + `requested` in `ByBuyerDate` beside the buyer's refunds; while a clock runs, `claims_due` + `claim_next` for the sparse `ClaimsDue` index the sweep reads; while it waits for support staff, `support_queue` + `support_due` for the sparse `AwaitingSupport` index, their queue, oldest due first ([`super::support`]) |
//! | `claim_open#<order_id>` | the order's open claim ([`OpenClaim`]): written only if missing when a claim opens, deleted when it closes, so an order has one open claim at a time |
//!
//! A claim is kept, as the ledger is: it is bookkeeping, and the seller's health counts it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{ClaimReason, Tracking};
use crate::domains::figures::defects::{DefectMark, mark_key, mark_of};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::questions::records::{StoredThread, thread_key};
use crate::domains::refunds::payout::PaidBy;
use crate::domains::refunds::policy::RefundLine;
use crate::domains::refunds::records::{RefundEvent, StoredRefund, refund_key};
use crate::domains::sellers::SellerSettings;
use crate::domains::sellers::records::{SellerContact, contact_of};
use crate::storage::{
    Condition, Index, ItemKey, Query, Storage, StoreError, Table, Write, from_item, sortable, text, to_item,
};
use crate::values::pii::Private;

/// Support staff have this long to decide a claim that reached them.
pub const SUPPORT_HOURS: i64 = 24;
/// The value of `claims_due` on a claim whose clock runs.
pub const DUE: &str = "due";
/// The value of `support_queue` on a claim waiting for support staff.
pub const AWAITING: &str = "awaiting";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// The seller's clock runs: it may refund or send evidence.
    AwaitingSeller,
    /// Support staff's clock runs.
    AwaitingSupport,
    /// The seller refunded all the claim asked.
    ResolvedBySeller,
    /// Support staff refunded (all or part).
    Refunded,
    Denied,
    Withdrawn,
}

impl ClaimState {
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimState::AwaitingSeller => "awaiting_seller",
            ClaimState::AwaitingSupport => "awaiting_support",
            ClaimState::ResolvedBySeller => "resolved_by_seller",
            ClaimState::Refunded => "refunded",
            ClaimState::Denied => "denied",
            ClaimState::Withdrawn => "withdrawn",
        }
    }

    pub fn is_open(self) -> bool {
        matches!(self, ClaimState::AwaitingSeller | ClaimState::AwaitingSupport)
    }
}

/// What the seller answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SellerResponse {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking: Option<Tracking>,
    /// The seller's words to support staff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Private<String>>,
    /// What the seller refunded (minor units), if it did.
    #[serde(default)]
    pub refunded_minor: i64,
}

/// What support staff decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportDecision {
    pub decided_by: String,
    pub at: DateTime<Utc>,
    /// `refund`, `partial` or `deny`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_by: Option<PaidBy>,
    #[serde(default)]
    pub refunded_minor: i64,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredClaim {
    pub claim_id: String,
    pub seller_id: String,
    pub order_id: String,
    pub buyer_id: String,
    pub reason: ClaimReason,
    pub currency: String,
    /// The lines asked about, priced (empty when the claim asks an amount of the order).
    #[serde(default)]
    pub lines: Vec<RefundLine>,
    /// What the buyer asks back, in minor units.
    pub asked_minor: i64,
    /// What was refunded on the claim so far (the seller's, then support staff's).
    #[serde(default)]
    pub refunded_minor: i64,
    /// The buyer's words: never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Private<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<String>,
    pub state: ClaimState,
    pub opened_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The seller's deadline, and its reminder at half the time.
    pub respond_by: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    #[serde(default)]
    pub reminded: bool,
    /// When it reached support staff, and their deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide_by: Option<DateTime<Utc>>,
    /// Support staff missed their deadline (counted once).
    #[serde(default)]
    pub breached: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<SellerResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<SupportDecision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The buyer's words on withdrawing it: never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal_note: Option<Private<String>>,
    /// The ledger entries made on the claim.
    #[serde(default)]
    pub refund_ids: Vec<String>,
    /// A fingerprint of the opening, to tell the same claim sent again from another claim given
    /// the same id.
    pub content: String,
    pub history: Vec<RefundEvent>,
    pub version: u64,
    /// When its buyer was erased (see [`super::erasure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

impl StoredClaim {
    pub fn applied(&self, event_id: &str) -> Option<&str> {
        self.history
            .iter()
            .find(|applied| applied.event_id == event_id)
            .map(|applied| applied.fingerprint.as_str())
    }

    /// What is still asked: the claim's amount less what was refunded on it.
    pub fn left_minor(&self) -> i64 {
        (self.asked_minor - self.refunded_minor).max(0)
    }

    /// When the sweep next has something to do for it.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        match self.state {
            ClaimState::AwaitingSeller if !self.reminded => Some(self.remind_at),
            ClaimState::AwaitingSeller => Some(self.respond_by),
            ClaimState::AwaitingSupport if !self.breached => self.decide_by,
            _ => None,
        }
    }

    /// The claim, one change later by `event_id`.
    pub fn changed(&self, event_id: &str, fingerprint: &str) -> Self {
        let mut next = self.clone();
        next.version += 1;
        next.history.push(RefundEvent {
            event_id: event_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
        });
        next
    }

    /// Now with support staff, on their clock.
    pub fn escalated(mut self, at: DateTime<Utc>) -> Self {
        self.state = ClaimState::AwaitingSupport;
        self.escalated_at = Some(at);
        self.decide_by = Some(at + Duration::hours(SUPPORT_HOURS));
        self
    }

    /// Closed in `state`.
    pub fn closed(mut self, state: ClaimState, at: DateTime<Utc>) -> Self {
        self.state = state;
        self.closed_at = Some(at);
        self
    }

    /// The id of the ledger entry its `what` refund is written as (`offer`, `decision`): a `.`
    /// never stands in a platform's refund id, so these cannot collide with one.
    pub fn refund_id_for(&self, what: &str) -> String {
        format!("claim.{}.{what}", self.claim_id)
    }
}

pub fn claim_key(seller_id: &str, claim_id: &str) -> String {
    format!("claim#{seller_id}#{claim_id}")
}

pub fn open_claim_key(order_id: &str) -> String {
    format!("claim_open#{order_id}")
}

/// An outbox key of `claim`'s.
pub fn outbox_key(claim: &StoredClaim, what: &str) -> String {
    crate::mechanisms::function::Function::RefundProcessor.key(&[&claim.seller_id, "claim", &claim.claim_id, what])
}

/// The claim as its item, written only over the version read (or only if new).
pub fn put_claim(claim: &StoredClaim, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(claim)?;
    item.insert("pk".to_owned(), claim_key(&claim.seller_id, &claim.claim_id).into());
    // With its buyer's refunds in `ByBuyerDate`, for the buyer's export and erasure.
    item.insert(
        "requested".to_owned(),
        format!("{}#{}", sortable(claim.opened_at), claim.claim_id).into(),
    );
    if let Some(next_at) = claim.next_at() {
        item.insert("claims_due".to_owned(), DUE.into());
        item.insert(
            "claim_next".to_owned(),
            format!("{}#{}", sortable(next_at), claim.claim_id).into(),
        );
    }
    if let (ClaimState::AwaitingSupport, Some(due)) = (claim.state, claim.decide_by) {
        item.insert("support_queue".to_owned(), AWAITING.into());
        item.insert(
            "support_due".to_owned(),
            format!("{}#{}", sortable(due), claim.claim_id).into(),
        );
    }
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Refunds, item).when(condition))
}

/// An order's open claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenClaim {
    pub order_id: String,
    pub seller_id: String,
    pub claim_id: String,
}

/// The order's mark of `claim`, only if it has none.
pub fn mark_open(claim: &StoredClaim) -> Result<Write, StoreError> {
    let mut item = to_item(&OpenClaim {
        order_id: claim.order_id.clone(),
        seller_id: claim.seller_id.clone(),
        claim_id: claim.claim_id.clone(),
    })?;
    item.insert("pk".to_owned(), open_claim_key(&claim.order_id).into());
    Ok(Write::put(Table::Refunds, item).when(Condition::ItemMissing))
}

/// The order's mark removed as `claim` closes: only if it is this claim's.
pub fn unmark_open(claim: &StoredClaim) -> Write {
    Write::delete(Table::Refunds, open_claim_key(&claim.order_id))
        .when(Condition::equals("claim_id", claim.claim_id.clone()))
}

pub async fn read_claim(
    store: &impl Storage,
    seller_id: &str,
    claim_id: &str,
) -> Result<Option<StoredClaim>, StoreError> {
    store
        .get(Table::Refunds, &claim_key(seller_id, claim_id))
        .await?
        .map(from_item)
        .transpose()
}

/// What a claim's opening is judged against, in one request.
#[derive(Debug, Clone, Default)]
pub struct OpeningContext {
    pub claim: Option<StoredClaim>,
    pub open: Option<OpenClaim>,
    pub order: Option<StoredOrder>,
    pub settings: SellerSettings,
    pub contact: Option<SellerContact>,
    pub refund: Option<StoredRefund>,
    pub thread: Option<StoredThread>,
    /// The order's defect mark: a claim stands on it.
    pub defect: Option<DefectMark>,
}

/// The claim, the order's open claim, the order, the seller, its defect mark, and the refund
/// or thread the claim names, in one `BatchGetItem`. The refund is read under the claim's seller: another
/// seller's refund is not there.
pub async fn read_opening(
    store: &impl Storage,
    opening: &super::validate::ClaimOpening,
) -> Result<OpeningContext, StoreError> {
    let mut keys = vec![
        ItemKey::new(Table::Refunds, claim_key(&opening.seller_id, &opening.claim_id)),
        ItemKey::new(Table::Refunds, open_claim_key(&opening.order_id)),
        ItemKey::new(Table::Orders, opening.order_id.as_str()),
        ItemKey::new(Table::Sellers, opening.seller_id.as_str()),
        mark_key(&opening.seller_id, &opening.order_id),
    ];
    if let Some(refund_id) = &opening.refund_id {
        keys.push(ItemKey::new(Table::Refunds, refund_key(&opening.seller_id, refund_id)));
    }
    if let Some(thread_id) = &opening.thread_id {
        keys.push(ItemKey::new(Table::Threads, thread_key(thread_id)));
    }
    let mut found = store.get_many(&keys).await?.into_iter();
    let claim = found.next().flatten().map(from_item::<StoredClaim>).transpose()?;
    let open = found.next().flatten().map(from_item::<OpenClaim>).transpose()?;
    let order = found.next().flatten().map(order_from).transpose()?;
    let seller = found.next().flatten();
    let defect = mark_of(found.next().flatten())?;
    let refund = match opening.refund_id {
        Some(_) => found.next().flatten().map(from_item::<StoredRefund>).transpose()?,
        None => None,
    };
    let thread = match opening.thread_id {
        Some(_) => found.next().flatten().map(from_item::<StoredThread>).transpose()?,
        None => None,
    };
    Ok(OpeningContext {
        claim,
        open,
        order,
        settings: SellerSettings::of(seller.as_ref()),
        contact: seller.as_ref().and_then(|item| contact_of(&opening.seller_id, item)),
        refund,
        thread,
        defect,
    })
}

/// A claim the sweep found due, by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueClaim {
    pub seller_id: String,
    pub claim_id: String,
}

impl DueClaim {
    fn of(pk: &str) -> Option<Self> {
        let (seller_id, claim_id) = pk.strip_prefix("claim#")?.split_once('#')?;
        Some(Self {
            seller_id: seller_id.to_owned(),
            claim_id: claim_id.to_owned(),
        })
    }
}

/// The claims whose reminder or deadline has come, soonest first, at most `limit`; and whether
/// more may be due. A claim acted on leaves the index or moves past now, so the next sweep's
/// first page starts where this one's work ended.
pub async fn due_claims(
    store: &impl Storage,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<(Vec<DueClaim>, bool), StoreError> {
    let query = Query::new(Index::ClaimsDue, DUE).due_by(now).first(limit);
    let found = store.query(&query).await?;
    let due = found
        .items
        .iter()
        .filter_map(|item| DueClaim::of(text(item, "pk")))
        .collect();
    Ok((due, found.next.is_some()))
}
