//! `cargo xtask load`: sustained mixed traffic through the Function URLs of the local stack,
//! stepped up in concurrency until it saturates. Each step reports events per second, p50 and
//! p99 answer times, errors, how many follow-ups were queued when the step ended, and how long
//! the back office took to catch up (the outbox stream, the queues and their consumers).
//!
//! What saturates is the local AWS: moto is one Python process, and DynamoDB's requests go
//! through it one at a time (`local_aws.py` makes them atomic). The figures say what this
//! machine's stack does, not what Lambda and DynamoDB would.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use local_cloud::operations::{send_event, wait_for_quiet_queues, waiting_in};
use local_cloud::processes::LogSink;
use local_cloud::seed::{StockSeed, seed_stock};
use local_cloud::stack::{Stack, StackState};
use local_cloud::{paths, venv};
use serde_json::{Value, json};

use crate::CommandResult;
use crate::local::{build_functions, stack_options};

mod sellers;

const SELLER: &str = "sel_load";
const SKUS: [&str; 8] = ["LD-0", "LD-1", "LD-2", "LD-3", "LD-4", "LD-5", "LD-6", "LD-7"];
const CONCURRENCY: [usize; 6] = [1, 2, 4, 8, 16, 32];

/// One step's figures.
struct Step {
    concurrency: usize,
    answered: usize,
    errors: usize,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    queued_at_end: u64,
    catch_up: Duration,
}

impl Step {
    fn per_second(&self) -> f64 {
        self.answered as f64 / self.seconds
    }
}

pub async fn command(args: &[String]) -> CommandResult {
    let seconds = match args {
        [] => 60,
        [flag, seconds] if flag == "--seconds" => seconds.parse().map_err(|_| "--seconds takes a number")?,
        [flag] if flag == "--sellers" => return sellers::command(20_000).await,
        [flag, count] if flag == "--sellers" => {
            return sellers::command(count.parse().map_err(|_| "--sellers takes a number")?).await;
        }
        _ => return Err("usage: cargo xtask load [--seconds N | --sellers [N]]".to_owned()),
    };
    venv::ensure().map_err(|error| error.to_string())?;
    build_functions()?;
    let logs = paths::scratch().join("load-logs");
    let _ = std::fs::remove_dir_all(&logs);
    let mut options = stack_options(0, LogSink::Files(logs));
    options.schedules = false;
    let stack = Stack::start(options).await.map_err(|error| error.to_string())?;
    let state = Arc::new(stack.state());
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let seeds = StockSeed::each(SELLER, &SKUS, 1_000_000, 0, 3);
    seed_stock(&dynamodb, &stack.provisioned.tables["InventoryTable"], &seeds).await?;
    let next = Arc::new(AtomicU64::new(0));
    let mut steps = Vec::new();
    println!(
        "Load: {seconds} s per step, mixed events (orders, cancels, restocks, questions) through the Function URLs\n"
    );
    println!("concurrency  events/s   p50 ms   p99 ms  errors (5xx, 429)  queued at end  caught up in");
    for concurrency in CONCURRENCY {
        let step = run_step(&state, &sqs, concurrency, Duration::from_secs(seconds), &next).await;
        println!(
            "{:>11}  {:>8.1}  {:>7.1}  {:>7.1}  {:>12}  {:>13}  {:>10.1} s",
            step.concurrency,
            step.per_second(),
            step.p50_ms,
            step.p99_ms,
            step.errors,
            step.queued_at_end,
            step.catch_up.as_secs_f64()
        );
        let saturated = steps
            .last()
            .is_some_and(|last: &Step| step.per_second() < last.per_second() * 1.1);
        steps.push(step);
        if saturated {
            break;
        }
    }
    let best = steps
        .iter()
        .max_by(|a, b| a.per_second().total_cmp(&b.per_second()))
        .expect("a step ran");
    println!(
        "\nSaturated at {:.1} events/s with {} concurrent senders: more senders add waiting, not work.",
        best.per_second(),
        best.concurrency
    );
    Ok(())
}

async fn run_step(
    state: &Arc<StackState>,
    sqs: &aws_sdk_sqs::Client,
    concurrency: usize,
    length: Duration,
    next: &Arc<AtomicU64>,
) -> Step {
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (state, next) = (state.clone(), next.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                while started.elapsed() < length {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let began = Instant::now();
                    // A 4xx is an answer (a cancel can race ahead of its order); an error is a
                    // 5xx, a throttle (429: the URL's reserved concurrency was all in use) or
                    // no answer at all.
                    let ok = match send_event(&state, &event(n)).await {
                        Ok((_, reply)) => reply.status < 500 && reply.status != 429,
                        Err(_) => false,
                    };
                    answers.push((began.elapsed(), ok));
                }
                answers
            })
        })
        .collect();
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.unwrap_or_default());
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut queued_at_end = 0;
    for queue in state.queues.values().filter(|queue| queue.consumed_by.is_some()) {
        queued_at_end += waiting_in(sqs, &queue.url).await;
    }
    let settling = Instant::now();
    wait_for_quiet_queues(sqs, state, Duration::from_secs(600)).await;
    let mut times: Vec<Duration> = answers.iter().map(|(time, _)| *time).collect();
    times.sort();
    let percentile = |p: f64| {
        times
            .get(((times.len() as f64 * p) as usize).min(times.len().saturating_sub(1)))
            .map_or(0.0, |time| time.as_secs_f64() * 1000.0)
    };
    Step {
        concurrency,
        answered: answers.iter().filter(|(_, ok)| *ok).count(),
        errors: answers.iter().filter(|(_, ok)| !*ok).count(),
        seconds,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
        queued_at_end,
        catch_up: settling.elapsed(),
    }
}

/// The `n`th event of the mix: seven orders in ten, then a cancel of the order before, a
/// restock, a buyer's question.
fn event(n: u64) -> Vec<u8> {
    let now = chrono::Utc::now();
    let (event_type, data) = match n % 10 {
        7 => (
            "order.cancelled",
            json!({"order_id": format!("ord_load_{}", n - 1), "seller_id": SELLER, "cancelled_by": "buyer"}),
        ),
        8 => (
            "inventory.adjusted",
            json!({"seller_id": SELLER, "sku": SKUS[(n % 8) as usize], "on_hand": {"add": 5}}),
        ),
        9 => (
            "message.received",
            json!({"message_id": format!("msg_load_{n}"), "buyer": buyer(), "seller_id": SELLER, "order_id": format!("ord_load_{}", n - 3),
                   "subject": "My order", "text": "Where is my order? When will it ship?", "created_at": now.to_rfc3339()}),
        ),
        _ => ("order.created", order(n, now)),
    };
    json!({"id": format!("evt_load_{n}"), "type": event_type, "created_at": now.to_rfc3339(), "data": data})
        .to_string()
        .into_bytes()
}

fn buyer() -> Value {
    json!({"id": "buy_load", "name": "Load Buyer", "email": "load.buyer@example.com", "locale": "en"})
}

fn order(n: u64, now: chrono::DateTime<chrono::Utc>) -> Value {
    let sku = SKUS[(n % 8) as usize];
    json!({"order_id": format!("ord_load_{n}"), "seller_id": SELLER, "buyer": buyer(), "currency": "EUR",
           "lines": [{"line_id": "l0", "sku": sku, "title": "Load test teapot", "quantity": 1, "unit_price": "9.90"}],
           "total": "9.90", "ship_by": (now + chrono::Duration::days(3)).to_rfc3339(),
           "shipping_address": {"name": "Load Buyer", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}})
}
