//! The mailer: raw MIME messages sent through SES v2 from the configured identity.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::config::retry::RetryConfig;
use aws_sdk_sesv2::config::timeout::TimeoutConfig;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::RequestId;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};

use crate::domains::email::feedback::SEND_REFERENCE_TAG;
use crate::domains::email::mailer::{Mailer, Outgoing, SendError};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    /// Publishes bounces and complaints to the feedback queue; `None` only locally.
    configuration_set: Option<String>,
}

/// An SES client that never retries a send by itself: a send whose answer was lost may have
/// been accepted, and only the email queue's retry, after the ledger's lease, may repeat it.
/// The timeout leaves the function (30 s) time to report the failure.
pub fn client(config: &SdkConfig) -> Client {
    let config = aws_sdk_sesv2::config::Builder::from(config)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(10))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

impl SesMailer {
    /// Sends from `from` with the SDK configuration's credentials and region.
    pub fn new(config: &SdkConfig, from: &crate::values::pii::EmailAddress, configuration_set: Option<String>) -> Self {
        Self::with_client(client(config), from.expose(), configuration_set)
    }

    pub fn with_client(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
        Self {
            client,
            from: from.into(),
            configuration_set,
        }
    }
}

impl Mailer for SesMailer {
    async fn send(&self, outgoing: &Outgoing) -> Result<String, SendError> {
        let rejected = |error: aws_sdk_sesv2::error::BuildError| SendError::Rejected(error.to_string());
        let raw = RawMessage::builder()
            .data(Blob::new(outgoing.raw.clone()))
            .build()
            .map_err(rejected)?;
        let tag = |name: &str, value: &str| MessageTag::builder().name(name).value(value).build().map_err(rejected);
        let tags = vec![
            tag("template", outgoing.template.name())?,
            tag(SEND_REFERENCE_TAG, &outgoing.reference)?,
        ];
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(outgoing.to.expose()).build())
            .content(EmailContent::builder().raw(raw).build())
            .set_email_tags(Some(tags))
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(send_error)?;
        Ok(output.message_id.unwrap_or_default())
    }
}

/// What went wrong, by SES's error code and request id only: SES's messages can name the
/// recipient's address, which must not reach a log.
fn send_error<E, R>(error: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
    SdkError<E, R>: RequestId,
{
    let code = error.code().unwrap_or("no error code").to_owned();
    let text = format!("{code} (request {})", error.request_id().unwrap_or("unknown"));
    match (&error, code.as_str()) {
        (_, "TooManyRequestsException" | "LimitExceededException" | "Throttling" | "ThrottlingException") => {
            SendError::Throttled(text)
        }
        (SdkError::ServiceError(_), _) => SendError::Rejected(text),
        // A timeout or a lost connection: SES may have accepted the message.
        _ => SendError::Unavailable(format!("{} ({})", kind_of(&error), text)),
    }
}

fn kind_of<E, R>(error: &SdkError<E, R>) -> &'static str {
    match error {
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "not sent",
        SdkError::ResponseError(_) => "unreadable response",
        _ => "failed",
    }
}
