//! The words every email shares: the reader's language picked, and a review reason's key said
//! in it. Below both the templates of [`super::compose`] and the weekly report's.

use super::letter::one_line;
use super::locale::Locale::{self, En, Zh};

/// Picks the English or the Chinese of a sentence.
pub fn say(locale: Locale, en: String, zh: String) -> String {
    match locale {
        En => en,
        Zh => zh,
    }
}

/// A review reason's key in the reader's words; an unknown key as it is.
pub fn reason_words(l: Locale, key: &str) -> String {
    let (english, chinese) = match key {
        "quality" => ("quality", "质量"),
        "shipping" => ("shipping", "物流"),
        "not_as_described" => ("not as described", "与描述不符"),
        "size_fit" => ("size or fit", "尺码"),
        "price_value" => ("price", "价格"),
        "seller_service" => ("seller service", "服务"),
        "other" => ("other", "其他"),
        other => return one_line(other),
    };
    say(l, english.into(), chinese.into())
}
