//! What the stock domain is asked to do, by orders, refunds and its own pages: look at these
//! SKUs again (and fill backorders), or go on sweeping the watchlist. Stock alerts' queue
//! carries both; the outbox relays them as it relays any follow-up.

use serde::{Deserialize, Serialize};

use crate::mechanisms::outbox::Relayed;
use crate::storage::Cursor;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockChange {
    pub dedupe_key: String,
    pub seller_id: String,
    pub skus: Vec<String>,
    pub reason: StockChangeReason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// Set on a continuation: backorder filling goes on after this order (one page of the
    /// seller's backorders per message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Cursor>,
}

impl StockChange {
    /// The change that goes on filling this one's backorders after `after`: deduplicated by
    /// the first change's key and the page's start, so a retry hands on the same page once.
    pub fn continued_after(&self, after: Cursor) -> Self {
        Self {
            dedupe_key: format!("{}{CONTINUED}{}", self.first_key(), after.key),
            after: Some(after),
            ..self.clone()
        }
    }

    /// The key of the change that started the filling, whichever page this is.
    pub fn first_key(&self) -> &str {
        self.dedupe_key.split(CONTINUED).next().unwrap_or_default()
    }
}

/// What separates a page handed on from the key of the work it continues.
const CONTINUED: &str = "#after#";

/// One page of a sweep of the watchlist, after `after`; `run` names the scheduled sweep
/// (its time), so that a sweep firing twice hands on each page once and the next hour's
/// sweep starts afresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPage {
    pub dedupe_key: String,
    pub run: String,
    pub after: Cursor,
}

impl SweepPage {
    pub fn new(run: &str, after: Cursor) -> Self {
        Self {
            dedupe_key: format!("stock-alerts#sweep#{run}{CONTINUED}{}", after.key),
            run: run.to_owned(),
            after,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockChangeReason {
    /// An order reserved stock.
    Reserved,
    /// A cancelled order gave its reservation back.
    Released,
    /// A shipped order took its stock out of the warehouse.
    Shipped,
    /// An order could not be reserved: demand for stock that is not there.
    Backordered,
    /// A seller restocked (added to on hand).
    Restocked,
    /// A seller counted (set on hand), which may add or take away.
    Counted,
}

impl StockChangeReason {
    /// Whether backordered orders should try the stock now: it may have been freed, or a new
    /// backorder may have missed a restock that landed while it was being placed.
    pub fn may_fill_backorders(self) -> bool {
        matches!(
            self,
            StockChangeReason::Released
                | StockChangeReason::Restocked
                | StockChangeReason::Counted
                | StockChangeReason::Backordered
        )
    }
}

impl Relayed for StockChange {
    const KIND: &'static str = "stock_change";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}

impl Relayed for SweepPage {
    const KIND: &'static str = "stock_sweep";

    fn dedupe_key(&self) -> &str {
        &self.dedupe_key
    }
}
