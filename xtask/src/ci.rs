//! `cargo xtask test`: everything CI checks, in the order that fails fastest, each step timed.

use std::process::Command;
use std::time::{Duration, Instant};

use local_cloud::{local_aws, paths, venv};

use crate::CommandResult;

/// A step's name and what it runs.
struct Step {
    name: &'static str,
    command: Command,
}

/// `cargo <args>` in the workspace, with the cargo that runs the xtask.
pub fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.current_dir(paths::workspace_root()).args(args);
    command
}

fn venv_tool(tool: &str, args: &[&str]) -> Command {
    let mut command = Command::new(paths::venv_bin(tool));
    command
        .current_dir(paths::workspace_root())
        .args(args)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("PATH", venv::path_with_venv());
    command
}

fn steps() -> Vec<Step> {
    let template = "infra/template.yaml";
    let mut sam_build = venv_tool(
        "sam",
        &[
            "build",
            "--beta-features",
            "--template",
            template,
            "--build-dir",
            "target/sam-build",
        ],
    );
    // The deploy's own build (SAM running `cargo lambda build --release` per function), with
    // the release profile's link-time optimisation off: fat LTO links each of the five
    // binaries on one core, most of this step's time, and proves nothing the rest of the
    // build does not. `cargo xtask bench` builds with the profile as deployed.
    sam_build
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16");
    vec![
        Step {
            name: "cargo fmt --check",
            command: cargo(&["fmt", "--all", "--", "--check"]),
        },
        Step {
            name: "cfn-lint",
            command: venv_tool("cfn-lint", &[template]),
        },
        Step {
            name: "sam validate --lint",
            command: venv_tool(
                "sam",
                &[
                    "validate",
                    "--lint",
                    "--region",
                    local_aws::REGION,
                    "--template",
                    template,
                ],
            ),
        },
        Step {
            name: "cargo clippy",
            command: cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
        },
        Step {
            name: "cargo test",
            command: cargo(&["test", "--workspace"]),
        },
        // Last: the slowest step, and the one least likely to fail.
        Step {
            name: "sam build (cargo-lambda, release)",
            command: sam_build,
        },
    ]
}

pub fn test() -> CommandResult {
    let started = Instant::now();
    venv::ensure().map_err(|error| error.to_string())?;
    let mut times: Vec<(&str, Duration)> = vec![("python tools in .venv", started.elapsed())];
    let mut outcome = Ok(());
    for mut step in steps() {
        eprintln!("xtask: ── {}", step.name);
        let began = Instant::now();
        let status = step.command.status();
        times.push((step.name, began.elapsed()));
        outcome = match status {
            Ok(status) if status.success() => Ok(()),
            Ok(status) => Err(format!("{} failed ({status})", step.name)),
            Err(error) => Err(format!("{}: cannot run it: {error}", step.name)),
        };
        if outcome.is_err() {
            break;
        }
    }
    times.push(("total", started.elapsed()));
    eprintln!("xtask: ── times");
    for (name, time) in &times {
        eprintln!("  {name:<36} {:>7.1} s", time.as_secs_f64());
    }
    outcome
}
