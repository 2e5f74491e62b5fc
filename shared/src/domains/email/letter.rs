//! A letter: what an email says, before it is HTML or text. Every template is composed into
//! one (see [`super::compose`]), and the two askama templates in `shared/templates/` lay it
//! out, so escaping and layout are written once. The HTML template escapes every field.

use askama::Template;

use super::locale::Locale;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub locale: Locale,
    pub subject: String,
    pub greeting: String,
    pub paragraphs: Vec<String>,
    /// Someone's own words, quoted: the buyer's question, the seller's reply or reason.
    pub quotes: Vec<Quote>,
    /// Label and value pairs: order number, carrier, tracking number.
    pub facts: Vec<(String, String)>,
    pub table: Option<LineTable>,
    /// Measures against their limits, each with a status and a bar (the weekly report).
    pub scorecard: Vec<ScoreRow>,
    pub sections: Vec<Section>,
    pub link: Option<Link>,
    pub sign_off: String,
}

/// One measure of a scorecard. `bar` (0 to 100) is how far it is toward failing, drawn as two
/// table cells: email clients show tables, not scripts or images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRow {
    pub label: String,
    pub value: String,
    pub limit: String,
    pub status: String,
    /// A CSS colour of the status, chosen by the composer (never from outside).
    pub colour: &'static str,
    pub bar: u8,
}

impl ScoreRow {
    /// The rest of the bar's 100 pixels.
    pub fn rest(&self) -> u8 {
        100 - self.bar.min(100)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub label: String,
    pub text: String,
}

/// An order's lines with their header and total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTable {
    pub header: [String; 4],
    pub rows: Vec<[String; 4]>,
    pub total_label: String,
    pub total: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub heading: String,
    pub items: Vec<String>,
}

/// Only ever an `https://` address: a link is not rendered otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub label: String,
    pub url: String,
}

impl Link {
    pub fn https(label: String, url: &str) -> Option<Self> {
        let safe = url.starts_with("https://") && !url.chars().any(|c| c.is_whitespace() || c.is_control());
        safe.then(|| Link {
            label,
            url: url.to_owned(),
        })
    }
}

/// An email's two bodies and its subject, ready for MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "email.html")]
struct HtmlLetter<'a> {
    letter: &'a Letter,
}

#[derive(Template)]
#[template(path = "email.txt")]
struct TextLetter<'a> {
    letter: &'a Letter,
}

impl Letter {
    pub fn render(&self) -> Result<Rendered, askama::Error> {
        Ok(Rendered {
            subject: self.subject.clone(),
            html: HtmlLetter { letter: self }.render()?,
            text: TextLetter { letter: self }.render()?,
        })
    }
}

/// Text from outside as one line: control characters (CR, LF, tabs) become spaces, so no
/// name or title can break a header, a table row or the layout.
pub fn one_line(text: &str) -> String {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}
