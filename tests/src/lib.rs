//! Test support for the back office's local-AWS and end-to-end tests.
//!
//! Each test binary shares one local AWS (moto, with every table and queue of the template
//! created once), started on first use and gone when the binary exits. Tests keep out of each
//! other's way with unique ids, not separate servers.

pub mod mail;
pub mod orders;
pub mod questions;
pub mod refunds;
pub mod requests;
pub mod reviews;
pub mod stock;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use backoffice::adapters::{Aws, Deployed};
use backoffice::domains::email::EmailContent;
use backoffice::domains::email::request::SellerDigest;
use backoffice::domains::email::suppressions::AddressSalt;
use backoffice::follow_ups::FollowUp;
use backoffice::mechanisms::config::TableNames;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::webhook::{WebhookSecret, marketplace_request};
use local_cloud::local_aws::LocalAws;
use local_cloud::provision::{Provisioned, provision};
use local_cloud::template::Template;

pub const TEST_SECRET: &str = "whsec_tests";

pub struct SharedAws {
    pub provisioned: Provisioned,
    template: Template,
    aws: LocalAws,
}

static SHARED: OnceLock<SharedAws> = OnceLock::new();

/// The local AWS of this test binary, provisioned from `infra/template.yaml`.
pub fn local_aws() -> &'static SharedAws {
    SHARED.get_or_init(|| {
        // Its own thread and runtime: the caller is usually inside a test's runtime, which
        // must not block, and which ends with that test while this AWS outlives it.
        std::thread::spawn(|| {
            let aws = LocalAws::start().expect("the local AWS starts");
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let template = Template::load(&local_cloud::paths::template()).expect("template");
            let provisioned = runtime
                .block_on(async { provision(&template, &aws.sdk_config().await, TEST_SECRET.to_owned()).await })
                .expect("the template provisions");
            SharedAws {
                provisioned,
                template,
                aws,
            }
        })
        .join()
        .expect("local AWS thread")
    })
}

impl SharedAws {
    pub fn endpoint(&self) -> &str {
        &self.aws.endpoint
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        self.aws.sdk_config().await
    }

    /// The local name of a table the template declares.
    pub fn table(&self, logical_id: &str) -> &str {
        &self.provisioned.tables[logical_id]
    }

    /// The variables the template gives `function`, resolved here: what its builder reads.
    pub fn environment_of(&self, function: Function) -> BTreeMap<String, String> {
        let specs = self.template.functions().expect("the template's functions");
        let spec = specs
            .iter()
            .find(|spec| spec.binary == function.name())
            .expect("the function is in the template");
        self.provisioned.environment_of(spec).expect("its environment resolves")
    }

    /// AWS as the template gives it to the function `F`, through `config`: its tables from
    /// its own variables, and the signing secret the local Secrets Manager holds (read
    /// through Secrets Manager itself by the local stack's functions and by
    /// `tests/tests/local_aws.rs`).
    pub fn aws_for<F: Deployed>(&self, config: &aws_config::SdkConfig) -> Aws {
        let names = TableNames::from_env(&self.environment_of(F::FUNCTION), F::TABLES).expect("the function's tables");
        Aws::new(config.clone(), names)
            .with_signing_secrets(WebhookSecret::new(self.provisioned.local_secret.clone()))
            .with_address_salt(AddressSalt::new(self.provisioned.local_secret.clone()))
    }

    /// The function `F` built as the template deploys it, its requests going through `config`.
    pub fn deployed<F: Deployed>(&self, config: &aws_config::SdkConfig) -> F {
        F::deployed(&self.environment_of(F::FUNCTION), self.aws_for::<F>(config))
            .expect("the template configures the function")
    }
}

/// The function binaries, built once per test binary, for the tests that run the local stack.
pub fn functions_built() {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(local_cloud::processes::build_functions)
        .as_ref()
        .expect("the functions build");
}

/// An id no other test of this run uses: `evt_<prefix>_<time>_<n>`.
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{prefix}_{nanos}_{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A Function URL request as the marketplace would send it, signed with `secret` now.
pub fn signed_request(secret: &str, body: &str) -> LambdaFunctionUrlRequest {
    marketplace_request(&WebhookSecret::new(secret), body, chrono::Utc::now())
}

/// Every message now visible on a queue, received (and hidden for a minute), not deleted.
pub async fn receive_all(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut received = Vec::new();
    loop {
        let messages = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive from the local queue")
            .messages
            .unwrap_or_default();
        if messages.is_empty() {
            return received;
        }
        received.extend(messages);
    }
}

/// The follow-ups of every outbox entry whose key starts with `prefix`, waiting in (or
/// relayed from) the outbox.
pub async fn outbox_follow_ups(dynamodb: &aws_sdk_dynamodb::Client, prefix: &str) -> Vec<FollowUp> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut follow_ups = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .scan()
            .table_name(local_aws().table("OutboxTable"))
            .filter_expression("begins_with(#key, :prefix)")
            .expression_attribute_names("#key", "key")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the local outbox");
        for item in page.items.unwrap_or_default() {
            let entry: Vec<FollowUp> = serde_json::from_str(item["follow_ups"].as_s().expect("follow-ups are text"))
                .expect("follow-ups are readable");
            follow_ups.extend(entry);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            return follow_ups;
        }
    }
}

/// The seller digests `function` wrote for `seller`.
pub async fn seller_digests(
    dynamodb: &aws_sdk_dynamodb::Client,
    function: Function,
    seller: &str,
) -> Vec<SellerDigest> {
    let prefix = format!("{}#", function.key(&["digest", seller]));
    outbox_follow_ups(dynamodb, &prefix)
        .await
        .into_iter()
        .filter_map(|follow_up| match follow_up {
            FollowUp::Email(email) => match email.content {
                EmailContent::SellerDigest(digest) => Some(digest),
                _ => None,
            },
            _ => None,
        })
        .collect()
}
