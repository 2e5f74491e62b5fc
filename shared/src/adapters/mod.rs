//! The AWS side of the back office: the SDK configuration and one implementation per trait of
//! the domain (storage, follow-up publisher, mailer). Nothing outside this module names an
//! AWS SDK type.

pub mod dynamodb;
mod https;
pub mod secrets;
pub mod ses;
pub mod sns;
pub mod sqs;

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};

/// How long one attempt of an AWS call may take before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// How long an AWS call may take, retries included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(12);

use std::future::Future;

use crate::domains::email::suppressions::AddressSalt;
use crate::mechanisms::config::{ConfigError, ProcessEnv, Source, TableNames, open_connections_at_init};
use crate::mechanisms::function::Function;
use crate::mechanisms::webhook::SigningSecrets;
use crate::storage::Table;

/// The Secrets Manager secret (name or ARN) holding the webhook signing secret.
pub const WEBHOOK_SECRET_ID: &str = "WEBHOOK_SECRET_ID";
/// The Secrets Manager secret holding the salt of blocked addresses' keys (the mailer's).
pub const ADDRESS_SALT_SECRET_ID: &str = "ADDRESS_SALT_SECRET_ID";

/// The SDK configuration, loaded once per cold start from the environment Lambda provides,
/// with one HTTPS client for every SDK client ([`https::client`]). `AWS_ENDPOINT_URL` (set only
/// locally) points every client at the local AWS.
///
/// Every call is bounded: without a timeout, a connection that never answers holds the
/// invocation until Lambda's own timeout, which reports nothing about which call hung. An
/// attempt gets [`ATTEMPT_TIMEOUT`], the call with its retries [`CALL_TIMEOUT`], well inside
/// the functions' 30 s.
pub async fn sdk_config() -> SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build();
    let loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    match https::client() {
        Some(client) => loader.http_client(client),
        None => loader,
    }
    .load()
    .await
}

/// What a function's builder takes from AWS: the SDK configuration, the function's storage,
/// and its webhook signing secrets if it takes webhooks.
pub struct Aws {
    pub config: SdkConfig,
    pub storage: dynamodb::DynamoStorage,
    pub signing_secrets: Option<SigningSecrets>,
    pub address_salt: Option<AddressSalt>,
}

impl Aws {
    /// From the environment Lambda provides: the SDK configuration, and DynamoDB over
    /// `tables`, its connection opened during init when `OPEN_CONNECTIONS_AT_INIT` says so.
    pub async fn from_env(function: Function, tables: &[Table]) -> Result<Self, ConfigError> {
        let names = TableNames::from_env(&ProcessEnv, tables)?;
        let open_now = open_connections_at_init(&ProcessEnv)?;
        let mut aws = Self::new(sdk_config().await, names);
        if let Some(secret_id) = ProcessEnv.optional(WEBHOOK_SECRET_ID) {
            let fetch = secrets::signing_secrets(&aws.config, secret_id);
            let secrets = SigningSecrets::fetched(fetch, chrono::Utc::now())
                .await
                .map_err(|error| ConfigError::Unreadable {
                    name: WEBHOOK_SECRET_ID,
                    reason: error.to_string(),
                })?;
            aws.signing_secrets = Some(secrets);
        }
        if let Some(secret_id) = ProcessEnv.optional(ADDRESS_SALT_SECRET_ID) {
            let salt =
                secrets::current_value(&aws.config, &secret_id)
                    .await
                    .map_err(|error| ConfigError::Unreadable {
                        name: ADDRESS_SALT_SECRET_ID,
                        reason: error.to_string(),
                    })?;
            aws.address_salt = Some(AddressSalt::new(salt));
        }
        if open_now {
            aws.storage.open_connection(function).await;
        }
        Ok(aws)
    }

    /// The webhook signing secrets, read during init from the secret `WEBHOOK_SECRET_ID`
    /// names. A function deployed without a Function URL is not given that variable: it gets
    /// [`SigningSecrets::none`] and refuses every request (the template checks that a function
    /// names the secret exactly when it has a URL).
    pub fn take_signing_secrets(&mut self) -> SigningSecrets {
        self.signing_secrets.take().unwrap_or_else(SigningSecrets::none)
    }

    /// The salt of blocked addresses' keys, read during init from `ADDRESS_SALT_SECRET_ID`'s
    /// secret; `None` for a function not given it (one that sends no email).
    pub fn take_address_salt(&mut self) -> Option<AddressSalt> {
        self.address_salt.take()
    }

    /// With a fixed salt instead of Secrets Manager's (the tests').
    pub fn with_address_salt(mut self, salt: AddressSalt) -> Self {
        self.address_salt = Some(salt);
        self
    }

    /// With fixed signing secrets instead of Secrets Manager's (the tests').
    pub fn with_signing_secrets(mut self, secrets: impl Into<SigningSecrets>) -> Self {
        self.signing_secrets = Some(secrets.into());
        self
    }

    /// Over any SDK configuration: the local AWS, or one whose HTTP client counts requests.
    pub fn new(config: SdkConfig, tables: TableNames) -> Self {
        let storage = dynamodb::DynamoStorage::new(aws_sdk_dynamodb::Client::new(&config), tables);
        Self {
            config,
            storage,
            signing_secrets: None,
            address_salt: None,
        }
    }
}

/// A function as the template deploys it: which one, the tables its variables name, and how
/// it is built from those variables over AWS. `main` builds it [`Deployed::from_env`]; the
/// tests build it from the template's variables resolved against the local AWS.
pub trait Deployed: Sized {
    const FUNCTION: Function;
    const TABLES: &'static [Table];

    fn deployed(env: &dyn Source, aws: Aws) -> Result<Self, ConfigError>;

    /// As Lambda runs it, from the process environment the template sets.
    fn from_env() -> impl Future<Output = Result<Self, ConfigError>> + Send {
        async {
            let aws = Aws::from_env(Self::FUNCTION, Self::TABLES).await?;
            Self::deployed(&ProcessEnv, aws)
        }
    }
}
