//! A seller health run in pages. The hourly schedule starts a run, named by its stamp; each
//! page takes the next [`SELLERS_PER_PAGE`] listed sellers, hands the page after it on through
//! the outbox first (once: its key is the run's and the page's), then sends the weekly reports
//! due among its sellers and, on the operator report's day, writes its sellers' figures as a
//! part. The last page puts the parts together. A run's cost per invocation is one page's,
//! however many sellers there are; a schedule firing twice hands each page on once, and every
//! report is claimed, so a page delivered twice sends nothing twice.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::mechanisms::function::Function;
use crate::mechanisms::outbox::Relayed;
use crate::storage::Cursor;

/// The sellers one page looks at: each due one costs about ten requests (its claim, its day
/// tallies, its best sellers, its watched stock, the email's transaction), so a page stays a
/// few seconds' work whatever the hour.
pub const SELLERS_PER_PAGE: usize = 50;

/// Where a run stands: its clock, which page, where the page starts, and the operator
/// report's last day when this run writes one (decided by its first page, so that every page
/// of a run agrees).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPage {
    pub dedupe_key: String,
    /// The schedule's stamp: every page judges what is due by it, not by when it runs.
    pub run_at: DateTime<Utc>,
    pub page: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_report: Option<NaiveDate>,
}

impl RunPage {
    /// A run's first page, as its schedule starts it.
    pub fn first(run_at: DateTime<Utc>, operator_report: Option<NaiveDate>) -> Self {
        Self {
            dedupe_key: page_key(run_at, 0),
            run_at,
            page: 0,
            after: None,
            operator_report,
        }
    }

    /// The page after this one, which starts after `after`.
    pub fn next(&self, after: Cursor) -> Self {
        Self {
            dedupe_key: page_key(self.run_at, self.page + 1),
            run_at: self.run_at,
            page: self.page + 1,
            after: Some(after),
            operator_report: self.operator_report,
        }
    }
}

/// `seller-health#page#<run>#<page>`: handed on once per run, however often a page runs.
pub fn page_key(run_at: DateTime<Utc>, page: u32) -> String {
    Function::SellerHealth.key(&["page", &run_at.to_rfc3339(), &page.to_string()])
}

impl Relayed for RunPage {
    const KIND: &'static str = "seller_health_page";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}
