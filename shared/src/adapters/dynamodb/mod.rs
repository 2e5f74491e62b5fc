//! DynamoDB behind the domain's [`crate::storage::Storage`].

mod storage;

pub use storage::{DynamoStorage, attribute_value, dynamo_item, item_of, json_value};
