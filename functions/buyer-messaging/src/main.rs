use backoffice::adapters::dynamodb::{self, DynamoEmailLedger, DynamoSuppressions};
use backoffice::adapters::ses::{self, SesMailer};
use backoffice::config::{self, ProcessEnv};
use backoffice::email::postman::Postman;
use backoffice::webhook::Function;
use backoffice::{adapters, telemetry};
use buyer_messaging::{BuyerMessaging, Config};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env(&ProcessEnv)?;
    let aws = adapters::sdk_config().await;
    let dynamodb = dynamodb::client(
        &aws,
        config::open_connections_at_init(&ProcessEnv)?,
        &config.webhook.idempotency_table,
        Function::BuyerMessaging,
    )
    .await;
    let messaging = BuyerMessaging {
        edge: adapters::webhook_edge(Function::BuyerMessaging, &config.webhook, &dynamodb),
        postman: Postman {
            ledger: DynamoEmailLedger::new(dynamodb.clone(), &config.emails_table),
            suppressions: DynamoSuppressions::new(dynamodb, &config.suppression_table),
            mailer: SesMailer::new(
                ses::client(&aws),
                config.sender_address.expose(),
                config.configuration_set.clone(),
            ),
            from: config.sender_address.clone(),
        },
        feedback_queue_arn: config.feedback_queue_arn.clone(),
    };
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let messaging = &messaging;
        async move { buyer_messaging::handle(messaging, event.payload, chrono::Utc::now()).await }
    })))
    .await
}
