//! The Lambda Runtime API, as AWS documents it, for one function: its `bootstrap` processes
//! ask `GET /2018-06-01/runtime/invocation/next` for work and post the answer to
//! `/invocation/{id}/response` or `/error`. Every trigger of the local stack (Function URLs,
//! queues, schedules, `cargo xtask invoke`) goes through an [`Invoker`], so the binaries run
//! exactly as they do in Lambda.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::http::{Body, read_body, respond, serve};
use crate::local_aws::{ACCOUNT_ID, REGION};

#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("the function failed: {0}")]
    Function(String),
    #[error("the function did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the function is not running")]
    Unavailable,
    #[error("the function answered with something other than JSON: {0}")]
    NotJson(String),
}

struct Invocation {
    payload: Bytes,
    answer: oneshot::Sender<Result<Bytes, InvokeError>>,
}

/// Hands events to a function and waits for its answer.
#[derive(Clone)]
pub struct Invoker {
    queue: mpsc::Sender<Invocation>,
    timeout: Duration,
}

impl Invoker {
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let answer = self.invoke_raw(Bytes::from(payload.to_string())).await?;
        serde_json::from_slice(&answer).map_err(|_| InvokeError::NotJson(String::from_utf8_lossy(&answer).into_owned()))
    }

    pub async fn invoke_raw(&self, payload: Bytes) -> Result<Bytes, InvokeError> {
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Invocation { payload, answer })
            .await
            .map_err(|_| InvokeError::Unavailable)?;
        match tokio::time::timeout(self.timeout, answered).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(InvokeError::Unavailable),
            Err(_) => Err(InvokeError::Timeout(self.timeout)),
        }
    }
}

struct RuntimeState {
    function_arn: String,
    timeout: Duration,
    waiting: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Result<Bytes, InvokeError>>>>,
}

/// Starts the Runtime API for `function` on a free loopback port; returns its address (the
/// value of `AWS_LAMBDA_RUNTIME_API`), the invoker, and the server to run.
pub async fn start(
    function: &str,
    timeout: Duration,
) -> std::io::Result<(
    SocketAddr,
    Invoker,
    impl std::future::Future<Output = ()> + Send + 'static,
)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let (queue, waiting) = mpsc::channel(1024);
    let state = Arc::new(RuntimeState {
        function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}"),
        timeout,
        waiting: tokio::sync::Mutex::new(waiting),
        in_flight: Mutex::new(HashMap::new()),
    });
    let server = serve(listener, move |request| route(state.clone(), request));
    Ok((address, Invoker { queue, timeout }, server))
}

async fn route(state: Arc<RuntimeState>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return respond(StatusCode::NOT_FOUND, "text/plain", "unknown path");
    };
    match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["invocation", "next"]) => next_invocation(&state).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            let (_, body) = read_body(request).await;
            answer(&state, &id, Ok(body))
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let (_, body) = read_body(request).await;
            answer(
                &state,
                &id,
                Err(InvokeError::Function(String::from_utf8_lossy(&body).into_owned())),
            )
        }
        (Method::POST, ["init", "error"]) => {
            let (_, body) = read_body(request).await;
            eprintln!(
                "xtask: {} failed to initialise: {}",
                state.function_arn,
                String::from_utf8_lossy(&body)
            );
            respond(StatusCode::ACCEPTED, "application/json", "{}")
        }
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "unknown path"),
    }
}

async fn next_invocation(state: &RuntimeState) -> Response<Body> {
    let invocation = {
        let mut waiting = state.waiting.lock().await;
        loop {
            match waiting.recv().await {
                // The caller gave up (timed out) before any process took it: skip it.
                Some(invocation) if invocation.answer.is_closed() => continue,
                Some(invocation) => break invocation,
                None => return respond(StatusCode::GONE, "text/plain", "stack stopped"),
            }
        }
    };
    let id = request_id();
    let deadline = chrono::Utc::now().timestamp_millis() + state.timeout.as_millis() as i64;
    state
        .in_flight
        .lock()
        .expect("in-flight map")
        .insert(id.clone(), invocation.answer);
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &state.function_arn)
        .header(
            "lambda-runtime-trace-id",
            format!("Root=1-{:08x}-{id}", deadline / 1000),
        )
        .body(http_body_util::Full::new(invocation.payload))
        .expect("valid response")
}

fn answer(state: &RuntimeState, id: &str, result: Result<Bytes, InvokeError>) -> Response<Body> {
    match state.in_flight.lock().expect("in-flight map").remove(id) {
        Some(waiter) => {
            let _ = waiter.send(result);
            respond(StatusCode::ACCEPTED, "application/json", r#"{"status":"OK"}"#)
        }
        None => respond(
            StatusCode::BAD_REQUEST,
            "application/json",
            r#"{"errorType":"InvalidRequestID"}"#,
        ),
    }
}

fn request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}
