//! A pass-through in front of the local AWS that counts the requests a function makes and the
//! time they take: the function's `AWS_ENDPOINT_URL` points here instead of at the local AWS.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use local_cloud::loopback::{Body, read_body, respond, serve};

/// The AWS requests made since the last [`AwsMeter::take`], and the time spent in them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Usage {
    pub requests: u64,
    pub busy: Duration,
}

pub struct AwsMeter {
    pub endpoint: String,
    usage: Arc<Mutex<Usage>>,
    server: JoinHandle<()>,
}

impl Drop for AwsMeter {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl AwsMeter {
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let usage = Arc::new(Mutex::new(Usage::default()));
        let forward = Forward {
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            usage: usage.clone(),
        };
        let server = tokio::spawn(serve(listener, move |request| {
            let forward = forward.clone();
            async move { forward.pass(request).await }
        }));
        Ok(Self {
            endpoint,
            usage,
            server,
        })
    }

    /// What was used since the last call, and starts counting again.
    pub fn take(&self) -> Usage {
        std::mem::take(&mut *self.usage.lock().expect("usage"))
    }
}

#[derive(Clone)]
struct Forward {
    client: Client<HttpConnector, Body>,
    upstream: String,
    usage: Arc<Mutex<Usage>>,
}

impl Forward {
    async fn pass(&self, request: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let (parts, body) = read_body(request).await;
        let path = parts.uri.path_and_query().map_or("/", |path| path.as_str());
        let mut upstream = Request::builder()
            .method(parts.method.clone())
            .uri(format!("{}{path}", self.upstream));
        for (name, value) in parts.headers.iter().filter(|(name, _)| *name != http::header::HOST) {
            upstream = upstream.header(name, value);
        }
        let Ok(upstream) = upstream.body(Full::new(body)) else {
            return respond(StatusCode::BAD_REQUEST, "text/plain", "unforwardable request");
        };
        let answer = match self.client.request(upstream).await {
            Ok(response) => {
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                Response::from_parts(parts, Full::new(body))
            }
            Err(error) => respond(StatusCode::BAD_GATEWAY, "text/plain", error.to_string()),
        };
        let mut usage = self.usage.lock().expect("usage");
        usage.requests += 1;
        usage.busy += started.elapsed();
        answer
    }
}
