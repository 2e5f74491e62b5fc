//! An erasure in pages. The request hands the first page on; each page erases at most
//! [`ITEMS_PER_PAGE`] of the buyer's items from one stage's index, then hands the next page
//! on through the outbox (once: its key is the erasure's and the page's). A stage ends when
//! its index has nothing after the page's cursor; the next stage starts from the front.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::places::{Named, email_sha256};
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Relayed;
use crate::storage::Cursor;
use crate::values::pii::EmailAddress;

/// Items erased per page: one `BatchGetItem` reads them, and each is one conditional write,
/// so a page is a second's work however much the buyer has.
pub const ITEMS_PER_PAGE: usize = 25;

/// Where the buyer's data is, in the order it is erased: the records first, then the
/// exports, then the dead letters (a replay of one must find the records already erased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Orders,
    Threads,
    Reviews,
    Refunds,
    Outbox,
    Preferences,
    Exports,
    DeadLetters,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Orders,
        Stage::Threads,
        Stage::Reviews,
        Stage::Refunds,
        Stage::Outbox,
        Stage::Preferences,
        Stage::Exports,
        Stage::DeadLetters,
    ];

    pub fn next(self) -> Option<Stage> {
        let at = Stage::ALL.iter().position(|stage| *stage == self)?;
        Stage::ALL.get(at + 1).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Orders => "orders",
            Stage::Threads => "threads",
            Stage::Reviews => "reviews",
            Stage::Refunds => "refunds",
            Stage::Outbox => "outbox",
            Stage::Preferences => "preferences",
            Stage::Exports => "exports",
            Stage::DeadLetters => "dead_letters",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasurePage {
    pub dedupe_key: String,
    pub buyer_id: String,
    /// The request's time in unix seconds: requests for one buyer and time are one erasure.
    pub erasure_id: String,
    pub requested_at: DateTime<Utc>,
    pub page: u32,
    pub stage: Stage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
    /// The SHA-256 of the address the request gave (never the address: these pages stay in
    /// the outbox for a week), to find the dead letters that name it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_sha256: Option<String>,
}

impl ErasurePage {
    pub fn first(buyer_id: &str, erasure_id: &str, requested_at: DateTime<Utc>) -> Self {
        Self {
            dedupe_key: page_key(buyer_id, erasure_id, 0),
            buyer_id: buyer_id.to_owned(),
            erasure_id: erasure_id.to_owned(),
            requested_at,
            page: 0,
            stage: Stage::Orders,
            after: None,
            email_sha256: None,
        }
    }

    /// With the address the request named, as its hash.
    pub fn with_email(mut self, email: Option<&EmailAddress>) -> Self {
        self.email_sha256 = email.map(email_sha256);
        self
    }

    /// Whom its dead letters may name.
    pub fn named(&self) -> Named {
        Named {
            buyer_id: self.buyer_id.clone(),
            email_sha256: self.email_sha256.clone(),
        }
    }

    /// The page after this one: the same stage after `after`, or the next stage's first.
    pub fn next(&self, after: Option<Cursor>) -> Option<Self> {
        let (stage, after) = match after {
            Some(after) => (self.stage, Some(after)),
            None => (self.stage.next()?, None),
        };
        Some(Self {
            dedupe_key: page_key(&self.buyer_id, &self.erasure_id, self.page + 1),
            page: self.page + 1,
            stage,
            after,
            ..self.clone()
        })
    }
}

/// `buyer-privacy#erasure#<buyer>#<erasure>#<page>`.
pub fn page_key(buyer_id: &str, erasure_id: &str, page: u32) -> String {
    Function::BuyerPrivacy.key(&["erasure", buyer_id, erasure_id, &page.to_string()])
}

impl Relayed for ErasurePage {
    const KIND: &'static str = "erasure_page";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}

/// An export to write: handed on by the request, written by the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportJob {
    pub dedupe_key: String,
    pub buyer_id: String,
    pub export_id: String,
    /// Where the document goes on the shelf.
    pub object_key: String,
}

impl Relayed for ExportJob {
    const KIND: &'static str = "buyer_export";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}

/// `exports/<buyer>/<export>.json`: everything of a buyer's under one prefix, which their
/// erasure deletes.
pub fn export_object_key(buyer_id: &str, export_id: &str) -> String {
    format!("{}{export_id}.json", export_prefix(buyer_id))
}

pub fn export_prefix(buyer_id: &str) -> String {
    format!("exports/{buyer_id}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_go_through_every_stage_once_in_order() {
        let first = ErasurePage::first("buy_1", "evt_1", "2026-12-01T00:00:00Z".parse().unwrap());
        let cursor = Cursor {
            sort: "ord_9".into(),
            key: "ord_9".into(),
        };
        let same = first.next(Some(cursor.clone())).unwrap();
        assert_eq!((same.stage, same.page, same.after), (Stage::Orders, 1, Some(cursor)));
        let mut page = first;
        let mut stages = vec![page.stage];
        while let Some(next) = page.next(None) {
            stages.push(next.stage);
            page = next;
        }
        assert_eq!(stages, Stage::ALL);
        assert_eq!(page.dedupe_key, "buyer-privacy#erasure#buy_1#evt_1#7");
    }
}
