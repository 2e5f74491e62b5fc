//! A review's language: the tag the marketplace sent (BCP 47), or, when it sent none or
//! `und`, the one `whatlang` reads in the text. Recorded with the review; the classifier
//! reads every review with both lexicons, so a wrong guess costs nothing but the record.

/// ISO 639-1: the two-letter primary subtags a tag may start with.
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs \
    cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz \
    ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv \
    mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru \
    rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur \
    uz ve vi vo wa wo xh yi yo za zh zu";

/// Why a tag is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language tag such as \"en\", \"zh-CN\" or \"und\"")]
pub struct UnknownLanguage(pub String);

/// The primary language of a well-formed BCP 47 tag with a known two-letter language
/// (`zh-Hans-CN` → `zh`); `None` for `und`, which asks for detection.
pub fn primary_language(tag: &str) -> Result<Option<String>, UnknownLanguage> {
    let refuse = || UnknownLanguage(tag.chars().take(35).collect());
    let lower = tag.to_ascii_lowercase();
    let mut subtags = lower.split(['-', '_']);
    let primary = subtags.next().unwrap_or_default();
    let well_formed = tag.len() <= 35
        && subtags.all(|subtag| (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !well_formed {
        return Err(refuse());
    }
    if primary == "und" {
        return Ok(None);
    }
    if primary.len() == 2 && ISO_639_1.split_whitespace().any(|code| code == primary) {
        Ok(Some(primary.to_owned()))
    } else {
        Err(refuse())
    }
}

/// The language `whatlang` reads in `text`, as a two-letter code (`und` when it cannot say).
pub fn detect(text: &str) -> String {
    let code = match whatlang::detect_lang(text) {
        Some(whatlang::Lang::Cmn) => "zh",
        Some(whatlang::Lang::Eng) => "en",
        Some(whatlang::Lang::Jpn) => "ja",
        Some(whatlang::Lang::Kor) => "ko",
        Some(whatlang::Lang::Deu) => "de",
        Some(whatlang::Lang::Fra) => "fr",
        Some(whatlang::Lang::Spa) => "es",
        Some(whatlang::Lang::Por) => "pt",
        Some(whatlang::Lang::Ita) => "it",
        Some(whatlang::Lang::Rus) => "ru",
        _ => "und",
    };
    code.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_or_refused() {
        assert_eq!(primary_language("zh-CN"), Ok(Some("zh".into())));
        assert_eq!(primary_language("en_GB"), Ok(Some("en".into())));
        assert_eq!(primary_language("und"), Ok(None));
        for bad in ["xx", "english", "zh-", "en-<script>", "", "q"] {
            assert!(primary_language(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chinese_and_english_are_told_apart() {
        assert_eq!(detect("用了两天就坏了，完全不能用"), "zh");
        assert_eq!(detect("The handle snapped off after six days of normal use"), "en");
    }
}
