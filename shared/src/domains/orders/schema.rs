//! The `data` of the order events as the marketplace sends them: plain serde shapes, read
//! before any rule is checked. `validate.rs` turns them into the domain's types.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct OrderCreatedData {
    pub order_id: String,
    pub seller_id: String,
    pub buyer: BuyerData,
    pub currency: String,
    pub lines: Vec<LineData>,
    /// The sum of the lines, which must agree with them.
    pub total: DecimalText,
    pub ship_by: String,
    pub shipping_address: AddressData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BuyerData {
    pub id: String,
    pub name: String,
    pub email: String,
    /// BCP 47, e.g. `en`, `zh`, `zh-CN`; emails fall back to English for other languages.
    pub locale: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LineData {
    pub line_id: String,
    pub sku: String,
    /// Signed, so that a negative quantity is refused by its own rule with its own message.
    pub quantity: i64,
    pub unit_price: DecimalText,
    /// The product's name as the buyer saw it; shown in emails.
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AddressData {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default)]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

/// `order.cancelled`, `order.delivered`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderRefData {
    pub order_id: String,
    pub seller_id: String,
    #[serde(default)]
    pub reason: Option<String>,
    /// `order.cancelled` only: who cancelled. Only a seller's cancel counts against the
    /// seller's cancel rate; absent, nobody is counted.
    #[serde(default)]
    pub cancelled_by: Option<CancelledBy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelledBy {
    Buyer,
    Seller,
    Marketplace,
}

/// `order.shipped`.
#[derive(Debug, Clone, Deserialize)]
pub struct OrderShippedData {
    pub order_id: String,
    pub seller_id: String,
    pub carrier: String,
    pub tracking_number: String,
    #[serde(default)]
    pub tracking_url: Option<String>,
}

/// A money amount as JSON text. A JSON number is refused: floats cannot hold `0.1` exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalText(pub String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DecimalText;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a decimal string such as \"19.99\" (money is never a JSON number)")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<DecimalText, E> {
                Ok(DecimalText(text.to_owned()))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}
