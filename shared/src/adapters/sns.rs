//! Follow-ups published to the SNS topic whose subscriptions route each kind to its queue.

use aws_sdk_sns::Client;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use crate::mechanisms::outbox::{FollowUpPublisher, KIND_ATTRIBUTE, Message, publish_batches};
use crate::storage::StoreError;

#[derive(Debug, Clone)]
pub struct SnsFollowUps {
    client: Client,
    topic_arn: String,
}

impl SnsFollowUps {
    pub fn new(config: &aws_config::SdkConfig, topic_arn: impl Into<String>) -> Self {
        Self::with_client(Client::new(config), topic_arn)
    }

    pub fn with_client(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

fn entry(index: usize, follow_up: &Message) -> Result<PublishBatchRequestEntry, StoreError> {
    let kind = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(follow_up.kind())
        .build()
        .map_err(|error| StoreError::new("SNS message attribute", error))?;
    PublishBatchRequestEntry::builder()
        .id(index.to_string())
        .message(follow_up.text())
        .message_attributes(KIND_ATTRIBUTE, kind)
        .build()
        .map_err(|error| StoreError::new("SNS batch entry", error))
}

impl FollowUpPublisher for SnsFollowUps {
    async fn publish(&self, follow_ups: &[Message]) -> Result<(), StoreError> {
        for chunk in publish_batches(follow_ups) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(index, follow_up)| entry(index, follow_up))
                .collect::<Result<Vec<_>, _>>()?;
            let output = self
                .client
                .publish_batch()
                .topic_arn(&self.topic_arn)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await
                .map_err(|error| {
                    StoreError::new(
                        "SNS PublishBatch",
                        aws_sdk_sns::error::DisplayErrorContext(error).to_string(),
                    )
                })?;
            let failed = output.failed.unwrap_or_default();
            if !failed.is_empty() {
                let codes: Vec<_> = failed.iter().map(|failure| failure.code.as_str()).collect();
                return Err(StoreError::new(
                    "SNS PublishBatch",
                    format!("{} of {} entries failed: {codes:?}", failed.len(), chunk.len()),
                ));
            }
        }
        Ok(())
    }
}
