//! SES's events, as its configuration set publishes them to SNS and SNS delivers them to the
//! feedback queue (raw, or in SNS's envelope): bounces and complaints, which suppress an
//! address, and sends, which record that SES took an email (see `ledger::record_send_event`).

use serde::Deserialize;

use super::policy::AddressBlock;
use crate::values::pii::EmailAddress;

/// One SES event. Event publishing names its kind `eventType`; the older identity
/// notifications name it `notificationType`. Both are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SesNotification {
    #[serde(alias = "notificationType")]
    pub event_type: String,
    #[serde(default)]
    pub bounce: Option<Bounce>,
    #[serde(default)]
    pub complaint: Option<Complaint>,
    #[serde(default)]
    pub mail: Option<Mail>,
}

/// The message an event is about: only its id and its tags are read (the rest names
/// addresses).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    #[serde(default)]
    pub message_id: String,
    #[serde(default)]
    pub tags: std::collections::BTreeMap<String, Vec<String>>,
}

/// The message tag naming an email's send reference.
pub const SEND_REFERENCE_TAG: &str = "send_reference";

/// SES's word that it took an email: the email's send reference and SES's message id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportedSend {
    pub reference: String,
    pub message_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    /// `Permanent`, `Transient` or `Undetermined`.
    pub bounce_type: String,
    pub bounced_recipients: Vec<FeedbackRecipient>,
    pub feedback_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    pub complained_recipients: Vec<FeedbackRecipient>,
    pub feedback_id: String,
    /// `abuse`, `fraud`, `not-spam`, …; absent for most mailbox providers.
    #[serde(default)]
    pub complaint_feedback_type: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedbackRecipient {
    pub email_address: String,
}

impl std::fmt::Debug for FeedbackRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeedbackRecipient(<redacted email>)")
    }
}

/// An address to stop sending to, and the SES feedback that said so.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockedAddress {
    pub address: EmailAddress,
    pub block: AddressBlock,
    pub feedback_id: String,
}

#[derive(Deserialize)]
struct SnsEnvelope {
    #[serde(rename = "Message")]
    message: String,
}

impl SesNotification {
    /// Reads a feedback queue message: the SES event itself (raw delivery) or SNS's envelope
    /// around it.
    pub fn from_queue_body(body: serde_json::Value) -> Result<Self, serde_json::Error> {
        match serde_json::from_value::<SnsEnvelope>(body.clone()) {
            Ok(envelope) => serde_json::from_str(&envelope.message),
            Err(_) => serde_json::from_value(body),
        }
    }

    /// The send this event reports, if it is a `Send` event of an email we tagged.
    pub fn reported_send(&self) -> Option<ReportedSend> {
        if self.event_type != "Send" {
            return None;
        }
        let mail = self.mail.as_ref()?;
        let reference = mail.tags.get(SEND_REFERENCE_TAG)?.first()?;
        Some(ReportedSend {
            reference: reference.clone(),
            message_id: mail.message_id.clone(),
        })
    }

    /// The addresses this event suppresses: every recipient of a permanent bounce or of a
    /// complaint (unless the provider says "not spam"). Transient bounces suppress nothing.
    pub fn blocked_addresses(&self) -> Vec<BlockedAddress> {
        let (block, recipients, feedback_id) = match (self.event_type.as_str(), &self.bounce, &self.complaint) {
            ("Bounce", Some(bounce), _) if bounce.bounce_type == "Permanent" => (
                AddressBlock::HardBounce,
                &bounce.bounced_recipients,
                &bounce.feedback_id,
            ),
            ("Complaint", _, Some(complaint)) if complaint.complaint_feedback_type.as_deref() != Some("not-spam") => (
                AddressBlock::Complaint,
                &complaint.complained_recipients,
                &complaint.feedback_id,
            ),
            _ => return Vec::new(),
        };
        recipients
            .iter()
            .filter_map(|recipient| {
                let address = EmailAddress::parse(&recipient.email_address).ok();
                if address.is_none() {
                    tracing::warn!(feedback_id = %feedback_id, "SES feedback names an address that cannot be read; not suppressed");
                    crate::mechanisms::metrics::count("FeedbackAddressUnreadable", 1, &[]);
                }
                address
            })
            .map(|address| BlockedAddress {
                address,
                block,
                feedback_id: feedback_id.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bounce(kind: &str) -> serde_json::Value {
        json!({
            "eventType": "Bounce",
            "bounce": {
                "bounceType": kind,
                "bounceSubType": "General",
                "bouncedRecipients": [{"emailAddress": "gone@example.com", "status": "5.1.1"}],
                "timestamp": "2026-11-22T10:00:00.000Z",
                "feedbackId": "fb-1"
            },
            "mail": {"messageId": "m-1", "destination": ["gone@example.com"]}
        })
    }

    #[test]
    fn permanent_bounces_and_complaints_block_their_addresses() {
        let hard = SesNotification::from_queue_body(bounce("Permanent")).unwrap();
        let blocked = hard.blocked_addresses();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].address.expose(), "gone@example.com");
        assert_eq!(blocked[0].block, AddressBlock::HardBounce);

        let complaint = json!({
            "notificationType": "Complaint",
            "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.com"}], "feedbackId": "fb-2", "complaintFeedbackType": "abuse"},
            "mail": {"messageId": "m-2"}
        });
        let wrapped = json!({"Type": "Notification", "Message": complaint.to_string()});
        let blocked = SesNotification::from_queue_body(wrapped).unwrap().blocked_addresses();
        assert_eq!(blocked[0].block, AddressBlock::Complaint);
    }

    #[test]
    fn a_send_event_reports_the_reference_it_was_tagged_with() {
        let send = json!({
            "eventType": "Send",
            "mail": {"messageId": "m-3", "destination": ["buyer@example.com"],
                     "tags": {"ses:configuration-set": ["emails"], "send_reference": ["ab12"], "template": ["order_confirmation"]}},
            "send": {}
        });
        let wrapped = json!({"Type": "Notification", "Message": send.to_string()});
        let notification = SesNotification::from_queue_body(wrapped).unwrap();
        assert_eq!(
            notification.reported_send(),
            Some(ReportedSend {
                reference: "ab12".into(),
                message_id: "m-3".into()
            })
        );
        assert!(notification.blocked_addresses().is_empty());
        let untagged = json!({"eventType": "Send", "mail": {"messageId": "m-4", "tags": {}}});
        assert_eq!(
            SesNotification::from_queue_body(untagged).unwrap().reported_send(),
            None
        );
        assert_eq!(
            SesNotification::from_queue_body(bounce("Permanent"))
                .unwrap()
                .reported_send(),
            None
        );
    }

    #[test]
    fn transient_bounces_and_deliveries_block_nothing() {
        let soft = SesNotification::from_queue_body(bounce("Transient")).unwrap();
        assert!(soft.blocked_addresses().is_empty());
        let delivery = SesNotification::from_queue_body(json!({"eventType": "Delivery", "mail": {}})).unwrap();
        assert!(delivery.blocked_addresses().is_empty());
    }
}
