//! Logging: JSON lines on stdout (what CloudWatch and Lambda's JSON log format expect), each
//! carrying the spans it is inside: the runtime's invocation span (`requestId`) and ours
//! (`event_id`, `message_id`), so every line names its invocation and its event or message.
//!
//! The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's logging config) or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map(|level| EnvFilter::new(level.to_lowercase()))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // try_init: a second call (tests, or a handler initialised twice) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .flatten_event(true)
        .with_target(false)
        .with_ansi(false)
        .try_init();
}
