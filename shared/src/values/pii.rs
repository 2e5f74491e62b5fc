//! Personal data that must never reach a log line.
//!
//! `EmailAddress` has no `Display`, and its `Debug` prints a placeholder, so a `tracing` field
//! or an error message that names one shows `<redacted email>` instead of the address.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

const MAX_LEN: usize = 254;
const ERASED_ADDRESS: &str = "erased@erased.invalid";

#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Someone's own words (a buyer's question, a seller's reply, a refund note): stored and
/// emailed, never logged. Reads as the value it holds; its `Debug` prints only its length.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Private<T>(pub T);

impl<T> std::ops::Deref for Private<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl From<String> for Private<String> {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Private<String> {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl fmt::Debug for Private<String> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} private characters>", self.0.chars().count())
    }
}

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

    /// What stands in an erased buyer's place: an address under `.invalid`, which no mail
    /// system delivers to (RFC 2606), so a stored record still reads as the type it is.
    pub fn erased() -> Self {
        Self(ERASED_ADDRESS.to_owned())
    }

    pub fn is_erased(&self) -> bool {
        self.0 == ERASED_ADDRESS
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

/// A serde error as a log may show it: its kind and place, never the text it quotes.
/// serde_json's own message quotes the value it failed on (`invalid type: string "…"`,
/// `unknown variant `…``), which in a buyer's event is a name, an address or their words.
/// Only a missing field's message is kept whole: the name it quotes is the schema's.
pub struct Unquoted<'a>(pub &'a serde_json::Error);

impl std::fmt::Display for Unquoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let error = self.0;
        let message = error.to_string();
        let what = if message.starts_with("missing field") {
            message.split(" at line ").next().unwrap_or_default()
        } else {
            message.split(['"', '`', ':']).next().unwrap_or_default().trim_end()
        };
        write!(
            f,
            "{:?} error ({what}) at line {} column {}",
            error.classify(),
            error.line(),
            error.column()
        )
    }
}

/// [`Unquoted`], owned: for errors kept as text (a store error's source).
pub fn unquoted(error: &serde_json::Error) -> String {
    Unquoted(error).to_string()
}

#[cfg(test)]
mod tests {
    /// What each holder of someone's words or address prints when a log line names it.
    #[test]
    fn debug_never_shows_an_address_a_message_or_a_note() {
        let secrets = [
            "88 Nanjing Road",
            "li.wei@example.cn",
            "my phone is 555",
            "unopened cups",
        ];
        let envelope = crate::mechanisms::webhook::Envelope::parse(
            serde_json::json!({"id": "evt_1", "type": "order.created", "created_at": "2026-11-22T09:30:00Z",
                "data": {"buyer": {"email": "li.wei@example.cn"}, "shipping_address": {"line1": "88 Nanjing Road"}}})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let address = crate::domains::orders::Address {
            name: "Li Wei".into(),
            line1: "88 Nanjing Road".into(),
            line2: None,
            city: "Shanghai".into(),
            region: None,
            postal_code: "200001".into(),
            country: "CN".into(),
        };
        let words: Private<String> = "my phone is 555".into();
        let note: Private<String> = "unopened cups".into();
        let printed = format!("{envelope:?} {address:?} {words:?} {note:?}");
        for secret in secrets {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("evt_1") && printed.contains("CN") && printed.contains("<15 private characters>"));
    }

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

    #[test]
    fn a_serde_error_shows_its_kind_and_place_not_the_text_it_quotes() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        enum Reason {
            Damaged,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Event {
            quantity: u32,
            reason: Reason,
        }
        let secret = "Mei Lin, 12 Garden Road";
        for body in [
            format!(r#"{{"quantity": "{secret}", "reason": "Damaged"}}"#),
            format!(r#"{{"quantity": 1, "reason": "{secret}"}}"#),
        ] {
            let error = serde_json::from_str::<Event>(&body).unwrap_err();
            assert!(error.to_string().contains(secret), "serde quotes it: {error}");
            let shown = Unquoted(&error).to_string();
            assert!(!shown.contains("Mei Lin"), "{shown}");
            assert!(
                shown.starts_with("Data error (") && shown.contains("at line 1 column"),
                "{shown}"
            );
        }
        let missing = serde_json::from_str::<Event>(r#"{"quantity": 1}"#).unwrap_err();
        assert_eq!(
            Unquoted(&missing).to_string(),
            "Data error (missing field `reason`) at line 1 column 15"
        );
    }
}
