//! What a review says went wrong, read from its title and text with the lexicons: whether it
//! is negative, and why. No I/O, no model: phrases, and the few rules that keep a phrase from
//! being read the wrong way round.
//!
//! - **Clauses.** Text is cut into clauses at punctuation and at words that turn a sentence
//!   ("but", "however", "但是", "不过", "就是"), so "the item is fine but delivery took 19 days"
//!   is two clauses and only the second one complains.
//! - **Negation.** A phrase right after a negator is not a complaint: "not broken", "no damage
//!   at all", "没有破损", "一点都不漏" (English: within the three words before it; Chinese:
//!   ending at most two characters before it).
//! - **Fears and guesses.** In a clause with "worried", "afraid", "担心", "以为", what follows
//!   is not a fact: "I was worried it would leak but it doesn't" names no problem.
//! - **Longest phrase.** A phrase inside a longer one that matched counts as the longer one:
//!   "漏发" (an item left out) is not "漏" (a leak).
//! - **Damage on the way.** "Cracked", "破了" are the product's fault, unless the same
//!   sentence speaks of the box, the parcel or the courier, or already complains of shipping:
//!   "the box was crushed, teapot inside was cracked" is shipping.
//! - **Topics, last.** A negative review that names no reason's phrase is given the reasons
//!   whose topic words it speaks of most ("lasted a grand total of 6 days": quality;
//!   "耳机左边没声音": quality), skipping English clauses that deny ("shipping was not slow");
//!   `other` when it speaks of none.
//!
//! Both lexicons read every review, so "质量 ok but shipping took forever" is read whole;
//! which language a review is in is recorded, not used to choose.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use super::lexicon::{CHINESE, ENGLISH, Lexicon, Phrase};
use super::reason::Reason;

/// A review's reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub negative: bool,
    /// Why, for a negative review (`other` when it names nothing); empty for the rest.
    pub reasons: Vec<Reason>,
}

/// Parses and indexes the lexicons now (about 5 ms), so that a function does it during its
/// init rather than in its first event.
pub fn load_lexicons() {
    LazyLock::force(&PHRASES);
    LazyLock::force(&HINTS);
    LazyLock::force(&ENGLISH_NEGATORS);
}

/// Rating 1 or 2 is negative; 3 is negative when its words say something went wrong; 4 and 5
/// are not.
pub fn classify(rating: u8, title: &str, text: &str) -> Classification {
    let words = format!("{title}. {text}");
    let findings = read(&words, &PHRASES);
    let negative = match rating {
        0..=2 => true,
        3 => findings.complaint || !findings.reasons.is_empty(),
        _ => false,
    };
    let reasons = match (negative, findings.reasons.is_empty()) {
        (false, _) => Vec::new(),
        (true, true) => most_hinted(&words),
        (true, false) => findings.reasons.into_iter().collect(),
    };
    Classification { negative, reasons }
}

/// For a negative review that names no reason's phrase ("lasted a grand total of 6 days",
/// "耳机左边没声音"): the reasons whose topic words it speaks of most, or `other`.
fn most_hinted(words: &str) -> Vec<Reason> {
    let hints = read(words, &HINTS).hints;
    match hints.values().max() {
        Some(&most) => hints
            .into_iter()
            .filter(|(_, count)| *count == most)
            .map(|(reason, _)| reason)
            .collect(),
        None => vec![Reason::Other],
    }
}

/// What the words say, whatever the rating.
#[derive(Debug, Default)]
struct Findings {
    reasons: BTreeSet<Reason>,
    /// Something went wrong, said without a reason ("disappointed", "失望").
    complaint: bool,
    /// How often each reason's topic words appear (a hint pass only).
    hints: std::collections::BTreeMap<Reason, u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Reason(Reason),
    Complaint,
    /// Quality, or shipping when its sentence is about the way (see [`Lexicon::damage`]).
    Damage,
    /// A phrase that names no problem, swallowing the problem's word inside it.
    Nothing,
    /// A reason's topic word.
    Hint(Reason),
}

/// A phrase found in a clause: where (words or characters), and what it signals.
#[derive(Debug, Clone, Copy)]
struct Found {
    start: usize,
    end: usize,
    signal: Signal,
}

fn read(text: &str, index: &Index) -> Findings {
    let normalised = text.to_lowercase().replace(['’', '‘', '`'], "'");
    let mut findings = Findings::default();
    for sentence in sentences(&normalised) {
        let mut found: Vec<Found> = english_clauses(sentence)
            .iter()
            .flat_map(|words| english_findings(words, index))
            .collect();
        found.extend(
            chinese_clauses(sentence)
                .iter()
                .flat_map(|chars| chinese_findings(chars, index)),
        );
        let on_the_way = found
            .iter()
            .any(|found| found.signal == Signal::Reason(Reason::Shipping))
            || mentions_transit(sentence);
        for found in found {
            match found.signal {
                Signal::Reason(reason) => {
                    findings.reasons.insert(reason);
                }
                Signal::Complaint => findings.complaint = true,
                Signal::Damage if on_the_way => {
                    findings.reasons.insert(Reason::Shipping);
                }
                Signal::Damage => {
                    findings.reasons.insert(Reason::Quality);
                }
                Signal::Nothing => {}
                Signal::Hint(reason) => *findings.hints.entry(reason).or_default() += 1,
            }
        }
    }
    findings
}

/// Whether a sentence speaks of the parcel or the carrier, in either language.
fn mentions_transit(sentence: &str) -> bool {
    let words = words_of(sentence);
    let chars: Vec<char> = sentence.chars().collect();
    (0..words.len()).any(|index| {
        ENGLISH
            .transit
            .iter()
            .any(|phrase| words_at(phrase, &words, index).is_some())
    }) || (0..chars.len()).any(|index| {
        CHINESE
            .transit
            .iter()
            .any(|phrase| text_at(phrase, &chars, index).is_some())
    })
}

/// The text cut at punctuation, Latin and CJK (not at `-`: "leak-proof" is one phrase).
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| {
        matches!(
            c,
            '.' | ','
                | '!'
                | '?'
                | ';'
                | ':'
                | '\n'
                | '('
                | ')'
                | '"'
                | '…'
                | '。'
                | '，'
                | '！'
                | '？'
                | '；'
                | '：'
                | '、'
                | '（'
                | '）'
                | '“'
                | '”'
                | '~'
                | '～'
                | '—'
        )
    })
    .filter(|clause| !clause.trim().is_empty())
}

fn lexicon_signals(lexicon: &'static Lexicon) -> impl Iterator<Item = (&'static Phrase, Signal)> {
    lexicon
        .reasons
        .iter()
        .flat_map(|(reason, phrases)| phrases.iter().map(move |phrase| (phrase, Signal::Reason(*reason))))
        .chain(lexicon.complaint.iter().map(|phrase| (phrase, Signal::Complaint)))
        .chain(lexicon.damage.iter().map(|phrase| (phrase, Signal::Damage)))
        .chain(lexicon.not_a_problem.iter().map(|phrase| (phrase, Signal::Nothing)))
}

/// The signalling phrases by their first word (English) or character (Chinese): a review is
/// read in time that follows its length, not the lexicons' thousands of phrases.
struct Index {
    /// Whether a clause with a negator is passed over whole: for topic words, which "shipping
    /// was not slow" speaks of without complaining.
    skip_negated_clauses: bool,
    by_first_word: HashMap<&'static str, Vec<(&'static Phrase, Signal)>>,
    /// English phrases starting with `*` or `{n}`, tried at every word.
    anywhere: Vec<(&'static Phrase, Signal)>,
    by_first_char: HashMap<char, Vec<(&'static Phrase, Signal)>>,
}

static PHRASES: LazyLock<Index> =
    LazyLock::new(|| Index::of(lexicon_signals(&ENGLISH).chain(lexicon_signals(&CHINESE)), false));

static HINTS: LazyLock<Index> = LazyLock::new(|| Index::of(hint_signals(&ENGLISH).chain(hint_signals(&CHINESE)), true));

fn hint_signals(lexicon: &'static Lexicon) -> impl Iterator<Item = (&'static Phrase, Signal)> {
    lexicon
        .hints
        .iter()
        .flat_map(|(reason, phrases)| phrases.iter().map(move |phrase| (phrase, Signal::Hint(*reason))))
        .chain(lexicon.not_a_problem.iter().map(|phrase| (phrase, Signal::Nothing)))
}

impl Index {
    fn of(signals: impl Iterator<Item = (&'static Phrase, Signal)>, skip_negated_clauses: bool) -> Self {
        let mut index = Index {
            skip_negated_clauses,
            by_first_word: HashMap::new(),
            anywhere: Vec::new(),
            by_first_char: HashMap::new(),
        };
        for (phrase, signal) in signals {
            match phrase {
                Phrase::Words(words) => match words.first().map(String::as_str) {
                    Some("*" | "{n}") => index.anywhere.push((phrase, signal)),
                    Some(first) => index.by_first_word.entry(first).or_default().push((phrase, signal)),
                    None => {}
                },
                Phrase::Text(text) => {
                    if let Some(first) = text.chars().next() {
                        index.by_first_char.entry(first).or_default().push((phrase, signal));
                    }
                }
            }
        }
        index
    }

    fn starting_with_word(&self, word: &str) -> impl Iterator<Item = &(&'static Phrase, Signal)> {
        self.by_first_word.get(word).into_iter().flatten().chain(&self.anywhere)
    }

    fn starting_with_char(&self, c: char) -> impl Iterator<Item = &(&'static Phrase, Signal)> {
        self.by_first_char.get(&c).into_iter().flatten()
    }
}

// ---------------------------------------------------------------- English

const NUMBER_WORDS: &[&str] = &[
    "a", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "few",
    "couple",
];

/// The one-word negators, for the wildcard.
static ENGLISH_NEGATORS: LazyLock<BTreeSet<&'static str>> = LazyLock::new(|| {
    ENGLISH
        .negators
        .iter()
        .filter_map(|phrase| match phrase {
            Phrase::Words(words) if words.len() == 1 => Some(words[0].as_str()),
            _ => None,
        })
        .collect()
});

fn words_of(clause: &str) -> Vec<&str> {
    clause
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '\''))
        .map(|word| word.trim_matches('\''))
        .filter(|word| !word.is_empty())
        .collect()
}

/// A sentence's words, cut again before each word that turns it.
fn english_clauses(sentence: &str) -> Vec<Vec<&str>> {
    let words = words_of(sentence);
    let mut clauses = vec![Vec::new()];
    let mut index = 0;
    while index < words.len() {
        if let Some(length) = ENGLISH
            .contrast
            .iter()
            .find_map(|phrase| words_at(phrase, &words, index))
        {
            clauses.push(Vec::new());
            index += length;
            continue;
        }
        clauses.last_mut().expect("one clause at least").push(words[index]);
        index += 1;
    }
    clauses.retain(|clause| !clause.is_empty());
    clauses
}

/// How many words `phrase` covers at `index`, if it stands there.
fn words_at(phrase: &Phrase, words: &[&str], index: usize) -> Option<usize> {
    let Phrase::Words(pattern) = phrase else { return None };
    if index + pattern.len() > words.len() {
        return None;
    }
    let fits = pattern
        .iter()
        .zip(&words[index..])
        .all(|(want, word)| match want.as_str() {
            // Any word but a negator: "shipping was * slow" is not "shipping was not slow".
            "*" => !ENGLISH_NEGATORS.contains(word),
            "{n}" => word.bytes().all(|b| b.is_ascii_digit()) || NUMBER_WORDS.contains(word),
            want => want == *word,
        });
    fits.then_some(pattern.len())
}

fn english_findings(words: &[&str], phrases: &Index) -> Vec<Found> {
    let lexicon = &*ENGLISH;
    let mut found = Vec::new();
    for index in 0..words.len() {
        for (phrase, signal) in phrases.starting_with_word(words[index]) {
            if let Some(length) = words_at(phrase, words, index) {
                found.push(Found {
                    start: index,
                    end: index + length,
                    signal: *signal,
                });
            }
        }
    }
    let hypothetical = (0..words.len()).find(|index| {
        lexicon
            .hypothetical
            .iter()
            .any(|phrase| words_at(phrase, words, *index).is_some())
    });
    let negator_at = |index: usize| {
        lexicon
            .negators
            .iter()
            .any(|phrase| words_at(phrase, words, index).is_some())
    };
    if phrases.skip_negated_clauses && (0..words.len()).any(negator_at) {
        return Vec::new();
    }
    let negated = |found: &Found| (found.start.saturating_sub(3)..found.start).any(negator_at);
    longest(found)
        .into_iter()
        .filter(|found| hypothetical.is_none_or(|marker| found.start < marker))
        .filter(|found| !negated(found))
        .collect()
}

// ---------------------------------------------------------------- Chinese

/// A sentence cut again at each word that turns it, as characters.
fn chinese_clauses(sentence: &str) -> Vec<Vec<char>> {
    let chars: Vec<char> = sentence.chars().collect();
    let mut clauses = vec![Vec::new()];
    let mut index = 0;
    while index < chars.len() {
        if let Some(length) = CHINESE
            .contrast
            .iter()
            .find_map(|phrase| text_at(phrase, &chars, index))
        {
            clauses.push(Vec::new());
            index += length;
            continue;
        }
        clauses.last_mut().expect("one clause at least").push(chars[index]);
        index += 1;
    }
    clauses.retain(|clause| clause.iter().any(|c| !c.is_ascii()));
    clauses
}

fn text_at(phrase: &Phrase, chars: &[char], index: usize) -> Option<usize> {
    let Phrase::Text(text) = phrase else { return None };
    let mut length = 0;
    for want in text.chars() {
        if chars.get(index + length) != Some(&want) {
            return None;
        }
        length += 1;
    }
    Some(length)
}

/// Whether a phrase of `phrases` ends at `end`.
fn ends_at(phrases: &[Phrase], chars: &[char], end: usize) -> bool {
    phrases.iter().any(|phrase| {
        let Phrase::Text(text) = phrase else { return false };
        let length = text.chars().count();
        end >= length && text_at(phrase, chars, end - length).is_some()
    })
}

fn chinese_findings(chars: &[char], phrases: &Index) -> Vec<Found> {
    let lexicon = &*CHINESE;
    let mut found = Vec::new();
    for index in 0..chars.len() {
        for (phrase, signal) in phrases.starting_with_char(chars[index]) {
            if let Some(length) = text_at(phrase, chars, index) {
                found.push(Found {
                    start: index,
                    end: index + length,
                    signal: *signal,
                });
            }
        }
    }
    let hypothetical = (0..chars.len()).find(|index| {
        lexicon
            .hypothetical
            .iter()
            .any(|phrase| text_at(phrase, chars, *index).is_some())
    });
    let negated =
        |found: &Found| (found.start.saturating_sub(2)..=found.start).any(|end| ends_at(&lexicon.negators, chars, end));
    longest(found)
        .into_iter()
        .filter(|found| hypothetical.is_none_or(|marker| found.start < marker))
        .filter(|found| !negated(found))
        .collect()
}

/// The phrases found, less those that lie inside a longer one found.
fn longest(found: Vec<Found>) -> Vec<Found> {
    found
        .iter()
        .filter(|inner| {
            !found.iter().any(|outer| {
                outer.start <= inner.start
                    && inner.end <= outer.end
                    && (outer.end - outer.start) > (inner.end - inner.start)
            })
        })
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(rating: u8, text: &str) -> Vec<&'static str> {
        classify(rating, "", text)
            .reasons
            .iter()
            .map(|reason| reason.as_str())
            .collect()
    }

    #[test]
    fn negation_and_contrast_name_no_problem_that_is_not_there() {
        for text in [
            "not broken at all, works great",
            "No damage at all, well packed",
            "I was worried it would leak but it doesn't",
            "没有破损，包装很好",
            "一点都不漏，很好用",
        ] {
            assert_eq!(reasons(3, text), Vec::<&str>::new(), "{text}");
        }
        assert_eq!(reasons(2, "the item is fine but delivery took 19 days"), ["shipping"]);
        assert_eq!(reasons(1, "东西还行，就是物流太慢了"), ["shipping"]);
        assert_eq!(reasons(2, "meh. i just don't like it"), ["other"]);
        assert_eq!(
            reasons(2, "shipping was not slow at all, the colour is just ugly"),
            ["not_as_described"],
            "no phrase: the topic it speaks of, and not the shipping it denies"
        );
        assert!(!classify(3, "", "leak-proof lid, does the job").negative);
        assert!(!classify(3, "", "漏勺很好用，沥水快").negative);
    }

    #[test]
    fn several_reasons_and_other() {
        assert_eq!(
            reasons(1, "Arrived late and the lid leaks. Seller never replied."),
            ["quality", "shipping", "seller_service"]
        );
        assert_eq!(reasons(2, "meh."), ["other"]);
        assert_eq!(
            reasons(1, "lasted a grand total of 6 days"),
            ["quality"],
            "a topic word, no phrase"
        );
        assert_eq!(
            reasons(5, "broke after a week but the seller replaced it, great"),
            Vec::<&str>::new()
        );
        assert_eq!(
            reasons(1, "漏发了一个配件，客服不理人"),
            ["not_as_described", "seller_service"]
        );
    }

    #[test]
    fn a_three_star_review_is_negative_only_when_its_words_say_so() {
        assert!(!classify(3, "OK", "does the job, nothing special").negative);
        assert!(classify(3, "Meh", "disappointed, expected better").negative);
        assert!(!classify(3, "还行", "东西还可以，价格合适").negative);
        assert!(classify(3, "", "有点失望，做工粗糙").negative);
    }
}
