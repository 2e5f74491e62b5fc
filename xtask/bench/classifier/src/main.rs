//! `classifier <labelled.jsonl>...`: the review classifier's time per review over labelled
//! reviews, read many times over with the lexicons already loaded, and over one review of the
//! longest text a review may have. Prints one JSON object. Built in release with the
//! functions, so the figure is the one a function pays.

use std::time::{Duration, Instant};

use backoffice::domains::reviews::classify::classify;
use serde::Deserialize;

const PASSES: usize = 200;
const LONGEST: usize = 5_000;

#[derive(Deserialize)]
struct Labelled {
    rating: u8,
    title: String,
    text: String,
}

fn main() -> Result<(), String> {
    let mut reviews: Vec<Labelled> = Vec::new();
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).map_err(|error| format!("{path}: {error}"))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            reviews.push(serde_json::from_str(line).map_err(|error| format!("{path}: {error}"))?);
        }
    }
    if reviews.is_empty() {
        return Err("no labelled reviews given".to_owned());
    }
    // The first call loads the lexicons, as a cold start does once: not a review's cost.
    let started = Instant::now();
    std::hint::black_box(classify(1, "", "warm up"));
    let first_call = started.elapsed();
    let mut per_review: Vec<Duration> = (0..PASSES)
        .map(|_| {
            let started = Instant::now();
            for review in &reviews {
                std::hint::black_box(classify(review.rating, &review.title, &review.text));
            }
            started.elapsed() / reviews.len() as u32
        })
        .collect();
    per_review.sort();
    let mean: Duration = per_review.iter().sum::<Duration>() / PASSES as u32;
    let p99 = per_review[(PASSES * 99).div_ceil(100) - 1];

    // Every review's words one after another, both languages, cut at the longest a review may be.
    let longest: String = reviews
        .iter()
        .flat_map(|review| [review.title.as_str(), review.text.as_str()])
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .cycle()
        .take(LONGEST)
        .collect();
    let started = Instant::now();
    for _ in 0..PASSES {
        std::hint::black_box(classify(2, "", &longest));
    }
    let longest_us = started.elapsed().as_secs_f64() * 1e6 / PASSES as f64;

    let micros = |duration: Duration| duration.as_secs_f64() * 1e6;
    let report = serde_json::json!({
        "reviews": reviews.len(),
        "passes": PASSES,
        "mean_us": micros(mean),
        "p99_us": micros(p99),
        "longest_us": longest_us,
        "lexicons_loaded_us": micros(first_call),
    });
    println!("{report}");
    Ok(())
}
