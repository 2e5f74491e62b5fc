//! The commands that run the back office on this machine, or talk to it while it runs:
//! `up`, `send`, `invoke`, `outbox`, `dlq`.

use std::path::PathBuf;

use http::Method;
use local_cloud::loopback::HttpClient;
use local_cloud::mail::SentEmail;
use local_cloud::operations::{dead_letters, outbox, replay_dead_letters, send_event};
use local_cloud::processes::{self, LogSink};
use local_cloud::schedule::scheduled_event;
use local_cloud::stack::{Stack, StackOptions, StackState};
use local_cloud::{local_aws, paths};

use crate::CommandResult;

pub fn build_functions() -> CommandResult {
    eprintln!("xtask: ── build the functions");
    processes::build_functions()
}

/// A stack of a command's own, with the tools and the functions built first: each function
/// logs to `<scratch>/<logs>/` (emptied first), and the command fires the schedules itself.
pub async fn command_stack(logs: &str) -> Result<(Stack, PathBuf), String> {
    local_cloud::venv::ensure().map_err(|error| error.to_string())?;
    build_functions()?;
    let logs = paths::scratch().join(logs);
    let _ = std::fs::remove_dir_all(&logs);
    let mut options = stack_options(0, LogSink::Files(logs.clone()));
    options.schedules = false;
    let stack = Stack::start(options).await.map_err(|error| error.to_string())?;
    Ok((stack, logs))
}

pub fn stack_options(port: u16, logs: LogSink) -> StackOptions {
    StackOptions {
        port,
        logs,
        ..StackOptions::default()
    }
}

pub async fn up(args: &[String]) -> CommandResult {
    let port = match args {
        [] => 9000,
        [flag, port] if flag == "--port" => port
            .parse()
            .map_err(|_| format!("--port {port:?} is not a port number"))?,
        _ => return Err("usage: cargo xtask up [--port N]".to_owned()),
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

pub async fn send(files: &[String]) -> CommandResult {
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

/// The template's schedule of `function` (its local name, `stock-alerts-worker`): its rule
/// is the one the function admits.
fn schedule_of(function: &str) -> Result<String, String> {
    let template = local_cloud::template::Template::load(&paths::template()).map_err(|error| error.to_string())?;
    let functions = template.functions().map_err(|error| error.to_string())?;
    functions
        .iter()
        .find(|spec| spec.name == function)
        .and_then(|spec| spec.schedules.first())
        .map(|schedule| schedule.name.clone())
        .ok_or_else(|| format!("{function} has no schedule in the template"))
}

pub async fn invoke(args: &[String]) -> CommandResult {
    let (function, payload) = match args {
        [function, flag] if flag == "--schedule" => (
            function,
            scheduled_event(&schedule_of(function)?, chrono::Utc::now()).to_string(),
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
    // As Lambda answers: a function that failed is a 200 with X-Amz-Function-Error.
    if reply.status == 200 && !reply.headers.contains_key("x-amz-function-error") {
        Ok(())
    } else {
        Err(format!("{function} failed"))
    }
}

pub async fn print_outbox() -> CommandResult {
    let state = StackState::load()?;
    let emails = outbox(&state.aws_endpoint).await.map_err(|error| error.to_string())?;
    print_emails(&emails);
    Ok(())
}

pub fn print_emails(emails: &[SentEmail]) {
    println!("{} email(s) accepted by SES", emails.len());
    for email in emails {
        println!("\n  ── To: {}\n     Subject: {}", email.to, email.subject);
        for line in email.text.lines() {
            println!("     │ {line}");
        }
    }
}

pub async fn dlq(args: &[String]) -> CommandResult {
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
pub fn sample_events() -> Result<Vec<PathBuf>, String> {
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

/// The sample catalogue: the `00-inventory.adjusted…` sample events, sent as the marketplace
/// would.
pub async fn stock_sample_catalogue(state: &StackState) -> CommandResult {
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
