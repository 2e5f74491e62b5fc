use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use backoffice::config::{self, ProcessEnv, WebhookSettings};
use backoffice::webhook::Function;
use backoffice::{adapters, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let settings = WebhookSettings::from_env(&ProcessEnv)?;
    let dynamodb = adapters::dynamodb::client(
        &adapters::sdk_config().await,
        config::open_connections_at_init(&ProcessEnv)?,
        &settings.idempotency_table,
        Function::ReviewMonitor,
    )
    .await;
    let edge = adapters::webhook_edge(Function::ReviewMonitor, &settings, &dynamodb);
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<LambdaFunctionUrlRequest>| {
        let edge = &edge;
        async move { Ok::<_, Error>(review_monitor::handle_webhook(edge, &event.payload, chrono::Utc::now()).await) }
    })))
    .await
}
