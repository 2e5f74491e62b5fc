//! The review lexicons (`lexicon/en.txt`, `lexicon/zh.txt`), built into the binary and read
//! once. A line is a phrase; `[name]` starts a section; `#` starts a comment.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use super::reason::Reason;

/// One language's phrases, by what they signal.
#[derive(Debug, Default)]
pub struct Lexicon {
    pub reasons: Vec<(Reason, Vec<Phrase>)>,
    /// Topic words of each reason (`[hint_quality]`: "battery", "电池"): read only when a
    /// negative review names no reason's phrase, to say what it is most likely about.
    pub hints: Vec<(Reason, Vec<Phrase>)>,
    /// Words that say something went wrong without saying what (for a 3-star review).
    pub complaint: Vec<Phrase>,
    pub negators: Vec<Phrase>,
    /// Words that turn a sentence ("fine, but …"): a clause ends before them.
    pub contrast: Vec<Phrase>,
    /// Words that make what follows a fear or a guess, not a fact ("worried it would leak").
    pub hypothetical: Vec<Phrase>,
    /// Damage ("cracked", "破了"): the product's fault, unless its sentence speaks of the
    /// parcel or the carrier, when it was done on the way.
    pub damage: Vec<Phrase>,
    /// What a sentence names when damage was done on the way ("box", "courier", "快递").
    pub transit: Vec<Phrase>,
    /// Phrases that hold a problem's word and name no problem ("leak proof", "漏勺"): being
    /// longer, they swallow the word.
    pub not_a_problem: Vec<Phrase>,
}

/// A phrase as matched: English as words (`*` any word, `{n}` a number), Chinese as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phrase {
    Words(Vec<String>),
    Text(String),
}

pub static ENGLISH: LazyLock<Lexicon> = LazyLock::new(|| parse(include_str!("lexicon/en.txt"), Script::Words));
pub static CHINESE: LazyLock<Lexicon> = LazyLock::new(|| parse(include_str!("lexicon/zh.txt"), Script::Text));

#[derive(Clone, Copy)]
enum Script {
    Words,
    Text,
}

fn parse(text: &str, script: Script) -> Lexicon {
    let mut sections: BTreeMap<String, Vec<Phrase>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
            section = name.to_owned();
            continue;
        }
        let phrase = match script {
            // As the review's words are cut: "knock-off" is "knock off".
            Script::Words => Phrase::Words(
                line.split(|c: char| c.is_whitespace() || c == '-')
                    .filter(|word| !word.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            Script::Text => Phrase::Text(line.to_owned()),
        };
        sections.entry(section.clone()).or_default().push(phrase);
    }
    let mut take = |name: &str| sections.remove(name).unwrap_or_default();
    Lexicon {
        reasons: Reason::NAMED
            .iter()
            .map(|reason| (*reason, take(reason.as_str())))
            .collect(),
        hints: Reason::NAMED
            .iter()
            .map(|reason| (*reason, take(&format!("hint_{}", reason.as_str()))))
            .collect(),
        complaint: take("complaint"),
        negators: take("negator"),
        contrast: take("contrast"),
        hypothetical: take("hypothetical"),
        damage: take("damage"),
        transit: take("transit"),
        not_a_problem: take("not_a_problem"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections a lexicon file may have, besides one per named reason.
    const SECTIONS: &[&str] = &[
        "complaint",
        "negator",
        "contrast",
        "hypothetical",
        "damage",
        "transit",
        "not_a_problem",
    ];

    #[test]
    fn both_lexicons_name_every_reason_and_their_cues() {
        for lexicon in [&*ENGLISH, &*CHINESE] {
            assert_eq!(lexicon.reasons.len(), Reason::NAMED.len());
            for (reason, phrases) in &lexicon.reasons {
                assert!(phrases.len() >= 10, "{reason:?} has {} phrases", phrases.len());
            }
            assert!(!lexicon.complaint.is_empty() && !lexicon.negators.is_empty());
            assert!(!lexicon.contrast.is_empty() && !lexicon.hypothetical.is_empty());
            assert!(!lexicon.damage.is_empty() && !lexicon.transit.is_empty());
        }
    }

    #[test]
    fn every_section_is_one_the_classifier_reads() {
        for text in [include_str!("lexicon/en.txt"), include_str!("lexicon/zh.txt")] {
            for line in text.lines().map(str::trim) {
                if let Some(name) = line.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
                    let reason = name.strip_prefix("hint_").unwrap_or(name);
                    let known = SECTIONS.contains(&name) || Reason::NAMED.iter().any(|named| named.as_str() == reason);
                    assert!(known, "unknown section [{name}]");
                }
            }
        }
    }
}
