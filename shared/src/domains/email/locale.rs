//! The languages emails are written in, and how each shows money and dates.

use chrono::{DateTime, Datelike, Utc};

/// The longest language tag kept: RFC 5646 asks every implementation to take tags of 35
/// characters, and nothing an email needs is longer. A tag travels in every follow-up of its
/// buyer or seller, so an unbounded one could make a follow-up too large to publish.
pub const MAX_TAG_LEN: usize = 35;

/// A language tag as it is kept: a language of 2–3 letters, then subtags of 1–8 letters or
/// digits, separated by `-` (`_` is read as `-`), at most [`MAX_TAG_LEN`] characters in all.
/// `None` for anything else.
pub fn language_tag(value: &str) -> Option<String> {
    let mut subtags = value.split(['-', '_']);
    let language = subtags.next().unwrap_or_default();
    let well_formed = value.len() <= MAX_TAG_LEN
        && (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && subtags.all(|subtag| (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric()));
    well_formed.then(|| value.replace('_', "-"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    En,
    Zh,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Locale {
    /// A BCP 47 tag's language (`zh`, `zh-CN`, `zh_Hant_TW`, `EN-gb`); anything else is English.
    pub fn from_tag(tag: &str) -> Self {
        let language = tag.split(['-', '_']).next().unwrap_or_default();
        if language.eq_ignore_ascii_case("zh") {
            Locale::Zh
        } else {
            Locale::En
        }
    }

    /// The HTML `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Zh => "zh",
        }
    }

    /// A calendar date as the reader writes it: `30 November 2026`, `2026年11月30日`. Dates are
    /// UTC: the back office does not know the buyer's time zone.
    pub fn date(self, at: DateTime<Utc>) -> String {
        match self {
            Locale::En => format!("{} {} {}", at.day(), MONTHS[at.month0() as usize], at.year()),
            Locale::Zh => format!("{}年{}月{}日", at.year(), at.month(), at.day()),
        }
    }

    /// A decimal amount with its currency as the reader expects it: `$1,234.50` in English,
    /// `US$1,234.50` in Chinese, `¥2,400` for yen, the ISO code before other currencies.
    pub fn money(self, amount: &str, currency: &str) -> String {
        let (major, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let grouped = group_thousands(major);
        let number = if fraction.is_empty() {
            grouped
        } else {
            format!("{grouped}.{fraction}")
        };
        match self.currency_symbol(currency) {
            Some(symbol) => format!("{symbol}{number}"),
            None => format!("{currency} {number}"),
        }
    }

    fn currency_symbol(self, currency: &str) -> Option<&'static str> {
        Some(match (self, currency) {
            (Locale::En, "USD") => "$",
            (Locale::Zh, "USD") => "US$",
            (Locale::En, "CNY") => "CN¥",
            (Locale::Zh, "CNY") => "¥",
            (Locale::En, "JPY") => "¥",
            (Locale::Zh, "JPY") => "JP¥",
            (_, "EUR") => "€",
            (_, "GBP") => "£",
            (_, "HKD") => "HK$",
            _ => return None,
        })
    }
}

fn group_thousands(digits: &str) -> String {
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_languages_fall_back_to_english() {
        for (tag, locale) in [
            ("zh", Locale::Zh),
            ("zh-CN", Locale::Zh),
            ("ZH_Hant_TW", Locale::Zh),
            ("en", Locale::En),
            ("fr-FR", Locale::En),
            ("", Locale::En),
        ] {
            assert_eq!(Locale::from_tag(tag), locale, "{tag:?}");
        }
    }

    #[test]
    fn language_tags_are_kept_short_and_well_formed() {
        assert_eq!(language_tag("zh_Hant_TW").as_deref(), Some("zh-Hant-TW"));
        assert_eq!(language_tag("en").as_deref(), Some("en"));
        assert_eq!(language_tag("de-CH-1901").as_deref(), Some("de-CH-1901"));
        let longest = format!("en{}-abcde", "-abcdefgh".repeat(3));
        assert_eq!(longest.len(), MAX_TAG_LEN);
        assert!(language_tag(&longest).is_some());
        for refused in [
            "",
            "e",
            "english",
            "en-",
            "en--GB",
            "../../etc",
            "en-abcdefghi",
            "zh-汉语",
        ] {
            assert_eq!(language_tag(refused), None, "{refused:?}");
        }
        assert_eq!(language_tag(&format!("{longest}x")), None, "one character too long");
        assert_eq!(language_tag(&"en-GB".repeat(10_000)), None, "unbounded subtags");
    }

    #[test]
    fn money_is_shown_in_the_readers_convention() {
        assert_eq!(Locale::En.money("1234.50", "USD"), "$1,234.50");
        assert_eq!(Locale::Zh.money("1234.50", "USD"), "US$1,234.50");
        assert_eq!(Locale::En.money("2400", "JPY"), "¥2,400");
        assert_eq!(Locale::Zh.money("88.00", "CNY"), "¥88.00");
        assert_eq!(Locale::En.money("1000000.000", "KWD"), "KWD 1,000,000.000");
        assert_eq!(Locale::En.money("0.99", "EUR"), "€0.99");
        assert_eq!(Locale::En.money("999", "JPY"), "¥999");
    }

    #[test]
    fn dates_are_written_in_the_readers_language() {
        let at: DateTime<Utc> = "2026-11-30T23:00:00Z".parse().unwrap();
        assert_eq!(Locale::En.date(at), "30 November 2026");
        assert_eq!(Locale::Zh.date(at), "2026年11月30日");
    }
}
