//! Stock for the tests and the bench, written straight into the inventory table as the
//! `events/seed/inventory.json` catalogue says. The real way stock arrives is stock alerts'
//! `inventory.adjusted`, which the demo uses; this is for tests that need stock, not its story.

use std::path::Path;

use aws_sdk_dynamodb::types::AttributeValue;
use backoffice::adapters::dynamodb::sku_key;
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

pub fn load(path: &Path) -> Result<Vec<StockSeed>, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// Sets each SKU's stock: `on_hand` all available, nothing reserved.
pub async fn seed_stock(client: &aws_sdk_dynamodb::Client, table: &str, seeds: &[StockSeed]) -> Result<(), String> {
    let n = |value: i64| AttributeValue::N(value.to_string());
    for seed in seeds {
        client
            .put_item()
            .table_name(table)
            .item("sku_key", AttributeValue::S(sku_key(&seed.seller_id, &seed.sku)))
            .item("seller_id", AttributeValue::S(seed.seller_id.clone()))
            .item("sku", AttributeValue::S(seed.sku.clone()))
            .item("on_hand", n(seed.on_hand))
            .item("reserved", n(0))
            .item("available", n(seed.on_hand))
            .item("safety_stock", n(seed.safety_stock))
            .item("lead_time_days", n(seed.lead_time_days))
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
