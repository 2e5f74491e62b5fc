//! The bench's results: `target/bench/report.json`, and the table it prints.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::BenchOptions;

/// Median and tail of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Distribution {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl Distribution {
    pub fn of(samples: &[Duration]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort();
        // Nearest rank: the smallest sample at or above the share.
        let rank = |share: f64| {
            let index = ((share * sorted.len() as f64).ceil() as usize).saturating_sub(1);
            sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        Self {
            p50: rank(0.5),
            p90: rank(0.9),
            p99: rank(0.99),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionReport {
    pub function: String,
    /// The event of the cold starts and warm runs.
    pub event: String,
    pub bootstrap_bytes: Option<u64>,
    pub zip_bytes: Option<u64>,
    /// Exec to the first `next`.
    pub init_ms: Distribution,
    /// Exec to the answer of the first event.
    pub first_response_ms: Distribution,
    /// The part of it spent waiting for the local AWS.
    pub first_response_in_aws_ms: Distribution,
    /// Event handed over to answer, warm.
    pub warm_ms: Distribution,
    /// Over a cold start and every warm event.
    pub peak_rss_kib: Option<u64>,
    /// The share of the warm time spent waiting for the local AWS.
    pub aws_share: f64,
    pub aws_requests_per_warm_event: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestCount {
    pub function: String,
    pub event: String,
    pub requests: u64,
    pub outcome: String,
}

/// One figure of a function's report, if it was measured.
type Figure = dyn Fn(&FunctionReport) -> Option<f64>;

#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    pub met: bool,
    pub measured: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date: String,
    pub machine: String,
    pub spawns: usize,
    pub warm_events: usize,
    /// A function that does nothing, built like the others: the floor.
    pub baseline: Option<FunctionReport>,
    pub functions: Vec<FunctionReport>,
    pub peer: Option<FunctionReport>,
    /// The peer's cold start over order intake's, for init and for the first response.
    pub peer_ratio_init: f64,
    pub peer_ratio_first_response: f64,
    pub requests: Vec<RequestCount>,
    /// Stock alerts' sweep over a large catalogue with few SKUs at risk.
    pub sweep: Option<super::SweepReport>,
    /// Buyer messaging's clock over many open threads with few due.
    pub clock: Option<super::clock::ClockReport>,
    /// Seller health's weekly run for a seller with few orders and one with many.
    pub health: Option<super::health::HealthReport>,
    /// The review classifier, in process, over the labelled reviews.
    pub classifier: Option<super::classifier::ClassifierReport>,
    pub goals: Vec<Goal>,
}

impl Report {
    pub fn new(options: &BenchOptions) -> Self {
        Self {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            machine: machine(),
            spawns: options.spawns,
            warm_events: options.warm_events,
            baseline: None,
            functions: Vec::new(),
            peer: None,
            peer_ratio_init: 0.0,
            peer_ratio_first_response: 0.0,
            requests: Vec::new(),
            sweep: None,
            clock: None,
            health: None,
            classifier: None,
            goals: Vec::new(),
        }
    }

    /// The peer ratio and the goals, once everything is measured.
    pub fn conclude(&mut self) {
        let intake = self
            .functions
            .iter()
            .find(|f| f.function == backoffice::mechanisms::function::Function::OrderIntake.name());
        if let (Some(intake), Some(peer)) = (intake, &self.peer) {
            self.peer_ratio_init = peer.init_ms.p50 / intake.init_ms.p50.max(f64::EPSILON);
            self.peer_ratio_first_response =
                peer.first_response_ms.p50 / intake.first_response_ms.p50.max(f64::EPSILON);
        }
        let mut goals = Vec::new();
        // Each goal is an upper limit on one figure of every function; the worst is shown.
        let limits: [(&str, f64, &Figure, &str); 4] = [
            ("init median ≤ 10 ms", 10.0, &|f| Some(f.init_ms.p50), "ms"),
            (
                "first response median ≤ 20 ms",
                20.0,
                &|f| Some(f.first_response_ms.p50),
                "ms",
            ),
            ("zip ≤ 5 MB", 5.0, &|f| f.zip_bytes.map(|b| b as f64 / 1e6), "MB"),
            (
                "peak RSS ≤ 25 MB",
                25.0,
                &|f| f.peak_rss_kib.map(|k| k as f64 * 1024.0 / 1e6),
                "MB",
            ),
        ];
        for (goal, limit, figure, unit) in limits {
            let worst = self
                .functions
                .iter()
                .map(|f| (f, figure(f).unwrap_or(f64::INFINITY)))
                .max_by(|a, b| a.1.total_cmp(&b.1));
            goals.push(Goal {
                goal: goal.to_owned(),
                met: worst.is_some_and(|(_, value)| value <= limit),
                measured: worst.map_or(String::new(), |(f, value)| format!("{}: {value:.2} {unit}", f.function)),
            });
        }
        goals.push(Goal {
            goal: "Python peer's cold start ≥ 5× order intake's".to_owned(),
            met: self.peer_ratio_first_response >= 5.0,
            measured: format!(
                "{:.1}× (init {:.1}×)",
                self.peer_ratio_first_response, self.peer_ratio_init
            ),
        });
        if let Some(sweep) = &self.sweep {
            let worst = sweep.first.items_read.max(sweep.steady.items_read);
            goals.push(Goal {
                goal: format!(
                    "sweep reads < 200 items ({} of {} SKUs at risk)",
                    sweep.at_risk, sweep.skus
                ),
                met: worst < 200,
                measured: format!("{worst} items"),
            });
        }
        if let Some(clock) = &self.clock {
            let worst = clock.first.aws_requests.max(clock.steady.aws_requests);
            goals.push(Goal {
                goal: format!(
                    "clock sweep < 100 requests ({} of {} open threads due)",
                    clock.due, clock.open_threads
                ),
                met: worst < 100,
                measured: format!("{worst} requests"),
            });
        }
        if let Some(health) = &self.health
            && let [small, large] = health.runs.as_slice()
        {
            goals.push(Goal {
                goal: format!(
                    "a seller's week costs the same requests with {} orders as with {}",
                    large.orders, small.orders
                ),
                met: large.aws_requests == small.aws_requests,
                measured: format!("{} and {} requests", small.aws_requests, large.aws_requests),
            });
        }
        self.goals = goals;
    }

    /// The table `cargo xtask bench` prints and the README shows (Markdown).
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Measured {} on {} ({} cold starts, {} warm events each).\n",
            self.date, self.machine, self.spawns, self.warm_events
        );
        let _ = writeln!(
            out,
            "| function | event | bootstrap | zip | init p50 / p90 | first response p50 / p90 | of it in AWS, p50 | warm p50 / p99 | warm in AWS | peak RSS |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
        for f in self.baseline.iter().chain(&self.functions).chain(self.peer.iter()) {
            let megabytes =
                |bytes: Option<u64>| bytes.map_or("—".to_owned(), |b| format!("{:.2} MB", b as f64 / 1e6));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.1} ms | {:.2} / {:.2} ms | {:.0}% | {} |",
                f.function,
                f.event,
                megabytes(f.bootstrap_bytes),
                megabytes(f.zip_bytes),
                f.init_ms.p50,
                f.init_ms.p90,
                f.first_response_ms.p50,
                f.first_response_ms.p90,
                f.first_response_in_aws_ms.p50,
                f.warm_ms.p50,
                f.warm_ms.p99,
                f.aws_share * 100.0,
                megabytes(f.peak_rss_kib.map(|kib| kib * 1024)),
            );
        }
        let _ = writeln!(
            out,
            "\nPython peer / order intake, median cold start: **{:.1}×** to the first response, {:.1}× to init.\n",
            self.peer_ratio_first_response, self.peer_ratio_init
        );
        let _ = writeln!(out, "| AWS requests per event | requests | outcome |");
        let _ = writeln!(out, "|---|---|---|");
        for count in &self.requests {
            let _ = writeln!(
                out,
                "| {} — {} | {} | {} |",
                count.function, count.event, count.requests, count.outcome
            );
        }
        if let Some(sweep) = &self.sweep {
            let _ = writeln!(
                out,
                "\nThe sweep over {} SKUs, {} at risk (catalogue loaded in {:.0} s):\n",
                sweep.skus, sweep.at_risk, sweep.load_seconds
            );
            let _ = writeln!(
                out,
                "| sweep | time | items read | SKUs assessed | alerts raised | digests | AWS requests |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|");
            for (name, run) in [
                ("first (raises)", &sweep.first),
                ("steady (nothing new)", &sweep.steady),
            ] {
                let _ = writeln!(
                    out,
                    "| {name} | {:.0} ms | {} | {} | {} | {} | {} |",
                    run.ms, run.items_read, run.skus_assessed, run.alerts_raised, run.digests, run.aws_requests
                );
            }
        }
        if let Some(clock) = &self.clock {
            let _ = writeln!(
                out,
                "\nThe reply clock's sweep over {} open threads, {} due a reminder (threads loaded in {:.0} s):\n",
                clock.open_threads, clock.due, clock.load_seconds
            );
            let _ = writeln!(out, "| sweep | time | threads due | reminded | AWS requests |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for (name, run) in [
                ("first (reminds)", &clock.first),
                ("steady (nothing due)", &clock.steady),
            ] {
                let _ = writeln!(
                    out,
                    "| {name} | {:.0} ms | {} | {} | {} |",
                    run.ms, run.threads_due, run.reminded, run.aws_requests
                );
            }
        }
        if let Some(health) = &self.health {
            let _ = writeln!(
                out,
                "\nSeller health's weekly run, one seller due, its week read from day tallies (orders placed through order intake's transaction):\n"
            );
            let _ = writeln!(
                out,
                "| orders in the week | placed in | run | reports sent | AWS requests |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|");
            for run in &health.runs {
                let _ = writeln!(
                    out,
                    "| {} | {:.0} s | {:.0} ms | {} | {} |",
                    run.orders, run.load_seconds, run.ms, run.reports_sent, run.aws_requests
                );
            }
        }
        if let Some(classifier) = &self.classifier {
            let _ = writeln!(
                out,
                "\nThe review classifier (release) over the {} labelled reviews ({} passes, one thread): **{:.1} µs** per review (p99 of a pass {:.1} µs); a review of 5,000 characters, {:.0} µs; loading the lexicons, once per process, {:.0} µs.",
                classifier.reviews,
                classifier.passes,
                classifier.mean_us,
                classifier.p99_us,
                classifier.longest_us,
                classifier.lexicons_loaded_us
            );
        }
        let _ = writeln!(out, "\n| goal | met | measured (worst) |");
        let _ = writeln!(out, "|---|---|---|");
        for goal in &self.goals {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                goal.goal,
                if goal.met { "yes" } else { "**no**" },
                goal.measured
            );
        }
        out
    }
}

/// CPU model, cores and memory, from `/proc`.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map_or("unknown CPU", |(_, name)| name.trim())
        .to_owned();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kib| kib / (1024 * 1024));
    format!("{model}, {cores} cores, {memory_gib} GiB")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let distribution = Distribution::of(&samples);
        assert_eq!(
            (distribution.p50, distribution.p90, distribution.p99),
            (50.0, 90.0, 99.0)
        );
        let few = Distribution::of(&[
            Duration::from_millis(3),
            Duration::from_millis(1),
            Duration::from_millis(2),
        ]);
        assert_eq!((few.p50, few.p90), (2.0, 3.0));
        assert_eq!(Distribution::of(&[]).p50, 0.0);
    }

    fn function(name: &str, init_ms: f64, zip_bytes: u64) -> FunctionReport {
        let at = |ms: f64| Distribution {
            p50: ms,
            p90: ms,
            p99: ms,
        };
        FunctionReport {
            function: name.to_owned(),
            event: "e".to_owned(),
            bootstrap_bytes: Some(zip_bytes * 2),
            zip_bytes: Some(zip_bytes),
            init_ms: at(init_ms),
            first_response_ms: at(init_ms * 2.0),
            first_response_in_aws_ms: at(1.0),
            warm_ms: at(1.0),
            peak_rss_kib: Some(10_000),
            aws_share: 0.5,
            aws_requests_per_warm_event: 1.0,
        }
    }

    #[test]
    fn each_goal_names_its_worst_function_and_the_peer_ratio_is_against_order_intake() {
        let mut report = Report::new(&BenchOptions::default());
        report.functions = vec![
            function("order-intake", 5.0, 4_000_000),
            function("stock-alerts", 12.0, 6_000_000),
        ];
        report.peer = Some(function("python-peer", 400.0, 0));
        report.conclude();
        let goal = |name: &str| report.goals.iter().find(|g| g.goal.starts_with(name)).unwrap().clone();
        assert!(!goal("init").met);
        assert_eq!(goal("init").measured, "stock-alerts: 12.00 ms");
        assert!(!goal("zip").met);
        assert!(goal("peak RSS").met);
        assert_eq!(report.peer_ratio_init, 80.0);
        assert!(goal("Python").met);
    }
}
