//! `cargo xtask bench`: every function's size, cold start, memory, warm latency and AWS
//! requests per event, on this machine, beside a Python peer doing `order.created`'s AWS work.
//!
//! The release binaries are built as deploys build them (`cargo lambda build --release`). Each
//! is spawned against the local cloud's Runtime API, which keeps the clock, with the local AWS
//! behind a counting pass-through ([`meter`]): init is exec to the first `next`; the first
//! response is exec to the answer of one real event with its real AWS calls. A last spawn per
//! function then takes the warm events, and its peak RSS is read from `/proc` before it is
//! stopped.

mod classifier;
mod clock;
mod events;
mod health;
mod meter;
mod report;
mod sweep;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backoffice::mechanisms::function::Function;
use bytes::Bytes;
use local_cloud::local_aws::LocalAws;
use local_cloud::provision::provision;
use local_cloud::runtime_api::{Invoked, Invoker, Runtime};
use local_cloud::template::{FunctionSpec, Template};
use local_cloud::{paths, processes, venv};
use tokio::process::Child;
use tokio::task::JoinHandle;

use events::Workload;
use meter::AwsMeter;
use report::{Distribution, FunctionReport, Report, RequestCount};
use sweep::SweepReport;

/// The binary of the do-nothing function the others are read against.
const BASELINE: &str = "hello-world";

/// How long one step of a process may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub spawns: usize,
    pub warm_events: usize,
    /// Use the release binaries already in `target/bench/lambda`.
    pub skip_build: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            spawns: 30,
            warm_events: 1000,
            skip_build: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Setup(String),
    #[error("{what}: {message}")]
    Run { what: String, message: String },
}

fn run_error(what: impl Into<String>, message: impl std::fmt::Display) -> BenchError {
    BenchError::Run {
        what: what.into(),
        message: message.to_string(),
    }
}

/// What is spawned: a function's `bootstrap`, the baseline, or the Python peer.
struct Subject {
    name: String,
    /// The back office function it is, if it is one.
    function: Option<Function>,
    command: Vec<String>,
    working_dir: PathBuf,
    environment: BTreeMap<String, String>,
    workload: Workload,
}

/// `cargo xtask bench [--quick] [--no-build]`: runs the bench, prints its tables and writes
/// them to `target/xtask/bench/`.
pub async fn command(args: &[String]) -> crate::CommandResult {
    let mut options = BenchOptions::default();
    for arg in args {
        match arg.as_str() {
            "--quick" => {
                options.spawns = 5;
                options.warm_events = 100;
            }
            "--no-build" => options.skip_build = true,
            other => return Err(format!("bench: unknown option {other:?} (--quick, --no-build)")),
        }
    }
    let report = run(&options).await.map_err(|error| error.to_string())?;
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

fn setup_error(error: impl std::fmt::Display) -> BenchError {
    BenchError::Setup(error.to_string())
}

async fn run(options: &BenchOptions) -> Result<Report, BenchError> {
    venv::ensure().map_err(setup_error)?;
    let template = Template::load(&paths::template()).map_err(setup_error)?;
    let functions = template.functions().map_err(setup_error)?;
    if !options.skip_build {
        build_release(&functions)?;
    }
    let aws = tokio::task::spawn_blocking(LocalAws::start)
        .await
        .map_err(setup_error)?
        .map_err(setup_error)?;
    let secret = format!("whsec_bench_{}", hex::encode(rand::random::<[u8; 8]>()));
    let provisioned = provision(&template, &aws.sdk_config().await, secret.clone())
        .await
        .map_err(setup_error)?;
    events::seed_stock(&aws.sdk_config().await, &provisioned.tables["InventoryTable"]).await?;
    events::seed_seller(&aws.sdk_config().await, &provisioned.tables["SellersTable"]).await?;
    let meter = AwsMeter::start(&aws.endpoint).await.map_err(setup_error)?;

    let mut report = Report::new(options);
    let subjects = function_subjects(&functions, &provisioned, &meter, &secret)?;
    let subject_of = |function| subjects.iter().find(|subject| subject.function == Some(function));
    if let Some(alerts) = subject_of(Function::StockAlerts) {
        eprintln!("xtask: ── bench the sweep over {} SKUs", sweep::CATALOGUE);
        let load = sweep::load_catalogue(&aws.sdk_config().await, &provisioned).await?;
        report.sweep = Some(sweep::measure(alerts, &meter, load).await?);
    }
    if let Some(messaging) = subject_of(Function::BuyerMessaging) {
        eprintln!(
            "xtask: ── bench the reply clock over {} open threads",
            clock::OPEN_THREADS
        );
        let load = clock::load_threads(&aws.sdk_config().await, &provisioned).await?;
        report.clock = Some(clock::measure(messaging, &meter, load).await?);
    }
    eprintln!("xtask: ── bench the review classifier");
    report.classifier = Some(classifier::measure()?);
    eprintln!("xtask: ── bench the hello-world baseline");
    report.baseline = Some(measure_build(&baseline(&functions[0], &meter), options, &meter).await?);
    for subject in &subjects {
        eprintln!("xtask: ── bench {}", subject.name);
        report.functions.push(measure_build(subject, options, &meter).await?);
        report
            .requests
            .extend(count_requests(subject, &meter, &aws.endpoint, &provisioned).await?);
    }
    // After the request counts: its thousands of orders would be theirs to read otherwise.
    let large = if options.warm_events < 1000 { 1_000 } else { 10_000 };
    eprintln!("xtask: ── bench seller health's weekly run (100 and {large} orders)");
    report.health = Some(health::measure(&functions, &provisioned, &aws.sdk_config().await, &meter, large).await?);
    eprintln!("xtask: ── bench the Python peer");
    let intake = subject_of(Function::OrderIntake).ok_or_else(|| setup_error("no order intake"))?;
    report.peer = Some(measure(&python_peer(intake, &secret), options, &meter).await?);
    report.conclude();
    Ok(report)
}

/// The do-nothing function the others are read against, with a function's settings.
fn baseline(like: &FunctionSpec, meter: &AwsMeter) -> Subject {
    let hello = FunctionSpec {
        binary: BASELINE.to_owned(),
        ..like.clone()
    };
    Subject {
        name: BASELINE.to_owned(),
        function: None,
        command: vec![lambda_dir().join(BASELINE).join("bootstrap").display().to_string()],
        working_dir: paths::workspace_root(),
        environment: lambda_environment(&hello, &meter.endpoint),
        workload: Workload::baseline(),
    }
}

/// boto3 under AWS's runtime interface client, doing order intake's work with its settings.
fn python_peer(intake: &Subject, secret: &str) -> Subject {
    Subject {
        name: "python-peer".to_owned(),
        function: None,
        command: vec![
            paths::venv_bin("python").display().to_string(),
            "-m".to_owned(),
            "awslambdaric".to_owned(),
            "handler.handler".to_owned(),
        ],
        working_dir: paths::workspace_root().join("xtask/bench/peer"),
        environment: intake.environment.clone(),
        workload: Workload::peer(secret),
    }
}

/// A release binary's measurements, with its size and its deployment zip's.
async fn measure_build(
    subject: &Subject,
    options: &BenchOptions,
    meter: &AwsMeter,
) -> Result<FunctionReport, BenchError> {
    let bootstrap = lambda_dir().join(&subject.name).join("bootstrap");
    let mut measured = measure(subject, options, meter).await?;
    measured.bootstrap_bytes = Some(file_size(&bootstrap)?);
    measured.zip_bytes = Some(zipped_size(&bootstrap)?);
    Ok(measured)
}

/// Every function binary with a webhook workload, as the bench spawns it. A binary runs as
/// two functions (its public URL, and its queues, stream and schedules without one); the bench
/// runs it once with both's variables, so that one process takes every event it has, and the
/// counts read per event whichever function is deployed to take it.
fn function_subjects(
    functions: &[FunctionSpec],
    provisioned: &local_cloud::provision::Provisioned,
    meter: &AwsMeter,
    secret: &str,
) -> Result<Vec<Subject>, BenchError> {
    let environment_of = |spec: &FunctionSpec| {
        provisioned
            .environment_of(spec)
            .map_err(|error| BenchError::Setup(error.to_string()))
    };
    let subjects: Result<Vec<Option<Subject>>, BenchError> = functions
        .iter()
        .filter(|spec| spec.has_url)
        .map(|spec| {
            let mut environment = BTreeMap::new();
            for same_binary in functions.iter().filter(|other| other.binary == spec.binary) {
                environment.extend(environment_of(same_binary)?);
            }
            environment.extend(environment_of(spec)?);
            environment.extend(lambda_environment(spec, &meter.endpoint));
            let function = Function::ALL
                .into_iter()
                .find(|function| function.name() == spec.binary)
                .ok_or_else(|| BenchError::Setup(format!("{} is not a back office function", spec.binary)))?;
            Ok(Workload::for_function(function, secret).map(|workload| Subject {
                name: spec.binary.clone(),
                function: Some(function),
                command: vec![lambda_dir().join(&spec.binary).join("bootstrap").display().to_string()],
                working_dir: paths::workspace_root(),
                environment,
                workload,
            }))
        })
        .collect();
    Ok(subjects?.into_iter().flatten().collect())
}

pub(crate) fn lambda_dir() -> PathBuf {
    paths::scratch().join("bench").join("lambda")
}

/// `cargo lambda build --release`, as `sam build` runs it for a deploy.
fn build_release(functions: &[FunctionSpec]) -> Result<(), BenchError> {
    eprintln!("xtask: ── cargo lambda build --release");
    let mut command = std::process::Command::new(paths::venv_bin("cargo-lambda"));
    command
        .current_dir(paths::workspace_root())
        .args(["lambda", "build", "--release", "--lambda-dir"])
        .arg(lambda_dir())
        .env("PATH", venv::path_with_venv());
    let binaries: std::collections::BTreeSet<&str> = functions.iter().map(|spec| spec.binary.as_str()).collect();
    for binary in binaries {
        command.args(["--package", binary]);
    }
    command.args(["--package", "bench-hello-world", "--package", "bench-classifier"]);
    let status = command
        .status()
        .map_err(|error| BenchError::Setup(format!("cannot run cargo lambda: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(BenchError::Setup(format!("cargo lambda build failed ({status})")))
    }
}

fn file_size(path: &Path) -> Result<u64, BenchError> {
    std::fs::metadata(path)
        .map(|metadata| metadata.len())
        .map_err(|error| run_error(path.display().to_string(), error))
}

/// The size of the deployment zip: the `bootstrap` alone, deflated, as `sam build` packs it.
fn zipped_size(bootstrap: &Path) -> Result<u64, BenchError> {
    let zip = bootstrap.with_file_name("bootstrap.zip");
    let script = "import sys, zipfile\n\
                  with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n\
                  \x20   z.write(sys.argv[1], 'bootstrap')\n";
    let status = std::process::Command::new(paths::venv_bin("python"))
        .args(["-c", script])
        .arg(bootstrap)
        .arg(&zip)
        .status()
        .map_err(|error| run_error("zip", error))?;
    if !status.success() {
        return Err(run_error("zip", status));
    }
    file_size(&zip)
}

/// What Lambda sets in a sandbox, with the AWS endpoint pointed at the meter.
fn lambda_environment(spec: &FunctionSpec, endpoint: &str) -> BTreeMap<String, String> {
    let mut environment: BTreeMap<String, String> = processes::lambda_environment(spec)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    environment.insert("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned());
    environment.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), "warn".to_owned());
    // As in the local stack: nothing to gain on loopback, and the bench measures what runs here.
    environment.insert("OPEN_CONNECTIONS_AT_INIT".to_owned(), "false".to_owned());
    environment
}

fn spawn(subject: &Subject, runtime_api: std::net::SocketAddr) -> Result<Child, BenchError> {
    let logs = paths::scratch().join("bench").join("logs");
    std::fs::create_dir_all(&logs).map_err(|error| run_error("logs", error))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join(format!("{}.log", subject.name)))
        .map_err(|error| run_error("logs", error))?;
    processes::lambda_command(Path::new(&subject.command[0]), &subject.environment, runtime_api)
        .args(&subject.command[1..])
        .current_dir(&subject.working_dir)
        .stdout(log.try_clone().map_err(|error| run_error("logs", error))?)
        .stderr(log)
        .spawn()
        .map_err(|error| run_error(format!("spawning {}", subject.name), error))
}

/// A new process of a subject, waiting for its first event.
struct Process {
    invoker: Invoker,
    child: Child,
    started: Instant,
    ready: Instant,
    server: JoinHandle<()>,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Spawns `subject` against a Runtime API of its own and waits for it to ask for work.
async fn start(subject: &Subject) -> Result<Process, BenchError> {
    // The sweep over the whole catalogue is the longest invocation the bench makes.
    let (runtime, invoker) = Runtime::new(&subject.name, PATIENCE * 4, None);
    let (address, instance, server) = runtime.endpoint().await.map_err(|e| run_error("runtime", e))?;
    let server = tokio::spawn(server);
    let started = Instant::now();
    let child = spawn(subject, address)?;
    let ready = tokio::time::timeout(PATIENCE, instance.ready())
        .await
        .map_err(|_| run_error(&subject.name, format!("did not ask for work within {PATIENCE:?}")))?
        .map_err(|error| run_error(&subject.name, format!("failed to start: {error}")))?;
    Ok(Process {
        invoker,
        child,
        started,
        ready,
        server,
    })
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib(child: &Child) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()?)).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

async fn invoke_checked(
    subject: &Subject,
    process: &Process,
    event: Bytes,
    expected_status: i64,
) -> Result<Invoked, BenchError> {
    let invoked = process
        .invoker
        .invoke_timed(event)
        .await
        .map_err(|error| run_error(&subject.name, error))?;
    let answer: serde_json::Value = serde_json::from_slice(invoked.body()).unwrap_or_default();
    if invoked.failed() || answer["statusCode"].as_i64() != Some(expected_status) {
        return Err(run_error(
            &subject.name,
            format!(
                "expected a {expected_status} answer, got {}",
                String::from_utf8_lossy(invoked.body())
            ),
        ));
    }
    Ok(invoked)
}

/// Cold starts, then warm events on one more process.
async fn measure(subject: &Subject, options: &BenchOptions, meter: &AwsMeter) -> Result<FunctionReport, BenchError> {
    let mut inits = Vec::new();
    let mut first_responses = Vec::new();
    let mut first_responses_in_aws = Vec::new();
    let mut sequence = 0u64;
    let mut next_event = || {
        sequence += 1;
        subject.workload.event(sequence)
    };
    let expected = subject.workload.expected_status;
    for _ in 0..options.spawns {
        meter.take();
        let mut cold = start(subject).await?;
        let invoked = invoke_checked(subject, &cold, next_event(), expected).await?;
        inits.push(cold.ready - cold.started);
        first_responses.push(invoked.answered_at - cold.started);
        first_responses_in_aws.push(meter.take().busy);
        let _ = cold.child.kill().await;
    }

    let mut warm_process = start(subject).await?;
    invoke_checked(subject, &warm_process, next_event(), expected).await?;
    meter.take();
    let mut warm = Vec::with_capacity(options.warm_events);
    for _ in 0..options.warm_events {
        let invoked = invoke_checked(subject, &warm_process, next_event(), expected).await?;
        warm.push(invoked.duration());
    }
    let usage = meter.take();
    let peak_rss_kib = peak_rss_kib(&warm_process.child);
    let _ = warm_process.child.kill().await;

    let total: Duration = warm.iter().sum();
    Ok(FunctionReport {
        function: subject.name.clone(),
        event: subject.workload.name.clone(),
        bootstrap_bytes: None,
        zip_bytes: None,
        init_ms: Distribution::of(&inits),
        first_response_ms: Distribution::of(&first_responses),
        first_response_in_aws_ms: Distribution::of(&first_responses_in_aws),
        warm_ms: Distribution::of(&warm),
        peak_rss_kib,
        aws_share: usage.busy.as_secs_f64() / total.as_secs_f64().max(f64::EPSILON),
        aws_requests_per_warm_event: usage.requests as f64 / warm.len().max(1) as f64,
    })
}

/// The AWS requests of each event type the function takes, counted at the meter.
async fn count_requests(
    subject: &Subject,
    meter: &AwsMeter,
    aws_endpoint: &str,
    provisioned: &local_cloud::provision::Provisioned,
) -> Result<Vec<RequestCount>, BenchError> {
    let Some(function) = subject.function else {
        return Ok(Vec::new());
    };
    let mut process = start(subject).await?;
    let mut counts = Vec::new();
    for case in events::cases(function, &subject.workload, aws_endpoint, provisioned).await? {
        meter.take();
        let invoked = process
            .invoker
            .invoke_timed(case.event)
            .await
            .map_err(|error| run_error(&subject.name, error))?;
        counts.push(RequestCount {
            function: subject.name.clone(),
            event: case.name,
            requests: meter.take().requests,
            outcome: events::outcome(&invoked),
        });
    }
    let _ = process.child.kill().await;
    Ok(counts)
}
