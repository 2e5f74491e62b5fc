//! Counting the AWS requests a function makes, at the HTTP client every SDK client of one
//! configuration shares: what each event costs, as the product's budgets state it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// How many requests went on the wire since the last [`RequestCounter::take`].
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicUsize>);

impl RequestCounter {
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
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
        self.counter.0.fetch_add(1, Ordering::SeqCst);
        self.inner.call(request)
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
