//! Money: integer minor units with an ISO 4217 currency, never a float.
//!
//! Amounts arrive as decimal strings (`"19.99"`) and are parsed exactly into minor units
//! (1999 cents); a value with more decimals than its currency has (`"1.999"` EUR, `"1.5"` JPY)
//! is refused rather than rounded.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not an ISO 4217 currency code")]
    UnknownCurrency(String),
    #[error("{0:?} is not a decimal amount such as \"19.99\"")]
    NotADecimal(String),
    #[error("{amount:?} has more than the {allowed} decimal places of {currency}")]
    TooManyDecimals {
        amount: String,
        allowed: u32,
        currency: &'static str,
    },
    #[error("the amount is too large")]
    TooLarge,
}

impl Currency {
    /// A currency by its three-letter code; funds and metals without minor units (XAU) are refused.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        iso_currency::Currency::from_code(code)
            .filter(|currency| currency.exponent().is_some())
            .map(Currency)
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn minor_digits(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

/// A non-negative amount of one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Far above any order total, far below `i64::MAX` minor units, so sums of lines cannot overflow.
const MAX_MAJOR_DIGITS: usize = 12;

impl Money {
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Self::from_minor(0, currency)
    }

    /// Parses a decimal string such as `"24.90"`; no sign, no exponent, no thousands separators.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let not_decimal = || MoneyError::NotADecimal(text.to_owned());
        let (major, fraction) = text.split_once('.').unwrap_or((text, ""));
        let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if major.is_empty()
            || !all_digits(major)
            || !all_digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(not_decimal());
        }
        let allowed = currency.minor_digits();
        if fraction.len() > allowed as usize {
            return Err(MoneyError::TooManyDecimals {
                amount: text.to_owned(),
                allowed,
                currency: currency.code(),
            });
        }
        if major.trim_start_matches('0').len() > MAX_MAJOR_DIGITS {
            return Err(MoneyError::TooLarge);
        }
        let scale = 10i64.pow(allowed);
        let padded_fraction = format!("{fraction:0<width$}", width = allowed as usize);
        let major: i64 = major.parse().map_err(|_| not_decimal())?;
        let fraction: i64 = if padded_fraction.is_empty() {
            0
        } else {
            padded_fraction.parse().map_err(|_| not_decimal())?
        };
        Ok(Self {
            minor: major * scale + fraction,
            currency,
        })
    }

    pub fn minor_units(self) -> i64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    /// `self × quantity`; `None` on overflow.
    pub fn times(self, quantity: u32) -> Option<Self> {
        Some(Self {
            minor: self.minor.checked_mul(i64::from(quantity))?,
            ..self
        })
    }

    /// The sum of two amounts of the same currency; `None` on overflow or mixed currencies.
    pub fn plus(self, other: Money) -> Option<Self> {
        (self.currency == other.currency).then_some(())?;
        Some(Self {
            minor: self.minor.checked_add(other.minor)?,
            ..self
        })
    }
}

/// The decimal string, as the marketplace writes it: `24.90`, `1200` (JPY), `1.250` (KWD).
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        if digits == 0 {
            return write!(f, "{}", self.minor);
        }
        let scale = 10i64.pow(digits);
        write!(
            f,
            "{}.{:0width$}",
            self.minor / scale,
            self.minor % scale,
            width = digits as usize
        )
    }
}

/// An amount in minor units as a person reads it (`"19.99"`); the bare number where the
/// currency is not one ISO 4217 knows, so an email still shows something.
pub fn shown(minor: i64, currency: &str) -> String {
    Currency::parse(currency).map_or_else(
        |_| minor.to_string(),
        |currency| Money::from_minor(minor, currency).to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        let eur = currency("EUR");
        assert_eq!(Money::parse("24.90", eur).unwrap().minor_units(), 2490);
        assert_eq!(Money::parse("24.9", eur).unwrap().minor_units(), 2490);
        assert_eq!(Money::parse("0", eur).unwrap().minor_units(), 0);
        assert_eq!(Money::parse("1200", currency("JPY")).unwrap().minor_units(), 1200);
        assert_eq!(Money::parse("1.250", currency("KWD")).unwrap().minor_units(), 1250);
        assert_eq!(
            Money::parse("0.1", eur)
                .unwrap()
                .plus(Money::parse("0.2", eur).unwrap()),
            Money::parse("0.3", eur).ok()
        );
    }

    #[test]
    fn more_decimals_than_the_currency_has_are_refused() {
        assert!(matches!(
            Money::parse("1.999", currency("EUR")),
            Err(MoneyError::TooManyDecimals { allowed: 2, .. })
        ));
        assert!(matches!(
            Money::parse("1.5", currency("JPY")),
            Err(MoneyError::TooManyDecimals { allowed: 0, .. })
        ));
    }

    #[test]
    fn anything_but_a_plain_decimal_is_refused() {
        let eur = currency("EUR");
        for text in ["", "-1.00", "+1", "1e3", "1,00", " 1", "1.", ".5", "NaN", "١٢", "0x10"] {
            assert!(
                matches!(Money::parse(text, eur), Err(MoneyError::NotADecimal(_))),
                "{text:?}"
            );
        }
        assert_eq!(Money::parse("9999999999999", eur), Err(MoneyError::TooLarge));
    }

    #[test]
    fn unknown_currencies_are_refused() {
        for code in ["EURO", "eur", "XXX1", "", "XAU"] {
            assert!(
                matches!(Currency::parse(code), Err(MoneyError::UnknownCurrency(_))),
                "{code:?}"
            );
        }
    }

    #[test]
    fn amounts_print_with_their_currency_digits() {
        assert_eq!(Money::parse("24.9", currency("EUR")).unwrap().to_string(), "24.90");
        assert_eq!(Money::parse("1200", currency("JPY")).unwrap().to_string(), "1200");
        assert_eq!(Money::parse("0.05", currency("USD")).unwrap().to_string(), "0.05");
    }

    #[test]
    fn arithmetic_refuses_overflow_and_mixed_currencies() {
        let eur = Money::parse("999999999999.99", currency("EUR")).unwrap();
        assert!(eur.times(u32::MAX).is_none());
        assert!(eur.plus(Money::zero(currency("USD"))).is_none());
    }
}
