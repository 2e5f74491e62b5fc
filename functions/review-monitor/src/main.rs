//! Review monitoring: the marketplace's `review.*` webhooks, answered `501 event_type_not_handled` until they are built.

use backoffice::function::Function;
use backoffice::webhook::NotHandledYet;
use backoffice::{lambda, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    telemetry::init();
    let function = NotHandledYet::from_env(Function::ReviewMonitor)?;
    lambda::run(function).await
}
