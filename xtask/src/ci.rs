//! `cargo xtask test`: everything CI checks, in the order that fails fastest, each step timed.

use std::process::Command;
use std::time::{Duration, Instant};

use local_cloud::{browser, local_aws, paths, venv};

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

/// The release profile as CI builds the deploy artefacts: the template's functions through
/// cargo-lambda and `sam build`, as `sam deploy` takes them, without the optimisation that only
/// the deployed code needs. Fat LTO links each binary on one core and the optimiser is most
/// of a release build's time; neither proves anything the build does not. `cargo xtask bench`
/// builds with the profile as deployed.
const CI_RELEASE_PROFILE: [(&str, &str); 3] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
];

/// Every function of the template in one cargo-lambda build, the command SAM runs per function
/// but with all their binaries at once: their crates compile side by side on both cores, and
/// SAM's eleven builds that follow (one per function; five binaries run as two functions)
/// find them up to date and only copy them out.
fn lambda_build(template: &str) -> Result<Command, String> {
    let functions = local_cloud::template::Template::load(&paths::workspace_root().join(template))
        .and_then(|template| template.functions())
        .map_err(|error| format!("{template}: {error}"))?;
    let mut command = venv_tool("cargo-lambda", &["lambda", "build", "--release"]);
    let binaries: std::collections::BTreeSet<String> = functions.into_iter().map(|function| function.binary).collect();
    for binary in &binaries {
        command.args(["--bin", binary]);
    }
    command.envs(CI_RELEASE_PROFILE);
    Ok(command)
}

fn steps() -> Result<Vec<Step>, String> {
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
    sam_build.envs(CI_RELEASE_PROFILE);
    Ok(vec![
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
        // The short version of `cargo xtask load --sellers`: three pages of the weekly run
        // through the relay, the topic and the page queue, every report once.
        Step {
            name: "cargo xtask load --sellers 120",
            command: cargo(&["xtask", "load", "--sellers", "120"]),
        },
        // Last: the slowest steps, and the least likely to fail.
        Step {
            name: "cargo lambda build (the template's functions)",
            command: lambda_build(template)?,
        },
        Step {
            name: "sam build (cargo-lambda, release)",
            command: sam_build,
        },
    ])
}

pub fn test() -> CommandResult {
    let started = Instant::now();
    venv::ensure().map_err(|error| error.to_string())?;
    // Before the tests that open pages, so that none of them waits on an install.
    browser::chromium().map_err(|error| error.to_string())?;
    let mut times: Vec<(&str, Duration)> = vec![("tools (.venv, Chromium)", started.elapsed())];
    let mut outcome = Ok(());
    for mut step in steps()? {
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
