//! The measures marketplaces judge a seller by, each against the marketplace's threshold:
//! Amazon's order defect rate (< 1% over 60 days), late shipment rate (< 4% over 10 and 30
//! days), pre-fulfilment cancel rate (< 2.5% over 7 days), valid tracking rate (> 95% over
//! 30 days) and contact response (answered within 24 hours, > 90%).
//!
//! Rates are whole basis points (1% is 100), rounded half up: no float decides a status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    OrderDefectRate,
    LateShipmentRate10,
    LateShipmentRate30,
    CancelRate,
    ValidTrackingRate,
    ResponseWithin24h,
}

/// Which side of its threshold a measure must stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The rate must stay below the threshold.
    Below(i64),
    /// The rate must stay above the threshold.
    Above(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Good,
    /// Within a quarter of the threshold: for a "below 4%" limit, 3% or more; for an
    /// "above 95%" limit, less than a quarter of the way from 95% to 100%.
    AtRisk,
    Failing,
    /// Nothing to measure in the window (no orders, no shipments, no questions).
    NoData,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Good => "good",
            Status::AtRisk => "at_risk",
            Status::Failing => "failing",
            Status::NoData => "no_data",
        }
    }
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::OrderDefectRate,
        Measure::LateShipmentRate10,
        Measure::LateShipmentRate30,
        Measure::CancelRate,
        Measure::ValidTrackingRate,
        Measure::ResponseWithin24h,
    ];

    pub fn window_days(self) -> i64 {
        match self {
            Measure::OrderDefectRate => 60,
            Measure::LateShipmentRate10 => 10,
            Measure::LateShipmentRate30 | Measure::ValidTrackingRate | Measure::ResponseWithin24h => 30,
            Measure::CancelRate => 7,
        }
    }

    pub fn limit(self) -> Limit {
        match self {
            Measure::OrderDefectRate => Limit::Below(100),
            Measure::LateShipmentRate10 | Measure::LateShipmentRate30 => Limit::Below(400),
            Measure::CancelRate => Limit::Below(250),
            Measure::ValidTrackingRate => Limit::Above(9500),
            Measure::ResponseWithin24h => Limit::Above(9000),
        }
    }

    /// What the seller reads: its name and window, in English or Chinese.
    pub fn title(self, chinese: bool) -> &'static str {
        match (self, chinese) {
            (Measure::OrderDefectRate, false) => "Order defect rate (60 days)",
            (Measure::OrderDefectRate, true) => "订单缺陷率（60 天）",
            (Measure::LateShipmentRate10, false) => "Late shipment rate (10 days)",
            (Measure::LateShipmentRate10, true) => "迟发率（10 天）",
            (Measure::LateShipmentRate30, false) => "Late shipment rate (30 days)",
            (Measure::LateShipmentRate30, true) => "迟发率（30 天）",
            (Measure::CancelRate, false) => "Seller cancel rate (7 days)",
            (Measure::CancelRate, true) => "卖家取消率（7 天）",
            (Measure::ValidTrackingRate, false) => "Valid tracking rate (30 days)",
            (Measure::ValidTrackingRate, true) => "有效追踪率（30 天）",
            (Measure::ResponseWithin24h, false) => "Questions answered within 24 hours (30 days)",
            (Measure::ResponseWithin24h, true) => "24 小时内回复率（30 天）",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Measure::OrderDefectRate => "order_defect_rate",
            Measure::LateShipmentRate10 => "late_shipment_rate_10d",
            Measure::LateShipmentRate30 => "late_shipment_rate_30d",
            Measure::CancelRate => "cancel_rate",
            Measure::ValidTrackingRate => "valid_tracking_rate",
            Measure::ResponseWithin24h => "response_within_24h",
        }
    }
}

/// A measure as read: how many of how many, the rate, and its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub measure: Measure,
    pub count: i64,
    pub of: i64,
    /// `None` when `of` is zero.
    pub rate_bp: Option<i64>,
    pub status: Status,
}

impl Reading {
    pub fn new(measure: Measure, count: i64, of: i64) -> Self {
        let rate_bp = rate_bp(count, of);
        Self {
            measure,
            count,
            of,
            rate_bp,
            status: rate_bp.map_or(Status::NoData, |rate| status(measure.limit(), rate)),
        }
    }
}

/// `count` of `of` in basis points, rounded half up; `None` of nothing.
pub fn rate_bp(count: i64, of: i64) -> Option<i64> {
    (of > 0).then(|| (count.max(0).saturating_mul(20_000) / of + 1) / 2)
}

pub fn status(limit: Limit, rate_bp: i64) -> Status {
    match limit {
        Limit::Below(threshold) if rate_bp >= threshold => Status::Failing,
        Limit::Below(threshold) if rate_bp * 4 >= threshold * 3 => Status::AtRisk,
        Limit::Above(threshold) if rate_bp <= threshold => Status::Failing,
        Limit::Above(threshold) if (rate_bp - threshold) * 4 < 10_000 - threshold => Status::AtRisk,
        _ => Status::Good,
    }
}

/// A rate in basis points as a percentage with one decimal: `500` is `5.0%`.
pub fn percent(rate_bp: i64) -> String {
    let tenths = (rate_bp + 5) / 10;
    format!("{}.{}%", tenths / 10, tenths % 10)
}

/// The limit as the marketplace states it: `< 4%`, `> 95%`.
pub fn limit_text(limit: Limit) -> String {
    let shown = |bp: i64| {
        if bp % 100 == 0 {
            format!("{}%", bp / 100)
        } else {
            format!("{}.{}%", bp / 100, (bp % 100) / 10)
        }
    };
    match limit {
        Limit::Below(bp) => format!("< {}", shown(bp)),
        Limit::Above(bp) => format!("> {}", shown(bp)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_late_of_forty_is_five_percent_and_failing() {
        let reading = Reading::new(Measure::LateShipmentRate30, 2, 40);
        assert_eq!(reading.rate_bp, Some(500));
        assert_eq!(reading.status, Status::Failing);
        assert_eq!(percent(500), "5.0%");
    }

    #[test]
    fn within_a_quarter_of_the_threshold_is_at_risk() {
        let late = |count, of| Reading::new(Measure::LateShipmentRate10, count, of).status;
        assert_eq!(late(3, 100), Status::AtRisk, "3% against < 4%");
        assert_eq!(late(29, 1000), Status::Good, "2.9%");
        assert_eq!(late(4, 100), Status::Failing, "4% is not below 4%");
        let tracking = |count, of| Reading::new(Measure::ValidTrackingRate, count, of).status;
        assert_eq!(tracking(95, 100), Status::Failing, "95% is not above 95%");
        assert_eq!(tracking(96, 100), Status::AtRisk, "under 96.25%");
        assert_eq!(tracking(97, 100), Status::Good);
        let defects = |count, of| Reading::new(Measure::OrderDefectRate, count, of).status;
        assert_eq!(defects(1, 100), Status::Failing);
        assert_eq!(defects(3, 400), Status::AtRisk, "0.75%");
        assert_eq!(defects(2, 400), Status::Good, "0.5%");
    }

    #[test]
    fn nothing_to_measure_is_no_data_not_a_division() {
        let reading = Reading::new(Measure::CancelRate, 0, 0);
        assert_eq!((reading.rate_bp, reading.status), (None, Status::NoData));
    }

    #[test]
    fn rates_round_half_up_in_basis_points() {
        assert_eq!(rate_bp(1, 3), Some(3333));
        assert_eq!(rate_bp(2, 3), Some(6667));
        assert_eq!(rate_bp(1, 40), Some(250));
        assert_eq!(percent(3333), "33.3%");
        assert_eq!(percent(6667), "66.7%");
        assert_eq!(limit_text(Limit::Below(250)), "< 2.5%");
        assert_eq!(limit_text(Limit::Above(9500)), "> 95%");
    }
}
