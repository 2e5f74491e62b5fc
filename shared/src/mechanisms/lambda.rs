//! The Lambda runtime's side of every function: each function's handler implements
//! [`Handler`], and its `main` hands it to [`run`].

use std::future::Future;

use chrono::{DateTime, Utc};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

pub use lambda_runtime::Error;

use crate::mechanisms::trigger::{EventSources, InvocationError};

/// A function's whole behaviour: one invocation's payload (a Function URL request, an SQS
/// batch, a stream batch or a schedule) in, its answer out. `now` is passed in so that tests
/// set the clock.
pub trait Handler: Send + Sync {
    fn handle(&self, payload: Value, now: DateTime<Utc>)
    -> impl Future<Output = Result<Value, InvocationError>> + Send;
}

/// Serves invocations with `handler` until the runtime stops, admitting only the event
/// sources the template wires to the function (`EVENT_SOURCE_ARNS`).
pub async fn run(handler: impl Handler) -> Result<(), Error> {
    let handler = &handler;
    let sources = &EventSources::parse(&std::env::var(EventSources::VARIABLE).unwrap_or_default());
    // Boxed: the runtime's service stack is a type deep enough to overflow rustc's layout
    // query depth when held inline in `main`'s future.
    Box::pin(lambda_runtime::run(service_fn(
        |event: LambdaEvent<Value>| async move {
            if let Err(refused) = sources.admit(&event.payload) {
                tracing::error!(error = %refused, "invocation refused");
                return Err(InvocationError::from(refused));
            }
            handler.handle(event.payload, Utc::now()).await
        },
    )))
    .await
}
