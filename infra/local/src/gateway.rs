//! The stack's front door on loopback:
//! - `/lambda-url/<function>/…`: the function's URL, as a Lambda Function URL event (payload 2.0);
//! - `POST /2015-03-31/functions/<function>/invocations`: Lambda's Invoke API, answered as
//!   Lambda answers it, so that real clients (boto3, `cargo lambda invoke`, the SDKs) work
//!   against it: a function's failure is a `200` with `X-Amz-Function-Error: Unhandled` and
//!   its `{errorType, errorMessage}` payload (not a retryable 5xx, which boto3 would repeat),
//!   `InvocationType: Event` is a `202` that runs in the background, `DryRun` a `204`, and an
//!   unknown function a `404` with `ResourceNotFoundException`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::local_aws::{ACCOUNT_ID, REGION};
use crate::loopback::{Body, json, read_body, respond};
use crate::runtime_api::{InvokeError, Invoker, Outcome};

pub struct Routes {
    /// Functions by binary name.
    pub invokers: BTreeMap<String, Invoker>,
    /// The functions that have a Function URL.
    pub urls: Vec<String>,
}

pub async fn route(routes: Arc<Routes>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/lambda-url/") {
        let function = rest.split('/').next().unwrap_or_default().to_owned();
        return match routes
            .invokers
            .get(&function)
            .filter(|_| routes.urls.contains(&function))
        {
            Some(invoker) => function_url(invoker, request).await,
            None => not_found(&format!("no function URL named {function:?}")),
        };
    }
    if let Some(function) = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|rest| rest.strip_suffix("/invocations"))
    {
        // By name or by ARN (`arn:aws:lambda:…:function:<name>`, URL-encoded or not).
        let function = function.replace("%3A", ":").replace("%3a", ":");
        let name = function.rsplit(':').next().unwrap_or_default().to_owned();
        let Some(invoker) = routes.invokers.get(&name).cloned() else {
            return function_not_found(&name);
        };
        if request.method() != Method::POST {
            return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "POST only");
        }
        return invoke(invoker, request).await;
    }
    not_found("try /lambda-url/<function>/ or /2015-03-31/functions/<function>/invocations")
}

/// Lambda's Invoke API for one function.
async fn invoke(invoker: Invoker, request: Request<Incoming>) -> Response<Body> {
    let invocation_type = request
        .headers()
        .get("x-amz-invocation-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("RequestResponse")
        .to_owned();
    let (_, payload) = read_body(request).await;
    match invocation_type.as_str() {
        "Event" => {
            // Queued and run in the background; the caller learns nothing more, as in Lambda.
            tokio::spawn(async move {
                if let Err(error) = invoker.invoke_raw(payload).await {
                    eprintln!("local cloud: an asynchronous invocation failed: {error}");
                }
            });
            with_version(respond(StatusCode::ACCEPTED, "application/json", ""))
        }
        "DryRun" => with_version(respond(StatusCode::NO_CONTENT, "application/json", "")),
        "RequestResponse" => match invoker.invoke_timed(payload).await {
            Ok(invoked) => match invoked.outcome {
                Outcome::Answered(answer) => with_version(respond(StatusCode::OK, "application/json", answer)),
                Outcome::Failed(error) => {
                    let mut response = with_version(respond(StatusCode::OK, "application/json", error));
                    response
                        .headers_mut()
                        .insert("x-amz-function-error", http::HeaderValue::from_static("Unhandled"));
                    response
                }
            },
            Err(error @ InvokeError::Throttled(_)) => service_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                &error.to_string(),
            ),
            // No process took it: the service, not the function, failed.
            Err(error) => service_error(StatusCode::SERVICE_UNAVAILABLE, "ServiceException", &error.to_string()),
        },
        other => service_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("InvocationType {other:?} is not Event, RequestResponse or DryRun"),
        ),
    }
}

fn with_version(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert("x-amz-executed-version", http::HeaderValue::from_static("$LATEST"));
    response
}

/// An error of the Lambda service itself, as its REST API reports one.
fn service_error(status: StatusCode, error_type: &'static str, message: &str) -> Response<Body> {
    let mut response = json(status, &json!({"Type": "User", "message": message}));
    response
        .headers_mut()
        .insert("x-amzn-errortype", http::HeaderValue::from_static(error_type));
    response
}

fn function_not_found(name: &str) -> Response<Body> {
    service_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFoundException",
        &format!("Function not found: arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"),
    )
}

async fn function_url(invoker: &Invoker, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = read_body(request).await;
    let event = function_url_event(&parts, &body);
    match invoker
        .invoke(&serde_json::to_value(event).expect("the event serialises"))
        .await
    {
        Ok(answer) => match serde_json::from_value::<LambdaFunctionUrlResponse>(answer.clone()) {
            Ok(response) if response.status_code != 0 => http_response(response),
            // A function may answer with a bare JSON value: Function URLs send it as a 200.
            _ => json(StatusCode::OK, &answer),
        },
        Err(error) => invoke_failure(&error),
    }
}

/// The Function URL event Lambda builds from an HTTP request.
pub fn function_url_event(parts: &http::request::Parts, body: &Bytes) -> LambdaFunctionUrlRequest {
    let mut event = LambdaFunctionUrlRequest::default();
    event.version = Some("2.0".to_owned());
    event.raw_path = Some(parts.uri.path().to_owned());
    event.raw_query_string = Some(parts.uri.query().unwrap_or_default().to_owned());
    event.headers = parts.headers.clone();
    let context = &mut event.request_context;
    context.request_id = Some(format!("{:016x}", rand::random::<u64>()));
    context.time_epoch = chrono::Utc::now().timestamp_millis();
    context.domain_name = parts
        .headers
        .get("host")
        .and_then(|host| host.to_str().ok())
        .map(str::to_owned);
    context.http.method = Some(parts.method.to_string());
    context.http.path = Some(parts.uri.path().to_owned());
    context.http.protocol = Some("HTTP/1.1".to_owned());
    context.http.source_ip = Some("127.0.0.1".to_owned());
    context.http.user_agent = parts
        .headers
        .get("user-agent")
        .and_then(|agent| agent.to_str().ok())
        .map(str::to_owned);
    // As Lambda does, text arrives as text and anything else base64-encoded.
    match std::str::from_utf8(body) {
        Ok(text) => event.body = Some(text.to_owned()),
        Err(_) => {
            event.body = Some(base64::engine::general_purpose::STANDARD.encode(body));
            event.is_base64_encoded = true;
        }
    }
    event
}

fn http_response(response: LambdaFunctionUrlResponse) -> Response<Body> {
    let body = match (response.body, response.is_base64_encoded) {
        (Some(body), true) => base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default(),
        (Some(body), false) => body.into_bytes(),
        (None, _) => Vec::new(),
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(response.status_code as u16).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(http_body_util::Full::new(Bytes::from(body)))
        .expect("valid response")
}

/// What a Function URL answers when the function fails: Lambda's plain 502 (504 when no
/// process answered in time), with nothing of the error shown to the caller; a throttled
/// request is Lambda's 429.
fn invoke_failure(error: &InvokeError) -> Response<Body> {
    let status = match error {
        InvokeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        InvokeError::Throttled(_) => return json(StatusCode::TOO_MANY_REQUESTS, &json!({"Message": "Rate Exceeded."})),
        _ => StatusCode::BAD_GATEWAY,
    };
    json(status, &json!({"Message": "Internal Server Error"}))
}

fn not_found(message: &str) -> Response<Body> {
    json(StatusCode::NOT_FOUND, &json!({"message": message}))
}
