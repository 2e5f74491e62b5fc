//! The local AWS itself: DynamoDB conditional writes are atomic under concurrent requests,
//! as they are in AWS (plain moto is not: it once let 22 of 500 racing decrements of a stock
//! of 20 through), a cancelled transaction leaves nothing on a stream, a request token makes a
//! transaction idempotent, and every resource of the template exists.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem,
};
use backoffice_tests::{local_aws, unique_id};
use futures_util::future::join_all;
use local_cloud::streams::{Position, StreamReader};

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

fn outbox_put(key: &str) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(local_aws().table("OutboxTable"))
        .item("key", AttributeValue::S(key.to_owned()))
        .item("follow_ups", AttributeValue::S("[]".to_owned()))
        .build()
        .unwrap();
    TransactWriteItem::builder().put(put).build()
}

/// What an open iterator reads from now on, as the stream poller reads it.
async fn keys_read(reader: &StreamReader, iterator: &mut Option<String>) -> Vec<String> {
    let mut keys = Vec::new();
    while let Some(current) = iterator.clone() {
        let page = reader.page(&current, 100).await.unwrap();
        *iterator = page.next;
        if page.records.is_empty() {
            break;
        }
        keys.extend(
            page.records
                .iter()
                .map(|record| record["dynamodb"]["Keys"]["key"]["S"].as_str().unwrap().to_owned()),
        );
    }
    keys
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_nothing_on_the_stream_and_open_iterators_go_on() {
    let aws = local_aws();
    let client = Client::new(&aws.sdk_config().await);
    let reader = StreamReader::new(aws.endpoint(), &aws.provisioned.streams["OutboxTable"]);
    let mut iterator = Some(reader.iterator(Position::Oldest).await.unwrap());
    keys_read(&reader, &mut iterator).await;

    let cancelled = unique_id("cancelled");
    let failing_check = ConditionCheck::builder()
        .table_name(local_aws().table("InventoryTable"))
        .key("sku_key", AttributeValue::S(unique_id("nothing")))
        .condition_expression("attribute_exists(sku_key)")
        .build()
        .unwrap();
    let refused = client
        .transact_write_items()
        .transact_items(outbox_put(&cancelled))
        .transact_items(TransactWriteItem::builder().condition_check(failing_check).build())
        .send()
        .await;
    assert!(refused.is_err(), "the transaction is cancelled");
    let committed = unique_id("committed");
    client
        .transact_write_items()
        .transact_items(outbox_put(&committed))
        .send()
        .await
        .unwrap();

    assert_eq!(keys_read(&reader, &mut iterator).await, [committed]);
}

/// What DynamoDB does with a `ClientRequestToken`, which moto alone would ignore: the same
/// request again is answered success and applied once; another request with it is refused.
#[tokio::test]
async fn a_request_token_makes_a_transaction_answer_twice_and_apply_once() {
    let aws = local_aws();
    let client = Client::new(&aws.sdk_config().await);
    let table = create_counter_table(&client).await;
    let add_one = |sku: &str| {
        let update = aws_sdk_dynamodb::types::Update::builder()
            .table_name(&table)
            .key("pk", AttributeValue::S(sku.to_owned()))
            .update_expression("ADD stock :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .unwrap();
        TransactWriteItem::builder().update(update).build()
    };
    let token = unique_id("token");
    for _ in 0..2 {
        client
            .transact_write_items()
            .transact_items(add_one("A"))
            .transact_items(add_one("B"))
            .client_request_token(&token)
            .send()
            .await
            .expect("the same request with the same token succeeds");
    }
    let stock = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("A".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(stock["stock"].as_n().unwrap(), "1", "applied once");
    let other = client
        .transact_write_items()
        .transact_items(add_one("C"))
        .client_request_token(&token)
        .send()
        .await;
    let code = other.unwrap_err().into_service_error().meta().code().map(str::to_owned);
    assert_eq!(code.as_deref(), Some("IdempotentParameterMismatchException"));
}

/// No web page may call the local AWS: it answers no CORS preflight and sends no
/// `Access-Control-Allow-Origin`, whatever the origin.
#[tokio::test]
async fn a_web_page_cannot_call_the_local_aws() {
    let client = local_cloud::loopback::HttpClient::default();
    let endpoint = local_aws().endpoint();
    let preflight = client
        .send(
            http::Method::OPTIONS,
            &format!("{endpoint}/"),
            &[
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "x-amz-target,content-type"),
            ],
            Vec::new(),
        )
        .await
        .expect("the local AWS answers");
    let listing = client
        .send(
            http::Method::POST,
            &format!("{endpoint}/"),
            &[
                ("Origin", "https://evil.example"),
                ("X-Amz-Target", "DynamoDB_20120810.ListTables"),
                ("Content-Type", "application/x-amz-json-1.0"),
            ],
            b"{}".to_vec(),
        )
        .await
        .expect("the local AWS answers");
    for reply in [&preflight, &listing] {
        assert!(
            !reply.headers.contains_key("access-control-allow-origin"),
            "{:?}",
            reply.headers
        );
    }
}

/// The local AWS refuses what SNS refuses, in bytes: a message over 256 KiB (here 100,000
/// characters, 300,000 bytes), and a batch whose messages together are over 256 KiB even
/// when each fits. Without this, a follow-up SNS would refuse passed every local test.
#[tokio::test]
async fn sns_limits_messages_and_batches_to_256_kib_in_bytes() {
    use aws_sdk_sns::types::PublishBatchRequestEntry;

    let sns = aws_sdk_sns::Client::new(&local_aws().sdk_config().await);
    let topic = sns
        .create_topic()
        .name(unique_id("limits"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let entry = |id: &str, message: String| {
        PublishBatchRequestEntry::builder()
            .id(id)
            .message(message)
            .build()
            .unwrap()
    };

    let wide = "茶".repeat(100_000);
    let refused = sns.publish().topic_arn(&topic).message(&wide).send().await;
    let code = refused
        .unwrap_err()
        .into_service_error()
        .meta()
        .code()
        .map(str::to_owned);
    assert_eq!(code.as_deref(), Some("InvalidParameter"));

    let half = "a".repeat(150_000);
    let refused = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(entry("0", half.clone()))
        .publish_batch_request_entries(entry("1", half.clone()))
        .send()
        .await;
    let code = refused
        .unwrap_err()
        .into_service_error()
        .meta()
        .code()
        .map(str::to_owned);
    assert_eq!(code.as_deref(), Some("BatchRequestTooLong"));

    let taken = sns
        .publish_batch()
        .topic_arn(&topic)
        .publish_batch_request_entries(entry("0", half))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.successful.unwrap_or_default().len(), 1);
}

/// The signing secret as the functions read it from Secrets Manager during init: the current
/// version, and the pending one while a rotation is under way, both accepted; the new one
/// alone once the rotation completes, without a restart.
#[tokio::test]
async fn the_signing_secret_is_read_from_secrets_manager_and_rotates_without_a_restart() {
    use backoffice::adapters::secrets::signing_secrets;
    use backoffice::mechanisms::webhook::secrets::REFETCH_EVERY;
    use backoffice::mechanisms::webhook::{SignatureError, SignatureVerifier, SigningSecrets, WebhookSecret};

    let config = local_aws().sdk_config().await;
    let manager = aws_sdk_secretsmanager::Client::new(&config);
    let name = unique_id("webhook-secret");
    let created = manager
        .create_secret()
        .name(&name)
        .secret_string("whsec_old")
        .send()
        .await
        .unwrap();
    let signed = |secret: &str, at: chrono::DateTime<chrono::Utc>| {
        SignatureVerifier::new(WebhookSecret::new(secret)).sign(b"{}", at.timestamp())
    };
    let start = chrono::Utc::now();
    let secrets = SigningSecrets::fetched(signing_secrets(&config, name.clone()), start)
        .await
        .expect("read during init");
    assert!(
        secrets
            .verify(Some(&signed("whsec_old", start)), b"{}", start)
            .await
            .is_ok()
    );

    // Rotation, step one: the new value staged as pending; the marketplace signs with it.
    let staged = manager
        .put_secret_value()
        .secret_id(&name)
        .secret_string("whsec_new")
        .version_stages("AWSPENDING")
        .send()
        .await
        .unwrap();
    let soon = start + chrono::Duration::seconds(40);
    assert!(
        secrets
            .verify(Some(&signed("whsec_new", soon)), b"{}", soon)
            .await
            .is_ok()
    );
    assert!(
        secrets
            .verify(Some(&signed("whsec_old", soon)), b"{}", soon)
            .await
            .is_ok()
    );

    // Step two: the new value made current, the old one no longer.
    manager
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSCURRENT")
        .move_to_version_id(staged.version_id.unwrap())
        .remove_from_version_id(created.version_id.unwrap())
        .send()
        .await
        .unwrap();
    manager
        .update_secret_version_stage()
        .secret_id(&name)
        .version_stage("AWSPENDING")
        .remove_from_version_id(staged_version(&manager, &name).await)
        .send()
        .await
        .unwrap();
    let later = soon + REFETCH_EVERY;
    assert!(
        secrets
            .verify(Some(&signed("whsec_new", later)), b"{}", later)
            .await
            .is_ok()
    );
    assert_eq!(
        secrets.verify(Some(&signed("whsec_old", later)), b"{}", later).await,
        Err(SignatureError::Mismatch)
    );
}

/// The version that carries AWSPENDING now.
async fn staged_version(manager: &aws_sdk_secretsmanager::Client, name: &str) -> String {
    manager
        .get_secret_value()
        .secret_id(name)
        .version_stage("AWSPENDING")
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap()
}
