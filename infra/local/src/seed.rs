//! Stock for the tests and the bench, written straight into the inventory table as the
//! `events/seed/inventory.json` catalogue says. The real way stock arrives is stock alerts'
//! `inventory.adjusted`, which the demo uses; this is for tests that need stock, not its story.

use std::path::Path;

use backoffice::adapters::dynamodb::dynamo_item;
use backoffice::domains::stock::records::new_stock_item;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct StockSeed {
    pub seller_id: String,
    pub sku: String,
    pub on_hand: i64,
    #[serde(default)]
    pub safety_stock: i64,
    #[serde(default)]
    pub lead_time_days: i64,
}

impl StockSeed {
    /// `on_hand` units of each of `skus` for `seller_id`, with the same thresholds.
    pub fn each(seller_id: &str, skus: &[&str], on_hand: i64, safety_stock: i64, lead_time_days: i64) -> Vec<Self> {
        skus.iter()
            .map(|sku| Self {
                seller_id: seller_id.to_owned(),
                sku: (*sku).to_owned(),
                on_hand,
                safety_stock,
                lead_time_days,
            })
            .collect()
    }
}

pub fn load(path: &Path) -> Result<Vec<StockSeed>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// Sets each SKU's stock: `on_hand` all available, nothing reserved, not on the watchlist.
pub async fn seed_stock(client: &aws_sdk_dynamodb::Client, table: &str, seeds: &[StockSeed]) -> Result<(), String> {
    for seed in seeds {
        let mut item = new_stock_item(
            &seed.seller_id,
            &seed.sku,
            seed.on_hand,
            seed.safety_stock,
            seed.lead_time_days,
        );
        item.remove("watch");
        client
            .put_item()
            .table_name(table)
            .set_item(Some(dynamo_item(item)))
            .send()
            .await
            .map_err(|error| {
                format!(
                    "seeding {}: {}",
                    seed.sku,
                    aws_sdk_dynamodb::error::DisplayErrorContext(error)
                )
            })?;
    }
    Ok(())
}
