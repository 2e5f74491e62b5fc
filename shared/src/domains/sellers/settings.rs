//! A seller's settings, as its refunds and reviews read them, with the marketplace's defaults
//! for a seller that never sent `seller.updated`.

use crate::storage::{Item, number, text};
use crate::values::money::{Currency, Money};

pub const DEFAULT_RETURN_WINDOW_DAYS: u32 = 30;
pub const DEFAULT_DECISION_HOURS: u32 = 48;
pub const DEFAULT_REVIEW_THRESHOLD_HUNDREDTHS: u32 = 350;
pub const DEFAULT_CLAIM_RESPONSE_HOURS: u32 = 48;
/// The least and most time a seller may give itself to respond to a claim.
pub const CLAIM_RESPONSE_HOURS: (i64, i64) = (12, 240);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerSettings {
    /// Days after delivery a buyer may ask for a refund (0 to 365).
    pub return_window_days: u32,
    /// Refunds up to this, in its currency, are approved without the seller; `None`: none are.
    pub auto_approve_limit: Option<Money>,
    /// Hours the seller has to decide a pending refund before it is approved for them.
    pub decision_hours: u32,
    /// The 30-day review average below which the seller hears of a SKU, in hundredths of a star.
    pub review_alert_threshold_hundredths: u32,
    /// Hours the seller has to respond to a buyer protection claim before support staff decide.
    pub claim_response_hours: u32,
}

impl Default for SellerSettings {
    fn default() -> Self {
        Self {
            return_window_days: DEFAULT_RETURN_WINDOW_DAYS,
            auto_approve_limit: None,
            decision_hours: DEFAULT_DECISION_HOURS,
            review_alert_threshold_hundredths: DEFAULT_REVIEW_THRESHOLD_HUNDREDTHS,
            claim_response_hours: DEFAULT_CLAIM_RESPONSE_HOURS,
        }
    }
}

impl SellerSettings {
    /// The settings a seller item holds, each absent or unreadable one at its default.
    pub fn of(item: Option<&Item>) -> Self {
        let Some(item) = item else {
            return Self::default();
        };
        let defaults = Self::default();
        let within = |name: &str, range: std::ops::RangeInclusive<i64>, default: u32| match number(item, name) {
            value if item.contains_key(name) && range.contains(&value) => value as u32,
            _ => default,
        };
        let auto_approve_limit = Currency::parse(text(item, "auto_approve_currency"))
            .ok()
            .filter(|_| item.contains_key("auto_approve_minor"))
            .map(|currency| Money::from_minor(number(item, "auto_approve_minor"), currency));
        Self {
            return_window_days: within("return_window_days", 0..=365, defaults.return_window_days),
            auto_approve_limit,
            decision_hours: within("decision_hours", 1..=720, defaults.decision_hours),
            claim_response_hours: within(
                "claim_response_hours",
                CLAIM_RESPONSE_HOURS.0..=CLAIM_RESPONSE_HOURS.1,
                defaults.claim_response_hours,
            ),
            review_alert_threshold_hundredths: within(
                "review_alert_threshold_hundredths",
                100..=500,
                defaults.review_alert_threshold_hundredths,
            ),
        }
    }

    /// Whether `amount` may be refunded without the seller: same currency, within the limit.
    pub fn approves_automatically(&self, amount: Money) -> bool {
        self.auto_approve_limit
            .is_some_and(|limit| limit.currency() == amount.currency() && amount.minor_units() <= limit.minor_units())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_seller_without_settings_has_the_defaults_and_no_automatic_refunds() {
        let settings = SellerSettings::of(None);
        assert_eq!(settings, SellerSettings::default());
        let eur = Currency::parse("EUR").unwrap();
        assert!(!settings.approves_automatically(Money::from_minor(1, eur)));
    }

    #[test]
    fn a_limit_approves_its_currency_only() {
        let item =
            json!({"seller_id": "s", "auto_approve_minor": 2500, "auto_approve_currency": "EUR", "decision_hours": 24});
        let settings = SellerSettings::of(item.as_object());
        let (eur, usd) = (Currency::parse("EUR").unwrap(), Currency::parse("USD").unwrap());
        assert!(settings.approves_automatically(Money::from_minor(2500, eur)));
        assert!(!settings.approves_automatically(Money::from_minor(2501, eur)));
        assert!(!settings.approves_automatically(Money::from_minor(100, usd)));
        assert_eq!((settings.decision_hours, settings.return_window_days), (24, 30));
    }
}
