//! Business metrics in CloudWatch Embedded Metric Format: one JSON line on stdout per data
//! point, which CloudWatch Logs turns into a metric without any API call from the function.

use std::io::Write;

use chrono::Utc;
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Marketplace/BackOffice";

/// Counts `value` of `metric`, dimensioned by the function and by `dimensions`. Only inside a
/// Lambda (or the local stack, which runs the functions as Lambda does): elsewhere, such as a
/// test calling a handler directly, no CloudWatch reads the line.
pub fn count(metric: &str, value: u64, dimensions: &[(&str, &str)]) {
    emit(metric, value, "Count", dimensions);
}

/// A measured value of `metric` in `unit` (`Seconds`, `Milliseconds`, …), dimensioned by the
/// function alone: CloudWatch keeps its percentiles.
pub fn measure(metric: &str, value: u64, unit: &str) {
    emit(metric, value, unit, &[]);
}

fn emit(metric: &str, value: u64, unit: &str, dimensions: &[(&str, &str)]) {
    let Ok(function) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") else {
        return;
    };
    let line = emf_line(
        metric,
        value,
        unit,
        &function,
        dimensions,
        Utc::now().timestamp_millis(),
    );
    let mut out = std::io::stdout().lock();
    // A metric that cannot be written must not fail the business operation it describes.
    let _ = writeln!(out, "{line}");
}

fn emf_line(
    metric: &str,
    value: u64,
    unit: &str,
    function: &str,
    dimensions: &[(&str, &str)],
    timestamp_ms: i64,
) -> Value {
    let mut names = vec!["Function"];
    names.extend(dimensions.iter().map(|(name, _)| *name));
    let mut record = Map::new();
    record.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": [{"Name": metric, "Unit": unit}],
            }],
        }),
    );
    record.insert("Function".to_owned(), json!(function));
    for (name, value) in dimensions {
        record.insert((*name).to_owned(), json!(value));
    }
    record.insert(metric.to_owned(), json!(value));
    Value::Object(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_a_valid_emf_record() {
        let line = emf_line(
            "WebhookAccepted",
            1,
            "Count",
            "order-intake",
            &[("EventType", "order.created")],
            42,
        );
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"][0], json!(["Function", "EventType"]));
        assert_eq!(directive["Metrics"][0]["Name"], "WebhookAccepted");
        assert_eq!(line["WebhookAccepted"], 1);
        assert_eq!(line["EventType"], "order.created");
        assert_eq!(line["Function"], "order-intake");
        assert_eq!(line["_aws"]["Timestamp"], 42);
    }
}
