//! EventBridge schedule expressions, `rate(…)` and `cron(…)`, and the event a schedule sends.
//!
//! moto's EventBridge never fires scheduled rules, so the local stack keeps the clock itself.
//! Cron supports what the template may reasonably use: numbers, `*`, `?`, lists, ranges and
//! steps, and month and weekday names; `L`, `W` and `#` are refused rather than misread.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use serde_json::{Value, json};

use crate::local_aws::{ACCOUNT_ID, REGION};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Rate(Duration),
    Cron(Cron),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<u32>,
    hours: Vec<u32>,
    days_of_month: Option<Vec<u32>>,
    months: Vec<u32>,
    /// 1 = Sunday … 7 = Saturday, as EventBridge counts.
    days_of_week: Option<Vec<u32>>,
    years: Option<Vec<u32>>,
}

impl Schedule {
    pub fn parse(expression: &str) -> Result<Self, String> {
        let expression = expression.trim();
        if let Some(body) = expression.strip_prefix("rate(").and_then(|rest| rest.strip_suffix(')')) {
            return parse_rate(body).map(Schedule::Rate);
        }
        if let Some(body) = expression.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')) {
            return Cron::parse(body).map(Schedule::Cron);
        }
        Err(format!("{expression:?} is neither rate(…) nor cron(…)"))
    }

    /// The first firing strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Rate(period) => Some(after + *period),
            Schedule::Cron(cron) => cron.next_after(after),
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
    match unit.trim() {
        "minute" | "minutes" => Ok(Duration::minutes(value)),
        "hour" | "hours" => Ok(Duration::hours(value)),
        "day" | "days" => Ok(Duration::days(value)),
        other => Err(format!("rate({body}): unknown unit {other:?}")),
    }
}

impl Cron {
    fn parse(body: &str) -> Result<Self, String> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [minutes, hours, dom, month, dow, year] = fields[..] else {
            return Err(format!(
                "cron({body}) needs six fields: minutes hours day-of-month month day-of-week year"
            ));
        };
        const MONTHS: &[&str] = &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ];
        const DAYS: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        Ok(Cron {
            minutes: field(minutes, 0, 59, &[])?.unwrap_or_else(|| (0..=59).collect()),
            hours: field(hours, 0, 23, &[])?.unwrap_or_else(|| (0..=23).collect()),
            days_of_month: field(dom, 1, 31, &[])?,
            months: field(month, 1, 12, MONTHS)?.unwrap_or_else(|| (1..=12).collect()),
            days_of_week: field(dow, 1, 7, DAYS)?,
            years: field(year, 1970, 2199, &[])?,
        })
    }

    fn matches(&self, at: DateTime<Utc>) -> bool {
        let weekday = at.weekday().num_days_from_sunday() + 1;
        self.minutes.contains(&at.minute())
            && self.hours.contains(&at.hour())
            && self.months.contains(&at.month())
            && self.days_of_month.as_ref().is_none_or(|days| days.contains(&at.day()))
            && self.days_of_week.as_ref().is_none_or(|days| days.contains(&weekday))
            && self
                .years
                .as_ref()
                .is_none_or(|years| years.contains(&(at.year() as u32)))
    }

    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut at = after.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        // Minute by minute is plenty fast for the few schedules a stack has; give up after
        // five years, which only an impossible expression (31 February) reaches.
        for _ in 0..(5 * 366 * 24 * 60) {
            if self.matches(at) {
                return Some(at);
            }
            at += Duration::minutes(1);
        }
        None
    }
}

/// The values a cron field allows; `None` for `*` and `?` (any).
fn field(text: &str, min: u32, max: u32, names: &[&str]) -> Result<Option<Vec<u32>>, String> {
    if text == "*" || text == "?" {
        return Ok(None);
    }
    if text.contains(['L', 'W', '#']) && !names.iter().any(|name| text.contains(name)) {
        return Err(format!("cron field {text:?}: L, W and # are not supported locally"));
    }
    let value = |part: &str| -> Result<u32, String> {
        names
            .iter()
            .position(|name| name.eq_ignore_ascii_case(part))
            .map(|index| index as u32 + min)
            .or_else(|| part.parse().ok())
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| format!("cron field {text:?}: {part:?} is not in {min}..={max}"))
    };
    let mut values = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (
                range,
                step.parse::<u32>()
                    .map_err(|_| format!("cron field {text:?}: bad step"))?,
            ),
            None => (part, 1),
        };
        let (start, end) = match range {
            "*" => (min, max),
            _ => match range.split_once('-') {
                Some((start, end)) => (value(start)?, value(end)?),
                None if step > 1 => (value(range)?, max),
                None => (value(range)?, value(range)?),
            },
        };
        values.extend((start..=end).step_by(step.max(1) as usize));
    }
    Ok(Some(values))
}

/// The event EventBridge sends for a scheduled rule.
pub fn scheduled_event(rule: &str, at: DateTime<Utc>) -> Value {
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
        assert!(Schedule::parse("cron(0 12 L * ? *)").is_err());
        assert!(Schedule::parse("cron(0 25 * * ? *)").is_err());
        assert!(Schedule::parse("cron(0 12 * *)").is_err());
        assert!(Schedule::parse("every hour").is_err());
    }

    #[test]
    fn the_scheduled_event_is_what_eventbridge_sends() {
        let event = scheduled_event("StockAlertsHourlySweep", at("2026-11-22T10:00:00Z"));
        assert_eq!(event["detail-type"], "Scheduled Event");
        assert_eq!(event["source"], "aws.events");
        assert_eq!(event["time"], "2026-11-22T10:00:00Z");
    }
}
