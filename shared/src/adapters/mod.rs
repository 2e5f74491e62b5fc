//! The AWS side of the back office: the SDK configuration and one implementation per store
//! trait of the domain. Nothing outside this module names an AWS SDK type.

pub mod dynamodb;

use aws_config::{BehaviorVersion, SdkConfig};

/// The SDK configuration, loaded once per cold start from the environment Lambda provides.
/// `AWS_ENDPOINT_URL` (set only locally) points every client at the local AWS.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
