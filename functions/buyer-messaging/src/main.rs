use backoffice::config::{ProcessEnv, WebhookSettings};
use backoffice::webhook::Function;
use backoffice::{adapters, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let settings = WebhookSettings::from_env(&ProcessEnv)?;
    let edge = adapters::webhook_edge(Function::BuyerMessaging, &settings, &adapters::sdk_config().await);
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let edge = &edge;
        async move { buyer_messaging::handle(edge, event.payload, chrono::Utc::now()).await }
    })))
    .await
}
