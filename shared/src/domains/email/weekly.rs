//! The seller's weekly report in its language: the health table with each measure's status
//! and bar, the week against the week before, what sold, what needs stock, why reviews were
//! negative, and what went overdue.

use chrono::{NaiveDate, NaiveTime};

use super::letter::{Letter, ScoreRow, Section, one_line};
use super::locale::Locale::{self, En, Zh};
use super::words::{reason_words, say};
use crate::domains::figures::measures::{Limit, Reading, Status, limit_text, percent};
use crate::domains::figures::week::{AtRisk, Sales, SellerWeek};
use crate::values::money::shown;

pub(super) fn seller_weekly(letter: &mut Letter, week: &SellerWeek) {
    let l = letter.locale;
    let (first, last) = (day(l, week.first_day), day(l, week.last_day));
    let failing = week
        .health
        .iter()
        .filter(|reading| reading.status == Status::Failing)
        .count();
    letter.subject = match (l, failing) {
        (En, 0) => format!("Your week {first} – {last}: every measure within its limit"),
        (En, n) => format!("Your week {first} – {last}: {n} {} failing", plural(n, "measure")),
        (Zh, 0) => format!("您的周报 {first} – {last}：各项指标均达标"),
        (Zh, n) => format!("您的周报 {first} – {last}：{n} 项指标不达标"),
    };
    letter.paragraphs.push(say(
        l,
        "Here is your week, measured as the marketplace measures sellers.".into(),
        "以下是您本周的经营数据，按平台考核卖家的标准计算。".into(),
    ));
    letter.scorecard = week.health.iter().map(|reading| score_row(l, reading)).collect();
    letter.facts = comparison(l, week);
    let mut section = |heading: String, items: Vec<String>| {
        if !items.is_empty() {
            letter.sections.push(Section { heading, items });
        }
    };
    section(
        say(l, "Best sellers".into(), "畅销商品".into()),
        week.sales
            .top_skus
            .iter()
            .map(|(sku, units)| {
                say(
                    l,
                    format!("{}: {units} units", one_line(sku)),
                    format!("{}：{units} 件", one_line(sku)),
                )
            })
            .collect(),
    );
    section(
        say(l, "SKUs that need stock".into(), "需要补货的商品".into()),
        week.stock
            .iter()
            .map(|sku| stock_line(l, sku))
            .chain((week.stock_not_listed > 0).then(|| {
                let more = week.stock_not_listed;
                say(
                    l,
                    format!("and {more} more {}", plural(more, "SKU")),
                    format!("另有 {more} 个商品"),
                )
            }))
            .collect(),
    );
    section(
        say(l, "Why reviews were negative".into(), "差评原因".into()),
        week.reviews
            .reasons
            .iter()
            .map(|(reason, count)| format!("{}: {count}", reason_words(l, reason)))
            .collect(),
    );
    section(
        say(l, "Overdue this week".into(), "本周逾期事项".into()),
        overdue(l, week),
    );
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

fn day(l: Locale, date: NaiveDate) -> String {
    l.date(date.and_time(NaiveTime::MIN).and_utc())
}

fn score_row(l: Locale, reading: &Reading) -> ScoreRow {
    let measure = reading.measure;
    let (status, colour) = match reading.status {
        Status::Good => (say(l, "good".into(), "良好".into()), "#1a7f37"),
        Status::AtRisk => (say(l, "at risk".into(), "有风险".into()), "#9a6700"),
        Status::Failing => (say(l, "failing".into(), "不达标".into()), "#cf222e"),
        Status::NoData => (say(l, "no data".into(), "无数据".into()), "#59636e"),
    };
    let value = match reading.rate_bp {
        Some(rate) => format!("{} ({}/{})", percent(rate), reading.count, reading.of),
        None => "–".to_owned(),
    };
    ScoreRow {
        label: measure.title(l == Zh).to_owned(),
        value,
        limit: limit_text(measure.limit()),
        status,
        colour,
        bar: bar(measure.limit(), reading.rate_bp),
    }
}

/// How far the measure is toward failing, 0 to 100: a "below" rate against its threshold,
/// an "above" rate's shortfall from 100% against the room its threshold leaves.
fn bar(limit: Limit, rate_bp: Option<i64>) -> u8 {
    let Some(rate) = rate_bp else {
        return 0;
    };
    let (used, room) = match limit {
        Limit::Below(threshold) => (rate, threshold),
        Limit::Above(threshold) => (10_000 - rate, 10_000 - threshold),
    };
    (used.max(0) * 100 / room.max(1)).min(100) as u8
}

fn comparison(l: Locale, week: &SellerWeek) -> Vec<(String, String)> {
    let (now, before) = (&week.sales, &week.sales_before);
    let rows: Vec<(String, String, String)> = vec![
        (
            say(l, "Orders".into(), "订单".into()),
            now.orders.to_string(),
            before.orders.to_string(),
        ),
        (
            say(l, "Units".into(), "件数".into()),
            now.units.to_string(),
            before.units.to_string(),
        ),
        (
            say(l, "Revenue".into(), "销售额".into()),
            revenue(l, now),
            revenue(l, before),
        ),
        (
            say(l, "Backordered".into(), "缺货订单".into()),
            now.backordered.to_string(),
            before.backordered.to_string(),
        ),
    ];
    let [mut labels, mut values] = [Vec::new(), Vec::new()];
    for (label, this_week, week_before) in rows {
        labels.push(label);
        values.push(say(
            l,
            format!("{this_week} (week before: {week_before})"),
            format!("{this_week}（上周：{week_before}）"),
        ));
    }
    let reviews = &week.reviews;
    labels.push(say(l, "Reviews".into(), "评价".into()));
    values.push(match reviews.average_hundredths {
        Some(average) => say(
            l,
            format!(
                "{}, average {}.{:02} stars, {} negative",
                reviews.reviews,
                average / 100,
                average % 100,
                reviews.negative
            ),
            format!(
                "{} 条，平均 {}.{:02} 星，差评 {} 条",
                reviews.reviews,
                average / 100,
                average % 100,
                reviews.negative
            ),
        ),
        None => say(l, "none".into(), "无".into()),
    });
    let refunds = &week.refunds;
    let amounts = refunds
        .amounts
        .iter()
        .map(|(currency, minor)| l.money(&shown(*minor, currency), currency))
        .collect::<Vec<_>>()
        .join(", ");
    labels.push(say(l, "Refunds".into(), "退款".into()));
    values.push(match refunds.refunds {
        0 => say(l, "none".into(), "无".into()),
        count => {
            let rate = refunds.rate_bp.map(percent).unwrap_or_else(|| "–".to_owned());
            say(
                l,
                format!("{count} ({amounts}), {rate} of orders, {} automatic", refunds.automatic),
                format!(
                    "{count} 笔（{amounts}），占订单 {rate}，自动批准 {} 笔",
                    refunds.automatic
                ),
            )
        }
    });
    let claims = &week.claims;
    labels.push(say(l, "Buyer protection claims".into(), "买家保障申诉".into()));
    values.push(match (claims.opened, claims.decided) {
        (0, 0) => say(l, "none".into(), "无".into()),
        (opened, decided) => say(
            l,
            format!("{opened} opened, {decided} decided, {} against you", claims.lost),
            format!("新增 {opened} 件，已裁定 {decided} 件，其中 {} 件由您承担", claims.lost),
        ),
    });
    let response = &week.response;
    labels.push(say(l, "Buyer questions".into(), "买家咨询".into()));
    let median = response
        .median_response_within_minutes
        .map_or_else(|| "–".to_owned(), |minutes| minutes.to_string());
    values.push(say(
        l,
        format!(
            "{} received, {} answered automatically, {} answered within 24 hours, median first response within {median} minutes",
            response.received, response.answered_automatically, response.answered_within_24h
        ),
        format!(
            "收到 {} 条，自动回复 {} 条，24 小时内回复 {} 条，首次回复中位数不超过 {median} 分钟",
            response.received, response.answered_automatically, response.answered_within_24h
        ),
    ));
    labels.into_iter().zip(values).collect()
}

fn revenue(l: Locale, sales: &Sales) -> String {
    if sales.revenue.is_empty() {
        return "0".to_owned();
    }
    sales
        .revenue
        .iter()
        .map(|(currency, minor)| l.money(&shown(*minor, currency), currency))
        .collect::<Vec<_>>()
        .join(", ")
}

fn stock_line(l: Locale, sku: &AtRisk) -> String {
    let (name, available) = (one_line(&sku.sku), sku.available);
    let cover = sku.days_of_cover.map(|days| {
        say(
            l,
            format!(", about {days} days of cover"),
            format!("，约可维持 {days} 天"),
        )
    });
    let cover = cover.unwrap_or_default();
    match sku.level.as_str() {
        "out" => say(l, format!("{name}: out of stock"), format!("{name}：已售罄")),
        "low" => say(
            l,
            format!("{name}: low, {available} available{cover}"),
            format!("{name}：库存偏低，可售 {available} 件{cover}"),
        ),
        _ => say(
            l,
            format!("{name}: running out, {available} available{cover}"),
            format!("{name}：即将售罄，可售 {available} 件{cover}"),
        ),
    }
}

fn overdue(l: Locale, week: &SellerWeek) -> Vec<String> {
    let overdue = &week.overdue;
    let mut items = Vec::new();
    if overdue.breaches > 0 {
        let n = overdue.breaches;
        items.push(say(
            l,
            format!(
                "{n} buyer {} left unanswered past 24 hours",
                plural(n as usize, "question")
            ),
            format!("{n} 条买家咨询超过 24 小时未回复"),
        ));
    }
    if overdue.late_shipments > 0 {
        let n = overdue.late_shipments;
        items.push(say(
            l,
            format!("{n} {} not shipped by the ship-by date", plural(n as usize, "order")),
            format!("{n} 个订单未在发货期限前发货"),
        ));
    }
    if overdue.refunds_by_deadline > 0 {
        let n = overdue.refunds_by_deadline;
        items.push(say(
            l,
            format!(
                "{n} {} approved because no decision came in time",
                plural(n as usize, "refund")
            ),
            format!("{n} 笔退款因未及时处理被自动批准"),
        ));
    }
    items
}
