//! What a seller's notice quotes of a buyer's words (a review, a refund's note, a question):
//! its start, with whatever could take the buyer off the marketplace (an email address, a
//! phone number, a link, a messenger id) replaced by `[removed]`.
//! Escaping is the email templates' (every field, always); this only chooses the words.

const LENGTH: usize = 160;
const REMOVED: &str = "[removed]";

/// Words after which buyers give a messenger id ("加我微信 li_wei_88", "WeChat: tea_lover").
const MESSENGERS: &[&str] = &[
    "微信", "薇信", "v信", "威信", "qq", "wechat", "weixin", "whatsapp", "telegram", "skype", "vx", "wx",
];

/// The first [`LENGTH`] characters of `text`, one line, contact details removed.
pub fn snippet(text: &str) -> String {
    let text = redact_messenger_ids(text);
    let redacted: Vec<String> = text.split_whitespace().map(redact_word).collect();
    let mut line = collapse_phone_numbers(&redacted).join(" ");
    if line.chars().count() > LENGTH {
        line = line.chars().take(LENGTH - 1).collect::<String>() + "…";
    }
    line
}

fn redact_word(word: &str) -> String {
    let lower = word.to_ascii_lowercase();
    let link = lower.contains("://") || lower.starts_with("www.") || lower.contains(".com") || lower.contains(".cn/");
    let email = word.contains('@') && word.contains('.');
    if link || email {
        REMOVED.to_owned()
    } else {
        word.to_owned()
    }
}

/// The id after a messenger's name: 4 or more letters, digits, `_`, `-` or `.`, after any
/// spaces or colons. Latin names count only as whole words ("wx" in "wxyz" is not WeChat).
fn redact_messenger_ids(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lower: Vec<char> = text.to_lowercase().chars().collect();
    if lower.len() != chars.len() {
        // Lower-casing changed the length (rare scripts): keep the text, lose nothing.
        return text.to_owned();
    }
    let is_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    let mut out = String::new();
    let mut index = 0;
    while index < chars.len() {
        let name = MESSENGERS.iter().find(|name| {
            let name: Vec<char> = name.chars().collect();
            let fits = lower[index..].starts_with(&name);
            let latin = name[0].is_ascii_alphabetic();
            let starts_word = index == 0 || !chars[index - 1].is_ascii_alphanumeric();
            let ends_word = chars.get(index + name.len()).is_none_or(|c| !c.is_ascii_alphabetic());
            fits && (!latin || (starts_word && ends_word))
        });
        let Some(name) = name else {
            out.push(chars[index]);
            index += 1;
            continue;
        };
        let after_name = index + name.chars().count();
        let mut start = after_name;
        while chars
            .get(start)
            .is_some_and(|c| c.is_whitespace() || matches!(c, ':' | '：' | '号'))
        {
            start += 1;
        }
        let length = chars[start..].iter().take_while(|c| is_id(**c)).count();
        out.extend(&chars[index..start]);
        if length >= 4 {
            out.push_str(REMOVED);
        } else {
            out.extend(&chars[start..start + length]);
        }
        index = start + length;
    }
    out
}

/// Runs of words that are mostly digits and hold seven or more of them (a phone number,
/// however it is spaced: `+86 138 0013 8000`, `555-123-4567`) become one `[removed]`.
fn collapse_phone_numbers(words: &[String]) -> Vec<String> {
    let digits = |word: &str| word.chars().filter(char::is_ascii_digit).count();
    let phone_like = |word: &str| {
        let word = word.trim_end_matches([',', ';', ':', '.', '!', '?', '，', '。']);
        !word.is_empty() && word.chars().all(|c| c.is_ascii_digit() || "+-().".contains(c)) && digits(word) > 0
    };
    let mut out = Vec::new();
    let mut index = 0;
    while index < words.len() {
        let run = words[index..].iter().take_while(|word| phone_like(word)).count();
        let run_digits: usize = words[index..index + run].iter().map(|word| digits(word)).sum();
        if run > 0 && run_digits >= 7 {
            out.push(REMOVED.to_owned());
            index += run;
        } else {
            out.push(redact_inline_digits(&words[index]));
            index += 1;
        }
    }
    out
}

/// A word that hides a phone number inside other characters (`微信13800138000`).
fn redact_inline_digits(word: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in word.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        if run.len() >= 7 {
            out.push_str(REMOVED);
        } else {
            out.push_str(&run);
        }
        run.clear();
        if c != ' ' {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_details_are_removed_and_the_rest_kept() {
        assert_eq!(
            snippet("Broke fast. Email me at bob@example.com or call +1 555-123-4567, see http://evil.test/x"),
            "Broke fast. Email me at [removed] or call [removed] see [removed]"
        );
        assert_eq!(
            snippet("质量差，加我微信13800138000退款"),
            "质量差，加我微信[removed]退款"
        );
        assert_eq!(snippet("took 19 days"), "took 19 days", "small numbers stay");
        assert_eq!(snippet("坏了。微信 li_wei_88 联系我"), "坏了。微信 [removed] 联系我");
        assert_eq!(snippet("加vx：tea-lover退款"), "加vx：[removed]退款");
        assert_eq!(snippet("WeChat: TeaFan2026 pls"), "WeChat: [removed] pls");
        assert_eq!(
            snippet("the wxyz model, qq"),
            "the wxyz model, qq",
            "only a name followed by an id"
        );
        assert!(snippet(&"word ".repeat(100)).chars().count() <= LENGTH);
    }
}
