//! The review classifier's time per review, in process: the labelled reviews of
//! `shared/src/reviews/*.jsonl`, read many times over, lexicons already loaded.

use std::time::{Duration, Instant};

use backoffice::reviews::classify::classify;
use local_cloud::paths;
use serde::Deserialize;

use super::{BenchError, run_error};
use crate::bench::report::Distribution;

const PASSES: usize = 200;

#[derive(Debug, Clone, serde::Serialize)]
pub struct ClassifierReport {
    pub reviews: usize,
    pub passes: usize,
    pub mean_us: f64,
    /// The slowest passes' time per review.
    pub p99_us: f64,
}

#[derive(Deserialize)]
struct Labelled {
    rating: u8,
    title: String,
    text: String,
}

pub fn measure() -> Result<ClassifierReport, BenchError> {
    let reviews = labelled()?;
    // The first call loads the lexicons, as a cold start does once: not a review's cost.
    std::hint::black_box(classify(1, "", "warm up"));
    let mut per_review = Vec::with_capacity(PASSES);
    for _ in 0..PASSES {
        let started = Instant::now();
        for review in &reviews {
            std::hint::black_box(classify(review.rating, &review.title, &review.text));
        }
        per_review.push(started.elapsed() / reviews.len().max(1) as u32);
    }
    let total: Duration = per_review.iter().sum();
    let distribution = Distribution::of(&per_review);
    Ok(ClassifierReport {
        reviews: reviews.len(),
        passes: PASSES,
        mean_us: total.as_secs_f64() * 1e6 / PASSES as f64,
        p99_us: distribution.p99 * 1000.0,
    })
}

fn labelled() -> Result<Vec<Labelled>, BenchError> {
    let dir = paths::workspace_root().join("shared/src/reviews");
    let mut reviews = Vec::new();
    for name in ["labelled.jsonl", "holdout.jsonl"] {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(|error| run_error(path.display().to_string(), error))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            reviews.push(serde_json::from_str(line).map_err(|error| run_error(name, error))?);
        }
    }
    Ok(reviews)
}
