//! The rules an order event must keep, from the marketplace's shapes to the domain's types.
//! Every rule has its own error and names the field it is about.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::carriers::{https_host, is_carrier_host};
use super::error::OrderError;
use super::schema::{AddressData, BuyerData, LineData, OrderCreatedData, OrderRefData, OrderShippedData};
use crate::domains::email::locale::language_tag;
use crate::domains::email::{Recipient, RecipientRole};
use crate::values::ids::{is_identifier, is_sku};
use crate::values::money::{Currency, Money, MoneyError};
use crate::values::pii::EmailAddress;
use crate::values::text::refused_in_line;

/// One DynamoDB transaction holds at most 100 items: the order, its idempotency record, its
/// outbox entry, the seller's day of figures, and per line a reservation and the SKU's week of
/// units sold.
pub const MAX_LINES: usize = 48;
pub const MAX_QUANTITY: i64 = 10_000;
const MAX_TEXT: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    pub order_id: String,
    pub seller_id: String,
    pub buyer: Buyer,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub ship_by: DateTime<Utc>,
    pub shipping_address: Address,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buyer {
    pub id: String,
    pub name: String,
    pub email: EmailAddress,
    pub locale: String,
}

impl Buyer {
    /// The buyer as an email's recipient.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            role: RecipientRole::Buyer,
            id: self.id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub line_id: String,
    pub sku: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub title: Option<String>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

/// Only the country: where a buyer lives is not for logs.
impl std::fmt::Debug for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Address")
            .field("country", &self.country)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_number: String,
    pub tracking_url: Option<String>,
}

/// Checks every rule in the order the fields are written, so the first error is the first field.
pub fn new_order(data: OrderCreatedData) -> Result<NewOrder, OrderError> {
    let order_id = identifier(data.order_id, "data.order_id")?;
    let seller_id = identifier(data.seller_id, "data.seller_id")?;
    let buyer = buyer(data.buyer)?;
    let currency = Currency::parse(&data.currency).map_err(|source| OrderError::InvalidMoney {
        field: "data.currency".to_owned(),
        source,
    })?;
    let lines = lines(data.lines, currency)?;
    let total = money(&data.total.0, currency, "data.total")?;
    let computed = lines
        .iter()
        .try_fold(Money::zero(currency), |sum, line| {
            sum.plus(line.unit_price.times(line.quantity)?)
        })
        .ok_or_else(|| OrderError::InvalidMoney {
            field: "data.total".to_owned(),
            source: MoneyError::TooLarge,
        })?;
    if computed != total {
        return Err(OrderError::TotalMismatch {
            stated: total.to_string(),
            computed: computed.to_string(),
        });
    }
    Ok(NewOrder {
        order_id,
        seller_id,
        buyer,
        lines,
        total,
        ship_by: timestamp(&data.ship_by, "data.ship_by")?,
        shipping_address: address(data.shipping_address)?,
    })
}

/// The order an event about an existing order names, and the seller it must belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRef {
    pub order_id: String,
    pub seller_id: String,
}

pub fn order_ref(order_id: &str, seller_id: &str) -> Result<OrderRef, OrderError> {
    Ok(OrderRef {
        order_id: identifier(order_id.to_owned(), "data.order_id")?,
        seller_id: identifier(seller_id.to_owned(), "data.seller_id")?,
    })
}

impl TryFrom<&OrderRefData> for OrderRef {
    type Error = OrderError;

    fn try_from(data: &OrderRefData) -> Result<Self, OrderError> {
        order_ref(&data.order_id, &data.seller_id)
    }
}

pub fn shipment(data: &OrderShippedData) -> Result<Shipment, OrderError> {
    Ok(Shipment {
        carrier: text(&data.carrier, "data.carrier")?,
        tracking_number: text(&data.tracking_number, "data.tracking_number")?,
        tracking_url: data
            .tracking_url
            .as_deref()
            .map(|url| tracking_url(url, "data.tracking_url"))
            .transpose()?,
    })
}

fn lines(lines: Vec<LineData>, currency: Currency) -> Result<Vec<OrderLine>, OrderError> {
    if lines.is_empty() {
        return Err(OrderError::NoLines);
    }
    if lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines {
            count: lines.len(),
            max: MAX_LINES,
        });
    }
    let mut skus = HashSet::new();
    let mut line_ids = HashSet::new();
    lines
        .into_iter()
        .enumerate()
        .map(|(index, line)| {
            let at = |name: &str| format!("data.lines[{index}].{name}");
            let line = OrderLine {
                line_id: identifier(line.line_id, &at("line_id"))?,
                sku: sku(line.sku, &at("sku"))?,
                quantity: quantity(line.quantity, &at("quantity"))?,
                unit_price: money(&line.unit_price.0, currency, &at("unit_price"))?,
                title: line
                    .title
                    .as_deref()
                    .map(|title| product_title(title, &at("title")))
                    .transpose()?,
            };
            if !skus.insert(line.sku.clone()) {
                return Err(OrderError::DuplicateSku {
                    field: at("sku"),
                    sku: line.sku,
                });
            }
            if !line_ids.insert(line.line_id.clone()) {
                return Err(OrderError::DuplicateLineId {
                    field: at("line_id"),
                    line_id: line.line_id,
                });
            }
            Ok(line)
        })
        .collect()
}

/// A buyer as orders and messages name one.
pub fn buyer(data: BuyerData) -> Result<Buyer, OrderError> {
    Ok(Buyer {
        id: identifier(data.id, "data.buyer.id")?,
        name: text(&data.name, "data.buyer.name")?,
        email: EmailAddress::parse(&data.email).map_err(|_| OrderError::InvalidEmail {
            field: "data.buyer.email".to_owned(),
        })?,
        locale: locale(&data.locale, "data.buyer.locale")?,
    })
}

fn address(data: AddressData) -> Result<Address, OrderError> {
    let optional = |value: Option<String>, field: &str| {
        value
            .filter(|v| !v.trim().is_empty())
            .map(|v| text(&v, field))
            .transpose()
    };
    let country = data.country.trim();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(OrderError::InvalidCountry {
            field: "data.shipping_address.country".to_owned(),
        });
    }
    Ok(Address {
        name: text(&data.name, "data.shipping_address.name")?,
        line1: text(&data.line1, "data.shipping_address.line1")?,
        line2: optional(data.line2, "data.shipping_address.line2")?,
        city: text(&data.city, "data.shipping_address.city")?,
        region: optional(data.region, "data.shipping_address.region")?,
        postal_code: text(&data.postal_code, "data.shipping_address.postal_code")?,
        country: country.to_owned(),
    })
}

fn identifier(value: String, field: &str) -> Result<String, OrderError> {
    if is_identifier(&value) {
        Ok(value)
    } else {
        Err(OrderError::InvalidIdentifier {
            field: field.to_owned(),
        })
    }
}

fn sku(value: String, field: &str) -> Result<String, OrderError> {
    if is_sku(&value) {
        Ok(value)
    } else {
        Err(OrderError::InvalidSku {
            field: field.to_owned(),
        })
    }
}

fn quantity(quantity: i64, field: &str) -> Result<u32, OrderError> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(quantity as u32)
    } else {
        Err(OrderError::InvalidQuantity {
            field: field.to_owned(),
            quantity,
            max: MAX_QUANTITY,
        })
    }
}

fn money(text: &str, currency: Currency, field: &str) -> Result<Money, OrderError> {
    Money::parse(text, currency).map_err(|source| OrderError::InvalidMoney {
        field: field.to_owned(),
        source,
    })
}

/// Free text a person typed (names, address lines, carriers): kept as written, escaped when it
/// is shown, but never empty, over-long, multi-line or markup.
fn text(value: &str, field: &str) -> Result<String, OrderError> {
    one_line(value, field, false)
}

/// A product title is shown as the seller wrote it, markup included (emails escape it).
fn product_title(value: &str, field: &str) -> Result<String, OrderError> {
    one_line(value, field, true)
}

/// Trimmed text of one line and at most 200 characters; markup (`<`, `>`) only where allowed.
fn one_line(value: &str, field: &str, markup_allowed: bool) -> Result<String, OrderError> {
    let trimmed = value.trim();
    let reason = if trimmed.is_empty() {
        Some("must not be empty")
    } else if trimmed.chars().count() > MAX_TEXT {
        Some("must be at most 200 characters")
    } else if trimmed.chars().any(refused_in_line) {
        Some("must be one line without control characters")
    } else if !markup_allowed && trimmed.contains(['<', '>']) {
        Some("must not contain markup")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(OrderError::InvalidText {
            field: field.to_owned(),
            reason,
        }),
        None => Ok(trimmed.to_owned()),
    }
}

fn locale(value: &str, field: &str) -> Result<String, OrderError> {
    language_tag(value).ok_or_else(|| OrderError::InvalidLocale {
        field: field.to_owned(),
    })
}

fn timestamp(value: &str, field: &str) -> Result<DateTime<Utc>, OrderError> {
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| OrderError::InvalidTimestamp {
            field: field.to_owned(),
        })
}

fn tracking_url(value: &str, field: &str) -> Result<String, OrderError> {
    let url = text(value, field)?;
    let host = https_host(&url).filter(|_| !url.contains(['"', '\'', ' ']));
    match host {
        Some(host) if is_carrier_host(&host) => Ok(url),
        Some(host) => Err(OrderError::UntrustedTrackingUrl {
            field: field.to_owned(),
            host,
        }),
        None => Err(OrderError::InvalidText {
            field: field.to_owned(),
            reason: "must be an https:// URL",
        }),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
