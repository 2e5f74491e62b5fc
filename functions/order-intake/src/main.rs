use backoffice::adapters::dynamodb::{self, DynamoIdempotencyStore, DynamoOrders, OrderTables};
use backoffice::adapters::sns::SnsFollowUps;
use backoffice::config::{self, ProcessEnv};
use backoffice::webhook::Function;
use backoffice::{adapters, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use order_intake::{Config, OrderIntake};
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
        Function::OrderIntake,
    )
    .await;
    let claims = DynamoIdempotencyStore::new(dynamodb.clone(), &config.webhook.idempotency_table);
    let tables = OrderTables {
        orders: config.orders_table.clone(),
        inventory: config.inventory_table.clone(),
        outbox: config.outbox_table.clone(),
    };
    let intake = OrderIntake {
        edge: adapters::webhook_edge(Function::OrderIntake, &config.webhook, &dynamodb),
        orders: DynamoOrders::new(dynamodb, tables, claims),
    };
    let publisher = SnsFollowUps::new(aws_sdk_sns::Client::new(&aws), &config.follow_up_topic_arn);
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (intake, publisher) = (&intake, &publisher);
        async move { order_intake::handle(intake, publisher, event.payload, chrono::Utc::now()).await }
    })))
    .await
}
