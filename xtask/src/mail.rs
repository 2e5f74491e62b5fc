//! The emails SES accepted in the local AWS, read back from their raw MIME: what `cargo xtask
//! outbox` and the demo print, and what the tests assert on.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
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

/// Reads a message with a `multipart/alternative` body of base64 parts, as buyer messaging
/// writes them.
pub fn parse(raw: &str) -> SentEmail {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let headers = unfold(head);
    let mut email = SentEmail {
        raw: raw.to_owned(),
        ..SentEmail::default()
    };
    let content_type = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Content-Type"))
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    if let Some(boundary) = content_type
        .split("boundary=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
    {
        for part in body.split(&format!("--{boundary}")) {
            let (part_head, part_body) = part.split_once("\r\n\r\n").unwrap_or(("", ""));
            let decoded = STANDARD
                .decode(part_body.split_whitespace().collect::<String>())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .unwrap_or_default();
            if part_head.contains("text/plain") {
                email.text = decoded;
            } else if part_head.contains("text/html") {
                email.html = decoded;
            }
        }
    }
    email.subject = header_value(&headers, "Subject");
    email.to = header_value(&headers, "To");
    email.headers = headers;
    email
}

fn header_value(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
        .unwrap_or_default()
}

/// Header lines, folded lines joined, encoded words decoded.
fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.to_owned(), value.trim_start().to_owned()));
        }
    }
    headers
        .into_iter()
        .map(|(name, value)| (name, decode_words(&value)))
        .collect()
}

/// RFC 2047 `=?UTF-8?B?…?=` words, with the folding whitespace between two words dropped.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?UTF-8?B?") {
        let (before, word) = rest.split_at(start);
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let Some(end) = word[10..].find("?=") else {
            break;
        };
        let encoded = &word[10..10 + end];
        match STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        {
            Some(text) => out.push_str(&text),
            None => out.push_str(&word[..12 + end]),
        }
        rest = &word[12 + end..];
        after_word = true;
    }
    out.push_str(rest);
    out
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
