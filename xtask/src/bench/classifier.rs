//! The review classifier's time per review: `xtask/bench/classifier`, built in release with the
//! functions, run over the labelled reviews of `shared/labelled/reviews/*.jsonl`.

use local_cloud::paths;
use serde::{Deserialize, Serialize};

use super::{BenchError, lambda_dir, run_error};

/// The binary `cargo lambda build` makes of `bench-classifier`.
pub const BINARY: &str = "classifier";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassifierReport {
    pub reviews: usize,
    pub passes: usize,
    pub mean_us: f64,
    /// The slowest passes' time per review.
    pub p99_us: f64,
    /// One review of the longest text a review may have (5,000 characters, both languages).
    pub longest_us: f64,
    /// The first review, which parses and indexes the lexicons.
    pub lexicons_loaded_us: f64,
}

pub fn measure() -> Result<ClassifierReport, BenchError> {
    let dir = paths::workspace_root().join("shared/labelled/reviews");
    let output = std::process::Command::new(lambda_dir().join(BINARY).join("bootstrap"))
        .args(["labelled.jsonl", "holdout.jsonl", "holdout2.jsonl"].map(|name| dir.join(name)))
        .output()
        .map_err(|error| run_error("classifier", error))?;
    if !output.status.success() {
        return Err(run_error("classifier", String::from_utf8_lossy(&output.stderr)));
    }
    serde_json::from_slice(&output.stdout).map_err(|error| run_error("classifier", error))
}
