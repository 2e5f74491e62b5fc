//! A pass-through in front of the local AWS that counts the requests a function makes and the
//! time they take: the function's `AWS_ENDPOINT_URL` points here instead of at the local AWS.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use local_cloud::loopback::{Body, HttpClient, read_body, serve};

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
            client: HttpClient::default(),
            upstream: upstream.to_owned(),
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
    client: HttpClient,
    upstream: String,
    usage: Arc<Mutex<Usage>>,
}

impl Forward {
    async fn pass(&self, request: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let (parts, body) = read_body(request).await;
        let answer = self.client.forward(&self.upstream, &parts, body).await;
        let mut usage = self.usage.lock().expect("usage");
        usage.requests += 1;
        usage.busy += started.elapsed();
        answer
    }
}
