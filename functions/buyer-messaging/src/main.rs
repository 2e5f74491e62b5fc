//! The buyer messaging Lambda: logging, the handler built from its environment, the runtime.

use backoffice::{lambda, telemetry};
use buyer_messaging::BuyerMessaging;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let messaging = BuyerMessaging::from_env().await?;
    lambda::run(messaging).await
}
