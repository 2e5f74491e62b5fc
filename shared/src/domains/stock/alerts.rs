//! Once per problem: what a SKU's new level means given the problem its seller last heard of.
//!
//! A SKU that stays at its level raises nothing, however often it is assessed. A worse level
//! (out after low) is a new problem and is raised. A restock back to healthy clears the alert
//! (and the clearing is recorded), so a later drop raises again. An improvement short of
//! healthy (out to low) is recorded without an alert, so that a drop back to out is news.

use sha2::{Digest, Sha256};

use super::assess::{AlertState, Assessment, Level, StockItem};
use crate::domains::email::request::{SellerDigest, StockAlert, StockLevel};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing to tell and nothing to record.
    Keep,
    /// A new problem: tell the seller.
    Raise(AlertState),
    /// Better, still a problem: record, tell nobody.
    Ease(AlertState),
    /// Healthy again: record that the alert cleared.
    Clear(AlertState),
}

pub fn transition(state: AlertState, level: Level) -> Transition {
    match (state.level, level) {
        (was, now) if was == now => Transition::Keep,
        (_, Level::Healthy) => Transition::Clear(AlertState {
            level,
            episode: state.episode,
        }),
        (was, now) if now > was => Transition::Raise(AlertState {
            level,
            episode: state.episode + 1,
        }),
        _ => Transition::Ease(AlertState {
            level,
            episode: state.episode,
        }),
    }
}

/// One SKU's assessment and what it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    pub item: StockItem,
    pub assessment: Assessment,
    pub transition: Transition,
}

impl Evaluated {
    pub fn new(item: StockItem, assessment: Assessment) -> Self {
        let transition = transition(item.alert, assessment.level);
        Self {
            item,
            assessment,
            transition,
        }
    }

    pub fn raised(&self) -> Option<AlertState> {
        match self.transition {
            Transition::Raise(state) => Some(state),
            _ => None,
        }
    }

    /// The same assessment with its raise held back (no one to tell yet): recorded as if
    /// nothing changed, so a later evaluation raises it.
    pub fn hold_back_raise(mut self) -> Self {
        if self.raised().is_some() {
            self.transition = Transition::Keep;
        }
        self
    }

    /// Whether the sweep should keep reading this SKU: while it has a problem.
    pub fn watch(&self) -> bool {
        self.assessment.level != Level::Healthy
    }

    /// Whether anything about the SKU must be written.
    pub fn needs_write(&self) -> bool {
        self.transition != Transition::Keep || self.watch() != self.item.watched
    }
}

/// The digest of one seller's newly raised alerts, or `None` when nothing was raised.
pub fn digest(seller_id: &str, evaluated: &[Evaluated]) -> Option<SellerDigest> {
    let stock: Vec<StockAlert> = evaluated
        .iter()
        .filter(|e| e.item.seller_id == seller_id)
        .filter_map(|e| {
            let state = e.raised()?;
            Some(StockAlert {
                sku: e.item.sku.clone(),
                level: match state.level {
                    Level::Out => StockLevel::Out,
                    Level::Low => StockLevel::Low,
                    _ => StockLevel::RunningOut,
                },
                available: e.item.available,
                days_of_cover: e
                    .assessment
                    .days_of_cover
                    .map(|days| days.clamp(0, i64::from(u32::MAX)) as u32),
                lead_time_days: Some(e.item.lead_time_days.clamp(0, i64::from(u32::MAX)) as u32),
            })
        })
        .collect();
    (!stock.is_empty()).then(|| SellerDigest {
        seller_id: seller_id.to_owned(),
        stock,
        ..SellerDigest::default()
    })
}

/// The digest's dedupe key: the same raised alerts give the same key, so a retried evaluation
/// is one email.
pub fn digest_key(digest: &SellerDigest, evaluated: &[Evaluated]) -> String {
    let mut raised: Vec<String> = evaluated
        .iter()
        .filter_map(|e| {
            let state = e.raised()?;
            Some(format!("{}:{}:{}", e.item.sku, state.level.as_str(), state.episode))
        })
        .collect();
    raised.sort();
    let hash = hex::encode(Sha256::digest(raised.join("|")));
    crate::mechanisms::function::Function::StockAlerts.key(&["digest", &digest.seller_id, &hash[..32]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(level: Level, episode: u32) -> AlertState {
        AlertState { level, episode }
    }

    #[test]
    fn a_problem_is_raised_once_and_a_worse_one_again() {
        let quiet = AlertState::default();
        assert_eq!(transition(quiet, Level::Healthy), Transition::Keep);
        assert_eq!(transition(quiet, Level::Low), Transition::Raise(at(Level::Low, 1)));
        assert_eq!(
            transition(at(Level::Low, 1), Level::Low),
            Transition::Keep,
            "stays low: no repeat"
        );
        assert_eq!(
            transition(at(Level::Low, 1), Level::Out),
            Transition::Raise(at(Level::Out, 2))
        );
        assert_eq!(
            transition(at(Level::Out, 2), Level::Low),
            Transition::Ease(at(Level::Low, 2))
        );
        assert_eq!(
            transition(at(Level::Low, 2), Level::Healthy),
            Transition::Clear(at(Level::Healthy, 2))
        );
        assert_eq!(
            transition(at(Level::Healthy, 2), Level::Low),
            Transition::Raise(at(Level::Low, 3))
        );
    }
}
