//! The stock alerts Lambda: logging, the handler built from its environment, the runtime.

use backoffice::{lambda, telemetry};
use stock_alerts::StockAlerts;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let alerts = StockAlerts::from_env().await?;
    lambda::run(alerts).await
}
