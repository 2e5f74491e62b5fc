//! The AWS side of the back office: the SDK configuration and one implementation per store
//! trait of the domain. Nothing outside this module names an AWS SDK type.

pub mod dynamodb;
mod https;
pub mod ses;
pub mod sns;

use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK configuration, loaded once per cold start from the environment Lambda provides,
/// with one HTTPS client for every SDK client ([`https::client`]). `AWS_ENDPOINT_URL` (set only
/// locally) points every client at the local AWS.
pub async fn sdk_config() -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match https::client() {
        Some(client) => loader.http_client(client),
        None => loader,
    }
    .load()
    .await
}

/// The webhook edge of `function`, its claims kept in the DynamoDB idempotency table through
/// the function's one DynamoDB client (the one whose connection init opened).
pub fn webhook_edge(
    function: crate::webhook::Function,
    settings: &crate::config::WebhookSettings,
    dynamodb: &aws_sdk_dynamodb::Client,
) -> crate::webhook::WebhookEdge<dynamodb::DynamoIdempotencyStore> {
    let claims = dynamodb::DynamoIdempotencyStore::new(dynamodb.clone(), &settings.idempotency_table);
    crate::webhook::WebhookEdge::new(
        function,
        crate::webhook::SignatureVerifier::new(settings.secret.clone()),
        claims,
    )
}
