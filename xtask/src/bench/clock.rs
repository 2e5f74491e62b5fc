//! Buyer messaging's clock at scale: 10,000 threads waiting for their sellers, 20 of them due
//! a reminder. The sweep's cost must follow the 20 (read through the sparse OpenThreads
//! index), not the 10,000.

use std::time::Instant;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use backoffice::adapters::dynamodb::dynamo_item;
use backoffice::domains::orders::Buyer;
use backoffice::domains::questions::records::{StoredThread, ThreadState, thread_item};
use backoffice::values::pii::EmailAddress;
use chrono::{Duration, Utc};
use serde::Serialize;

use super::meter::AwsMeter;
use super::sweep::{ScheduledRun, run_schedule_twice, seller, write_all};
use super::{BenchError, Subject};
use local_cloud::provision::Provisioned;

pub const OPEN_THREADS: usize = 10_000;
pub const DUE: usize = 20;
const SELLERS: usize = 100;

#[derive(Debug, Clone, Serialize)]
pub struct ClockReport {
    pub open_threads: usize,
    pub due: usize,
    pub load_seconds: f64,
    /// The first sweep reminds the 20; the second finds nothing due.
    pub first: ClockRun,
    pub steady: ClockRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClockRun {
    pub ms: f64,
    pub threads_due: u64,
    pub reminded: u64,
    pub aws_requests: u64,
}

/// Thread `index`: asked `hours_ago`, so that every 500th (20 of 10,000) is 21 hours into its
/// 24 and due its reminder; the rest were asked within the hour.
fn thread(index: usize) -> WriteRequest {
    let due = index.is_multiple_of(OPEN_THREADS / DUE);
    let asked = Utc::now() - Duration::hours(if due { 21 } else { 0 }) - Duration::minutes(1);
    let mut thread = StoredThread {
        thread_id: format!("thr_clock_{index:05}"),
        seller_id: format!("sel_clock_{:03}", index % SELLERS),
        buyer: Buyer {
            id: format!("buy_clock_{index}"),
            name: "Bench Buyer".to_owned(),
            email: EmailAddress::parse("bench@example.com").expect("an address"),
            locale: "en".to_owned(),
        },
        order_id: None,
        subject: String::new(),
        state: ThreadState::AwaitingSeller,
        last_question: Some(backoffice::values::pii::Private(
            "Is the teapot dishwasher safe?".to_owned(),
        )),
        clock: None,
        answered_automatically_at: None,
        first_response_seconds: None,
        version: 0,
        opened_at: Some(asked),
        erased_at: None,
    };
    thread.start_clock(&format!("msg_clock_{index}"), asked);
    let item = dynamo_item(thread_item(&thread, asked).expect("a thread serialises"));
    WriteRequest::builder()
        .put_request(PutRequest::builder().set_item(Some(item)).build().expect("a key"))
        .build()
}

/// Writes the sellers and the open threads straight into the table; answers how long it took.
pub async fn load_threads(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Result<f64, BenchError> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let started = Instant::now();
    write_all(
        &client,
        &provisioned.tables["SellersTable"],
        (0..SELLERS).map(|index| seller("clock", index)).collect(),
    )
    .await?;
    write_all(
        &client,
        &provisioned.tables["ThreadsTable"],
        (0..OPEN_THREADS).map(thread).collect(),
    )
    .await?;
    Ok(started.elapsed().as_secs_f64())
}

/// Two sweeps by one process of buyer messaging: the first reminds, the second is steady.
pub async fn measure(subject: &Subject, meter: &AwsMeter, load_seconds: f64) -> Result<ClockReport, BenchError> {
    let [first, steady] = run_schedule_twice(subject, meter, "ReplyClock").await?;
    let run = |run: ScheduledRun| {
        let field = |name: &str| run.answer[name].as_u64().unwrap_or(0);
        ClockRun {
            ms: run.ms,
            threads_due: field("threads_due"),
            reminded: field("reminded"),
            aws_requests: run.aws_requests,
        }
    };
    Ok(ClockReport {
        open_threads: OPEN_THREADS,
        due: DUE,
        load_seconds,
        first: run(first),
        steady: run(steady),
    })
}
