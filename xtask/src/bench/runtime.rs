//! The bench's Lambda Runtime API: the documented endpoints for one process at a time, and a
//! record of when the process asked for work and when it answered. Kept apart from the local
//! stack's runtime (`runtime_api.rs`) so that nothing but the protocol sits on the clock.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::http::{Body, read_body, respond, serve};

/// What the process did, and when.
#[derive(Debug)]
enum Mark {
    AskedForWork(Instant),
    GotEvent(Instant),
    Answered { at: Instant, body: Bytes, failed: bool },
    InitFailed(Bytes),
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("the process did not {0} within {1:?}")]
    Silent(&'static str, Duration),
    #[error("the process failed to start: {0}")]
    InitFailed(String),
    #[error("the Runtime API server stopped")]
    Gone,
}

/// One invocation as the clock saw it.
#[derive(Debug)]
pub struct Invoked {
    /// When the event left for the process.
    pub handed_at: Instant,
    pub answered_at: Instant,
    pub answer: Bytes,
    pub failed: bool,
}

impl Invoked {
    pub fn duration(&self) -> Duration {
        self.answered_at - self.handed_at
    }
}

struct Shared {
    events: Mutex<mpsc::Receiver<Bytes>>,
    marks: mpsc::UnboundedSender<Mark>,
    request_ids: AtomicU64,
}

pub struct BenchRuntime {
    pub address: SocketAddr,
    events: mpsc::Sender<Bytes>,
    marks: mpsc::UnboundedReceiver<Mark>,
    server: JoinHandle<()>,
}

impl Drop for BenchRuntime {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl BenchRuntime {
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (events, waiting) = mpsc::channel(1);
        let (marks_sender, marks) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(waiting),
            marks: marks_sender,
            request_ids: AtomicU64::new(0),
        });
        let server = tokio::spawn(serve(listener, move |request| route(shared.clone(), request)));
        Ok(Self {
            address,
            events,
            marks,
            server,
        })
    }

    async fn mark(&mut self, what: &'static str, limit: Duration) -> Result<Mark, RuntimeError> {
        match tokio::time::timeout(limit, self.marks.recv()).await {
            Ok(Some(Mark::InitFailed(body))) => Err(RuntimeError::InitFailed(String::from_utf8_lossy(&body).into())),
            Ok(Some(mark)) => Ok(mark),
            Ok(None) => Err(RuntimeError::Gone),
            Err(_) => Err(RuntimeError::Silent(what, limit)),
        }
    }

    /// Waits until the process asks for work: the end of its init, on a cold start.
    pub async fn asked_for_work(&mut self, limit: Duration) -> Result<Instant, RuntimeError> {
        loop {
            if let Mark::AskedForWork(at) = self.mark("ask for work", limit).await? {
                return Ok(at);
            }
        }
    }

    /// Hands `event` to the process (waiting in `next`) and waits for its answer.
    pub async fn invoke(&mut self, event: Bytes, limit: Duration) -> Result<Invoked, RuntimeError> {
        self.events.send(event).await.map_err(|_| RuntimeError::Gone)?;
        let mut handed_at = None;
        loop {
            match self.mark("answer", limit).await? {
                Mark::GotEvent(at) => handed_at = Some(at),
                Mark::Answered { at, body, failed } => {
                    return Ok(Invoked {
                        handed_at: handed_at.unwrap_or(at),
                        answered_at: at,
                        answer: body,
                        failed,
                    });
                }
                Mark::AskedForWork(_) | Mark::InitFailed(_) => {}
            }
        }
    }
}

async fn route(shared: Arc<Shared>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return respond(StatusCode::NOT_FOUND, "text/plain", "not a Runtime API path");
    };
    match (method, rest) {
        (Method::GET, "invocation/next") => next(&shared).await,
        (Method::POST, "init/error") => {
            let (_, body) = read_body(request).await;
            let _ = shared.marks.send(Mark::InitFailed(body));
            respond(StatusCode::ACCEPTED, "application/json", "{}")
        }
        (Method::POST, rest) if rest.starts_with("invocation/") => {
            let failed = rest.ends_with("/error");
            let (_, body) = read_body(request).await;
            let _ = shared.marks.send(Mark::Answered {
                at: Instant::now(),
                body,
                failed,
            });
            respond(StatusCode::ACCEPTED, "application/json", "{}")
        }
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "not a Runtime API path"),
    }
}

async fn next(shared: &Shared) -> Response<Body> {
    let _ = shared.marks.send(Mark::AskedForWork(Instant::now()));
    let Some(event) = shared.events.lock().await.recv().await else {
        return respond(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "shutting down");
    };
    let id = shared.request_ids.fetch_add(1, Ordering::Relaxed);
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    let _ = shared.marks.send(Mark::GotEvent(Instant::now()));
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header("lambda-runtime-aws-request-id", format!("bench-{id}"))
        .header("lambda-runtime-deadline-ms", deadline.to_string())
        .header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench",
        )
        .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000")
        .body(http_body_util::Full::new(event))
        .expect("a static response is valid")
}
