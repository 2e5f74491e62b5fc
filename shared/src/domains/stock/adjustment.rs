//! `inventory.adjusted`: a seller's count (set on hand) or restock (add to on hand) of one SKU,
//! with its safety stock and restock lead time, and optionally the seller's contact for alerts.
//!
//! An adjustment is one write set: the event's completed claim, the stock, the seller's
//! contact if given, and a stock change in the outbox, which the outbox relay sends back to
//! stock alerts to assess the SKU and fill backorders. A count of a SKU the seller does not
//! have yet creates it: a second write set, after the first found no item.
//!
//! The claim answers redeliveries for seven days; the SKU's own history answers them after:
//! a restock is recorded under `<seller>#<sku>#restock#<event>` (so it is added once, ever),
//! and a count applies only if it was taken after the SKU's last count (`counted_at`), so a
//! count delivered late or again never turns the stock back.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::inventory::{WATCHLIST, sku_key};
use super::records::new_stock_item;
use crate::domains::email::locale::language_tag;
use crate::domains::sellers::SellerContact;
use crate::domains::sellers::records::update_contact;
use crate::domains::stock::change::{StockChange, StockChangeReason};
use crate::mechanisms::function::Function;
use crate::mechanisms::idempotency::{Claim, CommitFailure, commit_with_claim};
use crate::mechanisms::outbox::Message;
use crate::mechanisms::outbox::{self, OutboxEntry};
use crate::mechanisms::webhook::{Accepted, NotAccepted, Rejection, RejectionKind};
use crate::storage::{Condition, Item, Storage, StoreError, Table, Write, number};
use crate::values::ids::{is_identifier, is_sku};
use crate::values::pii::EmailAddress;
use crate::values::text::refused_in_line;

/// At most this many units on hand, or added at once: far above any shelf, far below overflow.
const MAX_UNITS: i64 = 1_000_000;
const MAX_LEAD_TIME_DAYS: i64 = 365;

/// `data` of an `inventory.adjusted` event.
#[derive(Debug, Clone, Deserialize)]
pub struct InventoryAdjustedData {
    pub seller_id: String,
    pub sku: String,
    /// `{"set": 12}` after a count, `{"add": 5}` for a restock. Whole numbers only.
    pub on_hand: OnHandData,
    #[serde(default)]
    pub safety_stock: Option<i64>,
    #[serde(default)]
    pub lead_time_days: Option<i64>,
    /// Where the seller's stock alerts go; kept until the next adjustment that names one.
    #[serde(default)]
    pub seller: Option<SellerData>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnHandData {
    Set(i64),
    Add(i64),
}

#[derive(Debug, Clone, Deserialize)]
pub struct SellerData {
    pub name: String,
    pub email: String,
    #[serde(default = "english")]
    pub locale: String,
}

fn english() -> String {
    "en".to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHand {
    /// A count: on hand is now exactly this. Creates an unknown SKU.
    Set(i64),
    /// A restock: this many more on hand. Only for a SKU the seller has.
    Add(i64),
}

/// A checked adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub seller_id: String,
    pub sku: String,
    pub on_hand: OnHand,
    pub safety_stock: Option<i64>,
    pub lead_time_days: Option<i64>,
    pub seller: Option<SellerContact>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StockError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: String },
    #[error("{field} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    InvalidSku { field: String },
    #[error("{field} must be a whole number from {min} to {max}")]
    OutOfRange { field: String, min: i64, max: i64 },
    #[error("{field} must be one line of 1 to 200 characters")]
    InvalidText { field: String },
    #[error("{field} is not an email address")]
    InvalidEmail { field: String },
    #[error("{field} must be a language tag of at most 35 characters, e.g. en, zh-CN")]
    InvalidLocale { field: String },
    #[error("{sku} is not in seller {seller_id}'s catalogue; a count (\"set\") adds it, a restock (\"add\") cannot")]
    UnknownSku { sku: String, seller_id: String },
    #[error("{sku} has {reserved} units reserved by orders; a count of {count} would leave them without stock")]
    CountBelowReserved { sku: String, reserved: i64, count: i64 },
}

impl From<StockError> for Rejection {
    fn from(error: StockError) -> Self {
        let (kind, code, field) = match &error {
            StockError::InvalidIdentifier { field } => (RejectionKind::BadRequest, "invalid_identifier", field.clone()),
            StockError::InvalidSku { field } => (RejectionKind::BadRequest, "invalid_sku", field.clone()),
            StockError::OutOfRange { field, .. } => (RejectionKind::BadRequest, "out_of_range", field.clone()),
            StockError::InvalidText { field } => (RejectionKind::BadRequest, "invalid_text", field.clone()),
            StockError::InvalidEmail { field } => (RejectionKind::BadRequest, "invalid_email", field.clone()),
            StockError::InvalidLocale { field } => (RejectionKind::BadRequest, "invalid_locale", field.clone()),
            StockError::UnknownSku { .. } => (RejectionKind::Unprocessable, "unknown_sku", "data.sku".to_owned()),
            StockError::CountBelowReserved { .. } => (
                RejectionKind::Unprocessable,
                "count_below_reserved",
                "data.on_hand.set".to_owned(),
            ),
        };
        Rejection::new(kind, code, error.to_string()).on_field(field)
    }
}

impl InventoryAdjustedData {
    pub fn validate(self) -> Result<Adjustment, StockError> {
        let seller_id = identifier(self.seller_id, "data.seller_id")?;
        let on_hand = match self.on_hand {
            OnHandData::Set(count) => OnHand::Set(within(count, 0, MAX_UNITS, "data.on_hand.set")?),
            OnHandData::Add(units) => OnHand::Add(within(units, 1, MAX_UNITS, "data.on_hand.add")?),
        };
        let seller = self.seller.map(|seller| contact(&seller_id, seller)).transpose()?;
        Ok(Adjustment {
            sku: sku(self.sku)?,
            on_hand,
            safety_stock: self
                .safety_stock
                .map(|units| within(units, 0, MAX_UNITS, "data.safety_stock"))
                .transpose()?,
            lead_time_days: self
                .lead_time_days
                .map(|days| within(days, 0, MAX_LEAD_TIME_DAYS, "data.lead_time_days"))
                .transpose()?,
            seller,
            seller_id,
        })
    }
}

/// Why an adjustment was not applied.
#[derive(Debug, thiserror::Error)]
pub enum AdjustError {
    /// Another delivery of the event committed first.
    #[error("the event's claim is taken")]
    ClaimTaken(Option<Item>),
    #[error(transparent)]
    Stock(#[from] StockError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<AdjustError> for NotAccepted {
    fn from(error: AdjustError) -> Self {
        match error {
            AdjustError::ClaimTaken(existing) => NotAccepted::ClaimTaken(existing),
            AdjustError::Stock(error) => NotAccepted::Refused(error.into()),
            AdjustError::Store(error) => NotAccepted::Refused(Rejection::dependency_unavailable(&error)),
        }
    }
}

impl Adjustment {
    /// What the webhook answers for it.
    pub fn receipt(&self) -> Accepted {
        let (how, units) = match self.on_hand {
            OnHand::Set(count) => ("set", count),
            OnHand::Add(units) => ("add", units),
        };
        let receipt = json!({"seller_id": self.seller_id, "sku": self.sku, "on_hand": {how: units}});
        receipt.as_object().cloned().unwrap_or_default()
    }

    /// The stock change it sends back to stock alerts, keyed by the event.
    pub fn outbox_entry(&self, event_id: &str) -> OutboxEntry {
        let reason = match self.on_hand {
            OnHand::Set(_) => StockChangeReason::Counted,
            OnHand::Add(_) => StockChangeReason::Restocked,
        };
        OutboxEntry {
            key: Function::StockAlerts.key(&[event_id]),
            follow_ups: vec![Message::of(&StockChange {
                dedupe_key: Function::StockAlerts.key(&[event_id, "stock"]),
                seller_id: self.seller_id.clone(),
                skus: vec![self.sku.clone()],
                reason,
                order_id: None,
                after: None,
            })],
        }
    }

    /// The count (taken at `counted_at`) or restock of a SKU the seller has.
    fn change_stock(&self, counted_at: DateTime<Utc>) -> Write {
        let mut write = Write::update(Table::Inventory, sku_key(&self.seller_id, &self.sku)).set("watch", WATCHLIST);
        write = match self.on_hand {
            OnHand::Set(count) => write
                .set("on_hand", count)
                .set_less("available", count, "reserved")
                .set(COUNTED_AT, counted_at.timestamp_millis())
                .when(Condition::ItemExists.and(Condition::at_most("reserved", count)))
                .when(Condition::lacks(COUNTED_AT).or(Condition::below(COUNTED_AT, counted_at.timestamp_millis()))),
            OnHand::Add(units) => write
                .add("on_hand", units)
                .add("available", units)
                .when(Condition::ItemExists),
        };
        if let Some(safety_stock) = self.safety_stock {
            write = write.set("safety_stock", safety_stock);
        }
        if let Some(days) = self.lead_time_days {
            write = write.set("lead_time_days", days);
        }
        write
    }

    /// A SKU the seller did not have, created by a count taken at `counted_at`.
    fn new_stock(&self, count: i64, counted_at: DateTime<Utc>) -> Write {
        let mut item = new_stock_item(
            &self.seller_id,
            &self.sku,
            count,
            self.safety_stock.unwrap_or(0),
            self.lead_time_days.unwrap_or(0),
        );
        item.insert(COUNTED_AT.to_owned(), counted_at.timestamp_millis().into());
        Write::put(Table::Inventory, item).when(Condition::ItemMissing)
    }

    /// What the webhook answers for a count older than the SKU's last one: recorded, and
    /// nothing changed.
    fn superseded(&self) -> Accepted {
        let mut receipt = self.receipt();
        receipt.insert("superseded".to_owned(), true.into());
        receipt
    }
}

/// When the SKU was last counted, in Unix milliseconds: a count taken before it changes nothing.
const COUNTED_AT: &str = "counted_at";

/// The key of a restock's entry in its SKU's history.
pub fn restock_key(seller_id: &str, sku: &str, event_id: &str) -> String {
    format!("{}#restock#{event_id}", sku_key(seller_id, sku))
}

/// Applies an adjustment together with the event's completed claim and its stock change.
/// `created_at` is the event's: when the count was taken.
pub async fn adjust_stock(
    store: &impl Storage,
    adjustment: &Adjustment,
    claim: &Claim,
    event_id: &str,
    created_at: DateTime<Utc>,
) -> Result<Accepted, AdjustError> {
    let receipt = adjustment.receipt();
    let answer = Value::Object(receipt.clone());
    let entry = adjustment.outbox_entry(event_id);
    let mut create = false;
    for _ in 0..3 {
        let stock = match (create, adjustment.on_hand) {
            (true, OnHand::Set(count)) => adjustment.new_stock(count, created_at),
            _ => adjustment.change_stock(created_at),
        };
        let mut effect = vec![stock, outbox::put(&entry, claim.now)];
        if let OnHand::Add(_) = adjustment.on_hand {
            let key = restock_key(&adjustment.seller_id, &adjustment.sku, event_id);
            effect.push(claim.recorded_in(Table::Inventory, key, &answer));
        }
        effect.extend(adjustment.seller.as_ref().map(update_contact));
        let cancelled = match commit_with_claim(store, claim, &answer, effect).await {
            Ok(()) => return Ok(receipt),
            Err(CommitFailure::ClaimTaken(existing)) => return Err(AdjustError::ClaimTaken(existing)),
            Err(CommitFailure::Store(error)) => return Err(error.into()),
            Err(CommitFailure::Refused(cancelled)) => cancelled,
        };
        if matches!(adjustment.on_hand, OnHand::Add(_)) && cancelled.failed(RESTOCK_RECORD) {
            // Restocked by this event before its claim expired.
            return Err(AdjustError::ClaimTaken(cancelled.existing(RESTOCK_RECORD).cloned()));
        }
        match (cancelled.existing(STOCK), adjustment.on_hand) {
            (Some(existing), OnHand::Set(_))
                if !create && number(existing, COUNTED_AT) >= created_at.timestamp_millis() =>
            {
                commit_with_claim(store, claim, &Value::Object(adjustment.superseded()), vec![])
                    .await
                    .map_err(|failure| match failure {
                        CommitFailure::ClaimTaken(existing) => AdjustError::ClaimTaken(existing),
                        CommitFailure::Store(error) => error.into(),
                        CommitFailure::Refused(_) => {
                            StoreError::new("stock transaction", "a lone claim was refused").into()
                        }
                    })?;
                return Ok(adjustment.superseded());
            }
            (Some(existing), OnHand::Set(count)) if !create => {
                return Err(StockError::CountBelowReserved {
                    sku: adjustment.sku.clone(),
                    reserved: number(existing, "reserved"),
                    count,
                }
                .into());
            }
            (None, OnHand::Set(_)) if !create => create = true,
            (None, OnHand::Add(_)) => {
                return Err(StockError::UnknownSku {
                    sku: adjustment.sku.clone(),
                    seller_id: adjustment.seller_id.clone(),
                }
                .into());
            }
            // Created by another count between our two writes: apply ours to it.
            _ => create = false,
        }
    }
    Err(StoreError::new("stock transaction", "the SKU kept appearing and disappearing").into())
}

/// Positions in an adjustment's effect: the stock first, then the outbox entry, then (for a
/// restock) its record in the SKU's history.
const STOCK: usize = 0;
const RESTOCK_RECORD: usize = 2;

fn identifier(value: String, field: &str) -> Result<String, StockError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(StockError::InvalidIdentifier {
            field: field.to_owned(),
        })
    }
}

fn sku(value: String) -> Result<String, StockError> {
    if is_sku(&value) {
        Ok(value)
    } else {
        Err(StockError::InvalidSku {
            field: "data.sku".to_owned(),
        })
    }
}

fn within(value: i64, min: i64, max: i64, field: &str) -> Result<i64, StockError> {
    (min..=max)
        .contains(&value)
        .then_some(value)
        .ok_or_else(|| StockError::OutOfRange {
            field: field.to_owned(),
            min,
            max,
        })
}

fn contact(seller_id: &str, seller: SellerData) -> Result<SellerContact, StockError> {
    let name = seller.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(refused_in_line) {
        return Err(StockError::InvalidText {
            field: "data.seller.name".to_owned(),
        });
    }
    let email = EmailAddress::parse(&seller.email).map_err(|_| StockError::InvalidEmail {
        field: "data.seller.email".to_owned(),
    })?;
    let locale = language_tag(&seller.locale).ok_or_else(|| StockError::InvalidLocale {
        field: "data.seller.locale".to_owned(),
    })?;
    Ok(SellerContact {
        seller_id: seller_id.to_owned(),
        name: name.to_owned(),
        email,
        locale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn adjustment(data: serde_json::Value) -> Result<Adjustment, Rejection> {
        let data: InventoryAdjustedData = crate::mechanisms::webhook::parse_data(&data)?;
        Ok(data.validate()?)
    }

    #[test]
    fn counts_and_restocks_are_read() {
        let count = adjustment(json!({"seller_id": "sel_1", "sku": "POT-1", "on_hand": {"set": 0}, "safety_stock": 3, "lead_time_days": 5}))
            .unwrap();
        assert_eq!(
            (count.on_hand, count.safety_stock, count.lead_time_days),
            (OnHand::Set(0), Some(3), Some(5))
        );
        let restock = adjustment(json!({"seller_id": "sel_1", "sku": "POT-1", "on_hand": {"add": 12}})).unwrap();
        assert_eq!(restock.on_hand, OnHand::Add(12));
    }

    #[test]
    fn bad_adjustments_name_their_field() {
        for (data, field) in [
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": -1}}),
                "data.on_hand.set",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"add": 0}}),
                "data.on_hand.add",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"add": 2.5}}),
                "data.on_hand.add",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": "12"}}),
                "data.on_hand.set",
            ),
            (
                json!({"seller_id": "sel 1", "sku": "P", "on_hand": {"set": 1}}),
                "data.seller_id",
            ),
            (json!({"seller_id": "sel_1", "on_hand": {"set": 1}}), "data.sku"),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": 1}, "safety_stock": -3}),
                "data.safety_stock",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": 1}, "lead_time_days": 1.5}),
                "data.lead_time_days",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": 1}, "seller": {"name": "Tea", "email": "nope"}}),
                "data.seller.email",
            ),
            (
                json!({"seller_id": "sel_1", "sku": "P", "on_hand": {"set": 1}, "seller": {"name": "Tea", "email": "tea@example.com", "locale": "en-GB".repeat(60_000)}}),
                "data.seller.locale",
            ),
        ] {
            let refused = adjustment(data.clone()).unwrap_err();
            assert_eq!(refused.kind, RejectionKind::BadRequest, "{data}");
            assert_eq!(refused.field.as_deref(), Some(field), "{data}: {refused:?}");
        }
    }
}
