//! The stock alerts Lambda: logging, the handler built from its environment, the runtime.

use backoffice::adapters::Deployed;
use backoffice::mechanisms::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let alerts = stock_alerts::OnAws::from_env().await?;
    lambda::run(alerts).await
}
