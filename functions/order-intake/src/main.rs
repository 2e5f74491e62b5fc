//! The order intake Lambda: logging, the handler built from its environment, the runtime.

use backoffice::{lambda, telemetry};
use order_intake::OrderIntake;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let intake = OrderIntake::from_env().await?;
    lambda::run(intake).await
}
