//! The floor of `cargo xtask bench`: the Rust runtime client answering every event at once,
//! with no SDK client, configuration or logging set up. The real functions' cold starts are
//! read against it, as lambda-perf reads Lambda's against its hello-world.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({"statusCode": 200}))
    }))
    .await
}
