//! `cargo xtask demo`: the back office on this machine, the sample events of `events/` sent
//! through it, and what happened, as the people who use it would see it.

use std::path::Path;
use std::time::Duration;

use backoffice::adapters::dynamodb::item_of;
use backoffice::storage::{Item, text};
use chrono::Datelike;
use local_cloud::operations::{dead_letters, outbox, send_event, wait_for_quiet_queues};
use local_cloud::stack::{Stack, StackState};
use local_cloud::story;
use serde_json::Value;

use crate::CommandResult;
use crate::local::{command_stack, print_emails, sample_events};

pub async fn demo() -> CommandResult {
    let (stack, logs) = command_stack("demo-logs").await?;
    let state = stack.state();
    println!(
        "The back office is running locally (local AWS at {}).\n",
        state.aws_endpoint
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let inventory = &stack.provisioned.tables["InventoryTable"];

    let days_moved = story::days_moved(chrono::Utc::now());
    if days_moved != 0 {
        println!("The story is told as of today: its dates move by {days_moved} day(s).\n");
    }
    println!("Marketplace events, signed and sent to each function's URL, each followed until its");
    println!("queues are quiet (follow-ups relayed, stock assessed, emails sent):");
    for file in sample_events()? {
        let body = std::fs::read(&file).map_err(|error| format!("{}: {error}", file.display()))?;
        let body = story::moved(&body, days_moved);
        let name = file.file_name().map(Path::new).unwrap_or(&file).display().to_string();
        match send_event(&state, &body).await {
            Ok((function, reply)) => println!(
                "  {name:<42} → {:<16} {} {}",
                function.name(),
                reply.status,
                summary(&reply.json())
            ),
            Err(error) => println!("  {name:<42} → not sent: {error}"),
        }
        if !wait_for_quiet_queues(&sqs, &state, Duration::from_secs(15)).await {
            println!("    (its queues were still busy after 15 s)");
        }
    }

    // The scheduled work below runs while strangers flood every public URL: it runs in
    // functions of its own, which the flood cannot throttle.
    // Two of them, with more senders each than the 25 environments a URL reserves.
    let urls: Vec<String> = ["order-intake", "buyer-messaging"]
        .iter()
        .filter_map(|function| state.function_urls.get(*function).cloned())
        .collect();
    let flood = local_cloud::flood::Flood::start(&urls, 32);

    // The clock's sweep, as its 15-minute schedule would run it now: the late order announced.
    if let Some(messaging) = stack.invoker("buyer-messaging-worker") {
        let event = local_cloud::schedule::scheduled_event("ReplyClock", chrono::Utc::now());
        match messaging.invoke(&event).await {
            Ok(swept) => println!(
                "\nThe clock's sweep: {} reminder(s), {} breach(es), {} late order(s) announced",
                swept["reminded"], swept["breached"], swept["late_orders"]
            ),
            Err(error) => println!("\nThe clock's sweep failed: {error}"),
        }
        wait_for_quiet_queues(&sqs, &state, Duration::from_secs(15)).await;
    }

    let weekly = seller_health_run(&stack, &sqs, &state).await;
    print_flood(&stack, flood).await?;

    println!("\nOrders:");
    print_orders(&dynamodb, &stack.provisioned.tables["OrdersTable"]).await?;
    println!("\nStock after them, with the problem each seller last heard of:");
    print_stock(&dynamodb, inventory).await?;
    println!("\nReviews, as review monitoring read them, and the trends open on each SKU:");
    print_reviews(&dynamodb, &stack.provisioned.tables["ReviewsTable"]).await?;
    println!("\nRefunds, as refund processing decided them, and their payouts:");
    print_refunds(&dynamodb, &stack.provisioned.tables["RefundsTable"]).await?;
    println!("\nBuyer protection claims, as support staff decided them:");
    print_claims(&dynamodb, &stack.provisioned.tables["RefundsTable"]).await?;
    println!("\nBuyer questions, as buyer messaging took them:");
    print_threads(&dynamodb, &stack.provisioned.tables["ThreadsTable"]).await?;
    if let Some(payouts) = stack.queue("RefundPayoutQueue") {
        let waiting = local_cloud::operations::waiting_in(&sqs, &payouts.url).await;
        println!("  {waiting} payout instruction(s) waiting in RefundPayoutQueue for the payment integration");
    }

    println!("\nDead-letter queues:");
    for dead in dead_letters(&sqs, &state).await.map_err(|error| error.to_string())? {
        println!(
            "  {:<28} {} dead letter(s) from {}",
            dead.queue, dead.waiting, dead.source
        );
    }
    println!();
    let (weekly_emails, emails): (Vec<_>, Vec<_>) = outbox(&state.aws_endpoint)
        .await
        .map_err(|error| error.to_string())?
        .into_iter()
        .partition(|email| email.subject.contains("周报") || email.subject.starts_with("Your week"));
    print_emails(&emails);
    println!("\nEmails not sent, and why (from the emails table):");
    print_skipped_emails(
        &dynamodb,
        &stack.provisioned.tables["EmailsTable"],
        emails.len() + weekly_emails.len(),
    )
    .await?;
    match crate::report::write_report(&state.aws_endpoint, 28).await {
        Ok(page) => println!(
            "\nThe operator report, as the weekly job writes it to S3: {}",
            page.display()
        ),
        Err(error) => println!("\nThe operator report could not be written: {error}"),
    }
    println!("\nFunction logs: {}", logs.display());
    println!("\n{weekly}");
    print_emails(&weekly_emails);
    erase_a_buyer(&stack, days_moved).await
}

/// The story's last act: Emma Clarke asks for her data, then for its erasure
/// (`events/privacy/`); the export is read back, and every table, queue, dead-letter queue
/// and bucket of the stack is searched for her before and after.
async fn erase_a_buyer(stack: &Stack, days_moved: i64) -> CommandResult {
    let state = stack.state();
    let sample = |name: &str| -> Result<Value, String> {
        let path = local_cloud::paths::events_dir().join(name);
        let text = std::fs::read(&path).map_err(|error| format!("{}: {error}", path.display()))?;
        serde_json::from_slice(&story::moved(&text, days_moved)).map_err(|error| format!("{name}: {error}"))
    };
    let order = sample("02-order.created.backordered.json")?;
    let (question, reply) = (
        sample("19-message.received.product-question.json")?,
        sample("20-message.replied.json")?,
    );
    let words = |event: &Value, path: &str| {
        event
            .pointer(path)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let hers = [
        words(&order, "/data/buyer/name"),
        words(&order, "/data/buyer/email"),
        words(&order, "/data/shipping_address/line1"),
        words(&order, "/data/shipping_address/postal_code"),
        words(&question, "/data/text"),
        words(&reply, "/data/text"),
    ];
    let needles: Vec<&str> = hers
        .iter()
        .map(String::as_str)
        .filter(|needle| !needle.is_empty())
        .collect();
    let places = async || local_cloud::scan::find(&stack.config, &stack.provisioned, &needles).await;

    println!(
        "\nA buyer's data, on request (events/privacy/): {} asks for it, then for its erasure.",
        needles[0]
    );
    let before = places().await?;
    println!(
        "  Before: her name, address, email and words are in {} place(s) of the stack:",
        before.len()
    );
    let mut where_held: Vec<&str> = before.iter().map(|(place, _)| place.as_str()).collect();
    where_held.sort_unstable();
    where_held.dedup();
    println!("    {}", where_held.join(", "));
    for name in ["1-buyer.export_requested.json", "2-buyer.erasure_requested.json"] {
        let body = sample(&format!("privacy/{name}"))?.to_string();
        let (function, reply) = send_event(&state, body.as_bytes())
            .await
            .map_err(|error| error.to_string())?;
        println!(
            "  {name:<34} → {:<14} {} {}",
            function.name(),
            reply.status,
            summary(&reply.json())
        );
        if let Some(key) = reply.json()["object_key"].as_str() {
            let started = std::time::Instant::now();
            let export = loop {
                let objects = local_cloud::scan::bucket_objects(&stack.config, &stack.provisioned).await?;
                if let Some(held) = objects.into_iter().find(|held| held.place.ends_with(key)) {
                    break Some(held.text);
                }
                if started.elapsed() > Duration::from_secs(30) {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            };
            match export.and_then(|text| serde_json::from_str::<Value>(&text).ok()) {
                Some(document) => {
                    let count = |part: &str| document[part].as_array().map_or(0, Vec::len);
                    println!(
                        "    her export, in the reports bucket: {} order(s), {} refund(s), {} review(s), {} thread item(s), {} email(s)",
                        count("orders"),
                        count("refunds"),
                        count("reviews"),
                        count("threads"),
                        count("emails")
                    );
                }
                None => println!("    her export did not appear within 30 s"),
            }
        }
    }
    let started = std::time::Instant::now();
    let after = loop {
        let found = places().await?;
        if found.is_empty() || started.elapsed() > Duration::from_secs(60) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "  After, {:.1} s: the scan of every table, queue, dead-letter queue and bucket finds her in {} place(s){}",
        started.elapsed().as_secs_f64(),
        after.len(),
        if after.is_empty() { "." } else { ":" }
    );
    for (place, needle) in &after {
        println!("    {place}: {needle:?}");
    }
    Ok(())
}

/// What the flood that ran beside the scheduled work did, and what it could not do.
async fn print_flood(stack: &Stack, flood: local_cloud::flood::Flood) -> CommandResult {
    let count = flood.stop().await?;
    let behind: u64 = stack.event_source_throttles().values().sum();
    println!(
        "\nMeanwhile, 32 unsigned senders at each of order intake's and buyer messaging's URLs: {} request(s) throttled by Lambda (429) past each URL's reserved concurrency, {} refused by the signature check (401); the relay, the queue consumers and the schedules were throttled {behind} time(s).",
        count.throttled, count.refused
    );
    Ok(())
}

/// Seller health's hourly run as the schedule fires it at 08:00 UTC next Monday: the demo
/// seller (Asia/Shanghai, where it is 16:00) gets its week, and the operator report is
/// written to the reports bucket. Answers what to say before the weekly email is printed.
async fn seller_health_run(stack: &Stack, sqs: &aws_sdk_sqs::Client, state: &StackState) -> String {
    let Some(health) = stack.invoker("seller-health") else {
        return "Seller health is not in the template.".to_owned();
    };
    let today = chrono::Utc::now().date_naive();
    let monday = today + chrono::Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
    let at = monday.and_hms_opt(8, 0, 0).unwrap_or_default().and_utc();
    let event = local_cloud::schedule::scheduled_event("HourlyReports", at);
    let said = match health.invoke(&event).await {
        Ok(run) => format!(
            "Seller health, as its hourly schedule runs at {at}: {} weekly report(s) sent, the operator report at s3://{}/{}.\nThe demo seller's weekly email (its Monday 08:00 in Shanghai has come):",
            run["reports_sent"],
            stack
                .provisioned
                .buckets
                .get("ReportsBucket")
                .map_or("-", String::as_str),
            run["operator_report"].as_str().unwrap_or("-")
        ),
        Err(error) => format!("Seller health's run failed: {error}"),
    };
    wait_for_quiet_queues(sqs, state, Duration::from_secs(15)).await;
    said
}

async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<Item>, String> {
    let output = client.scan().table_name(table).send().await.map_err(|error| {
        format!(
            "scanning {table}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        )
    })?;
    Ok(output.items.unwrap_or_default().into_iter().map(item_of).collect())
}

/// An attribute as the demo prints it: text or a number, `-` when absent.
fn shown(item: &Item, name: &str) -> String {
    match item.get(name) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Number(number)) => number.to_string(),
        _ => "-".to_owned(),
    }
}

async fn print_stock(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    for row in stock_rows(scan(client, table).await?) {
        println!("{row}");
    }
    Ok(())
}

/// One line per SKU, in key order. The inventory table also keeps each SKU's history (a
/// restock's entry, under `<seller>#<sku>#restock#<event>`), which names no SKU of its own
/// and is not a SKU to list.
fn stock_rows(mut items: Vec<Item>) -> Vec<String> {
    items.retain(|item| item.contains_key("sku"));
    items.sort_by(|a, b| text(a, "sku_key").cmp(text(b, "sku_key")));
    items
        .iter()
        .map(|item| {
            let cleared = item
                .get("alert_cleared_at")
                .map_or(String::new(), |_| " (an alert cleared)".to_owned());
            format!(
                "  {:<16} on hand {:>3}  reserved {:>3}  available {:>3}  safety {:>3}  alert {}{}",
                shown(item, "sku"),
                shown(item, "on_hand"),
                shown(item, "reserved"),
                shown(item, "available"),
                shown(item, "safety_stock"),
                shown(item, "alert_level"),
                cleared
            )
        })
        .collect()
}

async fn print_reviews(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.sort_by(|a, b| text(a, "pk").cmp(text(b, "pk")));
    let words = |item: &Item, name: &str| match item.get(name) {
        Some(Value::Array(values)) => values.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        Some(Value::Object(map)) => map.keys().cloned().collect::<Vec<_>>().join(", "),
        _ => String::new(),
    };
    for item in items.iter().filter(|item| text(item, "pk").starts_with("review#")) {
        let reading = match item.get("negative") {
            Some(Value::Bool(true)) => format!("negative: {}", words(item, "reasons")),
            _ => "not negative".to_owned(),
        };
        let verified = if item.get("verified") == Some(&Value::Bool(true)) {
            " verified"
        } else {
            ""
        };
        println!(
            "  {:<9} {:<11} {}★ {:<2} {:<9} {reading}{verified}",
            shown(item, "review_id"),
            shown(item, "sku"),
            shown(item, "rating"),
            shown(item, "language"),
            shown(item, "state"),
        );
    }
    for item in items.iter().filter(|item| text(item, "pk").starts_with("stats#")) {
        let open = words(item, "open");
        if !open.is_empty() {
            println!("  {:<21} trend open: {open}", shown(item, "sku"));
        }
    }
    Ok(())
}

async fn print_threads(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.retain(|item| text(item, "pk").starts_with("thread#"));
    items.sort_by(|a, b| text(a, "pk").cmp(text(b, "pk")));
    for item in items {
        let messages = item
            .get("messages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let intents: Vec<&str> = messages
            .iter()
            .filter_map(|message| message["intent"].as_str())
            .collect();
        let due = item
            .get("clock")
            .and_then(|clock| clock["due_at"].as_str())
            .map(|due| format!("answer due {due}"))
            .unwrap_or_default();
        println!(
            "  {:<14} {:<10} {:<22} {} message(s), asking {} {due}",
            shown(&item, "thread_id"),
            shown(&item, "order_id"),
            shown(&item, "state"),
            messages.len(),
            intents.join(", "),
        );
    }
    Ok(())
}

async fn print_refunds(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.retain(|item| text(item, "pk").starts_with("refund#"));
    items.sort_by(|a, b| text(a, "pk").cmp(text(b, "pk")));
    let money = money_of;
    for item in items {
        let paid_out = if item.get("payout_message_id").is_some() {
            "payout handed over"
        } else {
            ""
        };
        println!(
            "  {:<9} {:<9} {:<16} asked {:>6} {} approved {:>6} {:<9} by {:<9} {paid_out}",
            shown(&item, "refund_id"),
            shown(&item, "order_id"),
            shown(&item, "reason"),
            money(&item, "requested_minor"),
            shown(&item, "currency"),
            money(&item, "approved_minor"),
            shown(&item, "state"),
            shown(&item, "decided_by"),
        );
    }
    Ok(())
}

async fn print_claims(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.retain(|item| text(item, "pk").starts_with("claim#"));
    items.sort_by(|a, b| text(a, "pk").cmp(text(b, "pk")));
    for item in items {
        let decision = &item["decision"];
        let decided = match decision["outcome"].as_str() {
            Some(outcome) => format!(
                "{outcome} by {} (paid by {})",
                decision["decided_by"].as_str().unwrap_or("-"),
                decision["paid_by"].as_str().unwrap_or("nobody")
            ),
            None => String::new(),
        };
        let responded = if item.get("response").is_some() {
            "seller responded,"
        } else {
            ""
        };
        println!(
            "  {:<9} {:<9} {:<18} {:<18} asked {} {} {responded} {decided}",
            shown(&item, "claim_id"),
            shown(&item, "order_id"),
            shown(&item, "reason"),
            shown(&item, "state"),
            money_of(&item, "asked_minor"),
            shown(&item, "currency"),
        );
    }
    Ok(())
}

fn money_of(item: &Item, name: &str) -> String {
    let currency = backoffice::values::money::Currency::parse(text(item, "currency")).ok();
    match (item.get(name).and_then(Value::as_i64), currency) {
        (Some(minor), Some(currency)) => backoffice::values::money::Money::from_minor(minor, currency).to_string(),
        _ => "-".to_owned(),
    }
}

async fn print_orders(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.sort_by(|a, b| text(a, "order_id").cmp(text(b, "order_id")));
    for item in items {
        let lines = item.get("lines").and_then(Value::as_array).map_or(0, Vec::len);
        let refunded = item.get("refund_status").and_then(Value::as_str).unwrap_or_default();
        println!(
            "  {:<10} {:<12} {} line(s) {refunded}",
            shown(&item, "order_id"),
            shown(&item, "status"),
            lines
        );
    }
    Ok(())
}

/// The emails the rules held back, then how many of the emails SES took it reported sending
/// (its `Send` events, which keep a send whose answer was lost from being sent again).
async fn print_skipped_emails(client: &aws_sdk_dynamodb::Client, table: &str, taken: usize) -> CommandResult {
    let mut items = scan(client, table).await?;
    let reported = items
        .iter()
        .filter(|item| text(item, "dedupe_key").starts_with("ses-send#") && item.contains_key("message_id"))
        .count();
    items.retain(|item| text(item, "state") == "skipped");
    items.sort_by(|a, b| text(a, "dedupe_key").cmp(text(b, "dedupe_key")));
    if items.is_empty() {
        println!("  none");
    }
    for item in items {
        println!(
            "  {:<44} {:<18} to {} {}: {}",
            shown(&item, "dedupe_key"),
            shown(&item, "template"),
            shown(&item, "role"),
            shown(&item, "recipient_id"),
            shown(&item, "reason")
        );
    }
    println!("SES reported sending {reported} of the {taken} emails it took (Send events, recorded beside the ledger)");
    Ok(())
}

/// One line for an answer: its status and the fields a reader cares about.
fn summary(answer: &Value) -> String {
    match (&answer["status"], &answer["error"]) {
        (Value::String(status), _) => {
            let mut fields: Vec<String> = answer
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(key, _)| *key != "status")
                .map(|(key, value)| format!("{key}={value}"))
                .collect();
            fields.insert(0, status.clone());
            fields.join(" ")
        }
        (_, Value::Object(error)) => format!(
            "{} ({})",
            error["code"].as_str().unwrap_or("error"),
            error["message"].as_str().unwrap_or("")
        ),
        _ => answer.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(value: Value) -> Item {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_stock_listing_shows_only_skus() {
        let rows = stock_rows(vec![
            item(
                serde_json::json!({"sku_key": "sel_1#POT", "sku": "POT", "on_hand": 4, "reserved": 1, "available": 3}),
            ),
            item(serde_json::json!({"sku_key": "sel_1#POT#restock#evt_9", "event_id": "evt_9"})),
        ]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].trim_start().starts_with("POT "), "{rows:?}");
    }
}
