//! The little HTTP the local stack needs: a loopback server loop and a client.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

pub type Body = Full<Bytes>;

/// Serves every connection on `listener` with `handler` until the task is dropped.
pub async fn serve<F, Fut>(listener: TcpListener, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(request).await) }
            });
            // A client that goes away mid-request is not our error.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

pub async fn read_body(request: Request<Incoming>) -> (http::request::Parts, Bytes) {
    let (parts, body) = request.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    (parts, bytes)
}

pub fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("a static response is valid")
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    respond(status, "application/json", value.to_string())
}

#[derive(Debug, thiserror::Error)]
#[error("HTTP {method} {url}: {message}")]
pub struct HttpError {
    method: Method,
    url: String,
    message: String,
}

/// What came back from a request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpConnector, Body>,
}

impl Default for HttpClient {
    fn default() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl HttpClient {
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply, HttpError> {
        let error = |message: String| HttpError {
            method: method.clone(),
            url: url.to_owned(),
            message,
        };
        let mut request = Request::builder().method(method.clone()).uri(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).map_err(|e| error(e.to_string()))?;
        let response = self.client.request(request).await.map_err(|e| error(e.to_string()))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| error(e.to_string()))?
            .to_bytes();
        Ok(Reply { status, headers, body })
    }

    pub async fn get(&self, url: &str) -> Result<Reply, HttpError> {
        self.send(Method::GET, url, &[], Bytes::new()).await
    }

    /// A request received by a pass-through (`parts`, `body`), sent on to `upstream` as it
    /// came (its `Host` aside), and the answer as it came back; `502` if it could not be sent.
    pub async fn forward(&self, upstream: &str, parts: &http::request::Parts, body: Bytes) -> Response<Body> {
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        let mut request = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", upstream.trim_end_matches('/')));
        for (name, value) in parts.headers.iter().filter(|(name, _)| *name != http::header::HOST) {
            request = request.header(name, value);
        }
        let Ok(request) = request.body(Full::new(body)) else {
            return respond(StatusCode::BAD_REQUEST, "text/plain", "unforwardable request");
        };
        match self.client.request(request).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                Response::from_parts(parts, Full::new(body))
            }
            Err(error) => respond(StatusCode::BAD_GATEWAY, "text/plain", error.to_string()),
        }
    }
}
