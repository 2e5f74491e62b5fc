//! The functions' `bootstrap` processes: started with the environment Lambda would give them,
//! restarted if they exit (as Lambda replaces a crashed sandbox), killed with the stack.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::local_aws::REGION;
use crate::paths;
use crate::runtime_api::Instance;
use crate::template::FunctionSpec;

/// Where the functions' log lines go.
#[derive(Debug, Clone)]
pub enum LogSink {
    /// Each line on stderr, prefixed with the function's name: `cargo xtask up`.
    Terminal,
    /// One file per function in this folder: tests and the demo.
    Files(PathBuf),
}

pub struct Launch {
    pub binary: PathBuf,
    pub runtime_api: SocketAddr,
    pub environment: BTreeMap<String, String>,
    pub logs: LogSink,
}

/// Keeps one process of the function running until the returned future is dropped: starts
/// it again when it exits or is stopped at its timeout, and fails whatever it was running.
pub async fn supervise(spec: FunctionSpec, launch: Launch, instance: Arc<Instance>) {
    let mut quick_exits = 0u32;
    loop {
        let started = Instant::now();
        match run_once(&spec, &launch, &instance).await {
            Ok(status) => eprintln!("local cloud: {} {status}; starting it again", spec.name),
            Err(error) => eprintln!("local cloud: cannot start {}: {error}", launch.binary.display()),
        }
        instance.abandon();
        // Back off only while it keeps dying young, as a broken build or config would.
        quick_exits = if started.elapsed() > Duration::from_secs(10) {
            0
        } else {
            quick_exits + 1
        };
        tokio::time::sleep(Duration::from_millis(200 * u64::from(quick_exits.min(25)))).await;
    }
}

/// What Lambda sets in every sandbox of `spec`, with local credentials.
pub fn lambda_environment(spec: &FunctionSpec) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".to_owned()),
        ("AWS_REGION", REGION.to_owned()),
        ("AWS_DEFAULT_REGION", REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", "local".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
    ]
}

/// A process as Lambda starts one: only `environment` (and `PATH`) in its environment, its
/// Runtime API at `runtime_api`, no input, killed when dropped. The caller says where its
/// output goes.
pub fn lambda_command(program: &Path, environment: &BTreeMap<String, String>, runtime_api: SocketAddr) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .envs(environment)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs the process until it exits or must be stopped; says how it ended.
async fn run_once(spec: &FunctionSpec, launch: &Launch, instance: &Instance) -> std::io::Result<String> {
    let mut environment = launch.environment.clone();
    environment.extend(
        lambda_environment(spec)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    let mut child = lambda_command(&launch.binary, &environment, launch.runtime_api)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = forward(child.stdout.take(), &spec.name, &launch.logs);
    let stderr = forward(child.stderr.take(), &spec.name, &launch.logs);
    let ended = tokio::select! {
        status = child.wait() => format!("exited ({})", status?),
        () = instance.stop_requested() => {
            child.kill().await?;
            format!("was stopped at its {} s timeout", spec.timeout_secs)
        }
    };
    let _ = tokio::join!(stdout, stderr);
    Ok(ended)
}

fn forward<R: AsyncRead + Unpin + Send + 'static>(
    stream: Option<R>,
    name: &str,
    logs: &LogSink,
) -> tokio::task::JoinHandle<()> {
    let name = name.to_owned();
    let logs = logs.clone();
    tokio::spawn(async move {
        let Some(stream) = stream else { return };
        let mut lines = BufReader::new(stream).lines();
        let mut file = match &logs {
            LogSink::Files(dir) => {
                let _ = std::fs::create_dir_all(dir);
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(format!("{name}.log")))
                    .ok()
            }
            LogSink::Terminal => None,
        };
        while let Ok(Some(line)) = lines.next_line().await {
            match file.as_mut() {
                Some(file) => {
                    use std::io::Write;
                    let _ = writeln!(file, "{line}");
                }
                None => eprintln!("[{name}] {line}"),
            }
        }
    })
}

/// Builds every function's binary (debug profile) with the cargo that runs us, so the stack
/// never runs yesterday's code. Cargo holds no lock while tests run, so tests call this too.
pub fn build_functions() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(&cargo)
        .args(["build", "--quiet", "--workspace", "--bins"])
        .current_dir(paths::workspace_root())
        .status()
        .map_err(|error| format!("cannot run {cargo}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("building the functions failed ({status})"))
    }
}

/// Functions whose binary is not in `dir`.
pub fn missing_binaries(dir: &Path, specs: &[FunctionSpec]) -> Vec<String> {
    specs
        .iter()
        .filter(|spec| !dir.join(&spec.binary).is_file())
        .map(|spec| spec.binary.clone())
        .collect()
}

/// Kills (SIGKILL, mid-invocation or not) one process of this process's children running
/// `binary`, chosen at random; whether there was one. Lambda's side sees the sandbox die, as
/// it would in the cloud, and [`supervise`] starts another.
pub fn kill_one(binary: &Path) -> bool {
    use rand::seq::IndexedRandom;
    let ours = std::process::id().to_string();
    let binary = std::fs::canonicalize(binary).unwrap_or_else(|_| binary.to_owned());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    let children: Vec<String> = entries
        .flatten()
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    stat.rsplit(')')
                        .next()
                        .and_then(|rest| rest.split_whitespace().nth(1))
                        .map(str::to_owned)
                });
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            parent.as_deref() == Some(ours.as_str()) && exe.as_deref() == Some(binary.as_path())
        })
        .collect();
    let Some(pid) = children.choose(&mut rand::rng()) else {
        return false;
    };
    std::process::Command::new("kill")
        .args(["-9", pid])
        .status()
        .is_ok_and(|status| status.success())
}
