//! The orders a buyer names in their own words, with no I/O: "订单号：ord_1003", "order
//! #B30117", "my order 1003 hasn't come". Only candidates: each is read with the thread and
//! taken only if it is this buyer's order with this seller, so naming another buyer's order
//! reveals nothing about it.

use crate::values::ids::is_identifier;

/// At most this many candidates are read (they join the message's one `BatchGetItem`).
pub const MAX_NAMED: usize = 3;

/// Words after which a buyer writes an order's number.
const CUES: [&str; 6] = ["order", "订单", "单号", "ord", "no", "number"];

/// The order ids `text` may name, first named first, at most [`MAX_NAMED`]: a word of
/// identifier characters holding a digit that starts with `#`, follows a cue ("order",
/// "订单号：", "no."), or is written as an id (`ord_1003`).
pub fn orders_named(text: &str) -> Vec<String> {
    let mut named: Vec<String> = Vec::new();
    let mut after_cue = false;
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_word(c) || c == '#') {
        let (before, from) = rest.split_at(start);
        let hashed = from.starts_with('#');
        let word_start = if hashed { &from[1..] } else { from };
        let end = word_start.find(|c: char| !is_word(c)).unwrap_or(word_start.len());
        let word = &word_start[..end];
        rest = &word_start[end..];
        let cued = after_cue || ends_with_cue(before);
        let lower = word.to_ascii_lowercase();
        after_cue = CUES.iter().any(|cue| lower == *cue) || lower == "order_id";
        let looks_like_id = word.contains('_') && word.bytes().any(|b| b.is_ascii_alphabetic());
        let candidate = word.bytes().any(|b| b.is_ascii_digit())
            && word.len() >= 3
            && is_identifier(word)
            && (hashed || cued || looks_like_id);
        if candidate && !named.iter().any(|earlier| earlier == word) {
            named.push(word.to_owned());
            if named.len() == MAX_NAMED {
                break;
            }
        }
    }
    named
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Whether the text just before a word ends with a cue in Chinese ("订单号：", "单号 ").
fn ends_with_cue(before: &str) -> bool {
    let trimmed = before.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '：' | '#' | '.' | '号'));
    ["订单", "单号", "订单号"].iter().any(|cue| trimmed.ends_with(cue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_are_found_as_buyers_write_them() {
        for (text, expected) in [
            ("麻烦看一下订单 #B30117 现在是什么状态", vec!["B30117"]),
            ("订单号：ord_1003 还没发货", vec!["ord_1003"]),
            ("Where is my order 1003? It's been 2 weeks", vec!["1003"]),
            ("were is my pakage?? order no. A-7781", vec!["A-7781"]),
            (
                "ord_1001 and ord_1002 both late, ord_1001 worst",
                vec!["ord_1001", "ord_1002"],
            ),
            ("I bought 2 teapots for 24.90 on the 3rd", vec![]),
            ("my order hasn't arrived", vec![]),
            ("#1 #2 #3 #4 order 12345 order 67890", vec!["12345", "67890"]),
        ] {
            assert_eq!(orders_named(text), expected, "{text}");
        }
    }

    #[test]
    fn at_most_a_few_candidates_are_read_and_nothing_is_not_an_id() {
        let text = "#a100 #b200 #c300 #d400";
        assert_eq!(orders_named(text), ["a100", "b200", "c300"]);
        let long = format!("#{}", "9".repeat(65));
        assert!(orders_named(&long).is_empty(), "longer than an id may be");
        assert!(orders_named("").is_empty());
        assert!(orders_named("#").is_empty());
    }
}
