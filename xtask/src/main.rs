//! `cargo xtask <command>`: the back office's developer commands. Each is a few lines over
//! the local cloud (`infra/local`), which does the work.

mod bench;
mod chaos;
mod ci;
mod demo;
mod load;
mod local;
mod report;

use std::process::ExitCode;

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
  report [--days N] [--screenshot <file.png>]
                             the operator report of the running stack (target/xtask/report.html)
  chaos [--props [name]]     the fault scenarios at ten times CI's traffic; --props: every
                             property test a million cases each (release build)
  load [--seconds N]         mixed traffic through the Function URLs, stepped up until the
                             local stack saturates (default 60 s a step)
  load --sellers [N]         seller health's weekly run over N sellers (20,000), every report
                             once, in pages
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
        "test" => ci::test(),
        "demo" => with_runtime(demo::demo()),
        "up" => with_runtime(local::up(rest)),
        "send" => with_runtime(local::send(rest)),
        "invoke" => with_runtime(local::invoke(rest)),
        "outbox" => with_runtime(local::print_outbox()),
        "dlq" => with_runtime(local::dlq(rest)),
        "bench" => with_runtime(bench::command(rest)),
        "chaos" => chaos::command(rest),
        "load" => with_runtime(load::command(rest)),
        "report" => with_runtime(report::command(rest)),
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
