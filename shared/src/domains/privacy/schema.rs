//! The privacy events as the marketplace sends them.

use serde::Deserialize;

/// `data` of `buyer.erasure_requested`: sent for every seller the buyer bought from, so the
/// same buyer's erasure may come more than once.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRequestedData {
    pub buyer_id: String,
    /// A second key: the address the buyer used, for what is kept by address only.
    #[serde(default)]
    pub email: Option<String>,
    pub requested_at: String,
}

/// `data` of `buyer.export_requested`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequestedData {
    pub buyer_id: String,
    pub export_id: String,
}
