//! The Lambda Runtime API, as AWS documents it. Each `bootstrap` process gets its own endpoint
//! (its `AWS_LAMBDA_RUNTIME_API`), asks it `GET /2018-06-01/runtime/invocation/next` for work
//! and posts the answer to `/invocation/{id}/response` or `/error`. The processes of a function
//! share one queue of invocations, so they race for work as Lambda's sandboxes do.
//!
//! As in Lambda, an invocation that outlives the function's timeout fails and its process is
//! stopped (the supervisor starts a fresh one), and an invocation whose process dies fails at
//! once instead of waiting out the timeout.
//!
//! As in Lambda, a function with reserved concurrency runs at most that many invocations at
//! once: one more is throttled (`TooManyRequestsException`) and never reaches a process,
//! whatever triggered it. Locally "at once" counts the invocations handed over and not yet
//! answered, queued for a process or running, since a function has fewer processes than
//! Lambda has sandboxes. The throttles are counted per function, as CloudWatch's `Throttles`.
//!
//! Every trigger of the local stack (Function URLs, queues, schedules, `cargo xtask invoke`)
//! goes through an [`Invoker`], and so does the bench, which reads the clock this API keeps:
//! when a process first asked for work (the end of its init) and when each invocation was
//! handed over and answered.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};

use crate::local_aws::{ACCOUNT_ID, REGION};
use crate::loopback::{Body, read_body, respond, serve};

#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    #[error("the function failed: {0}")]
    Function(String),
    #[error("no process of the function answered within {0:?}")]
    Timeout(Duration),
    #[error("the function is not running")]
    Unavailable,
    #[error("the function answered with something other than JSON: {0}")]
    NotJson(String),
    #[error(
        "Rate Exceeded: the function's {0} reserved concurrent executions are all in use (TooManyRequestsException)"
    )]
    Throttled(usize),
}

/// How an invocation ended, as Lambda reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The function's answer.
    Answered(Bytes),
    /// `{"errorType", "errorMessage"}`: what the function posted to `/error`, or what Lambda
    /// says when the function timed out (`Sandbox.Timedout`) or its process exited
    /// (`Runtime.ExitError`).
    Failed(Bytes),
}

/// One invocation, with the Runtime API's clock.
#[derive(Debug, Clone)]
pub struct Invoked {
    pub outcome: Outcome,
    /// When a process took the event from `next`.
    pub handed_at: Instant,
    /// When it answered (or failed).
    pub answered_at: Instant,
}

impl Invoked {
    pub fn duration(&self) -> Duration {
        self.answered_at - self.handed_at
    }

    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }

    /// The answer, or the failure's payload.
    pub fn body(&self) -> &Bytes {
        match &self.outcome {
            Outcome::Answered(body) | Outcome::Failed(body) => body,
        }
    }
}

/// `{"errorType", "errorMessage"}`, as Lambda's own failures read.
fn lambda_error(error_type: &str, message: &str) -> Outcome {
    Outcome::Failed(Bytes::from(
        json!({"errorType": error_type, "errorMessage": message}).to_string(),
    ))
}

type Answer = oneshot::Sender<Invoked>;

struct Invocation {
    payload: Bytes,
    answer: Answer,
}

/// Hands events to a function and waits for its answer.
#[derive(Clone)]
pub struct Invoker {
    queue: mpsc::Sender<Invocation>,
    /// A backstop over the function's own timeout, which its instances enforce.
    patience: Duration,
    /// Its reserved concurrency, if it has one: a permit per invocation in flight.
    reserved: Option<(usize, Arc<Semaphore>)>,
    throttles: Arc<AtomicU64>,
}

impl Invoker {
    /// Invokes with a JSON event; a failed invocation is an error.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let answer = self.invoke_raw(Bytes::from(payload.to_string())).await?;
        serde_json::from_slice(&answer).map_err(|_| InvokeError::NotJson(String::from_utf8_lossy(&answer).into_owned()))
    }

    /// Invokes with any payload; a failed invocation is an error.
    pub async fn invoke_raw(&self, payload: Bytes) -> Result<Bytes, InvokeError> {
        match self.invoke_timed(payload).await?.outcome {
            Outcome::Answered(body) => Ok(body),
            Outcome::Failed(error) => Err(InvokeError::Function(String::from_utf8_lossy(&error).into_owned())),
        }
    }

    /// How many invocations through this invoker (and its clones) were throttled.
    pub fn throttles(&self) -> u64 {
        self.throttles.load(Ordering::Relaxed)
    }

    /// The same function, its throttles counted apart: what its event sources invoke
    /// through, so that a flood of its URL and a throttled queue tell apart.
    pub fn counted_apart(&self) -> Self {
        Self {
            throttles: Arc::default(),
            ..self.clone()
        }
    }

    /// Invokes and reports how it ended and when, as the Invoke API and the bench need.
    pub async fn invoke_timed(&self, payload: Bytes) -> Result<Invoked, InvokeError> {
        // Held until the answer: the invocation counts against the reservation meanwhile.
        let _permit = match &self.reserved {
            None => None,
            Some((reserved, permits)) => match Arc::clone(permits).try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.throttles.fetch_add(1, Ordering::Relaxed);
                    return Err(InvokeError::Throttled(*reserved));
                }
            },
        };
        let (answer, answered) = oneshot::channel();
        self.queue
            .send(Invocation { payload, answer })
            .await
            .map_err(|_| InvokeError::Unavailable)?;
        match tokio::time::timeout(self.patience, answered).await {
            Ok(Ok(invoked)) => Ok(invoked),
            Ok(Err(_)) => Err(InvokeError::Unavailable),
            Err(_) => Err(InvokeError::Timeout(self.patience)),
        }
    }
}

/// One function's Runtime API: its invocation queue, and an endpoint per process.
pub struct Runtime {
    function_arn: String,
    timeout: Duration,
    waiting: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
}

/// Where one process stands, as the Runtime API has seen it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessState {
    Starting,
    /// It asked for work: its init ended at this instant (the first time), and it waits.
    Ready(Instant),
    /// It reported that its init failed.
    InitFailed(String),
}

struct InFlight {
    id: String,
    handed_at: Instant,
    answer: Answer,
}

/// What one process is doing, so the supervisor can stop it or fail its invocation.
pub struct Instance {
    in_flight: Mutex<Option<InFlight>>,
    stop: Notify,
    state: watch::Sender<ProcessState>,
}

impl Default for Instance {
    fn default() -> Self {
        Self {
            in_flight: Mutex::default(),
            stop: Notify::default(),
            state: watch::Sender::new(ProcessState::Starting),
        }
    }
}

impl Instance {
    /// Resolves when the process must be stopped (its invocation ran out of time).
    pub async fn stop_requested(&self) {
        self.stop.notified().await
    }

    /// Waits until the process first asks for work (the end of its init), or says its init
    /// failed.
    pub async fn ready(&self) -> Result<Instant, String> {
        let mut state = self.state.subscribe();
        let settled = state
            .wait_for(|state| *state != ProcessState::Starting)
            .await
            .map_err(|_| "the Runtime API stopped".to_owned())?
            .clone();
        match settled {
            ProcessState::Ready(at) => Ok(at),
            ProcessState::InitFailed(error) => Err(error),
            ProcessState::Starting => unreachable!("waited for another state"),
        }
    }

    /// Fails the invocation the process was running, if any: it exited without answering.
    pub fn abandon(&self) {
        if let Some(in_flight) = self.in_flight.lock().expect("in-flight slot").take() {
            let message = format!(
                "RequestId: {} Error: Runtime exited without providing a reason",
                in_flight.id
            );
            let _ = in_flight.answer.send(Invoked {
                outcome: lambda_error("Runtime.ExitError", &message),
                handed_at: in_flight.handed_at,
                answered_at: Instant::now(),
            });
        }
    }

    fn finish(&self, id: &str, outcome: Outcome) -> bool {
        let answered_at = Instant::now();
        let mut slot = self.in_flight.lock().expect("in-flight slot");
        match slot.take() {
            Some(in_flight) if in_flight.id == id => {
                let _ = in_flight.answer.send(Invoked {
                    outcome,
                    handed_at: in_flight.handed_at,
                    answered_at,
                });
                true
            }
            other => {
                *slot = other;
                false
            }
        }
    }
}

impl Runtime {
    /// `reserved`: the function's reserved concurrency, `None` when it has none.
    pub fn new(function: &str, timeout: Duration, reserved: Option<usize>) -> (Self, Invoker) {
        let (queue, waiting) = mpsc::channel(1024);
        let runtime = Self {
            function_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}"),
            timeout,
            waiting: Arc::new(tokio::sync::Mutex::new(waiting)),
        };
        (
            runtime,
            Invoker {
                queue,
                patience: timeout + Duration::from_secs(5),
                reserved: reserved.map(|count| (count, Arc::new(Semaphore::new(count)))),
                throttles: Arc::default(),
            },
        )
    }

    /// A new endpoint on a free loopback port for one process: its address, its instance, and
    /// the server to run.
    pub async fn endpoint(
        &self,
    ) -> std::io::Result<(SocketAddr, Arc<Instance>, impl Future<Output = ()> + Send + 'static)> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let instance = Arc::new(Instance::default());
        let endpoint = Arc::new(Endpoint {
            function_arn: self.function_arn.clone(),
            timeout: self.timeout,
            waiting: self.waiting.clone(),
            instance: instance.clone(),
        });
        let server = serve(listener, move |request| route(endpoint.clone(), request));
        Ok((address, instance, server))
    }
}

struct Endpoint {
    function_arn: String,
    timeout: Duration,
    waiting: Arc<tokio::sync::Mutex<mpsc::Receiver<Invocation>>>,
    instance: Arc<Instance>,
}

async fn route(endpoint: Arc<Endpoint>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return respond(StatusCode::NOT_FOUND, "text/plain", "unknown path");
    };
    match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (Method::GET, ["invocation", "next"]) => next_invocation(&endpoint).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            let (_, body) = read_body(request).await;
            acknowledge(endpoint.instance.finish(&id, Outcome::Answered(body)))
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let (_, body) = read_body(request).await;
            acknowledge(endpoint.instance.finish(&id, Outcome::Failed(body)))
        }
        (Method::POST, ["init", "error"]) => {
            let (_, body) = read_body(request).await;
            let error = String::from_utf8_lossy(&body).into_owned();
            eprintln!("local cloud: {} failed to initialise: {error}", endpoint.function_arn);
            endpoint.instance.state.send_replace(ProcessState::InitFailed(error));
            respond(StatusCode::ACCEPTED, "application/json", "{}")
        }
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "unknown path"),
    }
}

async fn next_invocation(endpoint: &Arc<Endpoint>) -> Response<Body> {
    endpoint.instance.state.send_if_modified(|state| {
        let first_ask = *state == ProcessState::Starting;
        if first_ask {
            *state = ProcessState::Ready(Instant::now());
        }
        first_ask
    });
    let invocation = {
        let mut waiting = endpoint.waiting.lock().await;
        loop {
            match waiting.recv().await {
                // The caller gave up before any process took it: skip it.
                Some(invocation) if invocation.answer.is_closed() => continue,
                Some(invocation) => break invocation,
                None => return respond(StatusCode::GONE, "text/plain", "stack stopped"),
            }
        }
    };
    let id = request_id();
    let deadline = chrono::Utc::now().timestamp_millis() + endpoint.timeout.as_millis() as i64;
    *endpoint.instance.in_flight.lock().expect("in-flight slot") = Some(InFlight {
        id: id.clone(),
        handed_at: Instant::now(),
        answer: invocation.answer,
    });
    tokio::spawn(enforce_timeout(endpoint.clone(), id.clone()));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", &id)
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header("lambda-runtime-invoked-function-arn", &endpoint.function_arn)
        .header(
            "lambda-runtime-trace-id",
            format!("Root=1-{:08x}-{id}", deadline / 1000),
        )
        .body(http_body_util::Full::new(invocation.payload))
        .expect("valid response")
}

/// As Lambda does at the timeout: fail the invocation and stop the process running it.
async fn enforce_timeout(endpoint: Arc<Endpoint>, id: String) {
    tokio::time::sleep(endpoint.timeout).await;
    let message = format!(
        "RequestId: {id} Error: Task timed out after {:.2} seconds",
        endpoint.timeout.as_secs_f64()
    );
    if endpoint
        .instance
        .finish(&id, lambda_error("Sandbox.Timedout", &message))
    {
        endpoint.instance.stop.notify_one();
    }
}

fn acknowledge(known: bool) -> Response<Body> {
    if known {
        respond(StatusCode::ACCEPTED, "application/json", r#"{"status":"OK"}"#)
    } else {
        respond(
            StatusCode::BAD_REQUEST,
            "application/json",
            r#"{"errorType":"InvalidRequestID"}"#,
        )
    }
}

fn request_id() -> String {
    let bytes: [u8; 12] = rand::random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::HttpClient;

    /// Plays a `bootstrap` that takes an invocation and never answers it.
    #[tokio::test]
    async fn an_invocation_past_its_timeout_fails_and_its_process_is_stopped() {
        let (runtime, invoker) = Runtime::new("stuck", Duration::from_millis(300), None);
        let (address, instance, server) = runtime.endpoint().await.unwrap();
        tokio::spawn(server);
        let invocation = tokio::spawn(async move { invoker.invoke(&serde_json::json!({"n": 1})).await });
        let next = HttpClient::default()
            .get(&format!("http://{address}/2018-06-01/runtime/invocation/next"))
            .await
            .unwrap();
        assert_eq!(next.json(), serde_json::json!({"n": 1}));
        assert!(next.headers.contains_key("lambda-runtime-aws-request-id"));
        assert!(next.headers.contains_key("lambda-runtime-deadline-ms"));

        tokio::time::timeout(Duration::from_secs(5), instance.stop_requested())
            .await
            .expect("the process is stopped");
        let Err(InvokeError::Function(error)) = invocation.await.unwrap() else {
            panic!("the invocation fails")
        };
        assert!(error.contains("Sandbox.Timedout"), "{error}");
    }

    #[tokio::test]
    async fn an_answer_reaches_the_caller_and_a_dead_process_fails_its_invocation() {
        let (runtime, invoker) = Runtime::new("echo", Duration::from_secs(30), None);
        let (address, instance, server) = runtime.endpoint().await.unwrap();
        tokio::spawn(server);
        let client = HttpClient::default();
        let base = format!("http://{address}/2018-06-01/runtime/invocation");

        let answered = tokio::spawn({
            let invoker = invoker.clone();
            async move { invoker.invoke(&serde_json::json!({"n": 1})).await }
        });
        let next = client.get(&format!("{base}/next")).await.unwrap();
        assert!(instance.ready().await.is_ok(), "asking for work ends the init");
        let id = next.headers["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let reply = client
            .send(Method::POST, &format!("{base}/{id}/response"), &[], r#"{"ok":true}"#)
            .await
            .unwrap();
        assert_eq!(reply.status, 202);
        assert_eq!(answered.await.unwrap().unwrap(), serde_json::json!({"ok": true}));

        let abandoned = tokio::spawn(async move { invoker.invoke(&serde_json::json!({"n": 2})).await });
        client.get(&format!("{base}/next")).await.unwrap();
        instance.abandon();
        assert!(matches!(abandoned.await.unwrap(), Err(InvokeError::Function(_))));
    }

    /// Plays a `bootstrap` answering `{}` to the invocation `next` handed it.
    async fn answer_empty(client: &HttpClient, base: &str, next: &crate::loopback::Reply) {
        let id = next.headers["lambda-runtime-aws-request-id"].to_str().unwrap();
        client
            .send(Method::POST, &format!("{base}/{id}/response"), &[], "{}")
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn past_its_reserved_concurrency_an_invocation_is_throttled_and_counted() {
        let (runtime, invoker) = Runtime::new("busy", Duration::from_secs(30), Some(1));
        let (address, _instance, server) = runtime.endpoint().await.unwrap();
        tokio::spawn(server);
        let running = tokio::spawn({
            let invoker = invoker.clone();
            async move { invoker.invoke(&serde_json::json!({"n": 1})).await }
        });
        let client = HttpClient::default();
        let base = format!("http://{address}/2018-06-01/runtime/invocation");
        let next = client.get(&format!("{base}/next")).await.unwrap();

        let refused = invoker.invoke(&serde_json::json!({"n": 2})).await;
        assert!(matches!(refused, Err(InvokeError::Throttled(1))), "{refused:?}");
        assert_eq!(invoker.throttles(), 1);

        answer_empty(&client, &base, &next).await;
        running.await.unwrap().unwrap();
        let again = tokio::spawn({
            let invoker = invoker.clone();
            async move { invoker.invoke(&serde_json::json!({"n": 3})).await }
        });
        let next = client.get(&format!("{base}/next")).await.unwrap();
        assert_eq!(
            next.json(),
            serde_json::json!({"n": 3}),
            "the answer gave the permit back"
        );
        answer_empty(&client, &base, &next).await;
        again.await.unwrap().unwrap();
        assert_eq!(invoker.throttles(), 1);
    }
}
