//! The sample story (`events/*.json`) told as of today.
//!
//! The samples are dated around [`STORY_DAY`]. What the back office decides from dates is
//! measured against the clock (a review trend is "in the last 7 days", a refund's deadline runs
//! from when it arrived, an order is late once its ship-by date has passed), so the demo and
//! the story test move every timestamp of a sample by the same whole number of days, so that
//! the story's last day is today, and it reads the same whenever it is told. Whole days keep
//! the times of day.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

/// The day the samples were written for: the newest of them is on it.
pub const STORY_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 27) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// How many days the story moves when told on `today` (back, before its day).
pub fn days_moved(today: NaiveDate) -> i64 {
    (today - STORY_DAY).num_days()
}

/// `body` with every RFC 3339 timestamp in it `days` later. A body that is not JSON (a
/// hostile sample) is returned as it is.
pub fn moved(body: &[u8], days: i64) -> Vec<u8> {
    if days == 0 {
        return body.to_vec();
    }
    let Ok(mut event) = serde_json::from_slice::<Value>(body) else {
        return body.to_vec();
    };
    move_timestamps(&mut event, Duration::days(days));
    serde_json::to_vec(&event).unwrap_or_else(|_| body.to_vec())
}

/// A date the story names, as it reads when told on `today`.
pub fn day_as_told(day: NaiveDate, today: NaiveDate) -> NaiveDate {
    day + Duration::days(days_moved(today))
}

fn move_timestamps(value: &mut Value, by: Duration) {
    match value {
        Value::String(text) => {
            if let Ok(at) = DateTime::parse_from_rfc3339(text) {
                let moved = at.with_timezone(&Utc) + by;
                *text = moved.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            }
        }
        Value::Array(values) => values.iter_mut().for_each(|value| move_timestamps(value, by)),
        Value::Object(fields) => fields.values_mut().for_each(|value| move_timestamps(value, by)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_timestamp_moves_by_whole_days_and_nothing_else_changes() {
        let body = json!({"id": "evt_1", "created_at": "2026-11-25T10:00:00Z",
            "data": {"lines": [{"ship_by": "2026-11-27T18:00:00Z", "sku": "2026"}], "note": "not a date"}});
        let moved: Value = serde_json::from_slice(&moved(body.to_string().as_bytes(), 10)).unwrap();
        assert_eq!(moved["created_at"], "2026-12-05T10:00:00Z");
        assert_eq!(moved["data"]["lines"][0]["ship_by"], "2026-12-07T18:00:00Z");
        assert_eq!(moved["data"]["lines"][0]["sku"], "2026");
        assert_eq!(moved["data"]["note"], "not a date");
    }

    #[test]
    fn the_storys_last_day_is_today() {
        assert_eq!(days_moved(STORY_DAY), 0);
        assert_eq!(days_moved(STORY_DAY - Duration::days(3)), -3);
        assert_eq!(days_moved(STORY_DAY + Duration::days(40)), 40);
        assert_eq!(moved(b"not json", 3), b"not json");
    }
}
