use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::follow_ups::{StockChange, StockChangeReason};
use crate::storage::StoreError;

/// Records what it publishes; fails the publishes whose number is in `failing` (0-based).
#[derive(Default)]
struct Recorder {
    published: Mutex<Vec<Vec<String>>>,
    calls: Mutex<usize>,
    failing: Vec<usize>,
}

impl FollowUpPublisher for Recorder {
    async fn publish(&self, follow_ups: &[FollowUp]) -> Result<(), StoreError> {
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

fn stock_change(key: &str) -> FollowUp {
    FollowUp::StockChange(StockChange {
        dedupe_key: key.to_owned(),
        seller_id: "sel_1".to_owned(),
        skus: vec!["A".to_owned()],
        reason: StockChangeReason::Reserved,
        order_id: None,
    })
}

/// A stream record of an outbox entry with `count` follow-ups keyed `<key>/<n>`.
fn record(event_name: &str, sequence: u32, key: &str, count: usize) -> serde_json::Value {
    let entry = OutboxEntry {
        key: key.to_owned(),
        follow_ups: (0..count).map(|n| stock_change(&format!("{key}/{n}"))).collect(),
    };
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
    let response = relay(batch(records), &publisher).await;
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
    let response = relay(batch(vec![removal, record("MODIFY", 2, "again", 2)]), &publisher).await;
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
    let response = relay(batch(records), &publisher).await;
    // c0..c4 went out in the first publish; the second, from c5, failed.
    assert_eq!(failures(&response), ["105"]);
    assert_eq!(publisher.published.lock().unwrap().len(), 1);
    assert_eq!(*publisher.calls.lock().unwrap(), 2, "nothing after the failure");
}

#[tokio::test]
async fn an_unreadable_entry_stops_the_batch_at_itself_after_relaying_what_came_before() {
    let publisher = Recorder::default();
    let mut broken = record("INSERT", 102, "broken", 1);
    broken["dynamodb"]["NewImage"]["follow_ups"]["S"] = json!("[{\"kind\":\"nonsense\"}]");
    let records = vec![record("INSERT", 100, "c0", 2), record("INSERT", 101, "c1", 2), broken];
    let response = relay(batch(records), &publisher).await;
    assert_eq!(failures(&response), ["102"]);
    assert_eq!(
        publisher.published.lock().unwrap().clone(),
        [vec!["c0/0", "c0/1", "c1/0", "c1/1"]]
    );
}

#[tokio::test]
async fn when_the_flush_before_an_unreadable_entry_fails_the_retry_starts_at_the_flush() {
    let publisher = Recorder {
        failing: vec![0],
        ..Recorder::default()
    };
    let mut broken = record("INSERT", 101, "broken", 1);
    broken["dynamodb"]["NewImage"]["follow_ups"]["S"] = json!("not json");
    let response = relay(batch(vec![record("INSERT", 100, "c0", 2), broken]), &publisher).await;
    assert_eq!(failures(&response), ["100"]);
}
