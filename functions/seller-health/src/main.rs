//! The seller health Lambda: logging, the handler built from its environment, the runtime.

use backoffice::adapters::Deployed;
use backoffice::mechanisms::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let health = seller_health::OnAws::from_env().await?;
    lambda::run(health).await
}
