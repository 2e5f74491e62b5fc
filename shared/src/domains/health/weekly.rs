//! The weekly email: every Monday from 08:00 in the seller's time zone, its week, once.
//!
//! An hourly run looks at every listed seller, a page at a time (queries of a sparse index of
//! the sellers table, never of orders; see [`super::run`]). A seller whose Monday 08:00 has come, and is less than a
//! day past, is due; the seller's report is one claim (`seller-health#weekly#<seller>#<monday>`,
//! written only if new) and its email's outbox entry, in one transaction. A schedule firing
//! twice, or a retried run, finds the claim and sends nothing.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::week::{read_week, seller_week};
use crate::domains::email::request::{EmailContent, email_entry};
use crate::domains::figures::week::{AtRisk, SellerWeek};
use crate::domains::sellers::records::{LISTED, SellerContact, contact_of};
use crate::mechanisms::function::Function;
use crate::mechanisms::outbox;
use crate::storage::{
    Condition, Cursor, Index, Item, Page, Query, Storage, StoreError, Table, Write, WriteFailure, WriteSet, text,
};

/// The hour of the seller's Monday the report is sent.
pub const SEND_HOUR: u32 = 8;

/// A seller the weekly report goes to: its contact and its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub contact: SellerContact,
    pub time_zone: Tz,
}

/// A page of the sellers with a contact: at most `size` after `after`, in one query of the
/// sparse `Listed` index (its items carry the whole seller). A time zone the tz database does
/// not know is UTC.
pub async fn listed_page(store: &impl Storage, size: usize, after: Option<Cursor>) -> Result<Page<Listed>, StoreError> {
    let found = store
        .query(&Query::new(Index::SellersListed, LISTED).page(size, after))
        .await?;
    Ok(Page {
        items: found.items.iter().filter_map(listed).collect(),
        next: found.next,
    })
}

fn listed(item: &Item) -> Option<Listed> {
    let contact = contact_of(text(item, "seller_id"), item)?;
    Some(Listed {
        contact,
        time_zone: text(item, "time_zone").parse().unwrap_or(Tz::UTC),
    })
}

/// The Monday (a date in `zone`) whose report is due at `now`: from 08:00 that Monday until
/// 08:00 the Tuesday, so an hour the schedule missed is made up within the day.
pub fn report_due(zone: Tz, now: DateTime<Utc>) -> Option<NaiveDate> {
    let local = now.with_timezone(&zone);
    let monday = local.date_naive() - Duration::days(i64::from(local.weekday().num_days_from_monday()));
    let send_at = send_time(zone, monday)?;
    let since = now - send_at;
    (since >= Duration::zero() && since < Duration::days(1)).then_some(monday)
}

/// 08:00 on `monday` in `zone`, as UTC; on a day whose 08:00 a clock change skips, the
/// first instant after it.
fn send_time(zone: Tz, monday: NaiveDate) -> Option<DateTime<Utc>> {
    let local = monday.and_hms_opt(SEND_HOUR, 0, 0)?;
    let at = zone
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| zone.from_local_datetime(&(local + Duration::hours(1))).earliest())?;
    Some(at.with_timezone(&Utc))
}

/// The last day of the week a Monday's report covers (the seven UTC days before that Monday).
pub fn week_before(monday: NaiveDate) -> NaiveDate {
    monday - Duration::days(1)
}

/// What one seller's report did.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Sent(Box<SellerWeek>),
    /// Its claim was there: sent by an earlier run.
    SentBefore,
}

pub fn claim_key(seller_id: &str, monday: NaiveDate) -> String {
    Function::SellerHealth.key(&["weekly", seller_id, &monday.to_string()])
}

/// The seller's week before `monday`, emailed once: the claim and the email's outbox entry
/// in one transaction.
pub async fn send_weekly_report(
    store: &impl Storage,
    seller: &Listed,
    monday: NaiveDate,
    stock: Vec<AtRisk>,
    now: DateTime<Utc>,
) -> Result<Report, StoreError> {
    let seller_id = &seller.contact.seller_id;
    let key = claim_key(seller_id, monday);
    if store.get(Table::Idempotency, &key).await?.is_some() {
        return Ok(Report::SentBefore);
    }
    let last_day = week_before(monday);
    let read = read_week(store, seller_id, last_day).await?;
    let week = seller_week(seller_id, &read, last_day, stock);
    let entry = email_entry(
        key.clone(),
        seller.contact.recipient(),
        &seller.contact.locale,
        EmailContent::SellerWeekly(Box::new(week.clone())),
    );
    let claim = Write::put(Table::Idempotency, claim_item(&key, now)).when(Condition::ItemMissing);
    match store.write(WriteSet::from(vec![claim, outbox::put(&entry, now)])).await {
        Ok(()) => Ok(Report::Sent(Box::new(week))),
        Err(WriteFailure::Cancelled(cancelled)) if cancelled.failed(0) => Ok(Report::SentBefore),
        Err(WriteFailure::Cancelled(_)) => Err(StoreError::new("weekly report", "the claim collided")),
        Err(WriteFailure::Store(error)) => Err(error),
    }
}

fn claim_item(key: &str, now: DateTime<Utc>) -> Item {
    let mut item = Item::new();
    item.insert("pk".to_owned(), key.into());
    item.insert("sent_at".to_owned(), now.to_rfc3339().into());
    // Kept past the report's day, then removed by the table's TTL.
    item.insert("expires_at".to_owned(), (now + Duration::days(30)).timestamp().into());
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_report_is_due_from_monday_eight_in_the_sellers_zone_for_a_day() {
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        // 08:00 in Shanghai is 00:00 UTC.
        assert_eq!(
            report_due(shanghai, at("2026-11-30T00:00:00Z")),
            "2026-11-30".parse().ok()
        );
        assert_eq!(report_due(shanghai, at("2026-11-29T23:59:00Z")), None, "07:59 there");
        assert_eq!(
            report_due(shanghai, at("2026-11-30T23:59:00Z")),
            "2026-11-30".parse().ok()
        );
        assert_eq!(report_due(shanghai, at("2026-12-01T00:00:00Z")), None, "Tuesday 08:00");
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Monday 08:00 in New York (EST) is 13:00 UTC.
        assert_eq!(report_due(new_york, at("2026-11-30T12:59:00Z")), None);
        assert_eq!(
            report_due(new_york, at("2026-11-30T13:00:00Z")),
            "2026-11-30".parse().ok()
        );
        assert_eq!(
            report_due(Tz::UTC, at("2026-11-30T08:00:00Z")),
            "2026-11-30".parse().ok()
        );
        assert_eq!(report_due(Tz::UTC, at("2026-11-27T08:00:00Z")), None, "a Friday");
    }

    #[test]
    fn a_monday_whose_eight_oclock_a_clock_change_skips_is_sent_after_it() {
        // No zone springs forward at 08:00 on a Monday today; the rule is checked on the
        // function itself with a real gap (02:00 on 2026-03-08 in New York).
        let new_york: Tz = "America/New_York".parse().unwrap();
        let gap = NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert!(new_york.from_local_datetime(&gap).earliest().is_none());
        assert!(send_time(new_york, NaiveDate::from_ymd_opt(2026, 3, 9).unwrap()).is_some());
    }
}
