//! The Lambda runtime's side of every function: each function's handler implements
//! [`Handler`], and its `main` hands it to [`run`].

use std::future::Future;

use chrono::{DateTime, Utc};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

pub use lambda_runtime::Error;

use crate::trigger::InvocationError;

/// A function's whole behaviour: one invocation's payload (a Function URL request, an SQS
/// batch, a stream batch or a schedule) in, its answer out. `now` is passed in so that tests
/// set the clock.
pub trait Handler: Send + Sync {
    fn handle(&self, payload: Value, now: DateTime<Utc>)
    -> impl Future<Output = Result<Value, InvocationError>> + Send;
}

/// Serves invocations with `handler` until the runtime stops.
pub async fn run(handler: impl Handler) -> Result<(), Error> {
    let handler = &handler;
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(
        |event: LambdaEvent<Value>| async move { handler.handle(event.payload, Utc::now()).await },
    )))
    .await
}
