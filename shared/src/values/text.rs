//! What a buyer's or seller's words may hold: the one check every event's text goes through.
//!
//! Control characters are refused, bar the line breaks and tabs of a multi-line text, and so
//! are U+FFFE and U+FFFF. SQS takes in a message only `#x9 | #xA | #xD | #x20–#xD7FF |
//! #xE000–#xFFFD | #x10000–#x10FFFF`; SNS hands its messages to SQS. An event holding either
//! would be accepted at the edge, then refused on its way to every queue, its emails with it.

/// Whether `c` may not stand in a text of several lines (a review, a question, a note).
pub fn refused_in_text(c: char) -> bool {
    (c.is_control() && !matches!(c, '\n' | '\r' | '\t')) || is_noncharacter_sqs_refuses(c)
}

/// Whether `c` may not stand in one line (a name, a title, a subject).
pub fn refused_in_line(c: char) -> bool {
    c.is_control() || is_noncharacter_sqs_refuses(c)
}

fn is_noncharacter_sqs_refuses(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_sqs_refuses_is_refused_and_what_it_takes_passes() {
        for c in ['\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{FFFE}', '\u{FFFF}'] {
            assert!(refused_in_text(c) && refused_in_line(c), "{:?}", c);
        }
        for c in ['a', '茶', '\u{FFFD}', '\u{10000}', '😀', ' '] {
            assert!(!refused_in_text(c) && !refused_in_line(c), "{:?}", c);
        }
        assert!(!refused_in_text('\n') && refused_in_line('\n'));
    }
}
