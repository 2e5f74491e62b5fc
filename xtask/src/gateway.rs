//! The stack's front door on loopback:
//! - `/lambda-url/<function>/…`: the function's URL, as a Lambda Function URL event (payload 2.0);
//! - `POST /2015-03-31/functions/<function>/invocations`: Lambda's Invoke API, which
//!   `cargo xtask invoke` uses.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use base64::Engine;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::http::{Body, json, read_body, respond};
use crate::runtime_api::{InvokeError, Invoker};

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
        let Some(invoker) = routes.invokers.get(function) else {
            return not_found(&format!("no function named {function:?}"));
        };
        if request.method() != Method::POST {
            return respond(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "POST only");
        }
        let (_, payload) = read_body(request).await;
        return match invoker.invoke_raw(payload).await {
            Ok(answer) => respond(StatusCode::OK, "application/json", answer),
            Err(error) => invoke_failure(&error),
        };
    }
    not_found("try /lambda-url/<function>/ or /2015-03-31/functions/<function>/invocations")
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

fn invoke_failure(error: &InvokeError) -> Response<Body> {
    let status = match error {
        InvokeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::BAD_GATEWAY,
    };
    let mut response = json(status, &json!({"message": error.to_string()}));
    response
        .headers_mut()
        .insert("x-amz-function-error", http::HeaderValue::from_static("Unhandled"));
    response
}

fn not_found(message: &str) -> Response<Body> {
    json(StatusCode::NOT_FOUND, &json!({"message": message}))
}
