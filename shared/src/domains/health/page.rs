//! The operator report: one self-contained HTML page of the marketplace's figures. Charts are
//! inline SVG and the style is inline CSS, with no script, no image and no address, so the
//! page reads the same from an email attachment, a bucket or a laptop without a network, and
//! no seller's name can run anything in the operator's browser: every piece of text from the
//! data is escaped here, once, by `escape`.

use chrono::{DateTime, NaiveDate, Utc};

/// The marketplace's figures across sellers over a run of days, ready to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorReport {
    pub generated_at: DateTime<Utc>,
    /// Oldest first; every series below has one value per day.
    pub days: Vec<NaiveDate>,
    pub series: Vec<Series>,
    /// Negative reviews over the period by reason (`quality`, `shipping`, …), largest first.
    pub negative_reasons: Vec<(String, i64)>,
    /// First responses over the period by histogram bucket: label ("≤ 15 min", "≤ 1 h", …, "> 48 h") and count, in bucket order.
    pub response_times: Vec<(String, i64)>,
    /// Sellers failing or at risk on a health measure now.
    pub sellers_at_risk: Vec<SellerAtRisk>,
    pub sellers: usize,
}

/// One daily series: `orders`, `backorders`, `stock_alerts`, `refunds`, `late_shipments`, `breaches`, …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub key: &'static str,
    pub title: String,
    pub values: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SellerAtRisk {
    pub seller_id: String,
    pub name: String,
    /// e.g. "Late shipment rate (30 days)"
    pub measure: String,
    /// e.g. "5.0%"
    pub value: String,
    /// e.g. "< 4%"
    pub threshold: String,
    /// "failing" or "at_risk"
    pub status: String,
}

const TITLE: &str = "Marketplace operator report";

// Drawing coordinates, in SVG user units: the only floats on the page.
const WIDTH: f64 = 640.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 16.0;
const PLOT_HEIGHT: f64 = 176.0;
const BASELINE: f64 = TOP + PLOT_HEIGHT;
const DAILY_HEIGHT: f64 = BASELINE + 28.0;
const ROW_HEIGHT: f64 = 24.0;
const LABEL_WIDTH: f64 = 160.0;
/// Room right of the longest bar for its count.
const BAR_SPAN: f64 = WIDTH - LABEL_WIDTH - 64.0;

const STYLE: &str = "\
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #1f2937; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.period { color: #4b5563; margin: 0 0 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 16px; }
figure { margin: 0; padding: 8px; border: 1px solid #e5e7eb; border-radius: 6px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg { display: block; width: 100%; height: auto; }
.bar { fill: #2563eb; }
.axis, .label { font-size: 11px; fill: #4b5563; }
.axis-line { stroke: #9ca3af; stroke-width: 1; }
.empty { font-size: 14px; fill: #6b7280; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #e5e7eb; padding: 4px 16px 4px 0; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
";

/// The page: a title, the period, one `<figure>` per chart (each an inline `<svg>` with a `<title>` and `data-chart="<key>"` on the figure), and the table of sellers at risk.
pub fn render(report: &OperatorReport) -> String {
    let period = period(report);
    let daily: String = report
        .series
        .iter()
        .map(|series| daily_chart(&report.days, series))
        .collect();
    let reasons = horizontal_chart(
        "negative_reasons",
        "Negative reviews by reason",
        &report.negative_reasons,
    );
    let responses = horizontal_chart("response_times", "First response times", &report.response_times);
    let at_risk = at_risk_section(&report.sellers_at_risk);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{TITLE}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n\
         <h1>{TITLE}</h1>\n<p class=\"period\">{period}</p>\n\
         <section class=\"charts\">\n{daily}{reasons}{responses}</section>\n\
         <h2>Sellers failing or at risk</h2>\n{at_risk}</body>\n</html>\n"
    )
}

/// Text from the data as HTML text or attribute value: the five characters that could end
/// either, or open a tag, become entities.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

fn period(report: &OperatorReport) -> String {
    let generated = report.generated_at.format("%Y-%m-%d %H:%M UTC");
    let sellers = counted(report.sellers, "seller");
    match (report.days.first(), report.days.last()) {
        (Some(first), Some(last)) => {
            let days = counted(report.days.len(), "day");
            format!("{first} to {last} ({days}), {sellers}; generated {generated}.")
        }
        _ => format!("No days in the period, {sellers}; generated {generated}."),
    }
}

fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// One chart: the caption shows the title, the SVG's `<title>` names the image for screen readers.
fn figure(key: &str, title: &str, height: f64, body: &str) -> String {
    let key = escape(key);
    let title = escape(title);
    format!(
        "<figure data-chart=\"{key}\">\n<figcaption>{title}</figcaption>\n\
         <svg viewBox=\"0 0 {WIDTH:.0} {height:.0}\" role=\"img\"><title>{title}</title>{body}</svg>\n</figure>\n"
    )
}

fn no_data(height: f64) -> String {
    let x = WIDTH / 2.0;
    let y = height / 2.0;
    format!("<text class=\"empty\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">No data</text>")
}

/// A value's length on an axis whose `max` fills `length`: zero when everything is zero, and
/// never below the axis (a negative count is a data error, not a bar to draw downwards).
fn scaled(value: i64, max: i64, length: f64) -> f64 {
    if max <= 0 {
        return 0.0;
    }
    value.clamp(0, max) as f64 / max as f64 * length
}

/// The largest value, at least zero, so an axis always has a top to label.
fn top(values: impl Iterator<Item = i64>) -> i64 {
    values.max().unwrap_or(0).max(0)
}

/// Days and values paired by `zip`, so a series shorter or longer than `days` cannot index
/// past either.
fn daily_chart(days: &[NaiveDate], series: &Series) -> String {
    let points: Vec<(NaiveDate, i64)> = days.iter().copied().zip(series.values.iter().copied()).collect();
    let body = if points.is_empty() {
        no_data(DAILY_HEIGHT)
    } else {
        daily_body(&points)
    };
    figure(series.key, &series.title, DAILY_HEIGHT, &body)
}

fn daily_body(points: &[(NaiveDate, i64)]) -> String {
    let max = top(points.iter().map(|(_, value)| *value));
    let slot = (WIDTH - LEFT - RIGHT) / points.len() as f64;
    let bars: String = points
        .iter()
        .enumerate()
        .map(|(index, (day, value))| {
            let height = scaled(*value, max, PLOT_HEIGHT);
            let x = LEFT + index as f64 * slot + slot * 0.1;
            let y = BASELINE - height;
            let width = slot * 0.8;
            let date = day.format("%Y-%m-%d");
            format!(
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{height:.1}\">\
                 <title>{date}: {value}</title></rect>"
            )
        })
        .collect();
    format!("{}{bars}{}", value_axis(max), date_labels(points, slot))
}

/// The baseline with `0` at its foot and the largest value at the top.
fn value_axis(max: i64) -> String {
    let right = WIDTH - RIGHT;
    let x = LEFT - 6.0;
    let max_y = TOP + 4.0;
    let zero_y = BASELINE + 4.0;
    format!(
        "<line class=\"axis-line\" x1=\"{LEFT:.1}\" y1=\"{BASELINE:.1}\" x2=\"{right:.1}\" y2=\"{BASELINE:.1}\"/>\
         <text class=\"axis\" x=\"{x:.1}\" y=\"{max_y:.1}\" text-anchor=\"end\">{max}</text>\
         <text class=\"axis\" x=\"{x:.1}\" y=\"{zero_y:.1}\" text-anchor=\"end\">0</text>"
    )
}

/// The first, middle and last day under their bars; fewer when they are the same day.
/// `points` is not empty.
fn date_labels(points: &[(NaiveDate, i64)], slot: f64) -> String {
    let last = points.len() - 1;
    let mut indices = vec![0, last / 2, last];
    indices.dedup();
    let y = BASELINE + 18.0;
    indices
        .into_iter()
        .map(|index| {
            let x = LEFT + (index as f64 + 0.5) * slot;
            let label = points[index].0.format("%m-%d");
            format!("<text class=\"axis\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\">{label}</text>")
        })
        .collect()
}

/// One labelled bar per row, its count after it: the labels come from the data and are escaped.
fn horizontal_chart(key: &str, title: &str, rows: &[(String, i64)]) -> String {
    let height = TOP * 2.0 + ROW_HEIGHT * rows.len().max(1) as f64;
    let body = if rows.is_empty() {
        no_data(height)
    } else {
        horizontal_body(rows)
    };
    figure(key, title, height, &body)
}

fn horizontal_body(rows: &[(String, i64)]) -> String {
    let max = top(rows.iter().map(|(_, count)| *count));
    rows.iter()
        .enumerate()
        .map(|(index, (label, count))| {
            let label = escape(label);
            let row_y = TOP + index as f64 * ROW_HEIGHT;
            let bar_y = row_y + 4.0;
            let bar_height = ROW_HEIGHT - 8.0;
            let text_y = row_y + ROW_HEIGHT / 2.0 + 4.0;
            let label_x = LABEL_WIDTH - 8.0;
            let width = scaled(*count, max, BAR_SPAN);
            let count_x = LABEL_WIDTH + width + 6.0;
            format!(
                "<text class=\"label\" x=\"{label_x:.1}\" y=\"{text_y:.1}\" text-anchor=\"end\">{label}</text>\
                 <rect class=\"bar\" x=\"{LABEL_WIDTH:.1}\" y=\"{bar_y:.1}\" width=\"{width:.1}\" height=\"{bar_height:.1}\">\
                 <title>{label}: {count}</title></rect>\
                 <text class=\"axis\" x=\"{count_x:.1}\" y=\"{text_y:.1}\">{count}</text>"
            )
        })
        .collect()
}

/// The sellers in the order given: the caller decides who comes first.
fn at_risk_section(sellers: &[SellerAtRisk]) -> String {
    if sellers.is_empty() {
        return "<p>No seller is failing or at risk.</p>\n".to_owned();
    }
    let rows: String = sellers.iter().map(at_risk_row).collect();
    format!(
        "<table id=\"at-risk\">\n<thead><tr><th>Seller</th><th>Seller id</th><th>Measure</th>\
         <th>Value</th><th>Threshold</th><th>Status</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n"
    )
}

fn at_risk_row(seller: &SellerAtRisk) -> String {
    let name = escape(&seller.name);
    let id = escape(&seller.seller_id);
    let measure = escape(&seller.measure);
    let value = escape(&seller.value);
    let threshold = escape(&seller.threshold);
    let (status, colour) = status_look(&seller.status);
    format!(
        "<tr><td>{name}</td><td>{id}</td><td>{measure}</td><td class=\"number\">{value}</td>\
         <td class=\"number\">{threshold}</td><td style=\"color: {colour}; font-weight: 600\">{status}</td></tr>\n"
    )
}

/// Failing in red, at risk in amber; a status this page does not know is shown as it is.
fn status_look(status: &str) -> (String, &'static str) {
    match status {
        "failing" => ("Failing".to_owned(), "#b91c1c"),
        "at_risk" => ("At risk".to_owned(), "#b45309"),
        other => (escape(other), "inherit"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn day(offset: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, 1).unwrap() + Duration::days(offset)
    }

    fn seller(name: &str, seller_id: &str, status: &'static str) -> SellerAtRisk {
        SellerAtRisk {
            seller_id: seller_id.to_owned(),
            name: name.to_owned(),
            measure: "Late shipment rate (30 days)".to_owned(),
            value: "5.0%".to_owned(),
            threshold: "< 4%".to_owned(),
            status: status.to_owned(),
        }
    }

    /// Three series over `length` days, the first all zero.
    fn report(length: i64) -> OperatorReport {
        let days: Vec<NaiveDate> = (0..length).map(day).collect();
        let series = [("orders", "Orders"), ("refunds", "Refunds"), ("breaches", "Breaches")]
            .into_iter()
            .zip(0_i64..)
            .map(|((key, title), factor)| Series {
                key,
                title: title.to_owned(),
                values: (0..length).map(|n| n * factor).collect(),
            })
            .collect();
        OperatorReport {
            generated_at: Utc.with_ymd_and_hms(2025, 3, 15, 6, 0, 0).unwrap(),
            days,
            series,
            negative_reasons: vec![("quality".to_owned(), 5), ("shipping".to_owned(), 2)],
            response_times: vec![
                ("≤ 15 min".to_owned(), 7),
                ("≤ 1 h".to_owned(), 0),
                ("> 48 h".to_owned(), 1),
            ],
            sellers_at_risk: vec![seller("Acme", "s-1", "failing"), seller("Bolt", "s-2", "at_risk")],
            sellers: 12,
        }
    }

    fn empty_report() -> OperatorReport {
        let mut report = report(0);
        report.negative_reasons.clear();
        report.response_times.clear();
        report.sellers_at_risk.clear();
        report.sellers = 0;
        report
    }

    fn assert_inert(page: &str) {
        let lower = page.to_lowercase();
        assert!(!lower.contains("<script"), "{page}");
        assert!(!lower.contains("<img"), "{page}");
        assert!(!lower.contains("http"), "{page}");
        assert!(!lower.contains("url("), "{page}");
        assert!(!page.contains("NaN") && !page.contains("inf\""), "{page}");
    }

    #[test]
    fn three_series_over_fourteen_days_draw_five_figures() {
        let page = render(&report(14));
        assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(page.contains("<meta charset=\"utf-8\">"));
        assert_eq!(page.matches("<figure").count(), 5);
        assert_eq!(page.matches("<svg").count(), 5);
        for key in ["orders", "refunds", "breaches", "negative_reasons", "response_times"] {
            assert!(page.contains(&format!("data-chart=\"{key}\"")), "{key}");
        }
        assert_eq!(page.matches("<rect").count(), 3 * 14 + 2 + 3);
        assert!(page.contains("<title>2025-03-14: 26</title>"));
        for label in [">03-01<", ">03-07<", ">03-14<"] {
            assert_eq!(page.matches(label).count(), 3, "{label}");
        }
        assert!(page.contains("2025-03-01 to 2025-03-14 (14 days), 12 sellers"));
        assert!(page.contains("<table id=\"at-risk\">"));
        assert!(page.contains("color: #b91c1c; font-weight: 600\">Failing<"));
        assert!(page.contains("color: #b45309; font-weight: 600\">At risk<"));
        assert!(page.contains("&lt; 4%"));
        assert_inert(&page);
    }

    #[test]
    fn an_all_zero_series_draws_flat_bars_under_a_zero_top() {
        let days: Vec<NaiveDate> = (0..3).map(day).collect();
        let series = Series {
            key: "refunds",
            title: "Refunds".to_owned(),
            values: vec![0, 0, 0],
        };
        let chart = daily_chart(&days, &series);
        assert_eq!(chart.matches("height=\"0.0\"").count(), 3);
        assert!(chart.contains("text-anchor=\"end\">0</text><text"));
        assert_inert(&chart);
    }

    #[test]
    fn an_empty_report_still_draws_every_figure() {
        let page = render(&empty_report());
        assert_eq!(page.matches("<figure").count(), 5);
        assert_eq!(page.matches("<svg").count(), 5);
        assert_eq!(page.matches("No data").count(), 5);
        assert!(page.contains("No seller is failing or at risk."));
        assert!(!page.contains("id=\"at-risk\""));
        assert!(page.contains("No days in the period, 0 sellers"));
        assert_inert(&page);
    }

    #[test]
    fn values_without_days_or_days_without_values_do_not_panic() {
        let mut report = empty_report();
        report.series[1].values = vec![1, 2, 3];
        assert_eq!(render(&report).matches("No data").count(), 5);
        report.days = (0..5).map(day).collect();
        let page = render(&report);
        assert_eq!(page.matches("<rect").count(), 3);
        assert_inert(&page);
    }

    #[test]
    fn escape_turns_markup_into_text() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(escape("Tom & Jerry's"), "Tom &amp; Jerry&#39;s");
        assert_eq!(escape("≤ 15 min"), "≤ 15 min");
    }

    #[test]
    fn hostile_text_from_the_data_is_shown_not_run() {
        let mut report = report(3);
        report.series[0].title = "<script>alert(1)</script>".to_owned();
        report.negative_reasons[0].0 = "<script>alert(2)</script>".to_owned();
        report.sellers_at_risk = vec![seller(
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "failing",
        )];
        report.sellers_at_risk[0].measure = "<b onmouseover=alert(3)>rate</b>".to_owned();
        let page = render(&report);
        assert_inert(&page);
        assert!(!page.contains("<b "));
        assert!(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"));
        assert!(page.contains("<td>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>"));
        assert!(page.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
        assert!(page.contains("&lt;script&gt;alert(2)&lt;/script&gt;: 5</title>"));
        assert!(page.contains("&lt;b onmouseover=alert(3)&gt;rate&lt;/b&gt;"));
    }
}
