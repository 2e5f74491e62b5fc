//! What invoked a function. A function with several triggers (a Function URL, an SQS queue,
//! a DynamoDB stream, a schedule) receives them all on one handler; this tells them apart by
//! shape, once.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

use crate::mechanisms::outbox::StreamBatch;

#[derive(Debug)]
pub enum Trigger {
    Webhook(Box<LambdaFunctionUrlRequest>),
    Queue(SqsEvent),
    Stream(StreamBatch),
    Schedule(Box<EventBridgeEvent>),
}

#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("the invocation is not a Function URL request, an SQS batch, a stream batch or a scheduled event")]
    Unrecognised,
    #[error("{kind} from {source_arn}, which is not one of this function's event sources")]
    UnknownSource { kind: &'static str, source_arn: String },
    #[error("the {kind} invocation is malformed: {source}")]
    Malformed {
        kind: &'static str,
        source: serde_json::Error,
    },
}

impl Trigger {
    /// What the trigger is, in words for an error message.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Webhook(_) => "a Function URL request",
            Trigger::Queue(_) => "an SQS batch",
            Trigger::Stream(_) => "a DynamoDB stream batch",
            Trigger::Schedule(_) => "a scheduled event",
        }
    }

    pub fn from_payload(payload: Value) -> Result<Self, TriggerError> {
        let records_from = |source: &str| {
            payload["Records"]
                .as_array()
                .is_some_and(|records| records.iter().all(|record| record["eventSource"] == source))
        };
        if records_from("aws:sqs") {
            return parse(payload, "SQS").map(Trigger::Queue);
        }
        if records_from("aws:dynamodb") {
            return parse(payload, "DynamoDB stream").map(Trigger::Stream);
        }
        if payload["detail-type"] == "Scheduled Event" {
            return parse(payload, "scheduled").map(|event| Trigger::Schedule(Box::new(event)));
        }
        if payload["requestContext"]["http"].is_object() {
            return parse(payload, "Function URL").map(|event| Trigger::Webhook(Box::new(event)));
        }
        Err(TriggerError::Unrecognised)
    }
}

/// The queues, streams and schedule rules a function's template wires to it
/// (`EVENT_SOURCE_ARNS`). Anyone allowed to invoke the function could hand it a payload shaped
/// like an SQS batch or a stream batch, which carries no signature: one whose records (or
/// rule) come from anywhere else is refused before the handler reads it. Function URL
/// requests need no such check: their body is signed, and the URL wraps whatever is posted
/// to it in the request's own shape.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSources {
    arns: std::collections::BTreeSet<String>,
}

impl EventSources {
    pub const VARIABLE: &'static str = "EVENT_SOURCE_ARNS";

    /// The comma-separated ARNs of `EVENT_SOURCE_ARNS`.
    pub fn parse(list: &str) -> Self {
        Self {
            arns: list
                .split(',')
                .map(str::trim)
                .filter(|arn| !arn.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether every source `payload` names is one of ours; `Err` names the first that is not.
    pub fn admit(&self, payload: &Value) -> Result<(), TriggerError> {
        let (kind, named): (&'static str, Vec<&Value>) = if let Some(records) = payload["Records"].as_array() {
            let kind = match records.first().map(|record| &record["eventSource"]) {
                Some(source) if source == "aws:sqs" => "an SQS batch",
                Some(source) if source == "aws:dynamodb" => "a DynamoDB stream batch",
                _ => return Ok(()),
            };
            (kind, records.iter().map(|record| &record["eventSourceARN"]).collect())
        } else if payload["detail-type"] == "Scheduled Event" {
            let rules = payload["resources"].as_array().map(|rules| rules.iter().collect());
            ("a scheduled event", rules.unwrap_or_default())
        } else {
            return Ok(());
        };
        if named.is_empty() {
            return Err(TriggerError::UnknownSource {
                kind,
                source_arn: "nowhere".to_owned(),
            });
        }
        match named
            .into_iter()
            .find(|arn| !arn.as_str().is_some_and(|arn| self.arns.contains(arn)))
        {
            None => Ok(()),
            Some(arn) => Err(TriggerError::UnknownSource {
                kind,
                source_arn: arn.as_str().unwrap_or("an unnamed source").to_owned(),
            }),
        }
    }
}

/// Why an invocation as a whole failed, as opposed to one message of a batch, which the batch
/// loop reports on its own.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Trigger(#[from] TriggerError),
    #[error("{0} is not a trigger of this function")]
    NotATrigger(&'static str),
    #[error("the answer cannot be serialised: {0}")]
    Answer(#[from] serde_json::Error),
    /// Part of the work failed and the whole invocation should be retried (a sweep).
    #[error("{0}")]
    Incomplete(String),
}

/// What Lambda records as the invocation's `errorType` and `errorMessage`.
impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        let error_type = match &error {
            InvocationError::Trigger(TriggerError::Unrecognised) => "UnrecognisedTrigger",
            InvocationError::Trigger(TriggerError::UnknownSource { .. }) => "UnknownEventSource",
            InvocationError::Trigger(TriggerError::Malformed { .. }) => "MalformedTrigger",
            InvocationError::NotATrigger(_) => "UnexpectedTrigger",
            InvocationError::Answer(_) => "UnserialisableAnswer",
            InvocationError::Incomplete(_) => "Incomplete",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(payload: Value, kind: &'static str) -> Result<T, TriggerError> {
    serde_json::from_value(payload).map_err(|source| TriggerError::Malformed { kind, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_trigger_is_recognised_by_its_shape() {
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "messageId": "m1", "body": "{}"}]});
        assert!(matches!(Trigger::from_payload(sqs), Ok(Trigger::Queue(batch)) if batch.records.len() == 1));
        let stream = json!({"Records": [{"eventSource": "aws:dynamodb", "eventName": "REMOVE", "dynamodb": {"SequenceNumber": "1"}}]});
        assert!(matches!(Trigger::from_payload(stream), Ok(Trigger::Stream(batch)) if batch.records.len() == 1));
        let schedule = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
        assert!(matches!(Trigger::from_payload(schedule), Ok(Trigger::Schedule(_))));
        let url = json!({"requestContext": {"http": {"method": "POST"}, "timeEpoch": 0}, "isBase64Encoded": false});
        assert!(matches!(Trigger::from_payload(url), Ok(Trigger::Webhook(_))));
        assert!(matches!(
            Trigger::from_payload(json!({"hello": 1})),
            Err(TriggerError::Unrecognised)
        ));
    }

    #[test]
    fn only_the_functions_own_queues_streams_and_rules_are_admitted() {
        let queue = "arn:aws:sqs:eu-west-1:111122223333:stack-StockChangeQueue";
        let rule = "arn:aws:events:eu-west-1:111122223333:rule/stack-HourlySweep";
        let sources = EventSources::parse(&format!("{queue}, {rule}"));
        let sqs = |arns: &[&str]| {
            let records: Vec<Value> = arns
                .iter()
                .map(|arn| json!({"eventSource": "aws:sqs", "eventSourceARN": arn, "messageId": "m", "body": "{}"}))
                .collect();
            json!({ "Records": records })
        };
        let schedule =
            |rules: Value| json!({"detail-type": "Scheduled Event", "source": "aws.events", "resources": rules});
        assert!(sources.admit(&sqs(&[queue, queue])).is_ok());
        assert!(sources.admit(&schedule(json!([rule]))).is_ok());
        let webhook = json!({"requestContext": {"http": {"method": "POST"}}, "body": "{}"});
        assert!(
            sources.admit(&webhook).is_ok(),
            "a URL request is checked by its signature"
        );

        let foreign = "arn:aws:sqs:eu-west-1:444455556666:attacker";
        for (refused, named) in [
            (sqs(&[queue, foreign]), foreign),
            (
                schedule(json!(["arn:aws:events:eu-west-1:111122223333:rule/other"])),
                "arn:aws:events:eu-west-1:111122223333:rule/other",
            ),
            (schedule(json!([])), "nowhere"),
            (
                json!({"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {}}]}),
                "an unnamed source",
            ),
        ] {
            match sources.admit(&refused) {
                Err(TriggerError::UnknownSource { source_arn, .. }) => assert_eq!(source_arn, named),
                other => panic!("{refused}: {other:?}"),
            }
        }
        assert!(
            EventSources::parse("").admit(&sqs(&[queue])).is_err(),
            "none configured, none admitted"
        );
    }
}
