//! The AWS requests a function makes, at the HTTP client every SDK client of one
//! configuration shares: counted (what each event costs, as the product's budgets state it),
//! and, on cue, applied with their answer lost on the way back, as a reset connection does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// How many requests went on the wire since the last [`RequestCounter::take`], and which
/// operation's next answer to lose.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    sent: Arc<AtomicUsize>,
    lose_next: Arc<Mutex<Option<&'static str>>>,
}

impl RequestCounter {
    pub fn take(&self) -> usize {
        self.sent.swap(0, Ordering::SeqCst)
    }

    /// The next request of `operation` (`TransactWriteItems`) reaches AWS and is applied,
    /// and its answer is lost: the SDK sees a reset connection, and retries.
    pub fn lose_next_answer(&self, operation: &'static str) {
        *self.lose_next.lock().unwrap() = Some(operation);
    }

    fn losing(&self, request: &HttpRequest) -> bool {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let mut lose = self.lose_next.lock().unwrap();
        let hit = lose.is_some_and(|operation| target.ends_with(&format!(".{operation}")));
        if hit {
            *lose = None;
        }
        hit
    }
}

#[derive(Debug, Clone)]
struct Counting {
    inner: SharedHttpClient,
    counter: RequestCounter,
}

impl HttpClient for Counting {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counter: self.counter.clone(),
        })
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    counter: RequestCounter,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.counter.sent.fetch_add(1, Ordering::SeqCst);
        if !self.counter.losing(&request) {
            return self.inner.call(request);
        }
        let applied = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            applied.await?;
            let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the answer was lost");
            Err(ConnectorError::io(Box::new(reset)))
        })
    }
}

/// The local AWS's configuration, with every request counted by the returned counter.
pub async fn counted_config() -> (aws_config::SdkConfig, RequestCounter) {
    let counter = RequestCounter::default();
    let client = SharedHttpClient::new(Counting {
        inner: aws_smithy_http_client::Builder::new().build_http(),
        counter: counter.clone(),
    });
    let config = crate::local_aws()
        .sdk_config()
        .await
        .into_builder()
        .http_client(client)
        .build();
    (config, counter)
}
