//! Stock alerts' sweep at catalogue scale: 50,000 SKUs of which 50 are at risk. The sweep's
//! cost must follow the 50 (read through the sparse Watchlist index), not the 50,000.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::future::try_join_all;
use serde::Serialize;

use super::meter::AwsMeter;
use super::{BenchError, Subject, run_error, start};
use local_cloud::provision::Provisioned;

pub const CATALOGUE: usize = 50_000;
pub const AT_RISK: usize = 50;
const SELLERS: usize = 100;
/// BatchWriteItem takes 25 items.
const WRITE_BATCH: usize = 25;

#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    pub skus: usize,
    pub at_risk: usize,
    pub load_seconds: f64,
    /// The first sweep raises the 50 alerts; the second finds nothing new.
    pub first: SweepRun,
    pub steady: SweepRun,
}

#[derive(Debug, Clone, Serialize)]
pub struct SweepRun {
    pub ms: f64,
    pub items_read: u64,
    pub skus_assessed: u64,
    pub alerts_raised: u64,
    pub digests: u64,
    pub aws_requests: u64,
}

fn n(value: usize) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// Item `index` of the catalogue: every thousandth is low (1 left, safety stock 5) and on the
/// watchlist, as its last assessment left it; the rest are healthy and off it.
fn stock_item(index: usize) -> WriteRequest {
    let seller = format!("sel_sweep_{:03}", index / (CATALOGUE / SELLERS));
    let sku = format!("SWEEP-{index:05}");
    let at_risk = index.is_multiple_of(CATALOGUE / AT_RISK);
    let on_hand = if at_risk { 1 } else { 100 };
    let mut put = PutRequest::builder()
        .item("sku_key", s(format!("{seller}#{sku}")))
        .item("seller_id", s(seller))
        .item("sku", s(sku))
        .item("on_hand", n(on_hand))
        .item("reserved", n(0))
        .item("available", n(on_hand))
        .item("safety_stock", n(5))
        .item("lead_time_days", n(7));
    if at_risk {
        put = put.item("watch", s(backoffice::domains::stock::inventory::WATCHLIST));
    }
    WriteRequest::builder()
        .put_request(put.build().expect("a key and attributes"))
        .build()
}

/// A seller's alert contact, `sel_<name>_<index>`, as a count or `seller.updated` leaves it.
pub(super) fn seller(name: &str, index: usize) -> WriteRequest {
    let put = PutRequest::builder()
        .item("seller_id", s(format!("sel_{name}_{index:03}")))
        .item("name", s(format!("Bench seller {index}")))
        .item("email", s(format!("seller{index}@{name}.example")))
        .item("locale", s("en"))
        .build()
        .expect("a key and attributes");
    WriteRequest::builder().put_request(put).build()
}

pub(super) async fn write_all(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), BenchError> {
    for chunk in requests.chunks(WRITE_BATCH * 8) {
        try_join_all(chunk.chunks(WRITE_BATCH).map(|batch| async move {
            let mut pending = batch.to_vec();
            while !pending.is_empty() {
                let output = client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .map_err(|error| {
                        run_error(
                            "loading the catalogue",
                            aws_sdk_dynamodb::error::DisplayErrorContext(error),
                        )
                    })?;
                pending = output
                    .unprocessed_items
                    .and_then(|mut tables| tables.remove(table))
                    .unwrap_or_default();
            }
            Ok::<(), BenchError>(())
        }))
        .await?;
    }
    Ok(())
}

/// Writes the catalogue and its sellers straight into the tables; answers how long it took.
pub async fn load_catalogue(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Result<Duration, BenchError> {
    let client = aws_sdk_dynamodb::Client::new(config);
    let started = Instant::now();
    write_all(
        &client,
        &provisioned.tables["SellersTable"],
        (0..SELLERS).map(|index| seller("sweep", index)).collect(),
    )
    .await?;
    write_all(
        &client,
        &provisioned.tables["InventoryTable"],
        (0..CATALOGUE).map(stock_item).collect(),
    )
    .await?;
    Ok(started.elapsed())
}

/// A scheduled sweep run by the bench: its time, its answer, the AWS requests it made.
pub(super) struct ScheduledRun {
    pub ms: f64,
    pub answer: serde_json::Value,
    pub aws_requests: u64,
}

/// Two runs of `rule`'s schedule by one process of the subject, one after the other: the first
/// finds the work, the second is the steady state.
pub(super) async fn run_schedule_twice(
    subject: &Subject,
    meter: &AwsMeter,
    rule: &str,
) -> Result<[ScheduledRun; 2], BenchError> {
    let mut process = start(subject).await?;
    let mut runs = Vec::new();
    for _ in 0..2 {
        meter.take();
        let event = local_cloud::schedule::scheduled_event(rule, chrono::Utc::now());
        let invoked = process
            .invoker
            .invoke_timed(bytes::Bytes::from(event.to_string()))
            .await
            .map_err(|error| run_error(rule, error))?;
        if invoked.failed() {
            return Err(run_error(rule, String::from_utf8_lossy(invoked.body())));
        }
        runs.push(ScheduledRun {
            ms: invoked.duration().as_secs_f64() * 1000.0,
            answer: serde_json::from_slice(invoked.body()).unwrap_or_default(),
            aws_requests: meter.take().requests,
        });
    }
    let _ = process.child.kill().await;
    let [first, steady]: [ScheduledRun; 2] = runs.try_into().map_err(|_| run_error(rule, "two runs"))?;
    Ok([first, steady])
}

/// Two sweeps by one process of stock alerts: the first raises, the second is steady state.
pub async fn measure(subject: &Subject, meter: &AwsMeter, load: Duration) -> Result<SweepReport, BenchError> {
    let [first, steady] = run_schedule_twice(subject, meter, "HourlySweep").await?;
    let run = |run: ScheduledRun| {
        let field = |name: &str| run.answer[name].as_u64().unwrap_or(0);
        SweepRun {
            ms: run.ms,
            items_read: field("items_read"),
            skus_assessed: field("skus_assessed"),
            alerts_raised: field("alerts_raised"),
            digests: field("digests"),
            aws_requests: run.aws_requests,
        }
    };
    Ok(SweepReport {
        skus: CATALOGUE,
        at_risk: AT_RISK,
        load_seconds: load.as_secs_f64(),
        first: run(first),
        steady: run(steady),
    })
}
