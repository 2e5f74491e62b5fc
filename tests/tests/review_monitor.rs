//! Review monitoring against the local AWS: reviews through the real webhook handler into the
//! reviews table (one read, one transaction), notices handed over as the queue delivers them,
//! digests read from the outbox they are relayed from, trends as the sweep re-checks them.

use backoffice::domains::reviews::notice::Noticed;
use backoffice::domains::reviews::records::ReviewState;
use backoffice_tests::orders::order_data;
use backoffice_tests::reviews::{Reviews, review_event, reviews};
use backoffice_tests::unique_id;
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use serde_json::{Value, json};

/// An order of this seller's teapot for `buy_1`, placed through order intake.
async fn teapot_order(reviews: &Reviews) -> String {
    let order_id = unique_id("ord");
    let (status, answer) = reviews
        .warehouse
        .shop
        .event(
            "order.created",
            order_data(&order_id, reviews.seller(), &[("TEA-POT-01", 1, "24.90")]),
        )
        .await;
    assert_eq!(status, 202, "{answer}");
    reviews.warehouse.shop.requests.take();
    order_id
}

#[tokio::test]
async fn a_verified_negative_review_is_one_read_and_one_transaction_and_told_once() {
    let reviews = reviews().await;
    let order_id = teapot_order(&reviews).await;
    let now = Utc::now();
    let mut event = review_event(&unique_id("rev"), reviews.seller(), "TEA-POT-01", 2, "", now);
    event["data"]["order_id"] = json!(order_id);
    event["data"]["title"] = json!("壶盖漏水");
    event["data"]["text"] = json!("用了两天壶盖就漏水，质量太差了。客服也不回复 call me 13800138000");
    let (status, answer) = reviews.send(&event).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        (&answer["negative"], &answer["reasons"], &answer["verified"]),
        (&json!(true), &json!(["quality", "seller_service"]), &json!(true))
    );
    assert_eq!(
        reviews.warehouse.shop.requests.take(),
        2,
        "BatchGetItem (review, seller, stats, order) and TransactWriteItems"
    );
    let review_id = event["data"]["review_id"].as_str().unwrap();
    let stored = reviews.stored(review_id).await.expect("stored");
    assert_eq!((stored.language.as_str(), stored.verified), ("zh", true));
    assert_eq!(reviews.stats("TEA-POT-01").await, (1, 2, false));

    let notices = reviews.notices().await;
    assert_eq!(notices.len(), 1);
    let Noticed::NegativeReview { snippet, .. } = &notices[0].about else {
        panic!("{notices:?}")
    };
    assert!(
        !snippet.contains("13800138000"),
        "phone numbers are redacted: {snippet}"
    );
    for _ in 0..3 {
        assert!(reviews.deliver(&notices).await.batch_item_failures.is_empty());
    }
    let digests = reviews.digests().await;
    assert_eq!(digests.len(), 1, "one digest, however often the notice is delivered");
    assert_eq!(digests[0].reviews[0].reasons, ["quality", "seller_service"]);
    assert!(digests[0].reviews[0].verified);
}

#[tokio::test]
async fn sixteen_racing_deliveries_of_a_review_store_it_once_and_notice_it_once() {
    let reviews = reviews().await;
    let event = review_event(
        &unique_id("rev"),
        reviews.seller(),
        "TEA-POT-01",
        1,
        "arrived broken, lid cracked",
        Utc::now(),
    );
    let answers = join_all((0..16).map(|_| reviews.send(&event))).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let duplicates = answers.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!((accepted, duplicates), (1, 15), "{answers:?}");
    assert_eq!(reviews.notices().await.len(), 1);
    assert_eq!(reviews.stats("TEA-POT-01").await.0, 1);
}

#[tokio::test]
async fn reviews_of_one_sku_racing_each_other_are_all_counted() {
    let reviews = reviews().await;
    let now = Utc::now();
    let answers = join_all((0..8).map(|_| reviews.review("TEA-CUP-06", 5, "lovely", now))).await;
    assert!(answers.iter().all(|(_, status, _)| *status == 202), "{answers:?}");
    assert_eq!(reviews.stats("TEA-CUP-06").await, (8, 40, false));
}

#[tokio::test]
async fn a_review_naming_another_sellers_order_is_not_found() {
    let reviews = reviews().await;
    let order_id = teapot_order(&reviews).await;
    let mut event = review_event(
        &unique_id("rev"),
        &unique_id("sel"),
        "TEA-POT-01",
        1,
        "broken",
        Utc::now(),
    );
    event["data"]["order_id"] = json!(order_id);
    let (status, answer) = reviews.send(&event).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("order_not_found"))
    );
    let (review_id, event_id) = (
        event["data"]["review_id"].as_str().unwrap(),
        event["id"].as_str().unwrap(),
    );
    assert!(!reviews.stored_anything(review_id, event_id).await);
}

#[tokio::test]
async fn an_edit_and_a_removal_keep_the_stats_right() {
    let reviews = reviews().await;
    let now = Utc::now();
    let (keep, ..) = reviews.review("TEA-POT-01", 5, "beautiful pot", now).await;
    let (edited, ..) = reviews.review("TEA-POT-01", 4, "nice", now).await;
    let edit = json!({"id": unique_id("evt"), "type": "review.updated", "created_at": now.to_rfc3339(),
        "data": {"review_id": edited, "seller_id": reviews.seller(), "rating": 1, "title": "",
                 "text": "the spout cracked after a week", "updated_at": now.to_rfc3339()}});
    let (status, answer) = reviews.send(&edit).await;
    assert_eq!(
        (status, answer["reasons"].clone()),
        (202, json!(["quality"])),
        "{answer}"
    );
    assert_eq!(reviews.stats("TEA-POT-01").await, (2, 6, false));
    assert_eq!(reviews.notices().await.len(), 1, "newly negative: told");

    let removal = json!({"id": unique_id("evt"), "type": "review.removed", "created_at": now.to_rfc3339(),
        "data": {"review_id": keep, "seller_id": reviews.seller(), "reason": "spam"}});
    assert_eq!(reviews.send(&removal).await.0, 202);
    assert_eq!(
        reviews.send(&removal).await.0,
        200,
        "a duplicate removal changes nothing"
    );
    assert_eq!(reviews.stats("TEA-POT-01").await, (1, 1, false));
    assert_eq!(reviews.stored(&keep).await.unwrap().state, ReviewState::Removed);
    assert_eq!(reviews.notices().await.len(), 1, "a removal tells nobody");
}

#[tokio::test]
async fn a_repeated_complaint_is_raised_once_cleared_by_the_sweep_and_raised_again() {
    let reviews = reviews().await;
    let start = Utc::now();
    let trends = |notices: Vec<backoffice::domains::reviews::notice::ReviewNotice>| {
        notices
            .into_iter()
            .filter_map(|notice| match notice.about {
                Noticed::Trend(alert) => Some((alert.trend.key(), alert.episode)),
                Noticed::NegativeReview { .. } => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    let raised = |pairs: &[(&str, u32)]| {
        pairs
            .iter()
            .map(|(key, episode)| ((*key).to_owned(), *episode))
            .collect::<std::collections::BTreeSet<_>>()
    };
    for text in ["the lid leaks", "leaks everywhere when pouring", "lid is leaking!!"] {
        let (_, status, answer) = reviews.review("TEA-POT-01", 2, text, start).await;
        assert_eq!(
            (status, answer["reasons"].clone()),
            (202, json!(["quality"])),
            "{text}: {answer}"
        );
    }
    assert_eq!(trends(reviews.notices().await), raised(&[("reason_quality", 1)]));
    reviews.review("TEA-POT-01", 1, "still leaks", start).await;
    assert_eq!(trends(reviews.notices().await).len(), 1, "one alert while it lasts");
    assert!(reviews.stats("TEA-POT-01").await.2, "watched while the trend is open");

    let week_later = start + Duration::days(8);
    reviews.sweep_at(week_later).await;
    assert!(!reviews.stats("TEA-POT-01").await.2, "a quiet week clears it");

    for text in ["leaks again", "the lid leaks", "leaky lid"] {
        reviews.review("TEA-POT-01", 1, text, week_later).await;
    }
    assert_eq!(
        trends(reviews.notices().await),
        raised(&[("reason_quality", 1), ("reason_quality", 2), ("low_average", 1)]),
        "fallen again: told again; and seven low reviews in 30 days are a low average"
    );
    let digests = {
        assert!(
            reviews
                .deliver(&reviews.notices().await)
                .await
                .batch_item_failures
                .is_empty()
        );
        reviews.digests().await
    };
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].review_trends.len(), 3);
    assert_eq!(digests[0].reviews.len(), 7);
}

/// A valid `review.created` data object, to be spoiled one field at a time.
fn valid_data(seller: &str) -> Value {
    json!({
        "review_id": unique_id("rev"), "seller_id": seller, "sku": "TEA-POT-01", "buyer_id": "buy_1",
        "rating": 2, "title": "leaks", "text": "the lid leaks", "language": "en",
        "created_at": "2026-11-25T10:00:00Z"
    })
}

/// A spoiled field: `None` removes it.
type Spoil = (&'static str, &'static str, Option<Value>, &'static str);

fn hostile() -> Vec<Spoil> {
    let long = |n: usize| json!("a".repeat(n));
    vec![
        ("rating 0", "rating", Some(json!(0)), "invalid_rating"),
        ("rating 6", "rating", Some(json!(6)), "invalid_rating"),
        ("rating -1", "rating", Some(json!(-1)), "invalid_rating"),
        ("rating 4.5", "rating", Some(json!(4.5)), "invalid_field"),
        ("rating \"5\"", "rating", Some(json!("5")), "invalid_field"),
        ("rating true", "rating", Some(json!(true)), "invalid_field"),
        ("rating null", "rating", Some(Value::Null), "invalid_field"),
        ("rating 1e3", "rating", Some(json!(1e3)), "invalid_field"),
        ("rating huge", "rating", Some(json!(u64::MAX)), "invalid_field"),
        ("rating missing", "rating", None, "missing_field"),
        ("text of 5,001 characters", "text", Some(long(5_001)), "too_long"),
        ("title of 201 characters", "title", Some(long(201)), "too_long"),
        (
            "text of 5,001 Chinese characters",
            "text",
            Some(json!("漏".repeat(5_001))),
            "too_long",
        ),
        (
            "a NUL in the text",
            "text",
            Some(json!("leaks\u{0}")),
            "control_characters",
        ),
        (
            "an escape sequence in the text",
            "text",
            Some(json!("\u{1b}[31mred")),
            "control_characters",
        ),
        (
            "a line break in the title",
            "title",
            Some(json!("two\nlines")),
            "control_characters",
        ),
        (
            "a bell in the title",
            "title",
            Some(json!("ding\u{7}")),
            "control_characters",
        ),
        (
            "a script tag in the title",
            "title",
            Some(json!("<script>alert(1)</script>")),
            "markup_not_allowed",
        ),
        (
            "an img tag in the text",
            "text",
            Some(json!("<img src=x onerror=alert(1)>")),
            "markup_not_allowed",
        ),
        (
            "a closing tag in the text",
            "text",
            Some(json!("</textarea>")),
            "markup_not_allowed",
        ),
        (
            "a comment in the text",
            "text",
            Some(json!("<!-- x -->")),
            "markup_not_allowed",
        ),
        (
            "an unknown language tag",
            "language",
            Some(json!("xx")),
            "invalid_language",
        ),
        (
            "a language word",
            "language",
            Some(json!("english")),
            "invalid_language",
        ),
        ("an empty language", "language", Some(json!("")), "invalid_language"),
        (
            "markup in the language",
            "language",
            Some(json!("en-<script>")),
            "invalid_language",
        ),
        ("a language number", "language", Some(json!(5)), "invalid_field"),
        ("missing SKU", "sku", None, "missing_field"),
        ("an empty SKU", "sku", Some(json!("")), "invalid_sku"),
        ("a SKU with spaces", "sku", Some(json!("TEA POT")), "invalid_sku"),
        ("a SKU path", "sku", Some(json!("../../etc/passwd")), "invalid_sku"),
        ("a SKU of 65 characters", "sku", Some(long(65)), "invalid_sku"),
        ("missing review id", "review_id", None, "missing_field"),
        (
            "a review id with a space",
            "review_id",
            Some(json!("rev 1")),
            "invalid_identifier",
        ),
        (
            "a review id with an accent",
            "review_id",
            Some(json!("rév_1")),
            "invalid_identifier",
        ),
        ("an empty seller", "seller_id", Some(json!("")), "invalid_identifier"),
        ("missing buyer", "buyer_id", None, "missing_field"),
        (
            "an order id with a slash",
            "order_id",
            Some(json!("ord/1")),
            "invalid_identifier",
        ),
        (
            "an order nobody placed",
            "order_id",
            Some(json!("ord_never_placed")),
            "order_not_found",
        ),
        (
            "created_at in words",
            "created_at",
            Some(json!("yesterday")),
            "invalid_timestamp",
        ),
        (
            "created_at month 13",
            "created_at",
            Some(json!("2026-13-45T00:00:00Z")),
            "invalid_timestamp",
        ),
        ("title a number", "title", Some(json!(5)), "invalid_field"),
        ("text an object", "text", Some(json!({"html": "x"})), "invalid_field"),
        ("an unknown field", "admin", Some(json!(true)), "invalid_field"),
    ]
}

#[tokio::test]
async fn hostile_reviews_are_refused_with_their_code_and_nothing_is_stored() {
    let reviews = reviews().await;
    let spoils = hostile();
    assert!(spoils.len() >= 40);
    for (what, field, value, code) in spoils {
        let mut data = valid_data(reviews.seller());
        match value {
            Some(value) => data[field] = value,
            None => {
                data.as_object_mut().unwrap().remove(field);
            }
        }
        let review_id = data["review_id"].as_str().unwrap_or("rev_missing").to_owned();
        let event = json!({"id": unique_id("evt"), "type": "review.created", "created_at": "2026-11-25T10:00:00Z", "data": data});
        let (status, answer) = reviews.send(&event).await;
        assert!(matches!(status, 400 | 404 | 422), "{what}: {status} {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
        assert!(
            answer["error"]["field"]
                .as_str()
                .is_some_and(|named| named.starts_with("data")),
            "{what}: {answer}"
        );
        assert!(
            !reviews.stored_anything(&review_id, event["id"].as_str().unwrap()).await,
            "{what}: stored"
        );
    }
    let empty = {
        let mut data = valid_data(reviews.seller());
        data["title"] = json!(" ");
        data["text"] = json!("  \n ");
        json!({"id": unique_id("evt"), "type": "review.created", "created_at": "2026-11-25T10:00:00Z", "data": data})
    };
    assert_eq!(reviews.send(&empty).await.1["error"]["code"], "empty_text");
    for data in [json!([1, 2]), Value::Null, json!("review")] {
        let event = json!({"id": unique_id("evt"), "type": "review.created", "created_at": "2026-11-25T10:00:00Z", "data": data});
        assert_eq!(reviews.send(&event).await.0, 400, "{data}");
    }
    assert_eq!(reviews.stats("TEA-POT-01").await, (0, 0, false));
    assert!(reviews.notices().await.is_empty());
}

#[tokio::test]
async fn a_sellers_reviews_are_listed_by_sku_and_by_date_for_the_reports() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let reviews = reviews().await;
    let now = Utc::now();
    let day = |n: i64| now - Duration::days(n);
    let (old_pot, ..) = reviews.review("TEA-POT-01", 4, "good", day(3)).await;
    let (cups, ..) = reviews.review("TEA-CUP-06", 5, "lovely", day(2)).await;
    let (new_pot, ..) = reviews.review("TEA-POT-01", 1, "cracked", day(1)).await;
    let query = |index: &str, sort: &str, prefix: String| {
        reviews
            .warehouse
            .shop
            .dynamodb
            .query()
            .table_name(backoffice_tests::local_aws().table("ReviewsTable"))
            .index_name(index)
            .key_condition_expression(format!("seller_id = :seller AND begins_with({sort}, :prefix)"))
            .expression_attribute_values(":seller", AttributeValue::S(reviews.seller().to_owned()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix))
            .send()
    };
    let ids = |output: aws_sdk_dynamodb::operation::query::QueryOutput| -> Vec<String> {
        output
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| item["review_id"].as_s().unwrap().clone())
            .collect()
    };
    let pots = ids(query("BySellerSku", "sku_created", "TEA-POT-01#".to_owned())
        .await
        .unwrap());
    assert_eq!(
        pots,
        [old_pot.clone(), new_pot.clone()],
        "the SKU's reviews, oldest first"
    );
    let this_week = ids(reviews
        .warehouse
        .shop
        .dynamodb
        .query()
        .table_name(backoffice_tests::local_aws().table("ReviewsTable"))
        .index_name("BySellerDate")
        .key_condition_expression("seller_id = :seller AND created BETWEEN :from AND :to")
        .expression_attribute_values(":seller", AttributeValue::S(reviews.seller().to_owned()))
        .expression_attribute_values(":from", AttributeValue::S(day(2).to_rfc3339()))
        .expression_attribute_values(":to", AttributeValue::S(day(0).to_rfc3339()))
        .send()
        .await
        .unwrap());
    assert_eq!(this_week, [cups, new_pot], "the last two days' reviews, of every SKU");
    let other = ids(reviews
        .warehouse
        .shop
        .dynamodb
        .query()
        .table_name(backoffice_tests::local_aws().table("ReviewsTable"))
        .index_name("BySellerDate")
        .key_condition_expression("seller_id = :seller")
        .expression_attribute_values(":seller", AttributeValue::S(unique_id("sel")))
        .send()
        .await
        .unwrap());
    assert!(other.is_empty(), "another seller lists none of them");
}
