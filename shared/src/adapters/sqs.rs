//! Payout instructions sent to the payment integration's FIFO queue, deduplicated by refund.

use aws_sdk_sqs::Client;

use crate::domains::refunds::payout::{Payout, PayoutQueue};
use crate::storage::StoreError;

#[derive(Debug, Clone)]
pub struct SqsPayouts {
    client: Client,
    queue_url: String,
}

impl SqsPayouts {
    pub fn new(config: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        Self {
            client: Client::new(config),
            queue_url: queue_url.into(),
        }
    }
}

impl PayoutQueue for SqsPayouts {
    async fn send(&self, payout: &Payout) -> Result<String, StoreError> {
        let body = serde_json::to_string(payout).map_err(|error| StoreError::new("payout serialisation", error))?;
        let sent = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            // One refund, one message: a resend within five minutes is dropped by the queue.
            .message_deduplication_id(payout.deduplication_id())
            // In order per order, in parallel across orders.
            .message_group_id(&payout.order_id)
            .send()
            .await
            .map_err(|error| {
                StoreError::new(
                    "SQS SendMessage",
                    aws_sdk_sqs::error::DisplayErrorContext(error).to_string(),
                )
            })?;
        sent.message_id
            .ok_or_else(|| StoreError::new("SQS SendMessage", "answered without a message id"))
    }
}
