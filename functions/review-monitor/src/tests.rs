//! Review monitoring's handler over the in-memory store: reviews through the webhook, the
//! notices as the queue delivers them, one digest per seller, trends raised once, cleared and
//! raised again. The same handler over DynamoDB is proven in `tests/tests/review_monitor.rs`.

use backoffice::domains::email::{EmailContent, EmailRequest};
use backoffice::domains::orders::records::put_new;
use backoffice::domains::orders::schema::OrderCreatedData;
use backoffice::domains::orders::{EventContext, StoredOrder, validate};
use backoffice::domains::reviews::notice::Noticed;
use backoffice::domains::reviews::records::{review_key, stats_key};
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use backoffice::storage::{Item, MemoryStorage, Table, WriteSet, number, text};
use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};

use super::*;

const SECRET: &str = "whsec_unit";
const SELLER: &str = "sel_teahouse";

fn now() -> DateTime<Utc> {
    "2026-11-25T15:00:00Z".parse().unwrap()
}

fn sample(name: &str) -> Value {
    let path = format!("{}/../../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap()
}

struct Shop {
    monitor: ReviewMonitor<MemoryStorage>,
    store: MemoryStorage,
}

/// The seller with an alert contact, and the sample order `ord_1001` (buyer `buy_42`, the
/// teapot and the cups), delivered.
async fn shop() -> Shop {
    let store = MemoryStorage::new();
    let seller =
        json!({"seller_id": SELLER, "name": "Teahouse Lin", "email": "alerts@teahouse.example", "locale": "zh-CN"});
    store.insert(Table::Sellers, seller.as_object().cloned().unwrap());
    let data: OrderCreatedData = serde_json::from_value(sample("01-order.created")["data"].clone()).unwrap();
    let event = EventContext {
        id: "evt_order".into(),
        fingerprint: "f".into(),
        at: now() - Duration::days(5),
    };
    let order = StoredOrder::accepted(&validate::new_order(data).unwrap(), &event);
    store
        .write(WriteSet::from(vec![put_new(&order).unwrap()]))
        .await
        .unwrap();
    store.take_requests();
    Shop {
        monitor: ReviewMonitor::new(WebhookSecret::new(SECRET), store.clone()),
        store,
    }
}

/// A `review.created` of `sku` with these stars and words, under its own event and review id.
fn review(n: u32, sku: &str, rating: i64, text: &str) -> Value {
    json!({
        "id": format!("evt_review_{n}"),
        "type": "review.created",
        "created_at": "2026-11-25T10:00:00Z",
        "data": {
            "review_id": format!("rev_{n}"), "seller_id": SELLER, "sku": sku, "buyer_id": format!("buy_{n}"),
            "rating": rating, "title": "", "text": text, "created_at": "2026-11-25T09:00:00Z"
        }
    })
}

impl Shop {
    async fn send(&self, event: &Value) -> (i64, Value) {
        self.send_at(event, now()).await
    }

    async fn send_at(&self, event: &Value, at: DateTime<Utc>) -> (i64, Value) {
        let request = marketplace_request(&WebhookSecret::new(SECRET), &event.to_string(), at);
        let response = self.monitor.handle_webhook(&request, at).await;
        let answer = serde_json::from_str(response.body.as_deref().unwrap_or("null")).unwrap();
        (response.status_code, answer)
    }

    fn review(&self, review_id: &str) -> Item {
        self.store.item(Table::Reviews, &review_key(SELLER, review_id)).unwrap()
    }

    /// The SKU's 30-day reviews and stars, from its day buckets.
    fn stats(&self, sku: &str) -> (u64, u64) {
        let item = self.store.item(Table::Reviews, &stats_key(SELLER, sku)).unwrap();
        item["days"]
            .as_object()
            .unwrap()
            .values()
            .fold((0, 0), |(reviews, stars), day| {
                (
                    reviews + day["reviews"].as_u64().unwrap(),
                    stars + day["stars"].as_u64().unwrap(),
                )
            })
    }

    /// Every review notice the outbox holds, in key order.
    fn notices(&self) -> Vec<ReviewNotice> {
        self.follow_ups()
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::ReviewNotice(notice) => Some(notice),
                _ => None,
            })
            .collect()
    }

    fn follow_ups(&self) -> Vec<FollowUp> {
        let mut entries = self.store.items(Table::Outbox);
        entries.sort_by(|a, b| text(a, "key").cmp(text(b, "key")));
        entries
            .iter()
            .flat_map(|entry| serde_json::from_str::<Vec<FollowUp>>(text(entry, "follow_ups")).unwrap())
            .collect()
    }

    /// The digests written so far: the seller digest emails in the outbox.
    fn digests(&self) -> Vec<EmailRequest> {
        self.follow_ups()
            .into_iter()
            .filter_map(|follow_up| match follow_up {
                FollowUp::Email(email) if matches!(email.content, EmailContent::SellerDigest(_)) => Some(email),
                _ => None,
            })
            .collect()
    }

    /// One batch of the review notice queue, as Lambda hands it.
    async fn deliver(&self, notices: &[ReviewNotice]) -> Value {
        let records: Vec<Value> = notices
            .iter()
            .enumerate()
            .map(|(n, notice)| {
                let body = serde_json::to_string(&FollowUp::ReviewNotice(notice.clone())).unwrap();
                json!({"eventSource": "aws:sqs", "messageId": format!("m{n}"), "body": body})
            })
            .collect();
        self.monitor.handle(json!({"Records": records}), now()).await.unwrap()
    }

    async fn sweep_at(&self, at: DateTime<Utc>) -> Value {
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        self.monitor.handle(schedule, at).await.unwrap()
    }
}

#[tokio::test]
async fn a_negative_chinese_review_of_a_delivered_order_is_verified_classified_and_told_once() {
    let shop = shop().await;
    let (status, answer) = shop.send(&sample("09-review.created.negative-zh")).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["negative"], json!(true));
    assert_eq!(answer["reasons"], json!(["quality", "seller_service"]));
    assert_eq!(answer["verified"], json!(true));
    assert_eq!(
        shop.store.take_requests(),
        2,
        "one read of the review, seller, stats and order; one write set"
    );
    let stored = shop.review("rev_2001");
    assert_eq!((text(&stored, "language"), text(&stored, "seller_id")), ("zh", SELLER));
    assert_eq!(shop.stats("TEA-POT-01"), (1, 2));

    let notices = shop.notices();
    assert_eq!(notices.len(), 1);
    let Noticed::NegativeReview { snippet, .. } = &notices[0].about else {
        panic!("{notices:?}");
    };
    assert!(
        !snippet.contains("li_wei_88"),
        "contact details are redacted: {snippet}"
    );

    let answer = shop.deliver(&notices).await;
    assert_eq!(answer["batchItemFailures"], json!([]));
    shop.deliver(&notices).await;
    shop.deliver(&[notices[0].clone(), notices[0].clone()]).await;
    let digests = shop.digests();
    assert_eq!(digests.len(), 1, "told once, however often it is delivered");
    let EmailContent::SellerDigest(digest) = &digests[0].content else {
        unreachable!()
    };
    assert_eq!(digest.reviews.len(), 1);
    assert_eq!(digest.reviews[0].reasons, ["quality", "seller_service"]);
    assert!(digest.reviews[0].verified);
}

#[tokio::test]
async fn every_sample_review_event_is_accepted_with_its_effect() {
    let shop = shop().await;
    for name in [
        "09-review.created.negative-zh",
        "10-review.created.positive",
        "11-review.created.rating-3-shipping",
        "12-review.created.leaks-en",
        "13-review.updated",
        "14-review.removed",
    ] {
        let (status, answer) = shop.send(&sample(name)).await;
        assert_eq!(status, 202, "{name}: {answer}");
    }
    assert_eq!(shop.review("rev_2002")["negative"], json!(false));
    assert_eq!(text(&shop.review("rev_2002"), "state"), "removed");
    assert_eq!(shop.review("rev_2003")["reasons"], json!(["quality", "shipping"]));
    assert_eq!(
        shop.stats("TEA-POT-01"),
        (3, 2 + 2 + 1),
        "the edit's stars, not the first ones"
    );
    assert!(
        shop.store
            .item(Table::Reviews, &stats_key(SELLER, "TEA-CUP-06"))
            .unwrap()["days"]
            .as_object()
            .unwrap()
            .is_empty(),
        "the removed review is out of the cups' stats"
    );
    let kinds: Vec<String> = shop
        .notices()
        .iter()
        .map(|notice| match &notice.about {
            Noticed::NegativeReview { review_id, .. } => review_id.clone(),
            Noticed::Trend(alert) => alert.trend.key(),
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|kind| kind.as_str() == "reason_quality").count(),
        1,
        "three buyers this week say the lid leaks: {kinds:?}"
    );
    for review in ["rev_2001", "rev_2003", "rev_2004"] {
        assert!(kinds.iter().any(|kind| kind == review), "{review} told: {kinds:?}");
    }
    assert_eq!(
        kinds.len(),
        5,
        "rev_2003 told twice (it gained a reason), one trend: {kinds:?}"
    );
}

#[tokio::test]
async fn a_duplicate_and_sixteen_racing_duplicates_store_one_review_and_one_notice() {
    let shop = shop().await;
    let event = sample("09-review.created.negative-zh");
    let answers = join_all((0..16).map(|_| shop.send(&event))).await;
    let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
    let duplicates = answers
        .iter()
        .filter(|(status, answer)| *status == 200 && answer["status"] == "duplicate")
        .count();
    assert_eq!((accepted, duplicates), (1, 15), "{answers:?}");
    let (status, answer) = shop.send(&event).await;
    assert_eq!(
        (status, answer["reasons"].clone()),
        (200, json!(["quality", "seller_service"]))
    );
    assert_eq!(shop.notices().len(), 1);
    assert_eq!(shop.stats("TEA-POT-01"), (1, 2));
}

#[tokio::test]
async fn the_same_review_from_another_event_is_a_duplicate_and_another_body_a_conflict() {
    let shop = shop().await;
    let mut event = sample("10-review.created.positive");
    shop.send(&event).await;
    event["id"] = json!("evt_resent_by_another_event");
    assert_eq!(shop.send(&event).await.0, 200, "the same review again");
    event["id"] = json!("evt_another_review_same_id");
    event["data"]["rating"] = json!(1);
    let (status, answer) = shop.send(&event).await;
    assert_eq!((status, answer["error"]["code"].as_str()), (409, Some("review_exists")));
    assert_eq!(shop.stats("TEA-CUP-06"), (1, 5));
}

#[tokio::test]
async fn a_review_naming_another_sellers_order_is_not_found_and_nothing_is_stored() {
    let shop = shop().await;
    let mut event = sample("09-review.created.negative-zh");
    event["data"]["seller_id"] = json!("sel_other");
    let (status, answer) = shop.send(&event).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("order_not_found")),
        "{answer}"
    );
    assert_eq!(answer["error"]["field"], "data.order_id");
    assert!(shop.store.items(Table::Reviews).is_empty());
    assert!(shop.store.items(Table::Idempotency).is_empty());
}

#[tokio::test]
async fn a_review_of_an_order_of_another_buyer_or_sku_is_stored_unverified() {
    let shop = shop().await;
    let mut event = sample("09-review.created.negative-zh");
    event["data"]["buyer_id"] = json!("buy_someone_else");
    let (status, answer) = shop.send(&event).await;
    assert_eq!((status, answer["verified"].clone()), (202, json!(false)));
}

#[tokio::test]
async fn an_edit_is_told_again_only_when_it_turns_negative_or_names_a_new_reason() {
    let shop = shop().await;
    shop.send(&review(1, "TEA-POT-01", 2, "lid leaks")).await;
    let edit = |n: u32, rating: i64, text: &str| {
        json!({"id": format!("evt_edit_{n}"), "type": "review.updated", "created_at": "2026-11-25T12:00:00Z",
               "data": {"review_id": "rev_1", "seller_id": SELLER, "rating": rating, "title": "", "text": text,
                        "updated_at": "2026-11-25T12:00:00Z"}})
    };
    let (status, answer) = shop.send(&edit(1, 1, "the lid leaks, worse every day")).await;
    assert_eq!(
        (status, answer["reasons"].clone()),
        (202, json!(["quality"])),
        "{answer}"
    );
    assert_eq!(shop.notices().len(), 1, "the same reason: not told again");
    shop.send(&edit(2, 1, "the lid leaks and customer service never replied"))
        .await;
    assert_eq!(shop.notices().len(), 2, "a new reason: told again");
    shop.send(&edit(3, 5, "they sent a new lid, works perfectly now")).await;
    shop.send(&edit(4, 1, "new lid cracked after a week, the lid leaks again"))
        .await;
    assert_eq!(shop.notices().len(), 3, "newly negative: told again");
    assert_eq!(shop.stats("TEA-POT-01"), (1, 1), "one review, its last stars");
    let keys: std::collections::BTreeSet<String> = shop.notices().into_iter().map(|notice| notice.dedupe_key).collect();
    assert_eq!(keys.len(), 3, "each telling has its own key");
}

#[tokio::test]
async fn another_sellers_review_cannot_be_edited_or_removed() {
    let shop = shop().await;
    shop.send(&sample("10-review.created.positive")).await;
    let mut removal = sample("14-review.removed");
    removal["data"]["seller_id"] = json!("sel_other");
    let (status, answer) = shop.send(&removal).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (404, Some("review_not_found"))
    );
    let mut edit = sample("13-review.updated");
    edit["data"]["review_id"] = json!("rev_2002");
    edit["data"]["seller_id"] = json!("sel_other");
    assert_eq!(shop.send(&edit).await.0, 404);
    assert_eq!(text(&shop.review("rev_2002"), "state"), "published");
    assert_eq!(shop.review("rev_2002")["rating"], json!(5));
}

#[tokio::test]
async fn a_removed_review_cannot_be_edited_and_its_removal_tells_nobody() {
    let shop = shop().await;
    shop.send(&review(1, "TEA-POT-01", 1, "broke")).await;
    let notices = shop.notices().len();
    let removal = json!({"id": "evt_removed", "type": "review.removed", "created_at": "2026-11-25T12:00:00Z",
                         "data": {"review_id": "rev_1", "seller_id": SELLER}});
    assert_eq!(shop.send(&removal).await.0, 202);
    assert_eq!(shop.send(&removal).await.0, 200, "a duplicate removal");
    assert_eq!(shop.notices().len(), notices);
    assert_eq!(shop.stats("TEA-POT-01"), (0, 0));
    let edit = json!({"id": "evt_edit", "type": "review.updated", "created_at": "2026-11-25T12:00:00Z",
                      "data": {"review_id": "rev_1", "seller_id": SELLER, "rating": 1, "title": "", "text": "broke!!",
                               "updated_at": "2026-11-25T12:00:00Z"}});
    let (status, answer) = shop.send(&edit).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (422, Some("review_removed"))
    );
}

#[tokio::test]
async fn a_low_average_is_raised_once_cleared_by_the_sweep_and_raised_again() {
    let shop = shop().await;
    for n in 0..5 {
        shop.send(&review(n, "TEA-CUP-06", 3, "ok")).await;
    }
    let trends = |shop: &Shop| {
        shop.notices()
            .into_iter()
            .filter(|notice| matches!(notice.about, Noticed::Trend(_)))
            .count()
    };
    assert_eq!(trends(&shop), 1, "five reviews averaging 3.0, under 3.5");
    shop.send(&review(5, "TEA-CUP-06", 3, "ok")).await;
    assert_eq!(trends(&shop), 1, "one alert until it recovers");
    let stats = shop
        .store
        .item(Table::Reviews, &stats_key(SELLER, "TEA-CUP-06"))
        .unwrap();
    assert_eq!(text(&stats, "watch"), "trends", "the sweep watches it");

    let month_later = now() + Duration::days(31);
    let swept = shop.sweep_at(month_later).await;
    assert_eq!(
        (swept["skus_checked"].as_u64(), swept["recovered"].as_u64()),
        (Some(1), Some(1)),
        "{swept}"
    );
    let stats = shop
        .store
        .item(Table::Reviews, &stats_key(SELLER, "TEA-CUP-06"))
        .unwrap();
    assert!(stats.get("watch").is_none(), "recovered: no longer watched");
    assert_eq!(
        shop.sweep_at(month_later).await["skus_checked"],
        0,
        "the sweep's cost follows open trends"
    );

    for n in 10..15 {
        let mut event = review(n, "TEA-CUP-06", 1, "arrived broken");
        event["data"]["created_at"] = json!(month_later.to_rfc3339());
        shop.send_at(&event, month_later).await;
    }
    let keys: Vec<String> = shop
        .notices()
        .into_iter()
        .filter(|notice| matches!(notice.about, Noticed::Trend(_)))
        .map(|notice| notice.dedupe_key)
        .collect();
    assert!(
        keys.iter().any(|key| key.ends_with("#low_average#2")),
        "raised again: {keys:?}"
    );
}

/// More SKUs with an open trend than one sweep assesses: each sweep takes a page from where
/// the last ended, and past the last page starts again, so every SKU is assessed in turn.
#[tokio::test]
async fn open_trends_are_swept_a_page_at_a_time_round_the_whole_watchlist() {
    let shop = shop().await;
    for n in 0..5 {
        shop.send(&review(n, "TEA-CUP-06", 3, "ok")).await;
    }
    let open = shop
        .store
        .item(Table::Reviews, &stats_key(SELLER, "TEA-CUP-06"))
        .unwrap();
    for n in 0..299 {
        let sku = format!("TEA-CUP-{n:03}");
        let mut copy = open.clone();
        copy.insert("pk".into(), stats_key(SELLER, &sku).into());
        copy.insert("sku".into(), sku.into());
        shop.store.insert(Table::Reviews, copy);
    }
    let page = backoffice::domains::reviews::records::TRENDS_PER_SWEEP as u64;
    let mut checked = Vec::new();
    for hours in 1..=3 {
        let swept = shop.sweep_at(now() + Duration::hours(hours)).await;
        checked.push((swept["skus_checked"].as_u64().unwrap(), swept["more"] == true));
    }
    assert_eq!(checked, [(page, true), (300 - page, false), (page, true)]);
}

#[tokio::test]
async fn the_sellers_own_threshold_decides_the_low_average() {
    let shop = shop().await;
    let mut seller = shop.store.item(Table::Sellers, SELLER).unwrap();
    seller.insert("review_alert_threshold_hundredths".into(), json!(450));
    shop.store.insert(Table::Sellers, seller);
    for n in 0..5 {
        shop.send(&review(n, "TEA-CUP-06", 4, "nice")).await;
    }
    assert_eq!(shop.notices().len(), 1, "4.0 is under this seller's 4.5");
}

#[tokio::test]
async fn notices_wait_in_the_queue_until_the_seller_has_a_contact() {
    let shop = shop().await;
    shop.store.forget(Table::Sellers, SELLER);
    shop.send(&review(1, "TEA-POT-01", 1, "broken")).await;
    let answer = shop.deliver(&shop.notices()).await;
    assert_eq!(
        answer["batchItemFailures"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    assert!(shop.digests().is_empty());
}

#[tokio::test]
async fn a_batch_of_two_sellers_notices_makes_one_digest_each_and_a_stranger_fails_alone() {
    let shop = shop().await;
    let other = json!({"seller_id": "sel_other", "name": "Other", "email": "ops@other.example", "locale": "en"});
    shop.store.insert(Table::Sellers, other.as_object().cloned().unwrap());
    shop.send(&review(1, "TEA-POT-01", 1, "broken")).await;
    shop.send(&review(2, "TEA-CUP-06", 2, "arrived late")).await;
    let mut theirs = review(3, "TEA-POT-01", 1, "too small");
    theirs["data"]["seller_id"] = json!("sel_other");
    shop.send(&theirs).await;
    let notices = shop.notices();
    assert_eq!(notices.len(), 3);
    let mut records: Vec<Value> = notices
        .iter()
        .enumerate()
        .map(|(n, notice)| {
            let body = serde_json::to_string(&FollowUp::ReviewNotice(notice.clone())).unwrap();
            json!({"eventSource": "aws:sqs", "messageId": format!("m{n}"), "body": body})
        })
        .collect();
    records.push(json!({"eventSource": "aws:sqs", "messageId": "poison", "body": "{\"kind\":\"nonsense\"}"}));
    let answer = shop.monitor.handle(json!({"Records": records}), now()).await.unwrap();
    assert_eq!(answer["batchItemFailures"], json!([{"itemIdentifier": "poison"}]));
    let digests = shop.digests();
    assert_eq!(digests.len(), 2, "one per seller");
    let to: std::collections::BTreeSet<String> = digests.iter().map(|digest| digest.recipient.id.clone()).collect();
    assert_eq!(to, ["sel_other".to_owned(), SELLER.to_owned()].into());
    let ours = digests.iter().find(|digest| digest.recipient.id == SELLER).unwrap();
    let EmailContent::SellerDigest(ours) = &ours.content else {
        unreachable!()
    };
    assert!(
        ours.reviews
            .iter()
            .all(|review| review.sku != "TEA-POT-01" || review.reasons != ["size_fit"])
    );
    assert_eq!(ours.reviews.len(), 2, "only its own reviews");
}

#[tokio::test]
async fn an_unavailable_store_is_a_503_with_nothing_stored_and_the_retry_succeeds() {
    let shop = shop().await;
    let event = sample("09-review.created.negative-zh");
    shop.store.fail_next(1);
    let (status, answer) = shop.send(&event).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (503, Some("dependency_unavailable")),
        "{answer}"
    );
    assert!(shop.store.items(Table::Reviews).is_empty());
    assert_eq!(shop.send(&event).await.0, 202);
    assert_eq!(number(&shop.review("rev_2001"), "rating"), 2);
}

#[tokio::test]
async fn another_sellers_review_id_is_its_own_review_and_reveals_nothing() {
    let shop = shop().await;
    assert_eq!(shop.send(&review(1, "TEA-CUP-06", 5, "lovely cups")).await.0, 202);
    // Before, this answered 409 review_exists: that sel_teahouse had a review rev_1.
    let mut theirs = review(1, "OTHER-SKU", 2, "arrived late");
    theirs["id"] = json!("evt_other_seller_same_review_id");
    theirs["data"]["seller_id"] = json!("sel_other");
    let (status, answer) = shop.send(&theirs).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        text(&shop.review("rev_1"), "text"),
        "lovely cups",
        "the first is untouched"
    );
    let other = shop
        .store
        .item(Table::Reviews, &review_key("sel_other", "rev_1"))
        .unwrap();
    assert_eq!(text(&other, "sku"), "OTHER-SKU");
}
