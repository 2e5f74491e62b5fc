//! Personal data that must never reach a log line.
//!
//! `EmailAddress` has no `Display`, and its `Debug` prints a placeholder, so a `tracing` field
//! or an error message that names one shows `<redacted email>` instead of the address.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

const MAX_LEN: usize = 254;

#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an email address (expected local@domain.tld, at most {MAX_LEN} characters)")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(text: &str) -> Result<Self, InvalidEmail> {
        let text = text.trim();
        let (local, domain) = text.rsplit_once('@').ok_or(InvalidEmail)?;
        let plausible = text.len() <= MAX_LEN
            && !local.is_empty()
            && !local.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            // ASCII only: SES sends no SMTPUTF8, so an international domain must arrive as
            // punycode (`xn--…`) and a local part in ASCII.
            && text.chars().all(|c| c.is_ascii_graphic())
            && !text.contains(['<', '>', ',', ';', '"', '\\']);
        if plausible {
            Ok(Self(text.to_owned()))
        } else {
            Err(InvalidEmail)
        }
    }

    /// The address itself, for the mailer and the database only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted email>")
    }
}

impl<'de> Deserialize<'de> for EmailAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EmailAddress::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_and_never_show_in_debug() {
        let email = EmailAddress::parse("li.wei@example.cn").unwrap();
        assert_eq!(email.expose(), "li.wei@example.cn");
        assert_eq!(format!("{email:?}"), "<redacted email>");
    }

    #[test]
    fn header_injection_and_junk_are_refused() {
        for bad in [
            "",
            "no-at-sign",
            "@example.com",
            "a@b",
            "a@.com",
            "a@b.",
            "a b@example.com",
            "a@example.com\r\nBcc: x@evil.test",
            "a@example.com,b@example.com",
            "<a@example.com>",
            "李伟@example.cn",
            "li@例子.中国",
        ] {
            assert_eq!(EmailAddress::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }
}
