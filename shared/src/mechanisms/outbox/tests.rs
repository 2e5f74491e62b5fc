use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::domains::stock::change::{StockChange, StockChangeReason};
use crate::storage::Action;
use crate::storage::{MemoryStorage, StoreError, text};

/// Records what it publishes; fails the publishes whose number is in `failing` (0-based).
#[derive(Default)]
struct Recorder {
    published: Mutex<Vec<Vec<String>>>,
    calls: Mutex<usize>,
    failing: Vec<usize>,
}

impl FollowUpPublisher for Recorder {
    async fn publish(&self, follow_ups: &[Message]) -> Result<(), StoreError> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls - 1
        };
        if self.failing.contains(&call) {
            return Err(StoreError::new("publish", "injected"));
        }
        self.published
            .lock()
            .unwrap()
            .push(follow_ups.iter().map(|f| f.dedupe_key().to_owned()).collect());
        Ok(())
    }
}

fn stock_change(key: &str) -> Message {
    stock_change_of_skus(key, 1)
}

/// A stock change naming `skus` SKUs of 64 characters: about 67 bytes a SKU.
fn stock_change_of_skus(key: &str, skus: usize) -> Message {
    Message::of(&StockChange {
        dedupe_key: key.to_owned(),
        seller_id: "sel_1".to_owned(),
        skus: (0..skus).map(|n| format!("{n:0>64}")).collect(),
        reason: StockChangeReason::Reserved,
        order_id: None,
        after: None,
    })
}

/// A stream record of an outbox entry with `count` follow-ups keyed `<key>/<n>`.
fn record(event_name: &str, sequence: u32, key: &str, count: usize) -> serde_json::Value {
    entry_record(
        event_name,
        sequence,
        OutboxEntry {
            key: key.to_owned(),
            follow_ups: (0..count).map(|n| stock_change(&format!("{key}/{n}"))).collect(),
        },
    )
}

fn entry_record(event_name: &str, sequence: u32, entry: OutboxEntry) -> serde_json::Value {
    let key = entry.key.clone();
    json!({
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "SequenceNumber": sequence.to_string(),
            "Keys": {"key": {"S": key}},
            "NewImage": {"key": {"S": key}, "follow_ups": {"S": entry.follow_ups_json()}, "expires_at": {"N": "1"}},
        },
    })
}

fn batch(records: Vec<serde_json::Value>) -> StreamBatch {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failures(response: &DynamoDbEventResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.as_deref())
        .collect()
}

#[tokio::test]
async fn new_entries_are_published_in_stream_order_ten_to_a_publish() {
    let publisher = Recorder::default();
    let records = (0..7).map(|n| record("INSERT", 100 + n, &format!("c{n}"), 2)).collect();
    let response = relay(batch(records), &publisher, &MemoryStorage::new()).await;
    assert!(failures(&response).is_empty());
    let published = publisher.published.lock().unwrap().clone();
    assert_eq!(published.iter().map(Vec::len).collect::<Vec<_>>(), [10, 4]);
    assert_eq!(published[0][0], "c0/0");
    assert_eq!(published[1][3], "c6/1");
}

#[tokio::test]
async fn removals_and_modifications_publish_nothing() {
    let publisher = Recorder::default();
    let mut removal = record("REMOVE", 1, "gone", 2);
    removal["dynamodb"].as_object_mut().unwrap().remove("NewImage");
    let response = relay(
        batch(vec![removal, record("MODIFY", 2, "again", 2)]),
        &publisher,
        &MemoryStorage::new(),
    )
    .await;
    assert!(failures(&response).is_empty());
    assert!(publisher.published.lock().unwrap().is_empty());
    assert_eq!(*publisher.calls.lock().unwrap(), 0);
}

#[tokio::test]
async fn a_failed_publish_reports_its_first_record_and_publishes_nothing_after_it() {
    let publisher = Recorder {
        failing: vec![1],
        ..Recorder::default()
    };
    let records = (0..8).map(|n| record("INSERT", 100 + n, &format!("c{n}"), 2)).collect();
    let response = relay(batch(records), &publisher, &MemoryStorage::new()).await;
    // c0..c4 went out in the first publish; the second, from c5, failed.
    assert_eq!(failures(&response), ["105"]);
    assert_eq!(publisher.published.lock().unwrap().len(), 1);
    assert_eq!(*publisher.calls.lock().unwrap(), 2, "nothing after the failure");
}

/// The outbox table holding `entries` as the change's transaction wrote them.
fn outbox_of(entries: &[&OutboxEntry]) -> MemoryStorage {
    let store = MemoryStorage::new();
    for entry in entries {
        let Action::Put(item) = put(entry, chrono::Utc::now()).action else {
            unreachable!("an outbox entry is a put")
        };
        store.insert(Table::Outbox, item);
    }
    store
}

fn unreadable(key: &str) -> OutboxEntry {
    OutboxEntry {
        key: key.to_owned(),
        follow_ups: Vec::new(),
    }
}

fn broken_record(sequence: u32, key: &str) -> serde_json::Value {
    let mut broken = record("INSERT", sequence, key, 1);
    broken["dynamodb"]["NewImage"]["follow_ups"]["S"] = json!("[{\"kind\":\"nonsense\"}]");
    // 2026-12-01T00:00:00Z, as the stream stamps a record.
    broken["dynamodb"]["ApproximateCreationDateTime"] = json!(1_796_083_200.0);
    broken
}

#[tokio::test]
async fn an_unreadable_entry_is_set_aside_and_the_others_go_on() {
    let publisher = Recorder::default();
    let store = outbox_of(&[&unreadable("broken")]);
    let records = vec![
        record("INSERT", 100, "c0", 2),
        broken_record(101, "broken"),
        record("INSERT", 102, "c2", 2),
    ];
    let response = relay(batch(records), &publisher, &store).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        publisher.published.lock().unwrap().clone(),
        [vec!["c0/0", "c0/1", "c2/0", "c2/1"]]
    );
    let kept = store.item(Table::Outbox, "broken").unwrap();
    assert_eq!(text(&kept, "set_aside"), "unreadable");
    // Kept for an operator as long as a dead letter is, and no longer: it may hold a buyer's
    // address and words.
    let written: chrono::DateTime<chrono::Utc> = "2026-12-01T00:00:00Z".parse().unwrap();
    assert_eq!(
        kept["expires_at"],
        serde_json::Value::from((written + chrono::Duration::days(SET_ASIDE_DAYS)).timestamp())
    );
}

#[tokio::test]
async fn when_an_entry_cannot_be_set_aside_the_retry_starts_at_it_after_what_came_before() {
    let publisher = Recorder::default();
    let store = outbox_of(&[&unreadable("broken")]);
    store.fail_next(1);
    let records = vec![
        record("INSERT", 100, "c0", 2),
        broken_record(101, "broken"),
        record("INSERT", 102, "c2", 2),
    ];
    let response = relay(batch(records), &publisher, &store).await;
    assert_eq!(failures(&response), ["101"]);
    assert_eq!(publisher.published.lock().unwrap().clone(), [vec!["c0/0", "c0/1"]]);
}

#[tokio::test]
async fn publishes_are_cut_at_256_kib_as_sns_counts_them() {
    let publisher = Recorder::default();
    // Each entry's one follow-up is about 100 KiB: two fit in a batch, three do not.
    let entries: Vec<OutboxEntry> = (0..5)
        .map(|n| OutboxEntry {
            key: format!("big{n}"),
            follow_ups: vec![stock_change_of_skus(&format!("big{n}/0"), 1_500)],
        })
        .collect();
    let bytes = entries[0].follow_ups[0].published_bytes();
    assert!((90_000..MAX_PUBLISH_BYTES / 2).contains(&bytes), "{bytes}");
    let records = entries
        .into_iter()
        .enumerate()
        .map(|(n, entry)| entry_record("INSERT", 100 + n as u32, entry))
        .collect();
    let response = relay(batch(records), &publisher, &MemoryStorage::new()).await;
    assert!(failures(&response).is_empty());
    let published = publisher.published.lock().unwrap().clone();
    assert_eq!(published.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
}

#[tokio::test]
async fn a_follow_up_larger_than_sns_takes_is_set_aside_and_its_entrys_others_go_out() {
    let publisher = Recorder::default();
    let oversized = OutboxEntry {
        key: "huge".to_owned(),
        follow_ups: vec![stock_change_of_skus("huge/0", 4_000), stock_change("huge/1")],
    };
    assert!(oversized.follow_ups[0].published_bytes() > MAX_PUBLISH_BYTES);
    let store = outbox_of(&[&oversized]);
    let records = vec![
        record("INSERT", 100, "c0", 1),
        entry_record("INSERT", 101, oversized),
        record("INSERT", 102, "c2", 1),
    ];
    let response = relay(batch(records), &publisher, &store).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        publisher.published.lock().unwrap().clone(),
        [vec!["c0/0", "huge/1", "c2/0"]]
    );
    assert_eq!(
        text(&store.item(Table::Outbox, "huge").unwrap(), "set_aside"),
        "too_large"
    );
}

#[tokio::test]
async fn when_the_last_flush_fails_the_retry_starts_at_its_first_record() {
    let publisher = Recorder {
        failing: vec![0],
        ..Recorder::default()
    };
    let store = outbox_of(&[&unreadable("broken")]);
    let response = relay(
        batch(vec![record("INSERT", 100, "c0", 2), broken_record(101, "broken")]),
        &publisher,
        &store,
    )
    .await;
    assert_eq!(failures(&response), ["100"]);
}

#[tokio::test]
async fn an_image_without_follow_ups_is_set_aside_alone_not_a_batch_that_fails_whole() {
    let publisher = Recorder::default();
    let store = outbox_of(&[&unreadable("bare"), &unreadable("numbered")]);
    let mut bare = record("INSERT", 101, "bare", 1);
    bare["dynamodb"]["NewImage"]
        .as_object_mut()
        .unwrap()
        .remove("follow_ups");
    let mut numbered = record("INSERT", 102, "numbered", 1);
    numbered["dynamodb"]["NewImage"]["follow_ups"] = json!({"N": "7"});
    let payload = json!({"Records": [record("INSERT", 100, "c0", 1), bare, numbered, record("INSERT", 103, "c3", 1)]});
    // As the relay's handler receives it: before, the batch did not parse, and every record
    // in it (the good ones too) was retried until the stream gave up on it.
    let crate::mechanisms::trigger::Trigger::Stream(parsed) =
        crate::mechanisms::trigger::Trigger::from_payload(payload).expect("the batch parses")
    else {
        panic!("a stream batch")
    };
    let response = relay(parsed, &publisher, &store).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(publisher.published.lock().unwrap().clone(), [vec!["c0/0", "c3/0"]]);
    for key in ["bare", "numbered"] {
        assert_eq!(
            text(&store.item(Table::Outbox, key).unwrap(), "set_aside"),
            "unreadable",
            "{key}"
        );
    }
}

#[tokio::test]
async fn a_key_is_written_once_and_never_over_another_entry() {
    let (store, now) = (MemoryStorage::new(), chrono::Utc::now());
    let entry = |follow_up: &str| OutboxEntry {
        key: "stock-alerts#evt_1".to_owned(),
        follow_ups: vec![stock_change(follow_up)],
    };
    store
        .write(WriteSet::from(vec![put(&entry("first"), now)]))
        .await
        .unwrap();
    // The same entry again, as a retried evaluation makes it, changes nothing.
    store
        .write(WriteSet::from(vec![put(&entry("first"), now)]))
        .await
        .unwrap();
    let other = store.write(WriteSet::from(vec![put(&entry("second"), now)])).await;
    assert!(matches!(other, Err(WriteFailure::Cancelled(_))), "{other:?}");
    let kept = store.items(Table::Outbox);
    assert_eq!(kept.len(), 1);
    assert!(
        text(&kept[0], "follow_ups").contains("first"),
        "the first entry stays whole"
    );
}
