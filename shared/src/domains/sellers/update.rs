//! `seller.updated`: a seller's contact and settings, checked, and written over older ones
//! only: the latest `created_at` wins.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::records::SellerContact;
use super::settings::{
    CLAIM_RESPONSE_HOURS, DEFAULT_CLAIM_RESPONSE_HOURS, DEFAULT_DECISION_HOURS, DEFAULT_RETURN_WINDOW_DAYS,
    DEFAULT_REVIEW_THRESHOLD_HUNDREDTHS,
};
use crate::domains::email::locale::language_tag;
use crate::mechanisms::idempotency::{Claim, CommitFailure, commit_with_claim};
use crate::mechanisms::webhook::{Accepted, NotAccepted, Rejection, RejectionKind};
use crate::storage::{Condition, Storage, Table, Write};
use crate::values::ids::is_identifier;
use crate::values::money::{Currency, Money};
use crate::values::pii::EmailAddress;
use crate::values::text::refused_in_line;

/// `data` of a `seller.updated` event.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SellerUpdatedData {
    pub seller_id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub locale: Option<String>,
    /// An IANA time zone name (`Asia/Shanghai`); `UTC` when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub return_window_days: Option<i64>,
    #[serde(default)]
    pub auto_approve_limit: Option<MoneyData>,
    #[serde(default)]
    pub decision_hours: Option<i64>,
    /// Hours to respond to a buyer protection claim before support staff decide it.
    #[serde(default)]
    pub claim_response_hours: Option<i64>,
    /// Stars, as a decimal string (`"3.5"`) or a number: at most two decimals, 1 to 5.
    #[serde(default)]
    pub review_alert_threshold: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyData {
    pub amount: String,
    pub currency: String,
}

/// A seller's settings as an event states them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerUpdate {
    pub contact: SellerContact,
    pub return_window_days: u32,
    pub auto_approve_limit: Option<Money>,
    pub decision_hours: u32,
    pub claim_response_hours: u32,
    pub review_alert_threshold_hundredths: u32,
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SellerError {
    #[error("{field} must be 1 to 64 letters, digits, '_' or '-'")]
    InvalidIdentifier { field: &'static str },
    #[error("{field} must be one line of 1 to 200 characters")]
    InvalidText { field: &'static str },
    #[error("{field} is not an email address")]
    InvalidEmail { field: &'static str },
    #[error("{field} must be a language tag such as \"en\" or \"zh-CN\"")]
    InvalidLocale { field: &'static str },
    #[error("{field} must be an IANA time zone name such as \"Asia/Shanghai\" or \"UTC\"")]
    InvalidTimeZone { field: &'static str },
    #[error("{field} must be a whole number from {min} to {max}")]
    OutOfRange { field: &'static str, min: i64, max: i64 },
    #[error("{field}: {reason}")]
    InvalidMoney { field: &'static str, reason: String },
    #[error("{field} must be a number of stars from 1 to 5 with at most two decimals, such as \"3.5\"")]
    InvalidThreshold { field: &'static str },
}

impl From<SellerError> for Rejection {
    fn from(error: SellerError) -> Self {
        let (code, field) = match &error {
            SellerError::InvalidIdentifier { field } => ("invalid_identifier", *field),
            SellerError::InvalidText { field } => ("invalid_text", *field),
            SellerError::InvalidEmail { field } => ("invalid_email", *field),
            SellerError::InvalidLocale { field } => ("invalid_locale", *field),
            SellerError::InvalidTimeZone { field } => ("invalid_time_zone", *field),
            SellerError::OutOfRange { field, .. } => ("out_of_range", *field),
            SellerError::InvalidMoney { field, .. } => ("invalid_money", *field),
            SellerError::InvalidThreshold { field } => ("invalid_threshold", *field),
        };
        Rejection::new(RejectionKind::BadRequest, code, error.to_string()).on_field(field)
    }
}

impl SellerUpdatedData {
    pub fn validate(self) -> Result<SellerUpdate, SellerError> {
        if !is_identifier(&self.seller_id) {
            return Err(SellerError::InvalidIdentifier {
                field: "data.seller_id",
            });
        }
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(refused_in_line) {
            return Err(SellerError::InvalidText { field: "data.name" });
        }
        let email = EmailAddress::parse(&self.email).map_err(|_| SellerError::InvalidEmail { field: "data.email" })?;
        let locale = language_tag(self.locale.as_deref().unwrap_or("en"))
            .ok_or(SellerError::InvalidLocale { field: "data.locale" })?;
        let time_zone = self.time_zone.unwrap_or_else(|| "UTC".to_owned());
        if !is_time_zone_name(&time_zone) {
            return Err(SellerError::InvalidTimeZone {
                field: "data.time_zone",
            });
        }
        let within = |value: Option<i64>, min: i64, max: i64, default: u32, field: &'static str| match value {
            None => Ok(default),
            Some(value) if (min..=max).contains(&value) => Ok(value as u32),
            Some(_) => Err(SellerError::OutOfRange { field, min, max }),
        };
        let auto_approve_limit = self
            .auto_approve_limit
            .map(|limit| {
                let invalid = |reason: String| SellerError::InvalidMoney {
                    field: "data.auto_approve_limit",
                    reason,
                };
                let currency = Currency::parse(&limit.currency).map_err(|error| invalid(error.to_string()))?;
                let amount = Money::parse(&limit.amount, currency).map_err(|error| invalid(error.to_string()))?;
                if amount.minor_units() < 0 {
                    return Err(invalid("a limit is not negative".to_owned()));
                }
                Ok(amount)
            })
            .transpose()?;
        Ok(SellerUpdate {
            contact: SellerContact {
                seller_id: self.seller_id,
                name: name.to_owned(),
                email,
                locale,
            },
            return_window_days: within(
                self.return_window_days,
                0,
                365,
                DEFAULT_RETURN_WINDOW_DAYS,
                "data.return_window_days",
            )?,
            auto_approve_limit,
            decision_hours: within(
                self.decision_hours,
                1,
                720,
                DEFAULT_DECISION_HOURS,
                "data.decision_hours",
            )?,
            claim_response_hours: within(
                self.claim_response_hours,
                CLAIM_RESPONSE_HOURS.0,
                CLAIM_RESPONSE_HOURS.1,
                DEFAULT_CLAIM_RESPONSE_HOURS,
                "data.claim_response_hours",
            )?,
            review_alert_threshold_hundredths: match self.review_alert_threshold {
                None => DEFAULT_REVIEW_THRESHOLD_HUNDREDTHS,
                Some(stars) => hundredths_of_stars(&stars).ok_or(SellerError::InvalidThreshold {
                    field: "data.review_alert_threshold",
                })?,
            },
            time_zone,
        })
    }
}

/// A name the tz database knows (`UTC`, `Asia/Shanghai`, `America/Argentina/Buenos_Aires`):
/// the seller's weekly report is sent at 08:00 on its Monday there.
fn is_time_zone_name(name: &str) -> bool {
    name.len() <= 64 && name.parse::<chrono_tz::Tz>().is_ok()
}

/// `3.5`, `"3.5"`, `4`, `"4.25"` → 350, 350, 400, 425. Read from the decimal text, never
/// through a float's rounding.
fn hundredths_of_stars(value: &Value) -> Option<u32> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty() || fraction.len() > 2 || !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let fraction: u32 = format!("{fraction:0<2}").parse().ok()?;
    let hundredths = whole.checked_mul(100)?.checked_add(fraction)?;
    (100..=500).contains(&hundredths).then_some(hundredths)
}

impl SellerUpdate {
    /// The whole settings, written only over settings older than `at` (or none).
    fn write(&self, at: DateTime<Utc>, event_id: &str) -> Write {
        let at_ms = at.timestamp_millis();
        let contact = &self.contact;
        let mut write = Write::update(Table::Sellers, &contact.seller_id)
            .set("name", contact.name.clone())
            .set("email", contact.email.expose())
            .set("locale", contact.locale.clone())
            .set("time_zone", self.time_zone.clone())
            .set("listed", super::records::LISTED)
            .set("return_window_days", i64::from(self.return_window_days))
            .set("decision_hours", i64::from(self.decision_hours))
            .set("claim_response_hours", i64::from(self.claim_response_hours))
            .set(
                "review_alert_threshold_hundredths",
                i64::from(self.review_alert_threshold_hundredths),
            )
            .set("settings_at_ms", at_ms)
            .set("settings_event_id", event_id)
            .when(Condition::lacks("settings_at_ms").or(Condition::at_most("settings_at_ms", at_ms)));
        write = match self.auto_approve_limit {
            Some(limit) => write
                .set("auto_approve_minor", limit.minor_units())
                .set("auto_approve_currency", limit.currency().code()),
            None => write.remove("auto_approve_minor").remove("auto_approve_currency"),
        };
        write
    }

    fn receipt(&self, superseded: bool) -> Value {
        json!({
            "seller_id": self.contact.seller_id,
            "return_window_days": self.return_window_days,
            "auto_approve_limit": self.auto_approve_limit.map(|limit| json!({
                "amount": limit.to_string(), "currency": limit.currency().code()
            })),
            "decision_hours": self.decision_hours,
            "claim_response_hours": self.claim_response_hours,
            "time_zone": self.time_zone,
            "review_alert_threshold_hundredths": self.review_alert_threshold_hundredths,
            "superseded": superseded,
        })
    }
}

/// Writes the settings with the event's claim; an event older than the stored settings is
/// recorded as applied and changes nothing (`superseded`).
pub async fn update_seller(
    store: &impl Storage,
    update: &SellerUpdate,
    created_at: DateTime<Utc>,
    event_id: &str,
    claim: &Claim,
) -> Result<Accepted, NotAccepted> {
    let answer = update.receipt(false);
    let superseded = match commit_with_claim(store, claim, &answer, vec![update.write(created_at, event_id)]).await {
        Ok(()) => false,
        Err(CommitFailure::Refused(_)) => {
            commit_with_claim(store, claim, &update.receipt(true), vec![]).await?;
            true
        }
        Err(failure) => return Err(failure.into()),
    };
    Ok(update.receipt(superseded).as_object().cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_read_from_their_decimal_text() {
        for (value, expected) in [
            (json!(3.5), Some(350)),
            (json!("3.5"), Some(350)),
            (json!(4), Some(400)),
            (json!("4.25"), Some(425)),
            (json!("5"), Some(500)),
            (json!(0.5), None),
            (json!("5.01"), None),
            (json!("3.555"), None),
            (json!("-3"), None),
            (json!("three"), None),
            (json!(true), None),
        ] {
            assert_eq!(hundredths_of_stars(&value), expected, "{value}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        for name in ["UTC", "Asia/Shanghai", "America/Argentina/Buenos_Aires", "Etc/GMT+8"] {
            assert!(is_time_zone_name(name), "{name}");
        }
        for name in [
            "",
            "asia/shanghai",
            "Asia//Shanghai",
            "Asia/Shang hai",
            "+08:00",
            "Asia/<b>",
        ] {
            assert!(!is_time_zone_name(name), "{name}");
        }
    }
}
