//! The whole back office on this machine: the local AWS, everything the template declares,
//! every function as its real binary behind the Lambda Runtime API, and every trigger wired
//! as in the cloud. `cargo xtask up`, the demo and the end-to-end tests all start this.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::event_sources::{QueuePoller, StreamPoller, run_schedule};
use crate::faults::{FaultProxy, Faults};
use crate::gateway::{self, Routes};
use crate::local_aws::{LocalAws, LocalAwsError};
use crate::processes::{Launch, LogSink, missing_binaries, supervise};
use crate::provision::{ProvisionError, Provisioned, QueueInfo, provision};
use crate::runtime_api::{Invoker, Runtime};
use crate::schedule::Schedule;
use crate::streams::StreamReader;
use crate::template::{FunctionSpec, SqsTrigger, StreamTrigger, Template, TemplateError};
use crate::{loopback, paths};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    LocalAws(#[from] LocalAwsError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error("cannot listen on loopback: {0}")]
    Io(#[from] std::io::Error),
    #[error("function binaries missing in {dir}: {names}; run `cargo build --workspace --bins`")]
    MissingBinaries { dir: String, names: String },
    #[error("schedule {name}: {reason}")]
    Schedule { name: String, reason: String },
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Port of the Function URLs and Invoke API; 0 picks a free one.
    pub port: u16,
    pub binaries: PathBuf,
    pub logs: LogSink,
    /// Processes per function; more than one lets a function's invocations race, as in Lambda.
    pub instances: usize,
    pub retry_delay: Duration,
    /// Fire the template's schedules on their clock (off in tests, which invoke them instead).
    pub schedules: bool,
    /// Put a [`FaultProxy`] between the functions and the local AWS (the chaos scenarios).
    pub faults: bool,
}

impl Default for StackOptions {
    fn default() -> Self {
        Self {
            port: 0,
            binaries: paths::debug_binaries(),
            logs: LogSink::Terminal,
            instances: 2,
            retry_delay: Duration::from_secs(1),
            schedules: true,
            faults: false,
        }
    }
}

/// What `cargo xtask send`, `outbox` and `dlq` need to reach a running stack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackState {
    pub gateway: String,
    pub aws_endpoint: String,
    pub webhook_secret: String,
    pub queues: BTreeMap<String, QueueInfo>,
    pub function_urls: BTreeMap<String, String>,
}

impl StackState {
    pub fn load() -> Result<Self, String> {
        let path = paths::stack_state_file();
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!(
                "no local stack is running (no {}); start one with `cargo xtask up`",
                path.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
    }
}

pub struct Stack {
    // First, so it is dropped first: the pollers stop before the local AWS they poll.
    _tasks: JoinSet<()>,
    pub aws: LocalAws,
    pub gateway: SocketAddr,
    pub provisioned: Provisioned,
    pub config: aws_config::SdkConfig,
    invokers: BTreeMap<String, Invoker>,
    /// What each function's queues, streams and schedules invoke it through.
    event_sources: BTreeMap<String, Invoker>,
    function_urls: BTreeMap<String, String>,
    faults: Option<FaultProxy>,
}

/// Which function each queue triggers, so that "quiet" means nothing left for the back office
/// to do, not "the payment integration has taken its payouts".
fn mark_consumers(provisioned: &mut Provisioned, functions: &[FunctionSpec]) {
    for spec in functions {
        for trigger in &spec.sqs {
            if let Some(queue) = provisioned.queues.get_mut(&trigger.queue) {
                queue.consumed_by = Some(spec.name.clone());
            }
        }
    }
}

impl Stack {
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        let template = Template::load(&paths::template())?;
        let functions = template.functions()?;
        let missing = missing_binaries(&options.binaries, &functions);
        if !missing.is_empty() {
            let dir = options.binaries.display().to_string();
            return Err(StackError::MissingBinaries {
                dir,
                names: missing.join(", "),
            });
        }
        let aws = tokio::task::spawn_blocking(LocalAws::start)
            .await
            .map_err(std::io::Error::other)??;
        let config = aws.sdk_config().await;
        let mut provisioned = provision(&template, &config, local_secret()).await?;
        mark_consumers(&mut provisioned, &functions);
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let gateway = listener.local_addr()?;
        let faults = match options.faults {
            true => Some(FaultProxy::start(&aws.endpoint).await?),
            false => None,
        };
        let mut wiring = Wiring {
            template: &template,
            options: &options,
            functions_aws: faults
                .as_ref()
                .map_or(aws.endpoint.clone(), |proxy| proxy.endpoint.clone()),
            aws_endpoint: &aws.endpoint,
            config: &config,
            provisioned: &provisioned,
            tasks: JoinSet::new(),
        };
        let mut invokers = BTreeMap::new();
        let mut event_sources = BTreeMap::new();
        let mut function_urls = BTreeMap::new();
        for spec in &functions {
            let (invoker, events) = wiring.function(spec).await?;
            event_sources.insert(spec.name.clone(), events);
            if spec.has_url {
                let url = format!("http://{gateway}/lambda-url/{}/", spec.name);
                function_urls.insert(spec.name.clone(), url);
            }
            invokers.insert(spec.name.clone(), invoker);
        }
        let routes = Arc::new(Routes {
            invokers: invokers.clone(),
            urls: function_urls.keys().cloned().collect(),
        });
        let mut tasks = wiring.tasks;
        tasks.spawn(loopback::serve(listener, move |request| {
            gateway::route(routes.clone(), request)
        }));
        Ok(Self {
            aws,
            gateway,
            provisioned,
            config,
            invokers,
            event_sources,
            function_urls,
            faults,
            _tasks: tasks,
        })
    }

    /// The rules of the fault proxy in front of the functions' AWS, if the stack has one.
    pub fn faults(&self) -> Option<Faults> {
        self.faults.as_ref().map(FaultProxy::faults)
    }

    /// A function by its local name ([`FunctionSpec::name`]).
    pub fn invoker(&self, function: &str) -> Option<&Invoker> {
        self.invokers.get(function)
    }

    /// How often each function (by its local name) was throttled when its queues, streams
    /// or schedules invoked it; its URL's and the Invoke API's throttles are
    /// [`Invoker::throttles`] of [`Stack::invoker`].
    pub fn event_source_throttles(&self) -> BTreeMap<String, u64> {
        self.event_sources
            .iter()
            .map(|(name, invoker)| (name.clone(), invoker.throttles()))
            .collect()
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueInfo> {
        self.provisioned.queues.get(logical_id)
    }

    pub fn state(&self) -> StackState {
        StackState {
            gateway: format!("http://{}", self.gateway),
            aws_endpoint: self.aws.endpoint.clone(),
            webhook_secret: self.provisioned.local_secret.clone(),
            queues: self.provisioned.queues.clone(),
            function_urls: self.function_urls.clone(),
        }
    }
}

/// What starting the stack's functions needs, and the tasks it starts.
struct Wiring<'a> {
    template: &'a Template,
    options: &'a StackOptions,
    /// Where the functions send their AWS requests: the local AWS, or the fault proxy.
    functions_aws: String,
    /// The local AWS itself, which Lambda's side (the pollers) talks to.
    aws_endpoint: &'a str,
    config: &'a aws_config::SdkConfig,
    provisioned: &'a Provisioned,
    tasks: JoinSet<()>,
}

impl Wiring<'_> {
    /// A function's processes and every trigger the template gives it; answers its invoker,
    /// and the one its event sources invoke through.
    async fn function(&mut self, spec: &FunctionSpec) -> Result<(Invoker, Invoker), StackError> {
        let reserved = self.template.reserved_concurrency(spec, &self.provisioned.parameters)?;
        let (runtime, invoker) = Runtime::new(&spec.name, Duration::from_secs(spec.timeout_secs), reserved);
        let environment = self.environment(spec)?;
        for _ in 0..self.options.instances.max(1) {
            let (runtime_api, instance, server) = runtime.endpoint().await?;
            self.tasks.spawn(server);
            let launch = Launch {
                binary: self.options.binaries.join(&spec.binary),
                runtime_api,
                environment: environment.clone(),
                logs: self.options.logs.clone(),
            };
            self.tasks.spawn(supervise(spec.clone(), launch, instance));
        }
        let events = invoker.counted_apart();
        for trigger in &spec.sqs {
            let poller = self.queue_poller(spec, trigger, &events)?;
            self.tasks.spawn(poller.run());
        }
        for trigger in &spec.streams {
            let poller = self.stream_poller(spec, trigger, &events)?;
            self.tasks.spawn(poller.run());
        }
        for trigger in &spec.schedules {
            let rule = trigger.name.clone();
            let schedule = Schedule::parse(&trigger.expression).map_err(|reason| StackError::Schedule {
                name: rule.clone(),
                reason,
            })?;
            if self.options.schedules {
                self.tasks
                    .spawn(run_schedule(rule, schedule, events.clone(), spec.name.clone()));
            }
        }
        Ok((invoker, events))
    }

    /// The template's variables, and what Lambda itself would set, pointed at the local AWS.
    fn environment(&self, spec: &FunctionSpec) -> Result<BTreeMap<String, String>, StackError> {
        let mut environment = self.provisioned.environment_of(spec)?;
        environment.insert("AWS_ENDPOINT_URL".to_owned(), self.functions_aws.clone());
        // Lambda sets this from the template's LoggingConfig; the SDK's own debug lines stay out.
        let level = self
            .provisioned
            .parameters
            .get("LogLevel")
            .map_or("info", String::as_str)
            .to_lowercase();
        environment.insert("AWS_LAMBDA_LOG_LEVEL".to_owned(), level);
        // The local AWS is plain HTTP on loopback: no handshake worth opening early.
        environment.insert("OPEN_CONNECTIONS_AT_INIT".to_owned(), "false".to_owned());
        // The demo and the bench fire next Monday's reports today; deployed, seller health
        // refuses a schedule stamped outside a retry's six hours.
        environment.insert("REPLAYS_SCHEDULES".to_owned(), "true".to_owned());
        Ok(environment)
    }

    fn queue_poller(
        &self,
        spec: &FunctionSpec,
        trigger: &SqsTrigger,
        invoker: &Invoker,
    ) -> Result<QueuePoller, StackError> {
        let queue = self.provisioned.queues.get(&trigger.queue).cloned().ok_or_else(|| {
            ProvisionError::Template(format!(
                "{}.{}: no queue {}",
                spec.logical_id, trigger.name, trigger.queue
            ))
        })?;
        Ok(QueuePoller {
            client: aws_sdk_sqs::Client::new(self.config),
            queue,
            batch_size: trigger.batch_size,
            batching_window: trigger.batching_window,
            reports_batch_item_failures: trigger.reports_batch_item_failures,
            invoker: invoker.clone(),
            function: spec.name.clone(),
            retry_delay: self.options.retry_delay,
        })
    }

    fn stream_poller(
        &self,
        spec: &FunctionSpec,
        trigger: &StreamTrigger,
        invoker: &Invoker,
    ) -> Result<StreamPoller, StackError> {
        let stream_arn = self.provisioned.streams.get(&trigger.table).cloned().ok_or_else(|| {
            ProvisionError::Template(format!(
                "{}.{}: table {} has no stream",
                spec.logical_id, trigger.name, trigger.table
            ))
        })?;
        let on_failure = trigger
            .on_failure
            .as_ref()
            .and_then(|queue| self.provisioned.queues.get(queue))
            .map(|queue| (aws_sdk_sqs::Client::new(self.config), queue.clone()));
        Ok(StreamPoller {
            reader: StreamReader::new(self.aws_endpoint.to_owned(), stream_arn),
            trigger: trigger.clone(),
            on_failure,
            invoker: invoker.clone(),
            function: spec.name.clone(),
            retry_delay: self.options.retry_delay,
        })
    }
}

/// A fresh signing secret per stack: nothing signed for one run is accepted by another.
fn local_secret() -> String {
    format!("whsec_local_{}", hex::encode(rand::random::<[u8; 16]>()))
}
