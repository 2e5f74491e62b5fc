//! The reviews table: one item per review, one stats item per seller and SKU, and a marker
//! per alert a seller's digest has told.
//!
//! | key | item |
//! |---|---|
//! | `review#<review_id>` | the review as stored ([`StoredReview`]), with `seller_id` and `sku_created` / `created` for the `BySellerSku` and `BySellerDate` indexes |
//! | `stats#<seller_id>#<sku>` | the SKU's day buckets and open trends ([`SkuStats`]); `watch` while a trend is open (the sparse `ReviewTrends` index the sweep reads) |
//! | `told#<alert key>` | a digest told this alert (kept 30 days, past any redelivery) |

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::reason::Reason;
use super::trends::{Contribution, Window};
use super::validate::ReviewWords;
use crate::domains::figures::defects::{DefectMark, mark_key, mark_of};
use crate::domains::orders::StoredOrder;
use crate::domains::orders::records::order_from;
use crate::domains::sellers::SellerSettings;
use crate::storage::{
    Condition, Index, Item, ItemKey, Query, Storage, StoreError, Table, Write, from_item, read_resume, save_resume,
    to_item,
};

/// The value of `watch` on a SKU with an open trend.
pub const TRENDS_WATCHED: &str = "trends";
const TOLD_RETENTION_DAYS: i64 = 30;
/// The attribute of a told mark naming the digest's outbox entry.
pub const TOLD_IN: &str = "told_in";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Published,
    Removed,
}

/// An event that changed a review, and its body's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewEvent {
    pub event_id: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReview {
    pub review_id: String,
    pub seller_id: String,
    pub sku: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    pub buyer_id: String,
    /// Of an order of this buyer, seller and SKU.
    pub verified: bool,
    pub rating: u8,
    pub title: String,
    pub text: String,
    pub language: String,
    pub negative: bool,
    pub reasons: Vec<Reason>,
    pub state: ReviewState,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// How many times its seller was alerted about it (the next alert's number).
    pub alerts: u32,
    /// A fingerprint of the `review.created` data, to refuse the id reused for another review.
    pub content: String,
    pub history: Vec<ReviewEvent>,
    pub version: u64,
    /// When its buyer was erased (see [`super::erasure`]): its words are gone, its rating and
    /// reasons stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
}

impl StoredReview {
    pub fn words(&self) -> ReviewWords {
        ReviewWords {
            rating: self.rating,
            title: self.title.clone(),
            text: self.text.clone(),
            language: self.language.clone(),
        }
    }

    /// What it adds to its SKU's day, while it is published.
    pub fn contribution(&self) -> Option<Contribution> {
        (self.state == ReviewState::Published).then(|| Contribution {
            day: self.created_at.date_naive(),
            rating: self.rating,
            negative: self.negative,
            reasons: self.reasons.clone(),
        })
    }

    /// The fingerprint of the event `event_id` applied to it, if it did.
    pub fn applied(&self, event_id: &str) -> Option<&str> {
        self.history
            .iter()
            .find(|applied| applied.event_id == event_id)
            .map(|applied| applied.fingerprint.as_str())
    }
}

/// A SKU's reviews, as the stats item keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuStats {
    pub seller_id: String,
    pub sku: String,
    #[serde(flatten)]
    pub window: Window,
    #[serde(default)]
    pub version: u64,
}

/// A review's key names its seller, so another seller's review id is an empty namespace of
/// its own and never tells that the first exists.
pub fn review_key(seller_id: &str, review_id: &str) -> String {
    format!("review#{seller_id}#{review_id}")
}

pub fn stats_key(seller_id: &str, sku: &str) -> String {
    format!("stats#{seller_id}#{sku}")
}

fn told_key(alert_key: &str) -> String {
    format!("told#{alert_key}")
}

/// The review as its item: with the attributes its indexes read.
pub fn put_review(review: &StoredReview, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(review)?;
    item.insert("pk".to_owned(), review_key(&review.seller_id, &review.review_id).into());
    let created = review.created_at.to_rfc3339();
    item.insert(
        "sku_created".to_owned(),
        format!("{}#{created}#{}", review.sku, review.review_id).into(),
    );
    item.insert("created".to_owned(), format!("{created}#{}", review.review_id).into());
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Reviews, item).when(condition))
}

/// The stats item, only over the version read (or only if there was none).
pub fn put_stats(stats: &SkuStats, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(stats)?;
    item.insert("pk".to_owned(), stats_key(&stats.seller_id, &stats.sku).into());
    if stats.window.has_open_trend() {
        item.insert("watch".to_owned(), TRENDS_WATCHED.into());
    }
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Reviews, item).when(condition))
}

/// That the digest `digest_key` told the alert `alert_key`: only if no digest did before. An
/// alert quoting a buyer keeps their id (for the `ByBuyer` index) and the digest's key, so
/// their erasure finds the digest's outbox entry, which quotes them too.
pub fn put_told(alert_key: &str, buyer_id: Option<&str>, digest_key: &str, now: DateTime<Utc>) -> Write {
    let mut item = Item::new();
    item.insert("pk".to_owned(), told_key(alert_key).into());
    if let Some(buyer_id) = buyer_id {
        item.insert("buyer_id".to_owned(), buyer_id.into());
        item.insert(TOLD_IN.to_owned(), digest_key.into());
    }
    item.insert(
        "expires_at".to_owned(),
        (now + Duration::days(TOLD_RETENTION_DAYS)).timestamp().into(),
    );
    Write::put(Table::Reviews, item).when(Condition::ItemMissing)
}

/// A told mark without its buyer and digest: out of the `ByBuyer` index, still told.
pub fn forget_teller(told_key: &str) -> Write {
    Write::update(Table::Reviews, told_key)
        .when(Condition::ItemExists)
        .remove("buyer_id")
        .remove(TOLD_IN)
}

/// What a review event reads, in one request: the review, its SKU's stats, the seller's
/// settings, and the order it names.
#[derive(Debug, Clone, Default)]
pub struct ReviewContext {
    pub review: Option<StoredReview>,
    pub stats: Option<SkuStats>,
    /// The seller's review alert threshold, in hundredths of a star.
    pub threshold_hundredths: u32,
    pub order: Option<StoredOrder>,
    /// The order's defect mark, read with its order.
    pub defect: Option<DefectMark>,
}

pub async fn read_context(
    store: &impl Storage,
    review_id: &str,
    seller_id: &str,
    sku: Option<&str>,
    order_id: Option<&str>,
) -> Result<ReviewContext, StoreError> {
    let mut keys = vec![
        ItemKey::new(Table::Reviews, review_key(seller_id, review_id)),
        ItemKey::new(Table::Sellers, seller_id),
    ];
    if let Some(sku) = sku {
        keys.push(ItemKey::new(Table::Reviews, stats_key(seller_id, sku)));
    }
    if let Some(order_id) = order_id {
        keys.push(ItemKey::new(Table::Orders, order_id));
        keys.push(mark_key(seller_id, order_id));
    }
    let mut found = store.get_many(&keys).await?.into_iter();
    let review = found.next().flatten().map(from_item::<StoredReview>).transpose()?;
    let seller = found.next().flatten();
    let stats = match sku {
        Some(_) => found.next().flatten().map(from_item::<SkuStats>).transpose()?,
        None => None,
    };
    let (order, defect) = match order_id {
        Some(_) => (
            found.next().flatten().map(order_from).transpose()?,
            mark_of(found.next().flatten())?,
        ),
        None => (None, None),
    };
    Ok(ReviewContext {
        review,
        stats,
        threshold_hundredths: SellerSettings::of(seller.as_ref()).review_alert_threshold_hundredths,
        order,
        defect,
    })
}

/// An order's defect mark, for a change that adds or takes back a review's defect.
pub async fn read_defect(
    store: &impl Storage,
    seller_id: &str,
    order_id: &str,
) -> Result<Option<DefectMark>, StoreError> {
    let key = mark_key(seller_id, order_id);
    mark_of(store.get(key.table, &key.key).await?)
}

/// The stats of a SKU (for an update or removal, once the review named its SKU).
pub async fn read_stats(store: &impl Storage, seller_id: &str, sku: &str) -> Result<Option<SkuStats>, StoreError> {
    store
        .get(Table::Reviews, &stats_key(seller_id, sku))
        .await?
        .map(from_item)
        .transpose()
}

/// The SKUs with an open trend one sweep re-assesses, read whole.
pub const TRENDS_PER_SWEEP: usize = 250;

/// Where the trend sweep goes on from.
const TREND_CURSOR: &str = "trend-sweep#cursor";

/// A page of the SKUs with an open trend, read whole, from where the last sweep ended (an open
/// trend stays in `ReviewTrends` until it recovers, so a sweep cannot start from the top), and
/// the cursor to keep once the page is recorded: past the last page, back to the start. With
/// more than a page open, each SKU is re-assessed every few sweeps instead of every sweep.
pub async fn watched_stats(store: &impl Storage, now: DateTime<Utc>) -> Result<WatchedPage, StoreError> {
    let after = read_resume(store, Table::Reviews, TREND_CURSOR).await?;
    let query = Query::new(Index::ReviewTrends, TRENDS_WATCHED).page(TRENDS_PER_SWEEP, after);
    let found = store.query(&query).await?;
    let keys: Vec<ItemKey> = found
        .items
        .iter()
        .map(|item| ItemKey::new(Table::Reviews, crate::storage::text(item, "pk")))
        .collect();
    let items = if keys.is_empty() {
        Vec::new()
    } else {
        store.get_many(&keys).await?
    };
    let read = found.read + items.iter().flatten().count();
    let stats = items.into_iter().flatten().map(from_item).collect::<Result<_, _>>()?;
    let next = found.next.clone();
    let expires = now + Duration::days(30);
    Ok(WatchedPage {
        stats,
        read,
        more: next.is_some(),
        cursor: save_resume(Table::Reviews, TREND_CURSOR, next.as_ref(), expires),
    })
}

/// What [`watched_stats`] read.
#[derive(Debug)]
pub struct WatchedPage {
    pub stats: Vec<SkuStats>,
    pub read: usize,
    /// Whether open trends are left past this page (the next sweep's).
    pub more: bool,
    /// The cursor to keep once the page is recorded.
    pub cursor: Write,
}
