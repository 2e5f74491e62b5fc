//! The webhook signing secret in Secrets Manager: the version labelled `AWSCURRENT`, and the
//! one labelled `AWSPENDING` while a rotation is under way.

use std::sync::Arc;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::mechanisms::webhook::WebhookSecret;
use crate::mechanisms::webhook::secrets::{FetchSecrets, SecretVersions};
use crate::storage::StoreError;

/// Reads `secret_id`'s current and pending versions, each time it is called.
pub fn signing_secrets(config: &aws_config::SdkConfig, secret_id: String) -> FetchSecrets {
    let client = Client::new(config);
    Arc::new(move || {
        let (client, secret_id) = (client.clone(), secret_id.clone());
        Box::pin(async move {
            // Both at once: a cold start waits for one round trip, not two.
            let (current, pending) = futures_util::future::join(
                version(&client, &secret_id, "AWSCURRENT"),
                version(&client, &secret_id, "AWSPENDING"),
            )
            .await;
            let current = current?.ok_or_else(|| {
                StoreError::new("Secrets Manager GetSecretValue", "the secret has no current version")
            })?;
            Ok(SecretVersions {
                current,
                pending: pending?,
            })
        })
    })
}

/// A secret's current value, read once (the address salt: it never rotates, as every block's
/// key is made with it).
pub async fn current_value(config: &aws_config::SdkConfig, secret_id: &str) -> Result<Vec<u8>, StoreError> {
    version_text(&Client::new(config), secret_id, "AWSCURRENT")
        .await?
        .map(String::into_bytes)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| StoreError::new("Secrets Manager GetSecretValue", "the secret holds no current text"))
}

/// The signing secret's version labelled `stage`; `None` when no version has the label.
async fn version(client: &Client, secret_id: &str, stage: &str) -> Result<Option<WebhookSecret>, StoreError> {
    Ok(version_text(client, secret_id, stage).await?.map(WebhookSecret::new))
}

/// The text of the secret's version labelled `stage`; `None` when no version has the label.
async fn version_text(client: &Client, secret_id: &str, stage: &str) -> Result<Option<String>, StoreError> {
    match client
        .get_secret_value()
        .secret_id(secret_id)
        .version_stage(stage)
        .send()
        .await
    {
        Ok(output) => Ok(output.secret_string),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        // Never the secret: the error names the operation and the cause only.
        Err(error) => Err(StoreError::new(
            "Secrets Manager GetSecretValue",
            DisplayErrorContext(error).to_string(),
        )),
    }
}
