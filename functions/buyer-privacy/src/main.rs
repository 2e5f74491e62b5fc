//! The buyer privacy Lambda: logging, the handler built from its environment, the runtime.

use backoffice::adapters::Deployed;
use backoffice::mechanisms::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let privacy = buyer_privacy::OnAws::from_env().await?;
    lambda::run(privacy).await
}
