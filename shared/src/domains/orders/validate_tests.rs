use serde_json::{Value, json};

use super::*;
use crate::domains::orders::schema::OrderCreatedData;
use crate::mechanisms::webhook::{Rejection, parse_data};

fn sample() -> Value {
    json!({
        "order_id": "ord_1001",
        "seller_id": "sel_teahouse",
        "buyer": {"id": "buy_42", "name": "Li Wei", "email": "li.wei@example.cn", "locale": "zh"},
        "currency": "EUR",
        "lines": [
            {"line_id": "l1", "sku": "TEA-POT-01", "quantity": 2, "unit_price": "24.90"},
            {"line_id": "l2", "sku": "TEA-CUP-06", "quantity": 1, "unit_price": "12.00"}
        ],
        "total": "61.80",
        "ship_by": "2026-11-24T18:00:00Z",
        "shipping_address": {"name": "Li Wei", "line1": "88 Nanjing Road", "city": "Shanghai",
            "postal_code": "200001", "country": "CN"}
    })
}

/// Runs the whole read: shape, then rules, as the edge and the handler do.
fn check(data: &Value) -> Result<NewOrder, Rejection> {
    let shape: OrderCreatedData = parse_data(data)?;
    Ok(new_order(shape)?)
}

/// A change to the sample, the status, code and field it must be refused with.
type Case = (Box<dyn FnOnce(&mut Value)>, u16, &'static str, &'static str);

fn refused(mutate: impl FnOnce(&mut Value)) -> Rejection {
    let mut data = sample();
    mutate(&mut data);
    check(&data).expect_err("must be refused")
}

#[test]
fn the_sample_order_is_valid() {
    let order = check(&sample()).unwrap();
    assert_eq!(order.total.minor_units(), 6180);
    assert_eq!(order.lines[0].quantity, 2);
    assert_eq!(order.buyer.locale, "zh");
}

#[test]
fn each_broken_rule_has_its_code_status_and_field() {
    let cases: Vec<Case> = vec![
        (
            Box::new(|d| d["lines"][0]["quantity"] = json!(0)),
            400,
            "invalid_quantity",
            "data.lines[0].quantity",
        ),
        (
            Box::new(|d| d["lines"][1]["quantity"] = json!(-3)),
            400,
            "invalid_quantity",
            "data.lines[1].quantity",
        ),
        (
            Box::new(|d| d["lines"][0]["quantity"] = json!(1_000_000_000)),
            400,
            "invalid_quantity",
            "data.lines[0].quantity",
        ),
        (
            Box::new(|d| d["lines"][0]["quantity"] = json!(1.5)),
            400,
            "invalid_field",
            "data.lines[0].quantity",
        ),
        (
            Box::new(|d| d["lines"][0]["unit_price"] = json!(24.90)),
            400,
            "invalid_field",
            "data.lines[0].unit_price",
        ),
        (
            Box::new(|d| d["lines"][0]["unit_price"] = json!("24.901")),
            400,
            "invalid_money",
            "data.lines[0].unit_price",
        ),
        (
            Box::new(|d| d["lines"][0]["unit_price"] = json!("-1.00")),
            400,
            "invalid_money",
            "data.lines[0].unit_price",
        ),
        (
            Box::new(|d| d["currency"] = json!("EURO")),
            400,
            "unknown_currency",
            "data.currency",
        ),
        (
            Box::new(|d| d["total"] = json!("61.79")),
            422,
            "total_mismatch",
            "data.total",
        ),
        (
            Box::new(|d| d["lines"][1]["sku"] = json!("TEA-POT-01")),
            400,
            "duplicate_sku",
            "data.lines[1].sku",
        ),
        (
            Box::new(|d| d["lines"][1]["line_id"] = json!("l1")),
            400,
            "duplicate_line_id",
            "data.lines[1].line_id",
        ),
        (
            Box::new(|d| d["lines"][0]["sku"] = json!("茶壶-01")),
            400,
            "invalid_sku",
            "data.lines[0].sku",
        ),
        (
            Box::new(|d| d["lines"][0]["sku"] = json!("")),
            400,
            "invalid_sku",
            "data.lines[0].sku",
        ),
        (Box::new(|d| d["lines"] = json!([])), 400, "no_lines", "data.lines"),
        (
            Box::new(|d| d["buyer"]["email"] = json!("not-an-email")),
            400,
            "invalid_email",
            "data.buyer.email",
        ),
        (
            Box::new(|d| d["buyer"]["email"] = json!("a@b.cn\r\nBcc: x@evil.test")),
            400,
            "invalid_email",
            "data.buyer.email",
        ),
        (
            Box::new(|d| d["buyer"]["name"] = json!("<script>alert(1)</script>")),
            400,
            "invalid_text",
            "data.buyer.name",
        ),
        (
            Box::new(|d| d["buyer"]["name"] = json!("Li\r\nBcc: x@evil.test")),
            400,
            "invalid_text",
            "data.buyer.name",
        ),
        (
            Box::new(|d| d["buyer"]["name"] = json!("   ")),
            400,
            "invalid_text",
            "data.buyer.name",
        ),
        (
            Box::new(|d| d["buyer"]["locale"] = json!("../../etc")),
            400,
            "invalid_locale",
            "data.buyer.locale",
        ),
        (
            // Every follow-up of the order carries the tag: an unbounded one could outgrow SNS.
            Box::new(|d| d["buyer"]["locale"] = json!(format!("en{}", "-GB".repeat(50_000)))),
            400,
            "invalid_locale",
            "data.buyer.locale",
        ),
        (
            Box::new(|d| {
                d["buyer"].as_object_mut().unwrap().remove("email");
            }),
            400,
            "missing_field",
            "data.buyer.email",
        ),
        (
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("buyer");
            }),
            400,
            "missing_field",
            "data.buyer",
        ),
        (
            Box::new(|d| d["order_id"] = json!("ord 1")),
            400,
            "invalid_identifier",
            "data.order_id",
        ),
        (
            Box::new(|d| d["ship_by"] = json!("next tuesday")),
            400,
            "invalid_timestamp",
            "data.ship_by",
        ),
        (
            Box::new(|d| d["shipping_address"]["country"] = json!("China")),
            400,
            "invalid_country",
            "data.shipping_address.country",
        ),
    ];
    for (mutate, status, code, field) in cases {
        let rejection = refused(mutate);
        assert_eq!(
            (rejection.status(), rejection.code, rejection.field.as_deref()),
            (status, code, Some(field)),
            "{}",
            rejection.message
        );
    }
}

#[test]
fn more_lines_than_a_transaction_holds_are_refused() {
    let rejection = refused(|d| {
        let lines: Vec<Value> = (0..=MAX_LINES)
            .map(
                |i| json!({"line_id": format!("l{i}"), "sku": format!("SKU-{i}"), "quantity": 1, "unit_price": "1.00"}),
            )
            .collect();
        d["lines"] = json!(lines);
        d["total"] = json!(format!("{}.00", MAX_LINES + 1));
    });
    assert_eq!((rejection.status(), rejection.code), (400, "too_many_lines"));
}

#[test]
fn a_float_for_money_is_refused_with_a_message_that_says_so() {
    let rejection = refused(|d| d["total"] = json!(61.8));
    assert!(
        rejection.message.contains("never a JSON number"),
        "{}",
        rejection.message
    );
}
