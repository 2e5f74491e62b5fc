//! What a seller's reply may not carry: an email address, a phone number, or a link other
//! than the order's own tracking link. Marketplaces forbid taking buyers off the platform;
//! refusing the reply (rather than redacting it) lets the seller say it again properly.

/// The first thing in `text` that would take the buyer off the platform, named for the
/// seller (`"an email address"`), or `None`. `tracking_url` is the one link allowed.
pub fn prohibited(text: &str, tracking_url: Option<&str>) -> Option<&'static str> {
    let allowed = tracking_url.map(|url| url.trim_end_matches('/').to_lowercase());
    for word in text.split(|c: char| c.is_whitespace() || "，。；！？（）()<>\"'“”".contains(c)) {
        let word = word.trim_matches(|c: char| ",.;:!?".contains(c));
        let lower = word.to_lowercase();
        if word.contains('@') && word.split('@').nth(1).is_some_and(|domain| domain.contains('.')) {
            return Some("an email address");
        }
        if is_link(&lower) && allowed.as_deref() != Some(lower.trim_end_matches('/')) {
            return Some("a link");
        }
    }
    has_phone_number(text).then_some("a phone number")
}

fn is_link(word: &str) -> bool {
    word.contains("://")
        || word.starts_with("www.")
        || [".com", ".cn", ".net", ".org", ".io", ".me", ".ly"].iter().any(|tld| {
            word.split('/')
                .next()
                .is_some_and(|host| host.ends_with(tld) && host.len() > tld.len())
        })
}

/// Seven or more digits in a row, counting the spaces, dashes, dots and brackets people put
/// between them ("138 0013 8000", "+44 (0)20 7946-0958"). Not a date ("2026-11-24"), and not
/// digits that follow letters: a tracking or order number ("JD014600003828") is not a phone.
fn has_phone_number(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut start = 0;
    while start < chars.len() {
        let begins = chars[start].is_ascii_digit() || chars[start] == '+';
        let after_letter = start > 0 && chars[start - 1].is_ascii_alphanumeric();
        if !begins || after_letter {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < chars.len() && (chars[end].is_ascii_digit() || " -.()+".contains(chars[end])) {
            end += 1;
        }
        let run: String = chars[start..end].iter().collect();
        let digits = run.chars().filter(char::is_ascii_digit).count();
        if digits >= 7 && !is_date(run.trim()) {
            return true;
        }
        start = end.max(start + 1);
    }
    false
}

fn is_date(run: &str) -> bool {
    let parts: Vec<&str> = run.split(['-', '.', '/']).collect();
    parts.len() == 3 && parts[0].len() == 4 && parts[1].len() <= 2 && parts[2].len() <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACKING: &str = "https://www.dhl.com/track?id=JD014600003828";

    #[test]
    fn contact_details_and_foreign_links_are_named() {
        for (text, what) in [
            ("Email me at li.wei@example.cn", "an email address"),
            ("加我微信或打 138 0013 8000", "a phone number"),
            ("Call +44 (0)20 7946-0958", "a phone number"),
            ("Cheaper at https://my-shop.example.com/teapot", "a link"),
            ("see www.myshop.cn", "a link"),
            ("order at myshop.com", "a link"),
        ] {
            assert_eq!(prohibited(text, Some(TRACKING)), Some(what), "{text}");
        }
    }

    #[test]
    fn the_orders_tracking_link_and_ordinary_numbers_are_allowed() {
        for text in [
            "Your parcel is with DHL: https://www.dhl.com/track?id=JD014600003828",
            "It shipped on 2026-11-24, order ord_1001, 2 cups of 150 ml.",
            "Your tracking number is JD014600003828.",
            "您的包裹已于11月24日发出，请耐心等待。",
        ] {
            assert_eq!(prohibited(text, Some(TRACKING)), None, "{text}");
        }
        assert_eq!(prohibited(&format!("see {TRACKING}"), None), Some("a link"));
    }
}
