use backoffice::adapters::dynamodb::{
    self, DynamoIdempotencyStore, DynamoOrders, DynamoStock, OrderTables, StockTables,
};
use backoffice::config::{self, ProcessEnv};
use backoffice::webhook::Function;
use backoffice::{adapters, telemetry};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use stock_alerts::{Config, StockAlerts};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init();
    let config = Config::from_env(&ProcessEnv)?;
    let aws = adapters::sdk_config().await;
    let dynamodb = dynamodb::client(
        &aws,
        config::open_connections_at_init(&ProcessEnv)?,
        &config.webhook.idempotency_table,
        Function::StockAlerts,
    )
    .await;
    let claims = DynamoIdempotencyStore::new(dynamodb.clone(), &config.webhook.idempotency_table);
    let alerts = StockAlerts {
        edge: adapters::webhook_edge(Function::StockAlerts, &config.webhook, &dynamodb),
        stock: DynamoStock::new(
            dynamodb.clone(),
            StockTables {
                inventory: config.inventory_table.clone(),
                sellers: config.sellers_table.clone(),
                outbox: config.outbox_table.clone(),
            },
            claims.clone(),
        ),
        backorders: DynamoOrders::new(
            dynamodb,
            OrderTables {
                orders: config.orders_table.clone(),
                inventory: config.inventory_table.clone(),
                outbox: config.outbox_table.clone(),
            },
            claims,
        ),
    };
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let alerts = &alerts;
        async move { stock_alerts::handle(alerts, event.payload, chrono::Utc::now()).await }
    })))
    .await
}
