//! `cargo xtask <command>`: the back office's developer commands.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use aws_sdk_dynamodb::types::AttributeValue;
use std::process::{Command, ExitCode};
use std::time::Duration;

use http::Method;
use serde_json::Value;
use xtask::http::HttpClient;
use xtask::mail::SentEmail;
use xtask::operations::{dead_letters, outbox, replay_dead_letters, send_event, wait_for_quiet_queues};
use xtask::processes::{self, LogSink};
use xtask::schedule::scheduled_event;
use xtask::stack::{Stack, StackOptions, StackState};
use xtask::{local_aws, paths, venv};

const USAGE: &str = "\
usage: cargo xtask <command>

  demo                       run the back office locally, send the sample events, print what happened
  test                       everything CI checks: format, lints, every test, the template checks
  up [--port N]              run the back office locally until Ctrl-C (default port 9000)
  send <event.json>...       sign events as the marketplace and post them to the running stack
  invoke <function> --schedule | --payload <file>
                             invoke a function of the running stack directly
  outbox                     the emails SES accepted in the running stack
  dlq [--replay]             dead letters waiting in the running stack; --replay sends them back
  bench [--quick] [--no-build]
                             release builds' size, cold start, memory, latency and AWS requests per
                             event, beside a Python peer; --quick: 5 cold starts, 100 warm events
";

type CommandResult = Result<(), String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    let result = match command.as_str() {
        "test" => test(),
        "demo" => with_runtime(demo()),
        "up" => with_runtime(up(rest)),
        "send" => with_runtime(send(rest)),
        "invoke" => with_runtime(invoke(rest)),
        "outbox" => with_runtime(print_outbox()),
        "dlq" => with_runtime(dlq(rest)),
        "bench" => with_runtime(bench(rest)),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

fn with_runtime(command: impl Future<Output = CommandResult>) -> CommandResult {
    tokio::runtime::Runtime::new()
        .map_err(|error| error.to_string())?
        .block_on(command)
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(paths::workspace_root());
    command
}

fn run_step(name: &str, command: &mut Command) -> CommandResult {
    eprintln!("xtask: ── {name}");
    let status = command
        .status()
        .map_err(|error| format!("{name}: cannot run {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

fn build_functions() -> CommandResult {
    eprintln!("xtask: ── build the functions");
    processes::build_functions()
}

fn venv_tool(tool: &str) -> Command {
    let mut command = Command::new(paths::venv_bin(tool));
    command
        .current_dir(paths::workspace_root())
        .env("SAM_CLI_TELEMETRY", "0");
    command
}

/// Everything CI checks, in the order that fails fastest.
fn test() -> CommandResult {
    venv::ensure().map_err(|error| error.to_string())?;
    run_step("cargo fmt --check", cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_step("cfn-lint", venv_tool("cfn-lint").arg("infra/template.yaml"))?;
    run_step(
        "sam validate --lint",
        venv_tool("sam").args([
            "validate",
            "--lint",
            "--region",
            local_aws::REGION,
            "--template",
            "infra/template.yaml",
        ]),
    )?;
    run_step(
        "cargo clippy",
        cargo().args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    run_step("cargo test", cargo().args(["test", "--workspace"]))?;
    // Last: the slowest step (release builds with LTO), and the one least likely to fail.
    run_step(
        "sam build (cargo-lambda, release)",
        venv_tool("sam")
            .args([
                "build",
                "--beta-features",
                "--template",
                "infra/template.yaml",
                "--build-dir",
                "target/sam-build",
            ])
            .env("PATH", venv::path_with_venv()),
    )?;
    Ok(())
}

fn stack_options(port: u16, logs: LogSink) -> StackOptions {
    StackOptions {
        port,
        logs,
        ..StackOptions::default()
    }
}

async fn up(args: &[String]) -> CommandResult {
    let port = match args {
        [] => 9000,
        [flag, port] if flag == "--port" => port
            .parse()
            .map_err(|_| format!("--port {port:?} is not a port number"))?,
        _ => return Err(format!("usage: cargo xtask up [--port N]\n\n{USAGE}")),
    };
    build_functions()?;
    let stack = Stack::start(stack_options(port, LogSink::Terminal))
        .await
        .map_err(|error| error.to_string())?;
    let state = stack.state();
    // So that `cargo xtask send events/…` finds the sample SKUs in stock and their seller.
    stock_sample_catalogue(&state).await?;
    write_state(&state)?;
    let urls: Vec<String> = state
        .function_urls
        .iter()
        .map(|(name, url)| format!("{name} {url}"))
        .collect();
    println!(
        "ready · local AWS {} · invoke {}/2015-03-31/functions/<function>/invocations · {} · Ctrl-C stops",
        state.aws_endpoint,
        state.gateway,
        urls.join(" · ")
    );
    let _ = tokio::signal::ctrl_c().await;
    let _ = std::fs::remove_file(paths::stack_state_file());
    eprintln!("xtask: stopping");
    drop(stack);
    Ok(())
}

fn write_state(state: &StackState) -> CommandResult {
    let path = paths::stack_state_file();
    std::fs::create_dir_all(paths::scratch()).map_err(|error| error.to_string())?;
    std::fs::write(&path, serde_json::to_vec_pretty(state).expect("state serialises"))
        .map_err(|error| format!("{}: {error}", path.display()))
}

async fn send(files: &[String]) -> CommandResult {
    if files.is_empty() {
        return Err("usage: cargo xtask send <event.json>...".to_owned());
    }
    let state = StackState::load()?;
    for file in files {
        let body = std::fs::read(file).map_err(|error| format!("{file}: {error}"))?;
        let (function, reply) = send_event(&state, &body)
            .await
            .map_err(|error| format!("{file}: {error}"))?;
        println!("{file} → {} {} {}", function.name(), reply.status, reply.text());
    }
    Ok(())
}

async fn invoke(args: &[String]) -> CommandResult {
    let (function, payload) = match args {
        [function, flag] if flag == "--schedule" => (
            function,
            scheduled_event(&format!("{function}-manual"), chrono::Utc::now()).to_string(),
        ),
        [function, flag, file] if flag == "--payload" => (
            function,
            std::fs::read_to_string(file).map_err(|error| format!("{file}: {error}"))?,
        ),
        _ => return Err("usage: cargo xtask invoke <function> --schedule | --payload <file>".to_owned()),
    };
    let state = StackState::load()?;
    let url = format!("{}/2015-03-31/functions/{function}/invocations", state.gateway);
    let reply = HttpClient::default()
        .send(Method::POST, &url, &[], payload)
        .await
        .map_err(|error| error.to_string())?;
    println!("{function} → {} {}", reply.status, reply.text());
    if reply.status == 200 {
        Ok(())
    } else {
        Err(format!("{function} failed"))
    }
}

async fn print_outbox() -> CommandResult {
    let state = StackState::load()?;
    let emails = outbox(&state.aws_endpoint).await.map_err(|error| error.to_string())?;
    print_emails(&emails);
    Ok(())
}

fn print_emails(emails: &[SentEmail]) {
    println!("{} email(s) accepted by SES", emails.len());
    for email in emails {
        println!("\n  ── To: {}\n     Subject: {}", email.to, email.subject);
        for line in email.text.lines() {
            println!("     │ {line}");
        }
    }
}

async fn dlq(args: &[String]) -> CommandResult {
    let replay = match args {
        [] => false,
        [flag] if flag == "--replay" => true,
        _ => return Err("usage: cargo xtask dlq [--replay]".to_owned()),
    };
    let state = StackState::load()?;
    let sqs = aws_sdk_sqs::Client::new(&local_aws::sdk_config_for(&state.aws_endpoint).await);
    if replay {
        for (queue, moved) in replay_dead_letters(&sqs, &state)
            .await
            .map_err(|error| error.to_string())?
        {
            println!("{queue}: {moved} message(s) sent back");
        }
    }
    for dead in dead_letters(&sqs, &state).await.map_err(|error| error.to_string())? {
        println!("{}: {} waiting (from {})", dead.queue, dead.waiting, dead.source);
    }
    Ok(())
}

/// The sample events, in the order a story would send them: their file names sort that way.
fn sample_events() -> Result<Vec<PathBuf>, String> {
    let dir = paths::events_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|error| format!("{}: {error}", dir.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    files.sort();
    Ok(files)
}

async fn demo() -> CommandResult {
    venv::ensure().map_err(|error| error.to_string())?;
    build_functions()?;
    let logs = paths::scratch().join("demo-logs");
    let _ = std::fs::remove_dir_all(&logs);
    let mut options = stack_options(0, LogSink::Files(logs.clone()));
    options.schedules = false;
    let stack = Stack::start(options).await.map_err(|error| error.to_string())?;
    let state = stack.state();
    println!(
        "The back office is running locally (local AWS at {}).\n",
        state.aws_endpoint
    );
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.config);
    let sqs = aws_sdk_sqs::Client::new(&stack.config);
    let inventory = &stack.provisioned.tables["InventoryTable"];

    println!("Marketplace events, signed and sent to each function's URL, each followed until its");
    println!("queues are quiet (follow-ups relayed, stock assessed, emails sent):");
    for file in sample_events()? {
        let body = std::fs::read(&file).map_err(|error| format!("{}: {error}", file.display()))?;
        let name = file.file_name().map(Path::new).unwrap_or(&file).display().to_string();
        match send_event(&state, &body).await {
            Ok((function, reply)) => println!(
                "  {name:<38} → {:<16} {} {}",
                function.name(),
                reply.status,
                summary(&reply.json())
            ),
            Err(error) => println!("  {name:<38} → not sent: {error}"),
        }
        if !wait_for_quiet_queues(&sqs, &state, Duration::from_secs(15)).await {
            println!("    (its queues were still busy after 15 s)");
        }
    }

    println!("\nOrders:");
    print_orders(&dynamodb, &stack.provisioned.tables["OrdersTable"]).await?;
    println!("\nStock after them, with the problem each seller last heard of:");
    print_stock(&dynamodb, inventory).await?;

    println!("\nDead-letter queues:");
    for dead in dead_letters(&sqs, &state).await.map_err(|error| error.to_string())? {
        println!(
            "  {:<28} {} dead letter(s) from {}",
            dead.queue, dead.waiting, dead.source
        );
    }
    println!();
    print_emails(&outbox(&state.aws_endpoint).await.map_err(|error| error.to_string())?);
    println!("\nEmails not sent, and why (from the emails table):");
    print_skipped_emails(&dynamodb, &stack.provisioned.tables["EmailsTable"]).await?;
    println!("\nFunction logs: {}", logs.display());
    Ok(())
}

/// The sample catalogue: the `00-inventory.adjusted…` sample events, sent as the marketplace
/// would.
async fn stock_sample_catalogue(state: &StackState) -> CommandResult {
    for file in sample_events()? {
        if file
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("00-"))
        {
            let body = std::fs::read(&file).map_err(|error| format!("{}: {error}", file.display()))?;
            let (_, reply) = send_event(state, &body).await.map_err(|error| error.to_string())?;
            if !matches!(reply.status, 200 | 202) {
                return Err(format!("{}: {} {}", file.display(), reply.status, reply.text()));
            }
        }
    }
    Ok(())
}

async fn scan(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<Vec<HashMap<String, AttributeValue>>, String> {
    let output = client.scan().table_name(table).send().await.map_err(|error| {
        format!(
            "scanning {table}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(error)
        )
    })?;
    Ok(output.items.unwrap_or_default())
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name)
        .and_then(|value| value.as_s().ok().or_else(|| value.as_n().ok()))
        .map_or("-", String::as_str)
}

async fn print_stock(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.sort_by(|a, b| text(a, "sku_key").cmp(text(b, "sku_key")));
    for item in items {
        let cleared = item
            .get("alert_cleared_at")
            .map_or(String::new(), |_| " (an alert cleared)".to_owned());
        println!(
            "  {:<16} on hand {:>3}  reserved {:>3}  available {:>3}  safety {:>3}  alert {}{}",
            text(&item, "sku"),
            text(&item, "on_hand"),
            text(&item, "reserved"),
            text(&item, "available"),
            text(&item, "safety_stock"),
            text(&item, "alert_level"),
            cleared
        );
    }
    Ok(())
}

async fn print_orders(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.sort_by(|a, b| text(a, "order_id").cmp(text(b, "order_id")));
    for item in items {
        let lines = item
            .get("lines")
            .and_then(|lines| lines.as_l().ok())
            .map_or(0, Vec::len);
        println!(
            "  {:<10} {:<12} {} line(s)",
            text(&item, "order_id"),
            text(&item, "status"),
            lines
        );
    }
    Ok(())
}

async fn print_skipped_emails(client: &aws_sdk_dynamodb::Client, table: &str) -> CommandResult {
    let mut items = scan(client, table).await?;
    items.retain(|item| text(item, "state") == "skipped");
    items.sort_by(|a, b| text(a, "dedupe_key").cmp(text(b, "dedupe_key")));
    if items.is_empty() {
        println!("  none");
    }
    for item in items {
        println!(
            "  {:<44} {:<18} to {} {}: {}",
            text(&item, "dedupe_key"),
            text(&item, "template"),
            text(&item, "role"),
            text(&item, "recipient_id"),
            text(&item, "reason")
        );
    }
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

async fn bench(args: &[String]) -> CommandResult {
    let mut options = xtask::bench::BenchOptions::default();
    for arg in args {
        match arg.as_str() {
            "--quick" => {
                options.spawns = 5;
                options.warm_events = 100;
            }
            "--no-build" => options.skip_build = true,
            other => return Err(format!("bench: unknown option {other:?}\n\n{USAGE}")),
        }
    }
    let report = xtask::bench::run(&options).await.map_err(|error| error.to_string())?;
    let table = report.table();
    println!("{table}");
    let dir = paths::scratch().join("bench");
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    let json = serde_json::to_string_pretty(&report).map_err(|error| error.to_string())?;
    std::fs::write(dir.join("report.json"), json).map_err(|error| error.to_string())?;
    std::fs::write(dir.join("report.md"), &table).map_err(|error| error.to_string())?;
    eprintln!("xtask: wrote {} and report.md", dir.join("report.json").display());
    Ok(())
}
