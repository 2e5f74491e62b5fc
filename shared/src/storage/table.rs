//! The back office's tables and indexes as the domain names them. The physical names come
//! from each function's environment (`ORDERS_TABLE`, …), which the template sets.

use std::fmt;

use chrono::{DateTime, Utc};

/// A table declared in `infra/template.yaml`; every one is keyed by a single string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Idempotency,
    Orders,
    Inventory,
    Sellers,
    Outbox,
    Emails,
    Suppression,
    Reviews,
    Refunds,
    Threads,
    Figures,
}

impl Table {
    pub const ALL: [Table; 11] = [
        Table::Idempotency,
        Table::Orders,
        Table::Inventory,
        Table::Sellers,
        Table::Outbox,
        Table::Emails,
        Table::Suppression,
        Table::Reviews,
        Table::Refunds,
        Table::Threads,
        Table::Figures,
    ];

    /// The attribute holding each item's key.
    pub fn key_attribute(self) -> &'static str {
        match self {
            Table::Idempotency
            | Table::Suppression
            | Table::Reviews
            | Table::Refunds
            | Table::Threads
            | Table::Figures => "pk",
            Table::Orders => "order_id",
            Table::Inventory => "sku_key",
            Table::Sellers => "seller_id",
            Table::Outbox => "key",
            Table::Emails => "dedupe_key",
        }
    }

    /// The environment variable the template sets to the table's name.
    pub fn variable(self) -> &'static str {
        match self {
            Table::Idempotency => "IDEMPOTENCY_TABLE",
            Table::Orders => "ORDERS_TABLE",
            Table::Inventory => "INVENTORY_TABLE",
            Table::Sellers => "SELLERS_TABLE",
            Table::Outbox => "OUTBOX_TABLE",
            Table::Emails => "EMAILS_TABLE",
            Table::Suppression => "SUPPRESSION_TABLE",
            Table::Reviews => "REVIEWS_TABLE",
            Table::Refunds => "REFUNDS_TABLE",
            Table::Threads => "THREADS_TABLE",
            Table::Figures => "FIGURES_TABLE",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A global secondary index declared in the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// A seller's orders by status and time placed: `seller_id`, `status_placed`.
    OrdersBySellerStatus,
    /// Sparse, keys only: the SKUs carrying `watch`, which the sweep assesses.
    Watchlist,
    /// Sparse, keys only: the SKUs' review stats with an open trend, which the sweep re-checks.
    ReviewTrends,
    /// Sparse, keys only: pending refunds by when their reminder or deadline comes.
    PendingDue,
    /// Sparse: orders waiting to ship, by the day and time they must ship by.
    OrdersByShipDue,
    /// Sparse, keys only: threads whose clock runs, by when the sweep must next look.
    OpenThreads,
    /// Sparse: a buyer's orders with a seller not yet delivered or cancelled.
    OrdersOpenByBuyer,
    /// Sparse, whole items: every seller with a contact, for the weekly reports.
    SellersListed,
    /// A seller's SKUs by units sold in a week (`sku_week` = `<seller>#<monday>`, `units` a
    /// number): the week's best sellers in one query, however big the catalogue.
    TopSkus,
    /// Sparse, keys only: the orders still holding a buyer's personal data (`buyer_id`,
    /// removed when erased), for erasure and export.
    OrdersByBuyer,
    /// Sparse, keys only: the thread heads and messages still holding a buyer's data.
    ThreadsByBuyer,
    /// Keys only: a buyer's reviews (an erased review's `buyer_id` is a tombstone).
    ReviewsByBuyer,
    /// A buyer's refunds by when they were asked for.
    RefundsByBuyer,
    /// Sparse, keys only: outbox entries whose follow-ups carry a buyer's data.
    OutboxByBuyer,
    /// Sparse, keys only: the emails' ledger entries of emails to a buyer.
    EmailsByBuyer,
    /// Sparse: closed sellers (`closing`) by when their retention ends (`erase_after`).
    SellersClosing,
    /// Sparse, keys only: open claims by when their clock next needs the sweep.
    ClaimsDue,
    /// Sparse, whole items: the claims waiting for support staff, their deadline soonest first.
    AwaitingSupport,
}

impl Index {
    pub fn table(self) -> Table {
        match self {
            Index::OrdersBySellerStatus => Table::Orders,
            Index::Watchlist => Table::Inventory,
            Index::ReviewTrends => Table::Reviews,
            Index::PendingDue => Table::Refunds,
            Index::OrdersByShipDue => Table::Orders,
            Index::OpenThreads => Table::Threads,
            Index::OrdersOpenByBuyer => Table::Orders,
            Index::SellersListed => Table::Sellers,
            Index::TopSkus => Table::Figures,
            Index::OrdersByBuyer => Table::Orders,
            Index::ThreadsByBuyer => Table::Threads,
            Index::ReviewsByBuyer => Table::Reviews,
            Index::RefundsByBuyer => Table::Refunds,
            Index::OutboxByBuyer => Table::Outbox,
            Index::EmailsByBuyer => Table::Emails,
            Index::SellersClosing => Table::Sellers,
            Index::ClaimsDue | Index::AwaitingSupport => Table::Refunds,
        }
    }

    /// The index's name in the template.
    pub fn name(self) -> &'static str {
        match self {
            Index::OrdersBySellerStatus => "BySellerStatus",
            Index::Watchlist => "Watchlist",
            Index::ReviewTrends => "ReviewTrends",
            Index::PendingDue => "PendingDue",
            Index::OrdersByShipDue => "ByShipDue",
            Index::OpenThreads => "OpenThreads",
            Index::OrdersOpenByBuyer => "OpenByBuyer",
            Index::SellersListed => "Listed",
            Index::TopSkus => "TopSkus",
            Index::OrdersByBuyer
            | Index::ThreadsByBuyer
            | Index::ReviewsByBuyer
            | Index::OutboxByBuyer
            | Index::EmailsByBuyer => "ByBuyer",
            Index::RefundsByBuyer => "ByBuyerDate",
            Index::SellersClosing => "Closing",
            Index::ClaimsDue => "ClaimsDue",
            Index::AwaitingSupport => "AwaitingSupport",
        }
    }

    pub fn partition_attribute(self) -> &'static str {
        match self {
            Index::OrdersBySellerStatus => "seller_id",
            Index::Watchlist | Index::ReviewTrends => "watch",
            Index::PendingDue => "pending",
            Index::OrdersByShipDue => "ship_due_day",
            Index::OpenThreads => "clock_open",
            Index::OrdersOpenByBuyer => "open_for",
            Index::SellersListed => "listed",
            Index::TopSkus => "sku_week",
            Index::OrdersByBuyer
            | Index::ThreadsByBuyer
            | Index::ReviewsByBuyer
            | Index::RefundsByBuyer
            | Index::OutboxByBuyer
            | Index::EmailsByBuyer => "buyer_id",
            Index::SellersClosing => "closing",
            Index::ClaimsDue => "claims_due",
            Index::AwaitingSupport => "support_queue",
        }
    }

    pub fn sort_attribute(self) -> &'static str {
        match self {
            Index::OrdersBySellerStatus => "status_placed",
            Index::Watchlist => "sku_key",
            Index::ReviewTrends => "pk",
            Index::PendingDue => "next_at",
            Index::OrdersByShipDue => "ship_by",
            Index::OpenThreads => "clock_next",
            // Its items are ordered by their table key.
            Index::OrdersOpenByBuyer => "order_id",
            Index::SellersListed => "seller_id",
            Index::TopSkus => "units",
            Index::OrdersByBuyer => "order_id",
            Index::ThreadsByBuyer | Index::ReviewsByBuyer => "pk",
            Index::RefundsByBuyer => "requested",
            Index::OutboxByBuyer => "key",
            Index::EmailsByBuyer => "dedupe_key",
            Index::SellersClosing => "erase_after",
            Index::ClaimsDue => "claim_next",
            Index::AwaitingSupport => "support_due",
        }
    }

    /// Whether the sort key is a number (ordered by value) rather than text.
    pub fn sorts_by_number(self) -> bool {
        self == Index::TopSkus
    }

    /// Whether the index holds only the keys (the items must then be read by key).
    pub fn keys_only(self) -> bool {
        matches!(
            self,
            Index::Watchlist
                | Index::ReviewTrends
                | Index::PendingDue
                | Index::OpenThreads
                | Index::OrdersByBuyer
                | Index::ThreadsByBuyer
                | Index::ReviewsByBuyer
                | Index::OutboxByBuyer
                | Index::EmailsByBuyer
                | Index::SellersClosing
                | Index::ClaimsDue
        )
    }
}

/// One item's address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ItemKey {
    pub table: Table,
    pub key: String,
}

impl ItemKey {
    pub fn new(table: Table, key: impl Into<String>) -> Self {
        Self { table, key: key.into() }
    }
}

/// The entries of an index under one partition value, optionally only those whose sort key
/// starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub index: Index,
    pub partition: String,
    pub sort_prefix: Option<String>,
    /// Only the items whose sort key is at most this (`<=`), in order.
    pub sort_until: Option<String>,
    /// At most this many items: the first ones in the index's order.
    pub limit: Option<usize>,
    /// Only the entries after this one: the page after the one that ended there.
    pub after: Option<Cursor>,
    /// Highest sort key first (DynamoDB's `ScanIndexForward = false`).
    pub highest_first: bool,
}

/// An index entry a page ended at, to start the next page after it: its sort key and its
/// item's key (together unique in an index's partition). Plain data, so a continuation can
/// carry it in a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    pub sort: String,
    pub key: String,
}

impl Query {
    pub fn new(index: Index, partition: impl Into<String>) -> Self {
        Self {
            index,
            partition: partition.into(),
            sort_prefix: None,
            sort_until: None,
            limit: None,
            after: None,
            highest_first: false,
        }
    }

    /// The entries in descending order of their sort key.
    pub fn highest_first(mut self) -> Self {
        self.highest_first = true;
        self
    }

    /// A page: at most `size` entries, after `after` (from the start when `None`).
    pub fn page(mut self, size: usize, after: Option<Cursor>) -> Self {
        self.limit = Some(size);
        self.after = after;
        self
    }

    /// Only the first `count` items (as when only "one or more than one" matters).
    pub fn first(mut self, count: usize) -> Self {
        self.limit = Some(count);
        self
    }

    /// The items whose sort key is at most `last` (one key condition: not with a prefix).
    pub fn sort_at_most(mut self, last: impl Into<String>) -> Self {
        self.sort_until = Some(last.into());
        self
    }

    /// The entries whose `<time>#<id>` sort key (see [`sortable`]) is at or before `at`: `~`
    /// sorts after every character of an id.
    pub fn due_by(self, at: DateTime<Utc>) -> Self {
        self.sort_at_most(format!("{}#~", sortable(at)))
    }

    pub fn sort_starting_with(mut self, prefix: impl Into<String>) -> Self {
        self.sort_prefix = Some(prefix.into());
        self
    }
}

/// A time as index sort keys hold it: fixed width, so that text order is time order.
pub fn sortable(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}
