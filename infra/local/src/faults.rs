//! A proxy between the functions and the local AWS that fails a chosen share of requests, per
//! service and operation, the ways AWS really fails: throttling in each service's own error
//! shape, a 500, a connection that hangs until the client gives up, and a connection reset
//! after the request was applied (its answer lost). The stack points the functions'
//! `AWS_ENDPOINT_URL` here when [`crate::stack::StackOptions::faults`] is set; its pollers
//! (Lambda's own side) still talk to the local AWS directly.
//!
//! The service is read from the request's SigV4 credential scope, the operation from
//! `X-Amz-Target` (JSON protocols), `Action=` (query protocols) or the path (REST).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::loopback::{Body, HttpClient};

/// How a request fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error: DynamoDB `ProvisionedThroughputExceededException`, SES
    /// `TooManyRequestsException`, SNS and SQS `Throttling`.
    Throttle,
    /// `500 InternalFailure`.
    ServerError,
    /// No answer at all, until the client's timeout.
    Hang,
    /// Applied, then the connection reset before the answer: the client cannot know.
    LoseAnswer,
}

/// Fail `share` (0 to 1) of the requests to `service` (the SigV4 signing name: `dynamodb`,
/// `ses`, `sns`, `sqs`, `s3`, `secretsmanager`), or only its `operation`, with `fault`.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub service: &'static str,
    pub operation: Option<&'static str>,
    pub share: f64,
    pub fault: Fault,
}

impl FaultRule {
    pub fn new(service: &'static str, share: f64, fault: Fault) -> Self {
        Self {
            service,
            operation: None,
            share,
            fault,
        }
    }

    pub fn on(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }
}

/// What the proxy saw, per `service.Operation`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FaultCounts {
    pub requests: BTreeMap<String, u64>,
    pub injected: BTreeMap<String, u64>,
}

impl FaultCounts {
    pub fn total_injected(&self) -> u64 {
        self.injected.values().sum()
    }
}

#[derive(Default)]
struct State {
    rules: Vec<FaultRule>,
    counts: FaultCounts,
}

/// The proxy, serving until dropped. Cloned handles share its rules.
pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Changes a running proxy's rules.
#[derive(Clone)]
pub struct Faults {
    state: Arc<Mutex<State>>,
}

impl Faults {
    /// From now on, these rules: each that matches a request rolls its share in turn, and the
    /// first that comes up decides.
    pub fn set(&self, rules: Vec<FaultRule>) {
        self.state.lock().expect("fault rules").rules = rules;
    }

    pub fn clear(&self) {
        self.set(Vec::new());
    }

    pub fn counts(&self) -> FaultCounts {
        self.state.lock().expect("fault rules").counts.clone()
    }
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let forward = Forward {
            client: HttpClient::default(),
            upstream: upstream.to_owned(),
            state: state.clone(),
        };
        let server = tokio::spawn(serve(listener, forward));
        Ok(Self {
            endpoint,
            state,
            server,
        })
    }

    pub fn faults(&self) -> Faults {
        Faults {
            state: self.state.clone(),
        }
    }
}

/// Like [`crate::loopback::serve`], but a handler may drop the connection without an answer.
async fn serve(listener: TcpListener, forward: Forward) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let forward = forward.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let forward = forward.clone();
                async move { forward.pass(request).await }
            });
            // A reset is the point of some faults: not an error here.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

#[derive(Debug, thiserror::Error)]
#[error("connection reset by fault injection")]
struct Reset;

#[derive(Clone)]
struct Forward {
    client: HttpClient,
    upstream: String,
    state: Arc<Mutex<State>>,
}

impl Forward {
    async fn pass(&self, request: Request<Incoming>) -> Result<Response<Body>, Reset> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let service = signing_service(&parts.headers).unwrap_or("unknown");
        let operation = operation(&parts, &body);
        let fault = self.decide(service, &operation);
        match fault {
            Some(Fault::Throttle) => return Ok(throttled(service, &operation)),
            Some(Fault::ServerError) => return Ok(server_error(service)),
            Some(Fault::Hang) => {
                // Longer than any client waits; the client's timeout ends it.
                tokio::time::sleep(Duration::from_secs(120)).await;
                return Err(Reset);
            }
            Some(Fault::LoseAnswer) | None => {}
        }
        let answer = self.client.forward(&self.upstream, &parts, body).await;
        if fault == Some(Fault::LoseAnswer) {
            return Err(Reset);
        }
        Ok(answer)
    }

    /// The fault for this request, if a rule's share comes up; counts it.
    fn decide(&self, service: &str, operation: &str) -> Option<Fault> {
        let mut state = self.state.lock().expect("fault rules");
        let key = format!("{service}.{operation}");
        *state.counts.requests.entry(key.clone()).or_default() += 1;
        // Each rule that matches rolls in turn; the first that comes up decides.
        let mut rng = rand::rng();
        let fault = state
            .rules
            .iter()
            .filter(|rule| rule.service == service && rule.operation.is_none_or(|op| op == operation))
            .find(|rule| rng.random_bool(rule.share.clamp(0.0, 1.0)))?
            .fault;
        *state.counts.injected.entry(key).or_default() += 1;
        Some(fault)
    }
}

/// The SigV4 signing name in `Authorization: … Credential=<key>/<date>/<region>/<service>/aws4_request`.
fn signing_service(headers: &http::HeaderMap) -> Option<&str> {
    let authorization = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = authorization.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(3)
}

/// `TransactWriteItems`, `PublishBatch`, `SendEmail`…: from the JSON target, the query action
/// or, for REST, the path.
fn operation(parts: &http::request::Parts, body: &Bytes) -> String {
    if let Some(target) = parts.headers.get("x-amz-target").and_then(|value| value.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_owned();
    }
    if let Some(action) = std::str::from_utf8(body)
        .ok()
        .and_then(|form| form.split('&').find_map(|pair| pair.strip_prefix("Action=")))
    {
        return action.to_owned();
    }
    match parts.uri.path() {
        "/v2/email/outbound-emails" => "SendEmail".to_owned(),
        path => format!("{} {path}", parts.method),
    }
}

fn throttled(service: &str, operation: &str) -> Response<Body> {
    match service {
        "dynamodb" => aws_json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        "ses" => rest_json(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequestsException",
            "Too many requests",
        ),
        "sqs" => aws_json(
            StatusCode::BAD_REQUEST,
            "com.amazonaws.sqs#ThrottlingException",
            "Rate exceeded",
        ),
        _ => query_error(
            StatusCode::BAD_REQUEST,
            "Throttling",
            &format!("Rate exceeded for {operation}"),
        ),
    }
}

fn server_error(service: &str) -> Response<Body> {
    match service {
        "dynamodb" | "sqs" | "secretsmanager" => aws_json(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "Internal server error",
        ),
        "ses" => rest_json(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", "Internal failure"),
        _ => query_error(StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure", "Internal failure"),
    }
}

fn aws_json(status: StatusCode, error_type: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"__type": error_type, "message": message}).to_string();
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(Bytes::from(body)))
        .expect("a static response")
}

/// An error of a REST-JSON service (SES v2): its type in a header.
fn rest_json(status: StatusCode, error_type: &str, message: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", error_type)
        .body(Full::new(Bytes::from(
            serde_json::json!({"message": message}).to_string(),
        )))
        .expect("a static response")
}

fn query_error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .expect("a static response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_is_read_from_the_credential_scope() {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=local/20261126/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        assert_eq!(signing_service(&headers), Some("dynamodb"));
        assert_eq!(signing_service(&http::HeaderMap::new()), None);
    }
}
