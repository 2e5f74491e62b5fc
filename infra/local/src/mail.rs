//! The emails SES accepted in the local AWS, read back from their raw MIME: what `cargo xtask
//! outbox` and the demo print, and what the tests assert on.

use mail_parser::{Address, Header, HeaderValue, Message, MessageParser};
use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct SentEmail {
    pub message_id: String,
    /// Where SES delivered it: the `Destination` and every address the headers name.
    pub destinations: Vec<String>,
    /// Header names and decoded values, in order.
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub to: String,
    pub text: String,
    pub html: String,
    pub raw: String,
}

impl SentEmail {
    /// One entry of the local AWS's `/_local/outbox`.
    pub fn from_outbox(entry: &Value) -> Self {
        let raw = entry["raw_data"].as_str().unwrap_or_default().to_owned();
        let mut email = parse(&raw);
        email.message_id = entry["id"].as_str().unwrap_or_default().to_owned();
        email.destinations = entry["destinations"]
            .as_array()
            .map(|all| all.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        if raw.is_empty() {
            // A simple (non-MIME) send keeps only its subject and one body.
            email.subject = entry["subject"].as_str().unwrap_or_default().to_owned();
            email.html = entry["body"].as_str().unwrap_or_default().to_owned();
        }
        email
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether SES delivered it to `address`, bare or as `Name <address>`.
    pub fn is_to(&self, address: &str) -> bool {
        self.destinations
            .iter()
            .any(|d| d == address || d.ends_with(&format!("<{address}>")))
    }
}

/// Reads a message with `mail-parser`, a MIME reader that owes nothing to the writer in
/// `backoffice::domains::email::mime`: what it reads back is what a mail client would show.
pub fn parse(raw: &str) -> SentEmail {
    let mut email = SentEmail {
        raw: raw.to_owned(),
        ..SentEmail::default()
    };
    let Some(message) = MessageParser::default().parse(raw.as_bytes()) else {
        return email;
    };
    email.headers = message
        .headers()
        .iter()
        .map(|header| (header.name().to_owned(), header_text(&message, header)))
        .collect();
    email.subject = message.subject().unwrap_or_default().to_owned();
    email.to = message.to().map(addresses).unwrap_or_default();
    email.text = message.body_text(0).map(String::from).unwrap_or_default();
    email.html = message.body_html(0).map(String::from).unwrap_or_default();
    email
}

/// A header's value as a reader sees it: encoded words decoded, addresses as `Name <address>`,
/// anything else as written, unfolded.
fn header_text(message: &Message<'_>, header: &Header<'_>) -> String {
    match header.value() {
        HeaderValue::Text(text) => text.to_string(),
        HeaderValue::Address(address) => addresses(address),
        _ => {
            let raw = message
                .raw_message()
                .get(header.offset_start() as usize..header.offset_end() as usize);
            let raw = String::from_utf8_lossy(raw.unwrap_or_default());
            raw.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

fn addresses(address: &Address<'_>) -> String {
    let shown: Vec<String> = address
        .iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(name), Some(address)) => format!("{name} <{address}>"),
            (None, Some(address)) => address.to_owned(),
            (Some(name), None) => name.to_owned(),
            (None, None) => String::new(),
        })
        .collect();
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_encoded_words_read_back_as_one_value() {
        let raw = "Subject: =?UTF-8?B?5oKo55qE?=\r\n =?UTF-8?B?6K6i5Y2V?=\r\nTo: =?UTF-8?B?TGkgV2Vp?=\r\n <li@example.cn>\r\n\r\n";
        let email = parse(raw);
        assert_eq!(email.subject, "您的订单");
        assert_eq!(email.to, "Li Wei <li@example.cn>");
    }
}
