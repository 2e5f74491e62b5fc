//! Seller health's weekly run: one seller's report with 100 orders in its week, another's with
//! 10,000 (1,000 with `--quick`). The orders are placed through order intake's own use case,
//! so their day tallies are written as production writes them; the run's AWS requests must
//! not grow with the orders.

use std::time::Instant;

use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::Aws;
use backoffice::domains::orders::schema::OrderCreatedData;
use backoffice::domains::orders::{EventContext, place_order, validate};
use backoffice::domains::stock::records::new_stock_item;
use backoffice::mechanisms::config::TableNames;
use backoffice::mechanisms::function::Function;
use backoffice::mechanisms::idempotency::Claim;
use backoffice::storage::{Storage, Table, WriteSet};
use chrono::{DateTime, Duration, Utc};
use local_cloud::provision::Provisioned;
use local_cloud::template::FunctionSpec;
use serde::Serialize;
use serde_json::json;

use super::events::Workload;
use super::meter::AwsMeter;
use super::sweep::ScheduledRun;
use super::{BenchError, Subject, lambda_dir, lambda_environment, run_error, setup_error, start};

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub runs: Vec<HealthRun>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthRun {
    pub orders: usize,
    pub load_seconds: f64,
    pub ms: f64,
    pub reports_sent: u64,
    pub aws_requests: u64,
}

/// The two sellers: their orders, a time zone whose Monday 08:00 no other zone's overlaps
/// (UTC+14 and UTC−12, 26 hours apart), and when the schedule fires for it (not while the
/// operator report is due, Monday 08:00 to Tuesday 08:00 UTC).
fn sellers(large: usize) -> [(usize, &'static str, &'static str); 2] {
    [
        (100, "Pacific/Kiritimati", "2026-11-29T18:00:00Z"),
        (large, "Etc/GMT+12", "2026-12-01T10:00:00Z"),
    ]
}

pub async fn measure(
    functions: &[FunctionSpec],
    provisioned: &Provisioned,
    config: &aws_config::SdkConfig,
    meter: &AwsMeter,
    large: usize,
) -> Result<HealthReport, BenchError> {
    let spec = functions
        .iter()
        .find(|spec| spec.binary == Function::SellerHealth.name())
        .ok_or_else(|| setup_error("no seller-health in the template"))?;
    let mut environment = provisioned.environment_of(spec).map_err(setup_error)?;
    environment.extend(lambda_environment(spec, &meter.endpoint));
    // Its runs are stamped in the sample week, as the local stack's are: a deployed function
    // refuses a stamp outside a retry's six hours.
    environment.insert("REPLAYS_SCHEDULES".to_owned(), "true".to_owned());
    let subject = Subject {
        name: spec.binary.clone(),
        function: None,
        command: vec![lambda_dir().join(&spec.binary).join("bootstrap").display().to_string()],
        working_dir: local_cloud::paths::workspace_root(),
        environment,
        workload: Workload::baseline(),
    };
    let mut runs = Vec::new();
    for (orders, zone, at) in sellers(large) {
        let seller = format!("sel_week_{orders}");
        let load_seconds = load_week(config, provisioned, &seller, zone, orders).await?;
        let run = run_once(&subject, meter, at.parse().map_err(setup_error)?).await?;
        runs.push(HealthRun {
            orders,
            load_seconds,
            ms: run.ms,
            reports_sent: run.answer["reports_sent"].as_u64().unwrap_or(0),
            aws_requests: run.aws_requests,
        });
    }
    Ok(HealthReport { runs })
}

/// The seller (listed, in `zone`), a SKU with stock for every order, and `orders` orders
/// placed in the week of 23–29 November 2026, one transaction each as order intake writes them.
async fn load_week(
    config: &aws_config::SdkConfig,
    provisioned: &Provisioned,
    seller: &str,
    zone: &str,
    orders: usize,
) -> Result<f64, BenchError> {
    let started = Instant::now();
    aws_sdk_dynamodb::Client::new(config)
        .put_item()
        .table_name(&provisioned.tables["SellersTable"])
        .item("seller_id", AttributeValue::S(seller.to_owned()))
        .item("name", AttributeValue::S("Bench Seller".to_owned()))
        .item("email", AttributeValue::S("alerts@bench.example".to_owned()))
        .item("locale", AttributeValue::S("en".to_owned()))
        .item("time_zone", AttributeValue::S(zone.to_owned()))
        .item(
            "listed",
            AttributeValue::S(backoffice::domains::sellers::records::LISTED.to_owned()),
        )
        .send()
        .await
        .map_err(|error| {
            run_error(
                "seeding a weekly seller",
                aws_sdk_dynamodb::error::DisplayErrorContext(error),
            )
        })?;
    let store = storage(config, provisioned)?;
    let stock = new_stock_item(seller, "WEEK-01", orders as i64 + 1, 0, 7);
    store
        .write(WriteSet::from(vec![backoffice::storage::Write::put(
            Table::Inventory,
            stock,
        )]))
        .await
        .map_err(|error| run_error("stocking a weekly seller", format!("{error:?}")))?;
    let monday: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().map_err(setup_error)?;
    let spacing = Duration::seconds((7 * 86_400 / orders.max(1)) as i64);
    for index in 0..orders {
        let placed = monday + spacing * index as i32;
        let data: OrderCreatedData = serde_json::from_value(json!({
            "order_id": format!("ord_{seller}_{index}"), "seller_id": seller,
            "buyer": {"id": "buy_bench", "name": "Bench Buyer", "email": "bench@example.com", "locale": "en"},
            "currency": "EUR", "lines": [{"line_id": "l1", "sku": "WEEK-01", "quantity": 1, "unit_price": "9.90"}],
            // Far ahead: no sweep should take these for late orders.
            "total": "9.90", "ship_by": (placed + Duration::days(60)).to_rfc3339(),
            "shipping_address": {"name": "Bench Buyer", "line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "country": "DE"}
        }))
        .map_err(setup_error)?;
        let order = validate::new_order(data).map_err(|error| run_error("a bench order", error))?;
        let id = format!("evt_{seller}_{index}");
        let event = EventContext {
            id: id.clone(),
            fingerprint: id.clone(),
            at: placed,
        };
        let claim = Claim::webhook(Function::OrderIntake, &id, &id, placed);
        place_order(&store, &order, &event, &claim)
            .await
            .map_err(|error| run_error("placing a bench order", format!("{error:?}")))?;
    }
    Ok(started.elapsed().as_secs_f64())
}

fn storage(
    config: &aws_config::SdkConfig,
    provisioned: &Provisioned,
) -> Result<backoffice::adapters::dynamodb::DynamoStorage, BenchError> {
    let tables = [
        (Table::Idempotency, "IdempotencyTable"),
        (Table::Orders, "OrdersTable"),
        (Table::Inventory, "InventoryTable"),
        (Table::Outbox, "OutboxTable"),
        (Table::Figures, "FiguresTable"),
    ];
    let names: std::collections::BTreeMap<String, String> = tables
        .iter()
        .map(|(table, logical)| (table.variable().to_owned(), provisioned.tables[*logical].clone()))
        .collect();
    let tables: Vec<Table> = tables.iter().map(|(table, _)| *table).collect();
    let names = TableNames::from_env(&names, &tables).map_err(setup_error)?;
    Ok(Aws::new(config.clone(), names).storage)
}

/// One run of the hourly schedule at `at`, by a fresh process: its answer and requests.
async fn run_once(subject: &Subject, meter: &AwsMeter, at: DateTime<Utc>) -> Result<ScheduledRun, BenchError> {
    let rule = "HourlyReports";
    let mut process = start(subject).await?;
    meter.take();
    let event = local_cloud::schedule::scheduled_event(rule, at);
    let invoked = process
        .invoker
        .invoke_timed(bytes::Bytes::from(event.to_string()))
        .await
        .map_err(|error| run_error(rule, error))?;
    let _ = process.child.kill().await;
    if invoked.failed() {
        return Err(run_error(rule, String::from_utf8_lossy(invoked.body())));
    }
    Ok(ScheduledRun {
        ms: invoked.duration().as_secs_f64() * 1000.0,
        answer: serde_json::from_slice(invoked.body()).unwrap_or_default(),
        aws_requests: meter.take().requests,
    })
}
