//! Why a buyer was unhappy: the reasons marketplaces and sellers sort negative reviews by.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The product itself: defective, broken, leaking, badly made.
    Quality,
    /// Getting it: late, lost, damaged in transit.
    Shipping,
    /// Not what the listing said: other colour or item, fake, smaller than pictured.
    NotAsDescribed,
    /// Too small, too tight, runs large.
    SizeFit,
    /// Overpriced, not worth it.
    PriceValue,
    /// The seller: no reply, rude, refused to help.
    SellerService,
    /// Negative, and none of the above named.
    Other,
}

impl Reason {
    /// The reasons a lexicon names; `Other` is what is left.
    pub const NAMED: [Reason; 6] = [
        Reason::Quality,
        Reason::Shipping,
        Reason::NotAsDescribed,
        Reason::SizeFit,
        Reason::PriceValue,
        Reason::SellerService,
    ];

    pub const ALL: [Reason; 7] = [
        Reason::Quality,
        Reason::Shipping,
        Reason::NotAsDescribed,
        Reason::SizeFit,
        Reason::PriceValue,
        Reason::SellerService,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Quality => "quality",
            Reason::Shipping => "shipping",
            Reason::NotAsDescribed => "not_as_described",
            Reason::SizeFit => "size_fit",
            Reason::PriceValue => "price_value",
            Reason::SellerService => "seller_service",
            Reason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Reason::ALL.into_iter().find(|reason| reason.as_str() == text)
    }
}
