//! DynamoDB Streams of the local AWS, read as Lambda's stream event source reads them.
//!
//! Spoken as plain JSON over HTTP: the records come back in the wire format Lambda puts in its
//! events (`Keys`, `NewImage` in DynamoDB JSON), so they pass through untouched, and the
//! workspace needs no Streams SDK crate. The local AWS checks no signature; the credential
//! scope only tells it which service is meant.

use serde_json::{Value, json};

use crate::local_aws::REGION;
use crate::loopback::HttpClient;

#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("DynamoDB Streams {action}: {message}")]
    Call { action: &'static str, message: String },
}

/// Where to start reading a shard.
#[derive(Debug, Clone)]
pub enum Position {
    /// The oldest record still kept: Lambda's `StartingPosition: TRIM_HORIZON`.
    Oldest,
    /// This record and those after it.
    At(String),
    /// The records after this one.
    After(String),
}

#[derive(Clone)]
pub struct StreamReader {
    http: HttpClient,
    endpoint: String,
    pub stream_arn: String,
}

/// One `GetRecords` answer.
pub struct Page {
    pub records: Vec<Value>,
    pub next: Option<String>,
}

impl StreamReader {
    pub fn new(endpoint: impl Into<String>, stream_arn: impl Into<String>) -> Self {
        Self {
            http: HttpClient::default(),
            endpoint: endpoint.into(),
            stream_arn: stream_arn.into(),
        }
    }

    async fn call(&self, action: &'static str, body: Value) -> Result<Value, StreamError> {
        let failed = |message: String| StreamError::Call { action, message };
        let target = format!("DynamoDBStreams_20120810.{action}");
        let authorization = format!(
            "AWS4-HMAC-SHA256 Credential=local/20260101/{REGION}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
        );
        let reply = self
            .http
            .send(
                http::Method::POST,
                &self.endpoint,
                &[
                    ("x-amz-target", target.as_str()),
                    ("content-type", "application/x-amz-json-1.0"),
                    ("authorization", authorization.as_str()),
                ],
                body.to_string(),
            )
            .await
            .map_err(|error| failed(error.to_string()))?;
        if reply.status != 200 {
            return Err(failed(format!("HTTP {}: {}", reply.status, reply.text())));
        }
        Ok(reply.json())
    }

    /// An iterator over the stream's one shard (tables this small have one) from `position`.
    pub async fn iterator(&self, position: Position) -> Result<String, StreamError> {
        let described = self
            .call("DescribeStream", json!({"StreamArn": self.stream_arn}))
            .await?;
        let shard = described["StreamDescription"]["Shards"][0]["ShardId"]
            .as_str()
            .ok_or_else(|| StreamError::Call {
                action: "DescribeStream",
                message: "the stream has no shard".to_owned(),
            })?
            .to_owned();
        let mut request = json!({"StreamArn": self.stream_arn, "ShardId": shard});
        match position {
            Position::Oldest => request["ShardIteratorType"] = json!("TRIM_HORIZON"),
            Position::At(sequence) => {
                request["ShardIteratorType"] = json!("AT_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(sequence);
            }
            Position::After(sequence) => {
                request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
                request["SequenceNumber"] = json!(sequence);
            }
        }
        let answer = self.call("GetShardIterator", request).await?;
        answer["ShardIterator"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| StreamError::Call {
                action: "GetShardIterator",
                message: "no iterator in the answer".to_owned(),
            })
    }

    /// Up to `limit` records from `iterator`, each with the `eventSourceARN` Lambda adds.
    pub async fn page(&self, iterator: &str, limit: usize) -> Result<Page, StreamError> {
        let answer = self
            .call("GetRecords", json!({"ShardIterator": iterator, "Limit": limit}))
            .await?;
        let records = answer["Records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut record| {
                record["eventSourceARN"] = json!(self.stream_arn);
                record
            })
            .collect();
        Ok(Page {
            records,
            next: answer["NextShardIterator"].as_str().map(str::to_owned),
        })
    }

    /// Every record from sequence number `first` to `last`, both included.
    pub async fn range(&self, first: &str, last: &str) -> Result<Vec<Value>, StreamError> {
        let mut iterator = Some(self.iterator(Position::At(first.to_owned())).await?);
        let mut found = Vec::new();
        while let Some(current) = iterator {
            let page = self.page(&current, 100).await?;
            if page.records.is_empty() {
                break;
            }
            for record in page.records {
                if compare_sequences(sequence_of(&record), last).is_gt() {
                    return Ok(found);
                }
                found.push(record);
            }
            iterator = page.next;
        }
        Ok(found)
    }
}

/// A record's sequence number.
pub fn sequence_of(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap_or_default()
}

/// Orders sequence numbers, which are decimal strings of up to 40 digits without leading
/// zeros: more than a `u128` holds.
pub fn compare_sequences(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The Lambda event for `records`.
pub fn stream_event(records: &[Value]) -> Value {
    json!({ "Records": records })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers_of_any_length() {
        let forty_digits = "1".repeat(40);
        assert!(compare_sequences("99", "100").is_lt());
        assert!(compare_sequences(&forty_digits, "99").is_gt());
        assert!(compare_sequences("123", "123").is_eq());
    }
}
