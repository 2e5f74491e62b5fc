//! The local AWS itself: DynamoDB conditional writes are atomic under concurrent requests,
//! as they are in AWS (plain moto is not: it once let 22 of 500 racing decrements of a stock
//! of 20 through), and every resource of the template exists.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use backoffice_tests::{local_aws, unique_id};
use futures_util::future::join_all;

const RACERS: usize = 250;
const STOCK: i64 = 20;

async fn create_counter_table(client: &Client) -> String {
    let table = unique_id("race");
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("create table");
    table
}

async fn take_one(client: &Client, table: &str, sku: &str) -> bool {
    client
        .update_item()
        .table_name(table)
        .key("pk", AttributeValue::S(sku.to_owned()))
        .update_expression("SET available = available - :one")
        .condition_expression("available >= :one")
        .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_conditional_updates_never_take_stock_below_zero() {
    let client = Client::new(&local_aws().sdk_config().await);
    let table = create_counter_table(&client).await;
    for round in 0..3 {
        let sku = format!("SKU-{round}");
        client
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(sku.clone()))
            .item("available", AttributeValue::N(STOCK.to_string()))
            .send()
            .await
            .expect("seed stock");
        let takes = join_all((0..RACERS).map(|_| take_one(&client, &table, &sku))).await;
        let won = takes.iter().filter(|took| **took).count();
        let left = client
            .get_item()
            .table_name(&table)
            .key("pk", AttributeValue::S(sku.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("read stock")
            .item
            .and_then(|item| item.get("available")?.as_n().ok()?.parse::<i64>().ok());
        assert_eq!(won, STOCK as usize, "round {round}: exactly the stock is taken");
        assert_eq!(left, Some(0), "round {round}: never below zero");
    }
}

#[tokio::test]
async fn every_table_and_queue_of_the_template_exists() {
    let aws = local_aws();
    let config = aws.sdk_config().await;
    let tables = Client::new(&config)
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    for table in aws.provisioned.tables.values() {
        assert!(tables.contains(table), "{table} missing from {tables:?}");
    }
    let sqs = aws_sdk_sqs::Client::new(&config);
    for (name, queue) in &aws.provisioned.queues {
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .attributes
            .unwrap_or_default();
        let redrive = attributes.get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy);
        assert_eq!(
            redrive.is_some(),
            queue.dead_letters_of.is_none(),
            "{name}: a queue has a DLQ, a DLQ has none"
        );
    }
}
