//! Everything a stack holds, read as text, to look for a person in it: every item of every
//! table, every message of every queue and dead-letter queue (read without being taken), and
//! every version of every object of every bucket. What an erasure is checked against.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use crate::provision::Provisioned;

/// One place of the stack and what it holds, as text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Held {
    /// `OrdersTable`, `EmailDeadLetterQueue`, `ReportsBucket/exports/…`.
    pub place: String,
    pub text: String,
}

/// A scan that could not read a place fails: a place unread would be a place found clean.
pub type Scanned<T> = Result<T, String>;

fn failed(what: &str, error: impl std::error::Error) -> String {
    format!("{what}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(error))
}

/// Where each of `needles` is found: `(place, needle)`, once per place that holds it; and,
/// as `(queue, "… not visible")`, each queue holding messages the scan could not read (in
/// flight with a consumer, or delayed), which may hold anything.
pub async fn find(
    config: &aws_config::SdkConfig,
    provisioned: &Provisioned,
    needles: &[&str],
) -> Scanned<Vec<(String, String)>> {
    let mut found = unread(config, provisioned).await?;
    for held in everything(config, provisioned).await? {
        for needle in needles {
            if held.text.contains(needle) {
                found.push((held.place.clone(), (*needle).to_owned()));
            }
        }
    }
    Ok(found)
}

/// Every table item, queue message and bucket object of the stack.
pub async fn everything(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Scanned<Vec<Held>> {
    let mut held = table_items(config, provisioned).await?;
    held.extend(queue_messages(config, provisioned).await?);
    held.extend(bucket_objects(config, provisioned).await?);
    Ok(held)
}

/// Every item of every table.
pub async fn table_items(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Scanned<Vec<Held>> {
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    let mut held = Vec::new();
    for (logical_id, table) in &provisioned.tables {
        let mut start = None;
        loop {
            let page = dynamodb
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|error| failed(table, error))?;
            held.extend(page.items().iter().map(|item| Held {
                place: logical_id.clone(),
                text: text_of(item),
            }));
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
    }
    Ok(held)
}

/// An item as text, its strings as written: JSON kept inside an attribute (an outbox entry's
/// follow-ups) is unescaped, so that it reads as the words it holds.
pub fn text_of(item: &HashMap<String, AttributeValue>) -> String {
    let object: serde_json::Map<String, Value> = item.iter().map(|(k, v)| (k.clone(), value_of(v))).collect();
    Value::Object(object).to_string().replace("\\\"", "\"")
}

/// An attribute as JSON, whose maps are sorted: equal items read alike.
pub fn value_of(attribute: &AttributeValue) -> Value {
    match attribute {
        AttributeValue::S(text) | AttributeValue::N(text) => json!(text),
        AttributeValue::Bool(flag) => json!(flag),
        AttributeValue::L(list) => Value::Array(list.iter().map(value_of).collect()),
        AttributeValue::M(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), value_of(v))).collect()),
        AttributeValue::Ss(texts) | AttributeValue::Ns(texts) => json!(texts),
        other => json!(format!("{other:?}")),
    }
}

/// Every message of every queue and dead-letter queue, received with no visibility timeout,
/// so nothing is taken from its consumer.
pub async fn queue_messages(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Scanned<Vec<Held>> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut found = BTreeMap::new();
    for (logical_id, queue) in &provisioned.queues {
        // Each round sees what is visible again; a few rounds see a short queue whole.
        for _ in 0..3 {
            let received = sqs
                .receive_message()
                .queue_url(&queue.url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(|error| failed(logical_id, error))?;
            for message in received.messages() {
                let body = message.body().unwrap_or_default().replace("\\\"", "\"");
                let id = message.message_id().unwrap_or_default().to_owned();
                found.insert((logical_id.clone(), id), body);
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|((place, _), text)| Held { place, text })
        .collect())
}

/// The queues with messages a receive cannot see now, and how many.
pub async fn unread(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Scanned<Vec<(String, String)>> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut unread = Vec::new();
    for (logical_id, queue) in &provisioned.queues {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|error| failed(logical_id, error))?;
        let hidden: u64 = attributes
            .attributes()
            .into_iter()
            .flat_map(|attributes| attributes.values())
            .filter_map(|count| count.parse::<u64>().ok())
            .sum();
        if hidden > 0 {
            unread.push((logical_id.clone(), format!("{hidden} message(s) not visible")));
        }
    }
    Ok(unread)
}

/// Every version of every object of every bucket (a delete marker hides a version, and
/// removes nothing).
pub async fn bucket_objects(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Scanned<Vec<Held>> {
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build());
    let mut held = Vec::new();
    for (logical_id, bucket) in &provisioned.buckets {
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .map_err(|error| failed(bucket, error))?;
        for version in listed.versions() {
            let key = version.key().unwrap_or_default();
            let object = match s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .set_version_id(version.version_id().map(str::to_owned))
                .send()
                .await
            {
                Ok(object) => object,
                // Deleted between the listing and the read (an erasure running): not held.
                Err(error)
                    if error
                        .raw_response()
                        .is_some_and(|response| response.status().as_u16() == 404) =>
                {
                    continue;
                }
                Err(error) => return Err(failed(key, error)),
            };
            let bytes = object.body.collect().await.map_err(|error| failed(key, error))?;
            held.push(Held {
                place: format!("{logical_id}/{key}"),
                text: String::from_utf8_lossy(&bytes.into_bytes()).into_owned(),
            });
        }
    }
    Ok(held)
}
