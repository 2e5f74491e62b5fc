//! Creates, in the local AWS, every table, index, queue (with its redrive policy), SNS topic and
//! subscription (with its filter policy) and the SES identity that the template declares, and
//! resolves the template's references to them. Alarms and queue policies have no local effect
//! (moto does not enforce IAM) and are left to the template checks.
//!
//! Local physical names are the logical ids (`IdempotencyTable`, `EmailQueue`), which keeps
//! `cargo xtask dlq` and the logs readable.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, Projection, StreamSpecification,
    TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Deserialize;
use serde_norway::Value;

use crate::local_aws::{ACCOUNT_ID, REGION, STACK_NAME};
use crate::template::{Intrinsic, Template, intrinsic, scalar_text, sub_references};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("template: {0}")]
    Template(String),
    #[error("{operation}: {message}")]
    Aws { operation: String, message: String },
}

fn aws_error(operation: impl Into<String>, error: impl std::error::Error) -> ProvisionError {
    ProvisionError::Aws {
        operation: operation.into(),
        message: aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string(),
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct QueueInfo {
    pub url: String,
    pub arn: String,
    /// The queue whose dead letters this queue receives, if it is a dead-letter queue.
    pub dead_letters_of: Option<String>,
    /// The function the template triggers from this queue; `None` for a dead-letter queue
    /// and for a queue kept for a consumer outside the back office (the payouts).
    #[serde(default)]
    pub consumed_by: Option<String>,
}

/// What provisioning created, and how the template's references resolve to it.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub tables: BTreeMap<String, String>,
    /// Stream ARNs of the tables that have one, by the table's logical id.
    pub streams: BTreeMap<String, String>,
    pub queues: BTreeMap<String, QueueInfo>,
    /// SNS topic ARNs by logical id.
    pub topics: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    /// SES configuration set names by logical id.
    pub configuration_sets: BTreeMap<String, String>,
    /// S3 bucket names by logical id.
    pub buckets: BTreeMap<String, String>,
    /// The value of every Secrets Manager secret the template names by a `…SecretId`
    /// parameter (the webhook signing secret), new for every stack.
    pub local_secret: String,
}

pub async fn provision(
    template: &Template,
    config: &aws_config::SdkConfig,
    local_secret: String,
) -> Result<Provisioned, ProvisionError> {
    let mut provisioned = Provisioned {
        local_secret,
        ..Provisioned::default()
    };
    provisioned.parameters = template
        .parameters()
        .into_iter()
        .filter_map(|(name, default)| Some((name, default?)))
        .collect();
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    for table in template.resources_of_kind("AWS::DynamoDB::Table") {
        if let Some(stream) = create_table(&dynamodb, table.logical_id, table.properties).await? {
            provisioned.streams.insert(table.logical_id.to_owned(), stream);
        }
        provisioned
            .tables
            .insert(table.logical_id.to_owned(), table.logical_id.to_owned());
    }
    create_queues(template, config, &mut provisioned).await?;
    create_topics(template, config, &mut provisioned).await?;
    create_email_identity(template, config, &mut provisioned).await?;
    create_buckets(template, config, &mut provisioned).await?;
    create_secrets(config, &provisioned).await?;
    Ok(provisioned)
}

/// The secrets the template's `…SecretId` parameters name, each holding the local secret.
async fn create_secrets(config: &aws_config::SdkConfig, provisioned: &Provisioned) -> Result<(), ProvisionError> {
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    for (parameter, name) in &provisioned.parameters {
        if !parameter.ends_with("SecretId") {
            continue;
        }
        secrets
            .create_secret()
            .name(name)
            .secret_string(&provisioned.local_secret)
            .send()
            .await
            .map_err(|error| aws_error(format!("Secrets Manager CreateSecret {name}"), error))?;
    }
    Ok(())
}

/// The buckets, named after their logical ids (CloudFormation would generate the names).
async fn create_buckets(
    template: &Template,
    config: &aws_config::SdkConfig,
    provisioned: &mut Provisioned,
) -> Result<(), ProvisionError> {
    let s3 = s3_client(config);
    for bucket in template.resources_of_kind("AWS::S3::Bucket") {
        let name = format!("{}-local", bucket.logical_id.to_lowercase());
        s3.create_bucket()
            .bucket(&name)
            .send()
            .await
            .map_err(|error| aws_error(format!("S3 CreateBucket {name}"), error))?;
        provisioned.buckets.insert(bucket.logical_id.to_owned(), name);
    }
    Ok(())
}

/// S3 addressed by path (`endpoint/bucket/key`), as the local AWS answers it.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// The queues, dead-letter queues first (the queues that redrive into them name their ARNs),
/// each dead-letter queue knowing what it holds the failures of.
async fn create_queues(
    template: &Template,
    config: &aws_config::SdkConfig,
    provisioned: &mut Provisioned,
) -> Result<(), ProvisionError> {
    let sqs = aws_sdk_sqs::Client::new(config);
    let mut queues: Vec<_> = template.resources_of_kind("AWS::SQS::Queue").collect();
    queues.sort_by_key(|queue| queue.properties.get("RedrivePolicy").is_some());
    for queue in queues {
        let (info, dead_letter_queue) = create_queue(&sqs, queue.logical_id, queue.properties, provisioned).await?;
        provisioned.queues.insert(queue.logical_id.to_owned(), info);
        if let Some(dlq) = dead_letter_queue.and_then(|dlq| provisioned.queues.get_mut(&dlq)) {
            dlq.dead_letters_of = Some(queue.logical_id.to_owned());
        }
    }
    // A stream trigger's on-failure queue is the dead-letter queue of that table's stream.
    for function in template
        .functions()
        .map_err(|error| ProvisionError::Template(error.to_string()))?
    {
        for trigger in function.streams {
            if let Some(queue) = trigger.on_failure.and_then(|queue| provisioned.queues.get_mut(&queue)) {
                queue.dead_letters_of = Some(trigger.table.clone());
            }
        }
    }
    Ok(())
}

async fn create_topics(
    template: &Template,
    config: &aws_config::SdkConfig,
    provisioned: &mut Provisioned,
) -> Result<(), ProvisionError> {
    let sns = aws_sdk_sns::Client::new(config);
    for topic in template.resources_of_kind("AWS::SNS::Topic") {
        let arn = sns
            .create_topic()
            .name(topic.logical_id)
            .send()
            .await
            .map_err(|error| aws_error(format!("SNS CreateTopic {}", topic.logical_id), error))?
            .topic_arn
            .unwrap_or_default();
        provisioned.topics.insert(topic.logical_id.to_owned(), arn);
    }
    for subscription in template.resources_of_kind("AWS::SNS::Subscription") {
        subscribe(&sns, subscription.logical_id, subscription.properties, provisioned).await?;
    }
    Ok(())
}

/// The sender identity, verified, the configuration sets and their SNS event destinations
/// (moto publishes no events; the local AWS publishes their `Send` events, see
/// `local_aws.py`).
async fn create_email_identity(
    template: &Template,
    config: &aws_config::SdkConfig,
    provisioned: &mut Provisioned,
) -> Result<(), ProvisionError> {
    let ses = aws_sdk_sesv2::Client::new(config);
    if let Some(identity) = provisioned.parameters.get("SenderIdentity") {
        ses.create_email_identity()
            .email_identity(identity)
            .send()
            .await
            .map_err(|error| aws_error("SES CreateEmailIdentity", error))?;
    }
    for set in template.resources_of_kind("AWS::SES::ConfigurationSet") {
        let name = match set.properties.get("Name") {
            Some(name) => provisioned.resolve(name)?,
            None => set.logical_id.to_owned(),
        };
        ses.create_configuration_set()
            .configuration_set_name(&name)
            .send()
            .await
            .map_err(|error| aws_error(format!("SES CreateConfigurationSet {name}"), error))?;
        provisioned.configuration_sets.insert(set.logical_id.to_owned(), name);
    }
    for destination in template.resources_of_kind("AWS::SES::ConfigurationSetEventDestination") {
        create_event_destination(&ses, destination.logical_id, destination.properties, provisioned).await?;
    }
    Ok(())
}

/// An SNS event destination as the template declares it (CloudFormation names the event
/// types in lower case, the SES v2 API in upper).
async fn create_event_destination(
    ses: &aws_sdk_sesv2::Client,
    logical_id: &str,
    properties: &Value,
    provisioned: &Provisioned,
) -> Result<(), ProvisionError> {
    use aws_sdk_sesv2::types::{EventDestinationDefinition, EventType, SnsDestination};
    let missing = |what: &str| ProvisionError::Template(format!("{logical_id}: no {what}"));
    let set = provisioned.resolve(
        properties
            .get("ConfigurationSetName")
            .ok_or_else(|| missing("ConfigurationSetName"))?,
    )?;
    let destination = properties
        .get("EventDestination")
        .ok_or_else(|| missing("EventDestination"))?;
    let name = destination.get("Name").and_then(Value::as_str).unwrap_or(logical_id);
    let topic = destination
        .get("SnsDestination")
        .and_then(|sns| sns.get("TopicARN"))
        .ok_or_else(|| missing("SnsDestination.TopicARN"))?;
    let types = destination
        .get("MatchingEventTypes")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|kind| EventType::from(kind.to_uppercase().as_str()))
        .collect();
    let definition = EventDestinationDefinition::builder()
        .enabled(destination.get("Enabled").and_then(Value::as_bool).unwrap_or(false))
        .set_matching_event_types(Some(types))
        .sns_destination(
            SnsDestination::builder()
                .topic_arn(provisioned.resolve(topic)?)
                .build()
                .map_err(|error| ProvisionError::Template(format!("{logical_id}: {error}")))?,
        )
        .build();
    ses.create_configuration_set_event_destination()
        .configuration_set_name(&set)
        .event_destination_name(name)
        .event_destination(definition)
        .send()
        .await
        .map_err(|error| aws_error(format!("SES CreateConfigurationSetEventDestination {name}"), error))?;
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    attribute_definitions: Vec<AttributeSpec>,
    key_schema: Vec<KeySpec>,
    #[serde(default)]
    global_secondary_indexes: Vec<IndexSpec>,
    time_to_live_specification: Option<TtlSpec>,
    stream_specification: Option<StreamSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpec {
    stream_view_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeSpec {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySpec {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexSpec {
    index_name: String,
    key_schema: Vec<KeySpec>,
    projection: ProjectionSpec,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionSpec {
    projection_type: String,
    #[serde(default)]
    non_key_attributes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TtlSpec {
    attribute_name: String,
    enabled: bool,
}

fn key_schema(keys: &[KeySpec]) -> Result<Vec<KeySchemaElement>, ProvisionError> {
    keys.iter()
        .map(|key| {
            KeySchemaElement::builder()
                .attribute_name(&key.attribute_name)
                .key_type(key.key_type.as_str().into())
                .build()
                .map_err(|error| ProvisionError::Template(error.to_string()))
        })
        .collect()
}

/// Creates the table as the template says; its stream's ARN if it has one.
async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    properties: &Value,
) -> Result<Option<String>, ProvisionError> {
    let spec: TableProperties = serde_norway::from_value(properties.clone())
        .map_err(|error| ProvisionError::Template(format!("{name}: {error}")))?;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&spec.key_schema)?));
    for attribute in &spec.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&attribute.attribute_name)
                .attribute_type(attribute.attribute_type.as_str().into())
                .build()
                .map_err(|error| ProvisionError::Template(error.to_string()))?,
        );
    }
    for index in &spec.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(index.projection.projection_type.as_str().into())
            .set_non_key_attributes(
                (!index.projection.non_key_attributes.is_empty()).then(|| index.projection.non_key_attributes.clone()),
            )
            .build();
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(key_schema(&index.key_schema)?))
                .projection(projection)
                .build()
                .map_err(|error| ProvisionError::Template(error.to_string()))?,
        );
    }
    if let Some(stream) = &spec.stream_specification {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(stream.stream_view_type.as_str().into())
                .build()
                .map_err(|error| ProvisionError::Template(error.to_string()))?,
        );
    }
    let created = request
        .send()
        .await
        .map_err(|error| aws_error(format!("DynamoDB CreateTable {name}"), error))?;
    let stream_arn = created
        .table_description
        .and_then(|description| description.latest_stream_arn);
    if let Some(ttl) = spec.time_to_live_specification {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl.attribute_name)
                    .enabled(ttl.enabled)
                    .build()
                    .map_err(|error| ProvisionError::Template(error.to_string()))?,
            )
            .send()
            .await
            .map_err(|error| aws_error(format!("DynamoDB UpdateTimeToLive {name}"), error))?;
    }
    Ok(stream_arn)
}

/// Subscribes as the template says, filter policy and raw delivery included, so that messages
/// reach the same queues locally as in the cloud.
pub async fn subscribe(
    client: &aws_sdk_sns::Client,
    name: &str,
    properties: &Value,
    provisioned: &Provisioned,
) -> Result<(), ProvisionError> {
    let mut request = client
        .subscribe()
        .topic_arn(provisioned.resolve(&properties["TopicArn"])?)
        .protocol(provisioned.resolve(&properties["Protocol"])?)
        .endpoint(provisioned.resolve(&properties["Endpoint"])?)
        .return_subscription_arn(true);
    if let Some(raw) = properties.get("RawMessageDelivery").and_then(scalar_text) {
        request = request.attributes("RawMessageDelivery", raw);
    }
    if let Some(policy) = properties.get("FilterPolicy") {
        let policy: serde_json::Value = serde_norway::from_value(policy.clone())
            .map_err(|error| ProvisionError::Template(format!("{name}.FilterPolicy: {error}")))?;
        request = request.attributes("FilterPolicy", policy.to_string());
    }
    request
        .send()
        .await
        .map_err(|error| aws_error(format!("SNS Subscribe {name}"), error))?;
    Ok(())
}

/// Creates the queue; returns it and the logical id of its dead-letter queue, if any.
async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    properties: &Value,
    provisioned: &Provisioned,
) -> Result<(QueueInfo, Option<String>), ProvisionError> {
    // As CloudFormation names a FIFO queue: its name must end in `.fifo`.
    let fifo = properties.get("FifoQueue").and_then(scalar_text).as_deref() == Some("true");
    let queue_name = if fifo { format!("{name}.fifo") } else { name.to_owned() };
    let mut request = client.create_queue().queue_name(&queue_name);
    for (property, attribute) in [
        ("FifoQueue", QueueAttributeName::FifoQueue),
        (
            "ContentBasedDeduplication",
            QueueAttributeName::ContentBasedDeduplication,
        ),
        ("VisibilityTimeout", QueueAttributeName::VisibilityTimeout),
        ("MessageRetentionPeriod", QueueAttributeName::MessageRetentionPeriod),
        ("DelaySeconds", QueueAttributeName::DelaySeconds),
        (
            "ReceiveMessageWaitTimeSeconds",
            QueueAttributeName::ReceiveMessageWaitTimeSeconds,
        ),
    ] {
        if let Some(value) = properties.get(property).and_then(scalar_text) {
            request = request.attributes(attribute, value);
        }
    }
    let mut dead_letter_queue = None;
    if let Some(redrive) = properties.get("RedrivePolicy") {
        let target = &redrive["deadLetterTargetArn"];
        let Some(Intrinsic::GetAtt(dlq, _)) = intrinsic(target) else {
            return Err(ProvisionError::Template(format!(
                "{name}: deadLetterTargetArn must be !GetAtt <Queue>.Arn"
            )));
        };
        let arn = provisioned.resolve(target)?;
        let max_receive_count = scalar_text(&redrive["maxReceiveCount"]).unwrap_or_else(|| "5".to_owned());
        let policy = serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max_receive_count});
        request = request.attributes(QueueAttributeName::RedrivePolicy, policy.to_string());
        dead_letter_queue = Some(dlq);
    }
    let url = request
        .send()
        .await
        .map_err(|error| aws_error(format!("SQS CreateQueue {name}"), error))?
        .queue_url
        .unwrap_or_default();
    let info = QueueInfo {
        url,
        arn: format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue_name}"),
        dead_letters_of: None,
        consumed_by: None,
    };
    Ok((info, dead_letter_queue))
}

impl Provisioned {
    /// The variables the template gives a function, resolved here (table names, queue ARNs,
    /// the local signing secret).
    pub fn environment_of(
        &self,
        spec: &crate::template::FunctionSpec,
    ) -> Result<std::collections::BTreeMap<String, String>, ProvisionError> {
        spec.environment
            .iter()
            .map(|(name, value)| Ok((name.clone(), self.resolve(value)?)))
            .collect()
    }

    /// The text a template value stands for here: scalars as written, intrinsics resolved.
    pub fn resolve(&self, value: &Value) -> Result<String, ProvisionError> {
        Ok(match intrinsic(value) {
            Some(Intrinsic::Ref(name)) => self.reference(name)?,
            Some(Intrinsic::GetAtt(resource, attribute)) => self.attribute(&resource, &attribute)?,
            Some(Intrinsic::Sub(text)) => self.substitute(text)?,
            None => scalar_text(value)
                .ok_or_else(|| ProvisionError::Template(format!("cannot resolve {value:?} locally")))?,
        })
    }

    fn reference(&self, name: &str) -> Result<String, ProvisionError> {
        let pseudo = match name {
            "AWS::Region" => Some(REGION.to_owned()),
            "AWS::AccountId" => Some(ACCOUNT_ID.to_owned()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::StackName" => Some(STACK_NAME.to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => None,
        };
        pseudo
            .or_else(|| self.tables.get(name).cloned())
            .or_else(|| self.queues.get(name).map(|queue| queue.url.clone()))
            .or_else(|| self.topics.get(name).cloned())
            .or_else(|| self.parameters.get(name).cloned())
            .or_else(|| self.configuration_sets.get(name).cloned())
            .or_else(|| self.buckets.get(name).cloned())
            .ok_or_else(|| ProvisionError::Template(format!("!Ref {name} does not resolve locally")))
    }

    fn attribute(&self, resource: &str, attribute: &str) -> Result<String, ProvisionError> {
        let found = match (self.tables.get(resource), self.queues.get(resource), attribute) {
            (Some(table), _, "Arn") => Some(format!("arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}")),
            (Some(_), _, "StreamArn") => self.streams.get(resource).cloned(),
            (_, Some(queue), "Arn") => Some(queue.arn.clone()),
            (_, Some(queue), "QueueUrl") => Some(queue.url.clone()),
            (_, Some(queue), "QueueName") => queue.arn.rsplit(':').next().map(str::to_owned),
            (_, _, "TopicArn") => self.topics.get(resource).cloned(),
            (_, _, "TopicName") => self.topics.get(resource).map(|_| resource.to_owned()),
            (_, _, "Arn") if self.buckets.contains_key(resource) => {
                self.buckets.get(resource).map(|name| format!("arn:aws:s3:::{name}"))
            }
            _ => None,
        };
        found
            .ok_or_else(|| ProvisionError::Template(format!("!GetAtt {resource}.{attribute} does not resolve locally")))
    }

    fn substitute(&self, text: &str) -> Result<String, ProvisionError> {
        let mut result = text.to_owned();
        for reference in sub_references(text) {
            let value = match reference.split_once('.') {
                Some((resource, attribute)) => self.attribute(resource, attribute)?,
                None => self.reference(reference)?,
            };
            result = result.replace(&format!("${{{reference}}}"), &value);
        }
        Ok(result.replace("${!", "${"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provisioned() -> Provisioned {
        let mut provisioned = Provisioned {
            local_secret: "local-secret".into(),
            ..Default::default()
        };
        provisioned.tables.insert("OrdersTable".into(), "OrdersTable".into());
        provisioned.queues.insert(
            "EmailQueue".into(),
            QueueInfo {
                url: "http://aws/123/EmailQueue".into(),
                arn: "arn:aws:sqs:us-east-1:123:EmailQueue".into(),
                dead_letters_of: None,
                consumed_by: Some("buyer-messaging".into()),
            },
        );
        provisioned
            .parameters
            .insert("WebhookSecretId".into(), "marketplace/secret".into());
        provisioned
    }

    fn resolve(yaml: &str) -> Result<String, ProvisionError> {
        provisioned().resolve(&serde_norway::from_str::<Value>(yaml).unwrap())
    }

    #[test]
    fn references_resolve_to_local_resources() {
        assert_eq!(resolve("!Ref OrdersTable").unwrap(), "OrdersTable");
        assert_eq!(resolve("!Ref EmailQueue").unwrap(), "http://aws/123/EmailQueue");
        assert_eq!(
            resolve("!GetAtt EmailQueue.Arn").unwrap(),
            "arn:aws:sqs:us-east-1:123:EmailQueue"
        );
        assert_eq!(
            resolve("!Sub 'arn:${AWS::Partition}:dynamodb:${AWS::Region}'").unwrap(),
            "arn:aws:dynamodb:us-east-1"
        );
        assert!(resolve("!Ref Missing").is_err());
    }
}
