//! `cargo xtask load --sellers N`: seller health's weekly run over N sellers (20,000 unless
//! told) in a local stack of its own, fired as its schedule fires it. The run pages itself
//! through the outbox, the relay, the topic and `SellerHealthPageQueue`; each page's reports
//! go through buyer messaging to SES. It reports how long until every due report was sent,
//! how many pages ran (and whether any ran twice), how many emails SES took and whether any
//! seller got two; then fires the same hour again and checks that nothing more is sent.
//!
//! The sellers have no orders: each week's figures are then a handful of empty reads, so the
//! run measures the paging, the claims and the sends, not DynamoDB's queries of busy weeks
//! (the bench's seller-health section measures those).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use chrono::{DateTime, Datelike, Duration as Days, Utc};
use local_cloud::operations::{dead_letters, sent_destinations, wait_for_quiet_queues};
use local_cloud::schedule::scheduled_event;
use local_cloud::stack::StackState;

use crate::CommandResult;
use crate::local::command_stack;

const DOMAIN: &str = "load.example.com";
/// How long without a new email before the run is taken to have stopped.
const STALLED: Duration = Duration::from_secs(180);

pub async fn command(count: usize) -> CommandResult {
    let (stack, logs) = command_stack("load-sellers-logs").await?;
    let state = stack.state();
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let sqs = aws_sdk_sqs::Client::new(&stack.config);

    let seeding = Instant::now();
    list_sellers(&dynamodb, &stack.provisioned.tables["SellersTable"], count).await?;
    println!(
        "Seller health over {count} sellers: listed in {:.1} s, each in UTC, due its report at 08:00 on Monday.",
        seeding.elapsed().as_secs_f64()
    );
    let monday = next_monday_eight(Utc::now());
    let health = stack
        .invoker("seller-health")
        .ok_or("the template has no seller-health function")?;
    let started = Instant::now();
    let first = health
        .invoke(&scheduled_event("HourlyReports", monday))
        .await
        .map_err(|error| format!("the run's first page: {error}"))?;
    println!("First page (the schedule's invocation): {first}");
    let sent = wait_for_reports(&state, &sqs, count, started).await?;
    let elapsed = started.elapsed();
    let pages = pages_run(&logs.join("seller-health.log"));

    // The same hour fired again, as EventBridge may: every report is claimed, none is sent.
    health
        .invoke(&scheduled_event("HourlyReports", monday))
        .await
        .map_err(|error| format!("the repeated run: {error}"))?;
    wait_for_quiet_queues(&sqs, &state, Duration::from_secs(1800)).await;
    let after_repeat = sent_to_sellers(&state).await?;
    let repeated_pages =
        pages_run(&logs.join("seller-health.log")).values().sum::<usize>() - pages.values().sum::<usize>();
    let dead: u64 = dead_letters(&sqs, &state)
        .await
        .map_err(|error| error.to_string())?
        .iter()
        .map(|queue| queue.waiting)
        .sum();

    let twice = pages.values().filter(|times| **times > 1).count();
    let duplicates = after_repeat.values().filter(|times| **times > 1).count();
    let minutes = elapsed.as_secs_f64() / 60.0;
    println!();
    println!("reports sent          {} of {count} due", sent.len());
    println!(
        "time to the last one  {:.1} min ({:.0} reports a minute)",
        minutes,
        sent.len() as f64 / minutes
    );
    println!(
        "pages of the run      {} ({twice} delivered more than once)",
        pages.len()
    );
    println!(
        "the hour fired again  {repeated_pages} pages ran, {} more reports sent",
        after_repeat.values().sum::<usize>() - sent.values().sum::<usize>()
    );
    println!("sellers emailed twice {duplicates}");
    println!("dead letters          {dead}");
    if sent.len() != count || duplicates > 0 || dead > 0 {
        return Err(format!(
            "{} of {count} reports sent, {duplicates} sellers emailed twice, {dead} dead letters",
            sent.len()
        ));
    }
    Ok(())
}

/// `count` sellers in the sellers table as `seller.updated` leaves them, 25 to a
/// `BatchWriteItem`, four at a time.
async fn list_sellers(dynamodb: &aws_sdk_dynamodb::Client, table: &str, count: usize) -> CommandResult {
    use futures_util::{StreamExt, TryStreamExt};
    let item = |n: usize| {
        let text = |value: String| AttributeValue::S(value);
        let item = [
            ("seller_id", format!("sel_load_{n:06}")),
            ("name", format!("Load Seller {n}")),
            ("email", address(n)),
            ("locale", "en-GB".to_owned()),
            ("listed", backoffice::domains::sellers::records::LISTED.to_owned()),
            ("time_zone", "UTC".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), text(value)))
        .collect();
        WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(item)).build().expect("an item"))
            .build()
    };
    let batches: Vec<Vec<WriteRequest>> = (0..count)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(|chunk| chunk.iter().map(|n| item(*n)).collect())
        .collect();
    futures_util::stream::iter(batches)
        .map(|batch| async move {
            let mut pending = BTreeMap::from([(table.to_owned(), batch)]);
            // What DynamoDB leaves unprocessed is sent again until none is left.
            while !pending.values().all(Vec::is_empty) {
                let output = dynamodb
                    .batch_write_item()
                    .set_request_items(Some(pending.into_iter().collect()))
                    .send()
                    .await
                    .map_err(|error| aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string())?;
                pending = output.unprocessed_items.unwrap_or_default().into_iter().collect();
            }
            Ok::<(), String>(())
        })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

fn address(n: usize) -> String {
    format!("seller.{n:06}@{DOMAIN}")
}

/// The Monday after `now`, at 08:00 UTC.
fn next_monday_eight(now: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = 7 - i64::from(now.weekday().num_days_from_monday());
    let monday = now.date_naive() + Days::days(ahead);
    monday.and_hms_opt(8, 0, 0).expect("08:00 exists").and_utc()
}

/// Polls SES's sends until every seller has its report, or none has come for [`STALLED`];
/// what each seller was sent.
async fn wait_for_reports(
    state: &StackState,
    sqs: &aws_sdk_sqs::Client,
    count: usize,
    started: Instant,
) -> Result<BTreeMap<String, usize>, String> {
    let mut last_change = Instant::now();
    let mut last_seen = 0;
    let mut last_print = Instant::now();
    loop {
        let sent = sent_to_sellers(state).await?;
        if sent.len() != last_seen {
            (last_seen, last_change) = (sent.len(), Instant::now());
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            println!(
                "  {:>6.0} s: {} of {count} reports sent",
                started.elapsed().as_secs_f64(),
                sent.len()
            );
            last_print = Instant::now();
        }
        if sent.len() >= count && wait_for_quiet_queues(sqs, state, Duration::from_secs(60)).await {
            return Ok(sent);
        }
        if last_change.elapsed() > STALLED {
            println!("  no report sent for {} s: stopped", STALLED.as_secs());
            return Ok(sent);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// How many emails SES took for each of the load's sellers.
async fn sent_to_sellers(state: &StackState) -> Result<BTreeMap<String, usize>, String> {
    let mut sent = BTreeMap::new();
    for destinations in sent_destinations(&state.aws_endpoint)
        .await
        .map_err(|error| error.to_string())?
    {
        for address in destinations.into_iter().filter(|address| address.ends_with(DOMAIN)) {
            *sent.entry(address).or_insert(0) += 1;
        }
    }
    Ok(sent)
}

/// How often each page ran so far: from seller health's log lines `seller health page`,
/// whose `run` field is the page's `Run`.
fn pages_run(log: &std::path::Path) -> BTreeMap<u32, usize> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut pages = BTreeMap::new();
    for line in text.lines() {
        let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if line["message"] != "seller health page" {
            continue;
        }
        let run = line["run"].as_str().unwrap_or_default();
        let page = run
            .strip_prefix("Run { page: ")
            .and_then(|rest| rest.split(',').next())
            .and_then(|page| page.parse().ok());
        if let Some(page) = page {
            *pages.entry(page).or_insert(0) += 1;
        }
    }
    pages
}
