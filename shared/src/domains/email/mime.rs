//! The raw MIME message SES sends: `multipart/alternative` with a plain-text and an HTML part.
//!
//! Header values from outside (the recipient's name, the subject) are always written as
//! RFC 2047 encoded words, so their bytes never reach the header section as they are: a CR/LF
//! in a name cannot start a new header. Bodies are base64, so no line of theirs can end the
//! headers or forge a boundary.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::letter::{Rendered, one_line};
use crate::values::pii::EmailAddress;

const BOUNDARY: &str = "=_backoffice_alternative";
/// UTF-8 bytes per encoded word: base64 of 39 bytes is 52 characters, 64 with its
/// `=?UTF-8?B?…?=`, so even the first, after `Subject: `, keeps its line within RFC 2047's 76.
const WORD_BYTES: usize = 39;
const BODY_LINE: usize = 76;

pub struct Envelope<'a> {
    pub from: &'a EmailAddress,
    pub to_name: &'a str,
    pub to: &'a EmailAddress,
    /// The `Content-Language` of both parts.
    pub language: &'a str,
}

pub fn message(envelope: &Envelope<'_>, rendered: &Rendered) -> Vec<u8> {
    let mut out = String::with_capacity(rendered.html.len() * 2);
    header(&mut out, "From", envelope.from.expose());
    header(
        &mut out,
        "To",
        // The address on a line of its own: a line holding encoded words must stay short.
        &format!(
            "{}\r\n <{}>",
            encoded_words(&one_line(envelope.to_name)),
            envelope.to.expose()
        ),
    );
    header(&mut out, "Subject", &encoded_words(&one_line(&rendered.subject)));
    header(&mut out, "MIME-Version", "1.0");
    header(&mut out, "Content-Language", envelope.language);
    header(
        &mut out,
        "Content-Type",
        &format!("multipart/alternative; boundary=\"{BOUNDARY}\""),
    );
    out.push_str("\r\n");
    part(&mut out, "text/plain", &rendered.text);
    part(&mut out, "text/html", &rendered.html);
    out.push_str(&format!("--{BOUNDARY}--\r\n"));
    out.into_bytes()
}

fn header(out: &mut String, name: &str, value: &str) {
    debug_assert!(!value.contains(['\r', '\n']) || value.contains("\r\n "));
    out.push_str(name);
    out.push_str(": ");
    out.push_str(value);
    out.push_str("\r\n");
}

fn part(out: &mut String, content_type: &str, body: &str) {
    out.push_str(&format!("--{BOUNDARY}\r\n"));
    out.push_str(&format!("Content-Type: {content_type}; charset=UTF-8\r\n"));
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    let encoded = STANDARD.encode(body.as_bytes());
    for line in encoded.as_bytes().chunks(BODY_LINE) {
        // base64 is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push_str("\r\n");
    }
}

/// `text` as RFC 2047 B-encoded words, split on character boundaries and folded.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + WORD_BYTES).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&text.as_bytes()[start..end])));
        start = end;
    }
    if words.is_empty() {
        return "\"\"".to_owned();
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_word(word: &str) -> String {
        let inner = word
            .trim()
            .strip_prefix("=?UTF-8?B?")
            .unwrap()
            .strip_suffix("?=")
            .unwrap();
        String::from_utf8(STANDARD.decode(inner).unwrap()).unwrap()
    }

    fn build(name: &str, subject: &str) -> String {
        let from = EmailAddress::parse("orders@example.com").unwrap();
        let to = EmailAddress::parse("li.wei@example.cn").unwrap();
        let rendered = Rendered {
            subject: subject.to_owned(),
            html: "<p>hi</p>".to_owned(),
            text: "hi\r\n\r\nBcc: body@evil.test".to_owned(),
        };
        let envelope = Envelope {
            from: &from,
            to_name: name,
            to: &to,
            language: "zh",
        };
        String::from_utf8(message(&envelope, &rendered)).unwrap()
    }

    fn header_names(message: &str) -> Vec<String> {
        let (headers, _) = message.split_once("\r\n\r\n").unwrap();
        headers
            .split("\r\n")
            .filter(|line| !line.starts_with(' '))
            .map(|line| line.split_once(':').unwrap().0.to_owned())
            .collect()
    }

    #[test]
    fn a_line_break_in_a_name_or_subject_adds_no_header() {
        let message = build("Mallory\r\nBcc: x@evil.test", "Hi\nBcc: y@evil.test");
        assert_eq!(
            header_names(&message),
            [
                "From",
                "To",
                "Subject",
                "MIME-Version",
                "Content-Language",
                "Content-Type"
            ]
        );
        assert!(!message.contains("evil.test"), "encoded, never raw: {message}");
        let to = message.lines().find(|l| l.starts_with("To: ")).unwrap();
        assert_eq!(
            decode_word(to.strip_prefix("To: ").unwrap()),
            "Mallory Bcc: x@evil.test"
        );
    }

    #[test]
    fn long_and_non_ascii_subjects_are_folded_into_whole_characters() {
        let subject = "您的订单 ord_20261122_000123 已确认，感谢您在本平台购物，祝您生活愉快";
        let message = build("李伟", subject);
        let (headers, _) = message.split_once("\r\n\r\n").unwrap();
        let start = headers.find("Subject: ").unwrap() + "Subject: ".len();
        let folded: Vec<&str> = headers[start..]
            .split("\r\n")
            .take_while(|l| !l.contains(": "))
            .collect();
        assert!(folded.len() > 1, "folded: {folded:?}");
        assert!(folded.iter().all(|word| word.trim().len() <= 75));
        assert!(
            headers.split("\r\n").all(|line| line.len() <= 76),
            "every header line within RFC 2047's limit: {headers}"
        );
        let decoded: String = folded.iter().map(|word| decode_word(word)).collect();
        assert_eq!(decoded, subject);
    }

    #[test]
    fn both_parts_are_base64_between_boundaries() {
        let message = build("Li Wei", "Hello");
        assert_eq!(message.matches(&format!("--{BOUNDARY}\r\n")).count(), 2);
        assert!(message.ends_with(&format!("--{BOUNDARY}--\r\n")));
        assert!(!message.contains("body@evil.test"));
        assert!(message.lines().all(|line| line.len() <= 998));
    }
}
