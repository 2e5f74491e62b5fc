//! EventBridge schedule expressions, `rate(…)` and `cron(…)`, and the event a schedule sends.
//!
//! moto's EventBridge never fires scheduled rules, so the local stack keeps the clock itself.
//! EventBridge's rules are kept where the template could break them: a rate's unit is singular
//! for 1 and plural above (`rate(1 minutes)` is refused), and a cron names a day of the month
//! or of the week, with `?` in the other. The cron itself is Quartz's (a year field, Sunday =
//! 1, `5/1` for every minute from the fifth), which the `cron` crate reads; it refuses `L`,
//! `W` and `#`, which EventBridge has, so the template cannot use them yet.

use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::local_aws::{ACCOUNT_ID, REGION, STACK_NAME};

#[derive(Debug, Clone)]
pub enum Schedule {
    Rate(Duration),
    Cron(Box<cron::Schedule>),
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Rate(a), Schedule::Rate(b)) => a == b,
            (Schedule::Cron(a), Schedule::Cron(b)) => a.source() == b.source(),
            _ => false,
        }
    }
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, String> {
        let expression = expression.trim();
        if let Some(body) = expression.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            return parse_rate(body).map(Schedule::Rate);
        }
        if let Some(body) = expression.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            return parse_cron(body).map(|cron| Schedule::Cron(Box::new(cron)));
        }
        Err(format!("{expression:?} is neither rate(…) nor cron(…)"))
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(period) => Some(after + *period),
            Schedule::Cron(cron) => cron.after(&after).next(),
        }
    }
}

fn parse_rate(body: &str) -> Result<Duration, String> {
    let (value, unit) = body
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("rate({body}) needs a value and a unit"))?;
    let value: i64 = value
        .parse()
        .map_err(|_| format!("rate({body}): {value:?} is not a whole number"))?;
    if value < 1 {
        return Err(format!("rate({body}) must be at least 1"));
    }
    let unit = unit.trim();
    let (singular, plural) = match unit.trim_end_matches('s') {
        "minute" => (Duration::minutes(value), "minutes"),
        "hour" => (Duration::hours(value), "hours"),
        "day" => (Duration::days(value), "days"),
        _ => return Err(format!("rate({body}): unknown unit {unit:?}")),
    };
    // EventBridge refuses `rate(1 minutes)` and `rate(5 minute)`.
    let wanted = if value == 1 {
        plural.trim_end_matches('s')
    } else {
        plural
    };
    if unit != wanted {
        return Err(format!("rate({body}): EventBridge wants `{value} {wanted}`"));
    }
    Ok(singular)
}

fn parse_cron(body: &str) -> Result<cron::Schedule, String> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [_, _, day_of_month, _, day_of_week, _] = fields[..] else {
        return Err(format!(
            "cron({body}) needs six fields: minutes hours day-of-month month day-of-week year"
        ));
    };
    if (day_of_month == "?") == (day_of_week == "?") {
        return Err(format!(
            "cron({body}): EventBridge wants `?` in exactly one of day-of-month and day-of-week"
        ));
    }
    // Quartz's fields start with seconds, which EventBridge fixes at 0.
    cron::Schedule::from_str(&format!("0 {body}")).map_err(|error| format!("cron({body}): {error}"))
}

/// The event EventBridge sends for the scheduled rule of the template's schedule `event`
/// (`ReplyClock`): the template names each rule `<stack>-<event>`, and its function admits
/// only its own rules.
pub fn scheduled_event(event: &str, at: DateTime<Utc>) -> Value {
    let rule = format!("{STACK_NAME}-{event}");
    json!({
        "version": "0",
        "id": format!("local-{}", at.timestamp_millis()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}")],
        "detail": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rates_add_their_period() {
        assert_eq!(
            Schedule::parse("rate(1 hour)").unwrap(),
            Schedule::Rate(Duration::hours(1))
        );
        assert_eq!(
            Schedule::parse("rate(5 minutes)").unwrap(),
            Schedule::Rate(Duration::minutes(5))
        );
        assert!(Schedule::parse("rate(0 minutes)").is_err());
        assert!(Schedule::parse("rate(1 fortnight)").is_err());
    }

    #[test]
    fn cron_finds_the_next_matching_minute() {
        let every_day_at_0830 = Schedule::parse("cron(30 8 * * ? *)").unwrap();
        assert_eq!(
            every_day_at_0830.next_after(at("2026-11-22T09:00:00Z")),
            Some(at("2026-11-23T08:30:00Z"))
        );
        let weekdays_every_15 = Schedule::parse("cron(0/15 9-17 ? * MON-FRI *)").unwrap();
        // 2026-11-22 is a Sunday.
        assert_eq!(
            weekdays_every_15.next_after(at("2026-11-22T12:00:00Z")),
            Some(at("2026-11-23T09:00:00Z"))
        );
        assert_eq!(
            weekdays_every_15.next_after(at("2026-11-23T09:07:00Z")),
            Some(at("2026-11-23T09:15:00Z"))
        );
    }

    #[test]
    fn unsupported_or_wrong_cron_is_refused() {
        assert!(
            Schedule::parse("cron(0 12 L * ? *)").is_err(),
            "the cron crate reads no L, W or #"
        );
        assert!(Schedule::parse("cron(0 25 * * ? *)").is_err());
        assert!(Schedule::parse("cron(0 12 * *)").is_err());
        assert!(Schedule::parse("every hour").is_err());
        assert!(
            Schedule::parse("cron(0 12 * * MON *)").is_err(),
            "a day of the month and of the week"
        );
    }

    #[test]
    fn eventbridge_rules_the_local_clock_keeps() {
        assert!(Schedule::parse("rate(1 minutes)").is_err());
        assert!(Schedule::parse("rate(5 minute)").is_err());
        assert_eq!(
            Schedule::parse("rate(1 day)").unwrap(),
            Schedule::Rate(Duration::days(1))
        );
        let from_the_fifth = Schedule::parse("cron(5/1 * * * ? *)").unwrap();
        assert_eq!(
            from_the_fifth.next_after(at("2026-11-22T10:03:00Z")),
            Some(at("2026-11-22T10:05:00Z"))
        );
        assert_eq!(
            from_the_fifth.next_after(at("2026-11-22T10:07:00Z")),
            Some(at("2026-11-22T10:08:00Z")),
            "every minute from the fifth, not every fifth minute"
        );
        let monday_morning = Schedule::parse("cron(0 8 ? * MON *)").unwrap();
        assert_eq!(
            monday_morning.next_after(at("2026-11-22T10:00:00Z")),
            Some(at("2026-11-23T08:00:00Z")),
            "Monday is 2 in EventBridge's week, which starts on Sunday"
        );
    }

    #[test]
    fn the_scheduled_event_is_what_eventbridge_sends() {
        let event = scheduled_event("HourlySweep", at("2026-11-22T10:00:00Z"));
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["time"], "2026-11-22T10:00:00Z");
    }
}
