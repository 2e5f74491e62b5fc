//! The sample story (`events/*.json`) told as of today.
//!
//! The samples are dated around [`STORY_DAY`]. What the back office decides from dates is
//! measured against the clock (a review trend is "in the last 7 days", a refund's deadline runs
//! from when it arrived, an order is late once its ship-by date has passed), so the demo and
//! the story test move every timestamp of a sample by the same whole number of days: the most
//! that leaves its last event in the past (an event dated ahead of the clock is refused), so
//! the story ends within the last day, and reads the same whenever it is told. Whole days keep
//! the times of day.

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

/// The day the samples were written for: the newest of them is on it.
pub const STORY_DAY: NaiveDate = match NaiveDate::from_ymd_opt(2026, 11, 27) {
    Some(day) => day,
    None => panic!("a valid date"),
};

/// When the story ends: after its last event (`events/privacy/`'s included), in seconds after
/// midnight of [`STORY_DAY`].
const STORY_ENDS_AFTER_SECONDS: i64 = 15 * 3600 + 30 * 60;

/// How many days the story moves when told at `now`: the most that keeps its end in the past
/// (back, before its day).
pub fn days_moved(now: DateTime<Utc>) -> i64 {
    let end = STORY_DAY.and_hms_opt(0, 0, 0).expect("midnight").and_utc() + Duration::seconds(STORY_ENDS_AFTER_SECONDS);
    (now - end).num_seconds().div_euclid(86_400)
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

/// A date the story names, as it reads when told at `now`.
pub fn day_as_told(day: NaiveDate, now: DateTime<Utc>) -> NaiveDate {
    day + Duration::days(days_moved(now))
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
    fn the_story_ends_within_the_day_before_it_is_told() {
        let at = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(days_moved(at("2026-11-27T16:00:00Z")), 0);
        // Its last events came at 15:00: told earlier in a day, it ends the day before.
        assert_eq!(days_moved(at("2026-12-08T01:00:00Z")), 10);
        assert_eq!(days_moved(at("2026-12-08T15:31:00Z")), 11);
        assert_eq!(days_moved(at("2026-11-24T16:00:00Z")), -3);
        assert_eq!(days_moved(at("2026-11-27T10:00:00Z")), -1);
        assert_eq!(moved(b"not json", 3), b"not json");
    }
}
