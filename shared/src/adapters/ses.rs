//! The mailer: raw MIME messages sent through SES v2 from the configured identity.

use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};

use crate::email::store::{Mailer, Outgoing, SendError};

#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
    from: String,
    /// Publishes bounces and complaints to the feedback queue; `None` only locally.
    configuration_set: Option<String>,
}

impl SesMailer {
    pub fn new(client: Client, from: impl Into<String>, configuration_set: Option<String>) -> Self {
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
        let tag = MessageTag::builder()
            .name("template")
            .value(outgoing.template.name())
            .build()
            .map_err(rejected)?;
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(outgoing.to.expose()).build())
            .content(EmailContent::builder().raw(raw).build())
            .email_tags(tag)
            .set_configuration_set_name(self.configuration_set.clone())
            .send()
            .await
            .map_err(send_error)?;
        Ok(output.message_id.unwrap_or_default())
    }
}

fn send_error<E, R>(error: SdkError<E, R>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().map(str::to_owned);
    let text = DisplayErrorContext(&error).to_string();
    match (&error, code.as_deref()) {
        (_, Some("TooManyRequestsException" | "LimitExceededException" | "Throttling" | "ThrottlingException")) => {
            SendError::Throttled(text)
        }
        (SdkError::ServiceError(_), _) => SendError::Rejected(text),
        _ => SendError::Unavailable(text),
    }
}
