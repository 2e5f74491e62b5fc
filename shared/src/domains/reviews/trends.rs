//! A SKU's reviews as day buckets, and the two trends a seller hears of once each until they
//! recover: the 30-day average below the seller's threshold (with at least 5 reviews in the
//! window), and 3 or more negative reviews naming the same reason within 7 days. Kept in the
//! SKU's stats item, written in the review's own write set: no scan, no second read.
//!
//! Integer arithmetic: an average below a threshold is `stars × 100 < threshold × reviews`,
//! with the threshold in hundredths of a star (3.5 is 350).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::reason::Reason;

pub const AVERAGE_WINDOW_DAYS: i64 = 30;
pub const AVERAGE_MIN_REVIEWS: u32 = 5;
/// How far above the threshold an average must climb back to recover, in hundredths.
pub const AVERAGE_RECOVERY_HUNDREDTHS: u32 = 20;
pub const REASON_WINDOW_DAYS: i64 = 7;
pub const REASON_MIN_REVIEWS: u32 = 3;

/// One day's reviews of a SKU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStats {
    pub reviews: u32,
    pub stars: u32,
    pub negative: u32,
    #[serde(default)]
    pub reasons: BTreeMap<Reason, u32>,
}

/// What one review adds to its day (and takes away when edited or removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub day: NaiveDate,
    pub rating: u8,
    pub negative: bool,
    pub reasons: Vec<Reason>,
}

/// A trend a seller can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "reason")]
pub enum Trend {
    LowAverage,
    RepeatedReason(Reason),
}

impl Trend {
    /// Its name in keys and metrics: `low_average`, `reason_quality`.
    pub fn key(self) -> String {
        match self {
            Trend::LowAverage => "low_average".to_owned(),
            Trend::RepeatedReason(reason) => format!("reason_{}", reason.as_str()),
        }
    }
}

/// The SKU's window of reviews and the trends its seller last heard of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(default)]
    pub days: BTreeMap<NaiveDate, DayStats>,
    /// Open trends, by key, with the episode each was raised as.
    #[serde(default)]
    pub open: BTreeMap<String, u32>,
    /// The last episode of each trend ever raised, so a new one has a new number.
    #[serde(default)]
    pub episodes: BTreeMap<String, u32>,
}

/// A trend that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrendChange {
    Raised(TrendAlert),
    Recovered(Trend),
}

/// What the seller is told when a trend is raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendAlert {
    pub trend: Trend,
    pub episode: u32,
    /// Reviews in the trend's window (for a reason: the negative ones naming it).
    pub reviews: u32,
    /// The window's average, in hundredths of a star (low average only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_hundredths: Option<u32>,
    pub window_days: u32,
}

impl Window {
    pub fn add(&mut self, review: &Contribution) {
        let day = self.days.entry(review.day).or_default();
        day.reviews += 1;
        day.stars += u32::from(review.rating);
        if review.negative {
            day.negative += 1;
            for reason in &review.reasons {
                *day.reasons.entry(*reason).or_default() += 1;
            }
        }
    }

    pub fn remove(&mut self, review: &Contribution) {
        let Some(day) = self.days.get_mut(&review.day) else {
            return;
        };
        day.reviews = day.reviews.saturating_sub(1);
        day.stars = day.stars.saturating_sub(u32::from(review.rating));
        if review.negative {
            day.negative = day.negative.saturating_sub(1);
            for reason in &review.reasons {
                if let Some(count) = day.reasons.get_mut(reason) {
                    *count = count.saturating_sub(1);
                }
            }
            day.reasons.retain(|_, count| *count > 0);
        }
        if day.reviews == 0 {
            self.days.remove(&review.day);
        }
    }

    /// Whether any trend is open: the sweep reads this SKU while one is.
    pub fn has_open_trend(&self) -> bool {
        !self.open.is_empty()
    }

    fn since(&self, today: NaiveDate, days: i64) -> impl Iterator<Item = &DayStats> {
        let first = today - Duration::days(days - 1);
        self.days.range(first..).map(|(_, stats)| stats)
    }

    /// Drops the days no window reads any more, then raises what is newly wrong and clears
    /// what recovered.
    pub fn assess(&mut self, now: DateTime<Utc>, threshold_hundredths: u32) -> Vec<TrendChange> {
        self.assess_raising(now, threshold_hundredths, true)
    }

    /// Clears what recovered and raises nothing: for a removal by moderation, which tells the
    /// seller nothing (the next review raises what is wrong).
    pub fn assess_recoveries(&mut self, now: DateTime<Utc>, threshold_hundredths: u32) -> Vec<TrendChange> {
        self.assess_raising(now, threshold_hundredths, false)
    }

    fn assess_raising(&mut self, now: DateTime<Utc>, threshold_hundredths: u32, may_raise: bool) -> Vec<TrendChange> {
        let today = now.date_naive();
        let oldest = today - Duration::days(AVERAGE_WINDOW_DAYS - 1);
        self.days.retain(|day, _| *day >= oldest);
        let mut changes = Vec::new();

        let (reviews, stars) = self
            .since(today, AVERAGE_WINDOW_DAYS)
            .fold((0u32, 0u32), |(n, s), day| (n + day.reviews, s + day.stars));
        let low = may_raise && reviews >= AVERAGE_MIN_REVIEWS && stars * 100 < threshold_hundredths * reviews;
        let recovered = reviews == 0 || stars * 100 >= (threshold_hundredths + AVERAGE_RECOVERY_HUNDREDTHS) * reviews;
        let average = (reviews > 0).then(|| stars * 100 / reviews);
        changes.extend(self.turn(Trend::LowAverage, low, recovered, reviews, average, AVERAGE_WINDOW_DAYS));

        for reason in Reason::NAMED {
            let count: u32 = self
                .since(today, REASON_WINDOW_DAYS)
                .map(|day| day.reasons.get(&reason).copied().unwrap_or(0))
                .sum();
            let trend = Trend::RepeatedReason(reason);
            let repeated = may_raise && count >= REASON_MIN_REVIEWS;
            changes.extend(self.turn(trend, repeated, count == 0, count, None, REASON_WINDOW_DAYS));
        }
        changes
    }

    fn turn(
        &mut self,
        trend: Trend,
        wrong: bool,
        recovered: bool,
        reviews: u32,
        average_hundredths: Option<u32>,
        window_days: i64,
    ) -> Option<TrendChange> {
        let key = trend.key();
        let open = self.open.contains_key(&key);
        if !open && wrong {
            let episode = self.episodes.get(&key).copied().unwrap_or(0) + 1;
            self.episodes.insert(key.clone(), episode);
            self.open.insert(key, episode);
            return Some(TrendChange::Raised(TrendAlert {
                trend,
                episode,
                reviews,
                average_hundredths,
                window_days: window_days as u32,
            }));
        }
        if open && recovered {
            self.open.remove(&key);
            return Some(TrendChange::Recovered(trend));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str) -> DateTime<Utc> {
        format!("{day}T12:00:00Z").parse().unwrap()
    }

    fn review(day: &str, rating: u8, reasons: &[Reason]) -> Contribution {
        Contribution {
            day: at(day).date_naive(),
            rating,
            negative: rating <= 2,
            reasons: reasons.to_vec(),
        }
    }

    #[test]
    fn a_low_average_is_raised_once_recovers_and_is_raised_again() {
        let mut window = Window::default();
        for _ in 0..4 {
            window.add(&review("2026-11-01", 2, &[Reason::Other]));
        }
        assert!(
            window.assess(at("2026-11-01"), 350).is_empty(),
            "four reviews are too few"
        );
        window.add(&review("2026-11-02", 3, &[]));
        let raised = window.assess(at("2026-11-02"), 350);
        assert!(
            matches!(&raised[..], [TrendChange::Raised(alert)] if alert.trend == Trend::LowAverage
            && alert.episode == 1 && alert.average_hundredths == Some(220))
        );
        assert!(window.assess(at("2026-11-03"), 350).is_empty(), "once per trend");
        for _ in 0..10 {
            window.add(&review("2026-11-04", 5, &[]));
        }
        assert_eq!(
            window.assess(at("2026-11-04"), 350),
            [TrendChange::Recovered(Trend::LowAverage)]
        );
        for _ in 0..20 {
            window.add(&review("2026-11-05", 1, &[Reason::Other]));
        }
        let again = window.assess(at("2026-11-05"), 350);
        assert!(matches!(&again[..], [TrendChange::Raised(alert)] if alert.episode == 2));
    }

    #[test]
    fn three_of_a_reason_in_a_week_is_raised_and_a_quiet_week_clears_it() {
        let mut window = Window::default();
        window.add(&review("2026-11-01", 1, &[Reason::Quality]));
        window.add(&review("2026-11-03", 2, &[Reason::Quality, Reason::Shipping]));
        assert!(
            window
                .assess(at("2026-11-03"), 0)
                .iter()
                .all(|change| !matches!(change, TrendChange::Raised(_)))
        );
        window.add(&review("2026-11-07", 1, &[Reason::Quality]));
        let raised = window.assess(at("2026-11-07"), 0);
        assert!(matches!(&raised[..], [TrendChange::Raised(alert)]
            if alert.trend == Trend::RepeatedReason(Reason::Quality) && alert.reviews == 3));
        assert!(window.assess(at("2026-11-10"), 0).is_empty(), "still within the week");
        assert_eq!(
            window.assess(at("2026-11-14"), 0),
            [TrendChange::Recovered(Trend::RepeatedReason(Reason::Quality))],
            "seven days with no complaint of quality"
        );
    }

    #[test]
    fn a_removed_review_comes_out_of_its_day() {
        let mut window = Window::default();
        let bad = review("2026-11-01", 1, &[Reason::Quality]);
        window.add(&bad);
        window.add(&review("2026-11-01", 5, &[]));
        window.remove(&bad);
        let day = &window.days[&at("2026-11-01").date_naive()];
        assert_eq!((day.reviews, day.stars, day.negative), (1, 5, 0));
        assert!(day.reasons.is_empty());
    }
}
