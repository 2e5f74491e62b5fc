//! An order's defects, counted once per order. A bad review, a defect refund and a claim on
//! one order are one defective order, as the order defect rate counts it: each order with any
//! defect has one mark, `defect#<seller>#<order>` in `FiguresTable`, holding the sources that
//! stand (`review#<id>`, `refund#<id>`, `claim#<id>`), and `order_defects` is counted once, in
//! the day tally of the function whose source came first, on that day.
//!
//! A source is added or removed in the transaction of the change it describes, the mark
//! written over the version read (or only if new), so two functions racing on one order
//! count it once. Only a review's source can be removed (an edit above two stars, a removal);
//! refunds and claims stand. So a mark whose set empties was counted by review monitoring,
//! which takes its count back; a mark counted by refund processing never empties.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::tally::{Tally, counter};
use crate::mechanisms::function::Function;
use crate::storage::{Condition, Item, ItemKey, StoreError, Table, Write, from_item, to_item};

/// As long as the tallies that count it: no window reads further back.
const KEPT_DAYS: i64 = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefectMark {
    pub seller_id: String,
    pub order_id: String,
    /// The day the order was counted, in the tally of `counted_by`.
    pub day: NaiveDate,
    pub counted_by: String,
    /// The defects that stand; empty once every one was taken back.
    pub sources: Vec<String>,
    pub version: u64,
}

pub fn defect_key(seller_id: &str, order_id: &str) -> String {
    format!("defect#{seller_id}#{order_id}")
}

/// The mark's address, to read it with the rest of a change's context.
pub fn mark_key(seller_id: &str, order_id: &str) -> ItemKey {
    ItemKey::new(Table::Figures, defect_key(seller_id, order_id))
}

pub fn mark_of(item: Option<Item>) -> Result<Option<DefectMark>, StoreError> {
    item.map(from_item::<DefectMark>).transpose()
}

/// A change to an order's mark: its write, and the count it makes (`+1` on the day an order
/// first has a defect, `-1` on its counted day when its last defect is taken back).
#[derive(Debug, Clone)]
pub struct DefectChange {
    pub write: Write,
    pub count: Option<(NaiveDate, i64)>,
}

/// `tally`'s write and, if `change`, the mark's, with its count added to `tally` when both are
/// of one day (DynamoDB writes an item once per transaction), or in a tally of its own.
pub fn written_with(change: Option<DefectChange>, tally: Tally, function: Function, seller_id: &str) -> Vec<Write> {
    let mut writes = Vec::new();
    let tally = match change {
        None => tally,
        Some(change) => {
            writes.push(change.write);
            match change.count {
                Some((day, count)) if day == tally.day() => tally.add(counter::ORDER_DEFECTS, count),
                Some((day, count)) => {
                    writes.extend(
                        Tally::on(function, seller_id, day)
                            .add(counter::ORDER_DEFECTS, count)
                            .write(),
                    );
                    tally
                }
                None => tally,
            }
        }
    };
    writes.extend(tally.write());
    writes
}

/// `source` standing on `order_id` from `at`: `None` when it already stood.
pub fn source_added(
    mark: Option<&DefectMark>,
    function: Function,
    seller_id: &str,
    order_id: &str,
    source: &str,
    at: DateTime<Utc>,
) -> Result<Option<DefectChange>, StoreError> {
    if mark.is_some_and(|mark| mark.sources.iter().any(|standing| standing == source)) {
        return Ok(None);
    }
    let first = mark.is_none_or(|mark| mark.sources.is_empty());
    let next = match mark {
        Some(mark) if !first => DefectMark {
            sources: mark.sources.iter().cloned().chain([source.to_owned()]).collect(),
            version: mark.version + 1,
            ..mark.clone()
        },
        _ => DefectMark {
            seller_id: seller_id.to_owned(),
            order_id: order_id.to_owned(),
            day: at.date_naive(),
            counted_by: function.name().to_owned(),
            sources: vec![source.to_owned()],
            version: mark.map_or(0, |mark| mark.version + 1),
        },
    };
    Ok(Some(DefectChange {
        write: put_mark(&next, mark.map(|mark| mark.version))?,
        count: first.then_some((next.day, 1)),
    }))
}

/// `source` taken back: `None` when it did not stand.
pub fn source_removed(mark: Option<&DefectMark>, source: &str) -> Result<Option<DefectChange>, StoreError> {
    let Some(mark) = mark.filter(|mark| mark.sources.iter().any(|standing| standing == source)) else {
        return Ok(None);
    };
    let next = DefectMark {
        sources: mark
            .sources
            .iter()
            .filter(|standing| *standing != source)
            .cloned()
            .collect(),
        version: mark.version + 1,
        ..mark.clone()
    };
    Ok(Some(DefectChange {
        write: put_mark(&next, Some(mark.version))?,
        count: next.sources.is_empty().then_some((mark.day, -1)),
    }))
}

fn put_mark(mark: &DefectMark, read_version: Option<u64>) -> Result<Write, StoreError> {
    let mut item = to_item(mark)?;
    item.insert("pk".to_owned(), defect_key(&mark.seller_id, &mark.order_id).into());
    let expires = (mark.day + Duration::days(KEPT_DAYS))
        .and_hms_opt(0, 0, 0)
        .map_or(0, |midnight| midnight.and_utc().timestamp());
    item.insert("expires_at".to_owned(), expires.into());
    let condition = match read_version {
        None => Condition::ItemMissing,
        Some(version) => Condition::equals("version", version as i64),
    };
    Ok(Write::put(Table::Figures, item).when(condition))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str) -> DateTime<Utc> {
        format!("{day}T10:00:00Z").parse().unwrap()
    }

    #[test]
    fn an_order_is_counted_once_however_many_defects_it_has() {
        let first = source_added(None, Function::ReviewMonitor, "s", "o", "review#r1", at("2026-12-01"))
            .unwrap()
            .unwrap();
        assert_eq!(first.count, Some((at("2026-12-01").date_naive(), 1)));
        let mark = DefectMark {
            seller_id: "s".into(),
            order_id: "o".into(),
            day: at("2026-12-01").date_naive(),
            counted_by: "review-monitor".into(),
            sources: vec!["review#r1".into()],
            version: 0,
        };
        let second = source_added(
            Some(&mark),
            Function::RefundProcessor,
            "s",
            "o",
            "claim#c1",
            at("2026-12-03"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(second.count, None, "the order was counted already");
        assert!(
            source_added(
                Some(&mark),
                Function::ReviewMonitor,
                "s",
                "o",
                "review#r1",
                at("2026-12-03")
            )
            .unwrap()
            .is_none(),
            "a source stands once"
        );
        let gone = source_removed(Some(&mark), "review#r1").unwrap().unwrap();
        assert_eq!(
            gone.count,
            Some((mark.day, -1)),
            "its last defect taken back, on the day it was counted"
        );
        let both = DefectMark {
            sources: vec!["review#r1".into(), "claim#c1".into()],
            ..mark.clone()
        };
        assert_eq!(source_removed(Some(&both), "review#r1").unwrap().unwrap().count, None);
        assert!(source_removed(None, "review#r1").unwrap().is_none());
    }

    #[test]
    fn an_emptied_mark_counts_again_from_its_next_defect() {
        let empty = DefectMark {
            seller_id: "s".into(),
            order_id: "o".into(),
            day: at("2026-12-01").date_naive(),
            counted_by: "review-monitor".into(),
            sources: Vec::new(),
            version: 3,
        };
        let again = source_added(
            Some(&empty),
            Function::RefundProcessor,
            "s",
            "o",
            "refund#f1",
            at("2026-12-05"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(again.count, Some((at("2026-12-05").date_naive(), 1)));
    }
}
