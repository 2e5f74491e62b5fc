//! Publishing follow-ups to the topic whose subscriptions route each kind to its queue, within
//! what SNS takes. The SNS implementation is [`crate::adapters::sns::SnsFollowUps`].

use std::future::Future;

use super::message::Message;
use crate::storage::StoreError;

/// The message attribute naming a follow-up's kind.
pub const KIND_ATTRIBUTE: &str = "kind";

/// SNS takes at most ten messages in one `PublishBatch`…
pub const MAX_PUBLISH_COUNT: usize = 10;
/// …and at most 256 KiB in a message and in a whole batch, in bytes, attributes included.
pub const MAX_PUBLISH_BYTES: usize = 256 * 1024;

impl Message {
    /// What SNS counts of the follow-up against its limits: the message's UTF-8 bytes and its
    /// `kind` attribute's name, type and value.
    pub fn published_bytes(&self) -> usize {
        self.text().len() + KIND_ATTRIBUTE.len() + "String".len() + self.kind().len()
    }
}

/// Sends follow-ups to the functions that act on them: one request per [`publish_batches`]
/// batch.
pub trait FollowUpPublisher: Send + Sync {
    fn publish(&self, follow_ups: &[Message]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Follow-ups gathered for one `PublishBatch`, within what SNS takes.
#[derive(Debug, Default)]
pub struct PublishBatch {
    follow_ups: Vec<Message>,
    bytes: usize,
}

impl PublishBatch {
    /// Whether a follow-up of `bytes` (its [`Message::published_bytes`]) still fits.
    pub fn has_room_for(&self, bytes: usize) -> bool {
        self.follow_ups.len() < MAX_PUBLISH_COUNT && self.bytes + bytes <= MAX_PUBLISH_BYTES
    }

    pub fn push(&mut self, follow_up: Message, bytes: usize) {
        self.follow_ups.push(follow_up);
        self.bytes += bytes;
    }

    pub fn is_empty(&self) -> bool {
        self.follow_ups.is_empty()
    }

    /// The gathered follow-ups; the batch is empty again.
    pub fn take(&mut self) -> Vec<Message> {
        self.bytes = 0;
        std::mem::take(&mut self.follow_ups)
    }
}

/// `follow_ups` in order, cut into as few batches as SNS takes. A follow-up too large for
/// any batch is a batch of its own, which SNS refuses.
pub fn publish_batches(follow_ups: &[Message]) -> Vec<&[Message]> {
    let mut batches = Vec::new();
    let (mut start, mut count, mut bytes) = (0, 0, 0);
    for (index, follow_up) in follow_ups.iter().enumerate() {
        let size = follow_up.published_bytes();
        if count > 0 && (count == MAX_PUBLISH_COUNT || bytes + size > MAX_PUBLISH_BYTES) {
            batches.push(&follow_ups[start..index]);
            (start, count, bytes) = (index, 0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        batches.push(&follow_ups[start..]);
    }
    batches
}
