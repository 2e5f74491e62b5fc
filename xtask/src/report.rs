//! `cargo xtask report [--days N]`: the operator report of the running local stack, written
//! to `target/xtask/report.html` from the same day tallies and the same page the weekly job
//! puts in S3; with `--screenshot <file.png>`, as headless Chromium shows it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use backoffice::adapters::Aws;
use backoffice::domains::health::page::render;
use backoffice::domains::health::report::{assemble, report_part};
use backoffice::domains::health::run::SELLERS_PER_PAGE;
use backoffice::domains::health::weekly::listed_page;
use backoffice::mechanisms::config::TableNames;
use backoffice::storage::Table;
use local_cloud::local_aws::sdk_config_for;
use local_cloud::paths;
use local_cloud::stack::StackState;

use crate::CommandResult;

pub async fn command(args: &[String]) -> CommandResult {
    let usage = || "usage: cargo xtask report [--days N] [--screenshot <file.png>]".to_owned();
    let (mut days, mut screenshot) = (28, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(usage)?;
        match flag.as_str() {
            "--days" => {
                days = value
                    .parse()
                    .ok()
                    .filter(|days| (1..=366).contains(days))
                    .ok_or_else(usage)?
            }
            "--screenshot" => screenshot = Some(PathBuf::from(value)),
            _ => return Err(usage()),
        }
    }
    let state = StackState::load()?;
    let page = write_report(&state.aws_endpoint, days).await?;
    println!("operator report: {}", page.display());
    if let Some(screenshot) = screenshot {
        shoot(&page, &screenshot)?;
        println!("screenshot: {}", screenshot.display());
    }
    Ok(())
}

/// The report of the `days` days ending today, across every listed seller of the local AWS
/// at `endpoint`, written to `target/xtask/report.html`.
pub async fn write_report(endpoint: &str, days: i64) -> Result<PathBuf, String> {
    let config = sdk_config_for(endpoint).await;
    // Locally each table is named after its logical id.
    let names: BTreeMap<String, String> = [(Table::Sellers, "SellersTable"), (Table::Figures, "FiguresTable")]
        .into_iter()
        .map(|(table, name)| (table.variable().to_owned(), name.to_owned()))
        .collect();
    let tables = TableNames::from_env(&names, &[Table::Sellers, Table::Figures]).map_err(|error| error.to_string())?;
    let store = Aws::new(config, tables).storage;
    let now = chrono::Utc::now();
    // As the run does: a part per page of sellers, then the parts put together.
    let (mut parts, mut after) = (Vec::new(), None);
    loop {
        let page = listed_page(&store, SELLERS_PER_PAGE, after)
            .await
            .map_err(|error| error.to_string())?;
        parts.push(
            report_part(&store, &page.items, now.date_naive(), days)
                .await
                .map_err(|error| error.to_string())?,
        );
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let report = assemble(&parts, now.date_naive(), days, now);
    let page = paths::scratch().join("report.html");
    std::fs::create_dir_all(paths::scratch()).map_err(|error| error.to_string())?;
    std::fs::write(&page, render(&report)).map_err(|error| format!("{}: {error}", page.display()))?;
    Ok(page)
}

fn shoot(page: &Path, screenshot: &Path) -> CommandResult {
    let rendered = local_cloud::browser::open(page, Some(screenshot)).map_err(|error| error.to_string())?;
    if rendered.console.is_empty() {
        Ok(())
    } else {
        Err(format!("the page wrote to its console: {:?}", rendered.console))
    }
}
