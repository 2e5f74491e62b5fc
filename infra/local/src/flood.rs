//! An unsigned flood of Function URLs: what a stranger who found a public URL can do. The
//! flood test and the demo use it to show the relay and the queue consumers keep their pace
//! while the URLs are throttled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::task::JoinHandle;

use crate::loopback::HttpClient;

/// What the flooded URLs answered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FloodCount {
    /// Answered `429` by Lambda: every environment the URL's function reserves was busy.
    pub throttled: u64,
    /// Answered `401` by the function itself: the signature check refused it.
    pub refused: u64,
}

/// Requests under way until [`Flood::stop`].
pub struct Flood {
    stop: Arc<AtomicBool>,
    senders: Vec<JoinHandle<Result<FloodCount, String>>>,
}

impl Flood {
    /// `senders_per_url` loops for each URL, each posting an unsigned request as soon as the
    /// last one is answered.
    pub fn start(urls: &[String], senders_per_url: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let senders = urls
            .iter()
            .flat_map(|url| std::iter::repeat_n(url.clone(), senders_per_url))
            .map(|url| tokio::spawn(send_until_stopped(url, stop.clone())))
            .collect();
        Self { stop, senders }
    }

    /// Stops every sender. Fails if any request was answered other than `429` or `401`: an
    /// unsigned request must never be taken.
    pub async fn stop(self) -> Result<FloodCount, String> {
        self.stop.store(true, Ordering::Relaxed);
        let mut total = FloodCount::default();
        for sender in self.senders {
            let count = sender.await.map_err(|error| error.to_string())??;
            total.throttled += count.throttled;
            total.refused += count.refused;
        }
        Ok(total)
    }
}

async fn send_until_stopped(url: String, stop: Arc<AtomicBool>) -> Result<FloodCount, String> {
    let client = HttpClient::default();
    let mut count = FloodCount::default();
    while !stop.load(Ordering::Relaxed) {
        let reply = client
            .send(
                http::Method::POST,
                &url,
                &[("content-type", "application/json")],
                "{\"id\":\"evt_flood\"}",
            )
            .await
            .map_err(|error| error.to_string())?;
        match reply.status {
            429 => count.throttled += 1,
            401 => count.refused += 1,
            status => {
                return Err(format!(
                    "an unsigned request to {url} answered {status}: {}",
                    reply.text()
                ));
            }
        }
    }
    Ok(count)
}
