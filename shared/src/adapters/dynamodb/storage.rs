//! [`Storage`] over DynamoDB: the one place that turns the domain's reads and write sets into
//! DynamoDB requests, and DynamoDB's answers back into the domain's terms.
//!
//! A write set of one write is one `PutItem`, `UpdateItem` or `DeleteItem`; of several, one
//! `TransactWriteItems`. Its `ClientRequestToken` is the SDK's own: an idempotency token it
//! fills once per call and sends again on each of its retries, so that when the answer to a
//! committed transaction is lost (a timeout, a reset connection) DynamoDB answers the retry
//! with success instead of cancelling it on the conditions its own first attempt made false
//! (a claim written, stock already reserved). Every conditional write asks for the item as it
//! stood when its condition failed, so a caller learns why without a second read.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, KeysAndAttributes, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use serde_json::{Number, Value};

use crate::mechanisms::config::TableNames;
use crate::storage::Action;
use crate::storage::{
    Cancelled, Change, Cmp, Condition, Cursor, Found, Index, Item, ItemKey, Operand, Query, Reason, Storage,
    StoreError, Table, Write, WriteFailure, WriteSet, back_off,
};

type DynamoItem = HashMap<String, AttributeValue>;

type Names = Option<HashMap<String, String>>;
type Values = Option<HashMap<String, AttributeValue>>;

/// A write's condition and update expressions, with the placeholders they use.
struct Expressions {
    condition: Option<String>,
    update: Option<String>,
    names: Names,
    values: Values,
}

impl Expressions {
    fn of(write: &Write) -> Self {
        let mut expression = Expression::default();
        let condition = write
            .condition
            .as_ref()
            .map(|condition| expression.condition(condition, write.table));
        let update = match &write.action {
            Action::Update(changes) => Some(expression.update(changes)),
            _ => None,
        };
        let (names, values) = expression.into_parts();
        Self {
            condition,
            update,
            names,
            values,
        }
    }
}

/// What every conditional write sets, on whichever of the SDK's builders makes it (a single
/// write's request, or one item of a transaction): the table, the condition with its
/// placeholders, and the item as it stood to be returned when the condition fails.
macro_rules! conditional {
    ($builder:expr, $table:expr, $parts:expr) => {
        $builder
            .table_name($table)
            .set_condition_expression($parts.condition.clone())
            .set_expression_attribute_names($parts.names.clone())
            .set_expression_attribute_values($parts.values.clone())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    };
}

/// Rounds of a BatchGetItem's unprocessed keys (throttling) before the read fails.
const UNPROCESSED_ATTEMPTS: u32 = 8;
/// BatchGetItem takes at most 100 keys.
const BATCH_GET_KEYS: usize = 100;

#[derive(Debug, Clone)]
pub struct DynamoStorage {
    client: Client,
    tables: TableNames,
}

impl DynamoStorage {
    pub fn new(client: Client, tables: TableNames) -> Self {
        Self { client, tables }
    }

    fn table(&self, table: Table) -> Result<&str, StoreError> {
        self.tables.name(table).ok_or_else(|| {
            StoreError::new(
                "DynamoDB",
                format!(
                    "{table} is not among this function's tables ({} is unset)",
                    table.variable()
                ),
            )
        })
    }

    /// Opens the client's connection during init with one cheap read of a key that never
    /// exists (`<function>#warm-up`, inside the function's own idempotency keys), so that the
    /// first event does not pay for the TLS handshake. A failure is logged and ignored: the
    /// first event then opens the connection itself.
    pub async fn open_connection(&self, function: crate::mechanisms::function::Function) {
        if let Err(error) = self.get(Table::Idempotency, &function.key(&["warm-up"])).await {
            tracing::warn!(%error, "DynamoDB connection not opened during init");
        }
    }

    async fn write_one(&self, write: Write) -> Result<(), WriteFailure> {
        if write.action == Action::Check {
            // DynamoDB checks a condition only inside a transaction.
            return self.transact(WriteSet::from(vec![write])).await;
        }
        let table = self.table(write.table)?.to_owned();
        let parts = Expressions::of(&write);
        let key = key_of(write.table, &write.key);
        let client = &self.client;
        match write.action {
            Action::Put(item) => conditional!(client.put_item(), table, parts)
                .set_item(Some(dynamo_item(item)))
                .send()
                .await
                .map(drop)
                .map_err(|error| {
                    failed_single("DynamoDB PutItem", error, |error| match error {
                        PutItemError::ConditionalCheckFailedException(failed) => Some(failed.item.clone()),
                        _ => None,
                    })
                }),
            Action::Update(_) => conditional!(client.update_item(), table, parts)
                .set_key(Some(key))
                .set_update_expression(parts.update)
                .send()
                .await
                .map(drop)
                .map_err(|error| {
                    failed_single("DynamoDB UpdateItem", error, |error| match error {
                        UpdateItemError::ConditionalCheckFailedException(failed) => Some(failed.item.clone()),
                        _ => None,
                    })
                }),
            Action::Delete => conditional!(client.delete_item(), table, parts)
                .set_key(Some(key))
                .send()
                .await
                .map(drop)
                .map_err(|error| {
                    failed_single("DynamoDB DeleteItem", error, |error| match error {
                        DeleteItemError::ConditionalCheckFailedException(failed) => Some(failed.item.clone()),
                        _ => None,
                    })
                }),
            // Sent as a transaction above.
            Action::Check => Err(StoreError::new("DynamoDB", "a condition check outside a transaction").into()),
        }
    }

    async fn transact(&self, writes: WriteSet) -> Result<(), WriteFailure> {
        let items = writes
            .into_iter()
            .map(|write| self.transact_item(write))
            .collect::<Result<Vec<_>, _>>()?;
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(error) => match error.into_service_error() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    cancellation(cancelled.cancellation_reasons.unwrap_or_default())
                }
                other => Err(store_error("DynamoDB TransactWriteItems", other).into()),
            },
        }
    }

    fn transact_item(&self, write: Write) -> Result<TransactWriteItem, StoreError> {
        let table = self.table(write.table)?.to_owned();
        let parts = Expressions::of(&write);
        let key = key_of(write.table, &write.key);
        let item = TransactWriteItem::builder();
        let built = match write.action {
            Action::Put(put) => conditional!(Put::builder(), table, parts)
                .set_item(Some(dynamo_item(put)))
                .build()
                .map(|put| item.put(put).build()),
            Action::Update(_) => conditional!(Update::builder(), table, parts)
                .set_key(Some(key))
                .set_update_expression(parts.update)
                .build()
                .map(|update| item.update(update).build()),
            Action::Delete => conditional!(Delete::builder(), table, parts)
                .set_key(Some(key))
                .build()
                .map(|delete| item.delete(delete).build()),
            Action::Check => conditional!(ConditionCheck::builder(), table, parts)
                .set_key(Some(key))
                .build()
                .map(|check| item.condition_check(check).build()),
        };
        built.map_err(|error| StoreError::new("DynamoDB transaction item", error))
    }
}

impl Storage for DynamoStorage {
    async fn get(&self, table: Table, key: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(self.table(table)?)
            .set_key(Some(key_of(table, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| store_error("DynamoDB GetItem", error))?;
        Ok(output.item.map(item_of))
    }

    async fn get_many(&self, keys: &[ItemKey]) -> Result<Vec<Option<Item>>, StoreError> {
        let mut distinct: Vec<&ItemKey> = Vec::with_capacity(keys.len());
        for key in keys {
            // A batch may not name one key twice.
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        let mut found: HashMap<ItemKey, Item> = HashMap::new();
        for chunk in distinct.chunks(BATCH_GET_KEYS) {
            let mut pending = self.batch_request(chunk)?;
            for attempt in 0.. {
                if pending.is_empty() {
                    break;
                }
                if attempt >= UNPROCESSED_ATTEMPTS {
                    return Err(StoreError::new(
                        "DynamoDB BatchGetItem",
                        "keys left unprocessed: throttled",
                    ));
                }
                if attempt > 0 {
                    back_off(attempt).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(pending))
                    .send()
                    .await
                    .map_err(|error| store_error("DynamoDB BatchGetItem", error))?;
                for (name, items) in output.responses.unwrap_or_default() {
                    let Some(table) = self.tables.table_named(&name) else {
                        continue;
                    };
                    for item in items {
                        let item = item_of(item);
                        let key = crate::storage::text(&item, table.key_attribute()).to_owned();
                        found.insert(ItemKey::new(table, key), item);
                    }
                }
                pending = output.unprocessed_keys.unwrap_or_default();
            }
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    async fn query(&self, query: &Query) -> Result<Found, StoreError> {
        let index = query.index;
        let mut expression = Expression::default();
        let partition = format!(
            "{} = {}",
            expression.name(index.partition_attribute()),
            expression.value(&Value::from(query.partition.as_str()))
        );
        let key_condition = match (&query.sort_prefix, &query.sort_until) {
            (Some(prefix), _) => format!(
                "{partition} AND begins_with({}, {})",
                expression.name(index.sort_attribute()),
                expression.value(&Value::from(prefix.as_str()))
            ),
            (None, Some(last)) => format!(
                "{partition} AND {} <= {}",
                expression.name(index.sort_attribute()),
                expression.value(&Value::from(last.as_str()))
            ),
            (None, None) => partition,
        };
        let (names, values) = expression.into_parts();
        let mut found = Found::default();
        let mut start = query.after.as_ref().map(|after| start_key(query, after));
        loop {
            let page = self
                .client
                .query()
                .table_name(self.table(index.table())?)
                .index_name(index.name())
                .key_condition_expression(&key_condition)
                .set_expression_attribute_names(names.clone())
                .set_expression_attribute_values(values.clone())
                .set_exclusive_start_key(start)
                .scan_index_forward(!query.highest_first)
                .set_limit(
                    query
                        .limit
                        .and_then(|limit| i32::try_from(limit - found.items.len()).ok()),
                )
                .send()
                .await
                .map_err(|error| store_error("DynamoDB Query", error))?;
            found.read += usize::try_from(page.scanned_count).unwrap_or(0);
            found
                .items
                .extend(page.items.unwrap_or_default().into_iter().map(item_of));
            start = page.last_evaluated_key;
            let enough = query.limit.is_some_and(|limit| found.items.len() >= limit);
            if start.is_none() || enough {
                found.next = start.as_ref().and_then(|last| cursor_of(index, last));
                return Ok(found);
            }
        }
    }

    async fn write(&self, writes: WriteSet) -> Result<(), WriteFailure> {
        if writes.len() == 1 {
            let write = writes.into_iter().next().expect("one write");
            self.write_one(write).await
        } else {
            self.transact(writes).await
        }
    }
}

impl DynamoStorage {
    fn batch_request(&self, keys: &[&ItemKey]) -> Result<HashMap<String, KeysAndAttributes>, StoreError> {
        let mut by_table: HashMap<String, Vec<DynamoItem>> = HashMap::new();
        for key in keys {
            by_table
                .entry(self.table(key.table)?.to_owned())
                .or_default()
                .push(key_of(key.table, &key.key));
        }
        by_table
            .into_iter()
            .map(|(table, keys)| {
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map(|request| (table, request))
                    .map_err(|error| StoreError::new("DynamoDB BatchGetItem request", error))
            })
            .collect()
    }
}

/// A single write's failure: its failed condition, with the item as it stood, or an error.
fn failed_single<E, R>(
    operation: &'static str,
    error: aws_sdk_dynamodb::error::SdkError<E, R>,
    condition_failed: impl Fn(&E) -> Option<Option<DynamoItem>>,
) -> WriteFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(existing) = error.as_service_error().and_then(&condition_failed) {
        return WriteFailure::Cancelled(Cancelled {
            reasons: vec![Reason::ConditionFailed(existing.map(item_of))],
        });
    }
    store_error(operation, error).into()
}

/// The typed reasons of a cancelled transaction. A reason that is neither a passed or failed
/// condition nor a collision (throttling, a validation error) says nothing about the data:
/// the set failed, and may be retried.
fn cancellation(reasons: Vec<CancellationReason>) -> Result<(), WriteFailure> {
    let mut typed = Vec::with_capacity(reasons.len());
    for reason in reasons {
        typed.push(match reason.code() {
            None | Some("None") => Reason::Passed,
            Some("ConditionalCheckFailed") => Reason::ConditionFailed(reason.item.map(item_of)),
            Some("TransactionConflict") => Reason::Conflict,
            Some(code) => {
                return Err(StoreError::new(
                    "DynamoDB TransactWriteItems",
                    format!("cancelled: {code} {}", reason.message().unwrap_or_default()),
                )
                .into());
            }
        });
    }
    Err(WriteFailure::Cancelled(Cancelled { reasons: typed }))
}

/// Wraps an SDK error with its whole chain of causes, which the SDK's own `Display` hides.
fn store_error<E: std::error::Error + Send + Sync + 'static>(operation: &'static str, error: E) -> StoreError {
    StoreError::new(operation, DisplayErrorContext(error).to_string())
}

fn key_of(table: Table, key: &str) -> DynamoItem {
    HashMap::from([(table.key_attribute().to_owned(), AttributeValue::S(key.to_owned()))])
}

/// The `ExclusiveStartKey` of the page after `after`: an index's entry is named by the item's
/// key and the index's own keys.
fn start_key(query: &Query, after: &Cursor) -> DynamoItem {
    let index = query.index;
    let mut key = key_of(index.table(), &after.key);
    key.insert(
        index.partition_attribute().to_owned(),
        AttributeValue::S(query.partition.clone()),
    );
    let sort = if index.sorts_by_number() {
        AttributeValue::N(after.sort.clone())
    } else {
        AttributeValue::S(after.sort.clone())
    };
    key.insert(index.sort_attribute().to_owned(), sort);
    key
}

/// The cursor of a `LastEvaluatedKey`.
fn cursor_of(index: Index, last: &DynamoItem) -> Option<Cursor> {
    let text = |name: &str| {
        last.get(name)
            .and_then(|value| value.as_s().or_else(|_| value.as_n()).ok())
            .cloned()
    };
    Some(Cursor {
        sort: text(index.sort_attribute())?,
        key: text(index.table().key_attribute())?,
    })
}

/// Builds the placeholders of one request's expressions: `#n0` for names, `:v0` for values.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn into_parts(self) -> (Names, Values) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }

    fn name(&mut self, attribute: &str) -> String {
        if let Some((placeholder, _)) = self.names.iter().find(|(_, name)| *name == attribute) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attribute.to_owned());
        placeholder
    }

    fn value(&mut self, value: &Value) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), attribute_value(value.clone()));
        placeholder
    }

    fn condition(&mut self, condition: &Condition, table: Table) -> String {
        match condition {
            Condition::ItemExists => format!("attribute_exists({})", self.name(table.key_attribute())),
            Condition::ItemMissing => format!("attribute_not_exists({})", self.name(table.key_attribute())),
            Condition::Has(attribute) => format!("attribute_exists({})", self.name(attribute)),
            Condition::Lacks(attribute) => format!("attribute_not_exists({})", self.name(attribute)),
            Condition::Compare(attribute, cmp, value) => {
                let operator = match cmp {
                    Cmp::Eq => "=",
                    Cmp::Lt => "<",
                    Cmp::Le => "<=",
                    Cmp::Gt => ">",
                    Cmp::Ge => ">=",
                };
                format!("{} {operator} {}", self.name(attribute), self.value(value))
            }
            Condition::All(all) => self.joined(all, " AND ", table),
            Condition::Any(any) => self.joined(any, " OR ", table),
        }
    }

    fn joined(&mut self, conditions: &[Condition], separator: &str, table: Table) -> String {
        if conditions.is_empty() {
            // Nothing to hold (an empty `All`): a condition that always does.
            let key = self.name(table.key_attribute());
            return format!("(attribute_exists({key}) OR attribute_not_exists({key}))");
        }
        let parts: Vec<String> = conditions
            .iter()
            .map(|condition| format!("({})", self.condition(condition, table)))
            .collect();
        parts.join(separator)
    }

    fn operand(&mut self, operand: &Operand) -> String {
        match operand {
            Operand::Value(value) => self.value(value),
            Operand::Attribute(attribute) => self.name(attribute),
            Operand::AttributeOr(attribute, default) => {
                format!("if_not_exists({}, {})", self.name(attribute), self.value(default))
            }
        }
    }

    fn update(&mut self, changes: &[Change]) -> String {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        for change in changes {
            match change {
                Change::Set(attribute, operand) => {
                    let value = self.operand(operand);
                    set.push(format!("{} = {value}", self.name(attribute)));
                }
                Change::Add(attribute, left, right) => {
                    let (left, right) = (self.operand(left), self.operand(right));
                    set.push(format!("{} = {left} + {right}", self.name(attribute)));
                }
                Change::Subtract(attribute, left, right) => {
                    let (left, right) = (self.operand(left), self.operand(right));
                    set.push(format!("{} = {left} - {right}", self.name(attribute)));
                }
                Change::Remove(attribute) => remove.push(self.name(attribute)),
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression = format!("SET {}", set.join(", "));
        }
        if !remove.is_empty() {
            expression = format!("{expression} REMOVE {}", remove.join(", ")).trim().to_owned();
        }
        expression
    }
}

/// A JSON value as DynamoDB stores it: numbers as `N`, text as `S`, objects as `M`.
pub fn attribute_value(value: Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(flag) => AttributeValue::Bool(flag),
        Value::Number(number) => AttributeValue::N(number.to_string()),
        Value::String(text) => AttributeValue::S(text),
        Value::Array(values) => AttributeValue::L(values.into_iter().map(attribute_value).collect()),
        Value::Object(map) => AttributeValue::M(dynamo_item(map)),
    }
}

/// A DynamoDB value as JSON; sets become lists, binary becomes base64 text.
pub fn json_value(value: AttributeValue) -> Value {
    match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(flag) => Value::Bool(flag),
        AttributeValue::N(number) => number_value(&number),
        AttributeValue::S(text) => Value::String(text),
        AttributeValue::L(values) => Value::Array(values.into_iter().map(json_value).collect()),
        AttributeValue::M(map) => Value::Object(item_of(map)),
        AttributeValue::Ss(texts) => Value::Array(texts.into_iter().map(Value::String).collect()),
        AttributeValue::Ns(numbers) => Value::Array(numbers.iter().map(|n| number_value(n)).collect()),
        AttributeValue::B(blob) => Value::String(base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            blob.as_ref(),
        )),
        _ => Value::Null,
    }
}

fn number_value(number: &str) -> Value {
    if let Ok(whole) = number.parse::<i64>() {
        return Value::from(whole);
    }
    if let Ok(whole) = number.parse::<u64>() {
        return Value::from(whole);
    }
    number
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map_or_else(|| Value::String(number.to_owned()), Value::Number)
}

pub fn dynamo_item(item: Item) -> DynamoItem {
    item.into_iter()
        .map(|(name, value)| (name, attribute_value(value)))
        .collect()
}

pub fn item_of(item: DynamoItem) -> Item {
    item.into_iter()
        .map(|(name, value)| (name, json_value(value)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_round_trip_through_dynamodb_types() {
        let value = json!({"n": 42, "neg": -7, "s": "text", "b": true, "none": null, "l": [1, "two"], "m": {"x": 1}});
        let Value::Object(item) = value.clone() else {
            unreachable!()
        };
        assert_eq!(Value::Object(item_of(dynamo_item(item))), value);
        assert_eq!(attribute_value(json!(19)), AttributeValue::N("19".into()));
    }

    #[test]
    fn expressions_name_every_attribute_and_value_by_placeholder() {
        let mut expression = Expression::default();
        let condition = expression.condition(
            &Condition::at_least("available", 2).and(Condition::unchanged("alert_level", "low")),
            Table::Inventory,
        );
        assert_eq!(
            condition,
            "(#n0 >= :v0) AND ((attribute_not_exists(#n1)) OR (#n1 = :v1))"
        );
        let update = expression.update(&[
            Change::Add(
                "available".into(),
                Operand::Attribute("available".into()),
                Operand::Value(json!(-2)),
            ),
            Change::Set("sold".into(), Operand::AttributeOr("sold".into(), json!(0))),
            Change::Remove("watch".into()),
        ]);
        assert_eq!(update, "SET #n0 = #n0 + :v2, #n2 = if_not_exists(#n2, :v3) REMOVE #n3");
        let missing = expression.condition(&Condition::ItemMissing, Table::Orders);
        assert_eq!(missing, "attribute_not_exists(#n4)");
        assert_eq!(expression.names["#n4"], "order_id");
    }
}
