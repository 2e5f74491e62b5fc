//! What invoked a function. A function with several triggers (a Function URL, an SQS queue,
//! a DynamoDB stream, a schedule) receives them all on one handler; this tells them apart by
//! shape, once.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlRequest;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Duration, Utc};
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
    #[error("a scheduled event stamped {time}, not within {MAX_SCHEDULE_AGE_HOURS} hours before {now}")]
    OutOfTime { time: String, now: String },
    #[error("the {kind} invocation is malformed: {}", crate::values::pii::Unquoted(source))]
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
        match Shape::of(&payload) {
            Shape::Queue => parse(payload, "SQS").map(Trigger::Queue),
            Shape::Stream => parse(payload, "DynamoDB stream").map(Trigger::Stream),
            Shape::Schedule => parse(payload, "scheduled").map(|event| Trigger::Schedule(Box::new(event))),
            Shape::Webhook => parse(payload, "Function URL").map(|event| Trigger::Webhook(Box::new(event))),
            Shape::Unknown => Err(TriggerError::Unrecognised),
        }
    }
}

/// How an invocation is told apart, decided once for both the admission and the parse: an
/// admission that read the shape differently from the parse (records of an unknown source
/// beside a `detail-type`) let a payload through unchecked as a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Queue,
    Stream,
    Schedule,
    Webhook,
    Unknown,
}

impl Shape {
    fn of(payload: &Value) -> Self {
        if let Some(records) = payload["Records"].as_array() {
            let all_from =
                |source: &str| !records.is_empty() && records.iter().all(|record| record["eventSource"] == source);
            return if all_from("aws:sqs") {
                Shape::Queue
            } else if all_from("aws:dynamodb") {
                Shape::Stream
            } else {
                Shape::Unknown
            };
        }
        if payload["detail-type"] == "Scheduled Event" {
            return Shape::Schedule;
        }
        if payload["requestContext"]["http"].is_object() {
            return Shape::Webhook;
        }
        Shape::Unknown
    }
}

/// How late a schedule's firing may arrive: Lambda retries an asynchronous invocation for up
/// to six hours.
pub const MAX_SCHEDULE_AGE_HOURS: i64 = 6;

/// The moment a scheduled run is for: the time EventBridge stamped, so that a retried firing
/// repeats its own run. A stamp from the future, or older than any retry, is refused: whoever
/// may invoke the function must not choose which week it reports.
pub fn schedule_clock(event: &EventBridgeEvent, now: DateTime<Utc>) -> Result<DateTime<Utc>, TriggerError> {
    let Some(time) = event.time else {
        return Ok(now);
    };
    let skew = Duration::minutes(5);
    if time > now + skew || time < now - Duration::hours(MAX_SCHEDULE_AGE_HOURS) {
        return Err(TriggerError::OutOfTime {
            time: time.to_rfc3339(),
            now: now.to_rfc3339(),
        });
    }
    Ok(time)
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
        let records = || -> Vec<&Value> {
            payload["Records"]
                .as_array()
                .map(|records| records.iter().map(|record| &record["eventSourceARN"]).collect())
                .unwrap_or_default()
        };
        let (kind, named): (&'static str, Vec<&Value>) = match Shape::of(payload) {
            Shape::Queue => ("an SQS batch", records()),
            Shape::Stream => ("a DynamoDB stream batch", records()),
            Shape::Schedule => {
                let rules = payload["resources"].as_array().map(|rules| rules.iter().collect());
                ("a scheduled event", rules.unwrap_or_default())
            }
            // Signed in its body; and an unknown shape is refused by the parse.
            Shape::Webhook | Shape::Unknown => return Ok(()),
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
            InvocationError::Trigger(TriggerError::OutOfTime { .. }) => "ScheduleOutOfTime",
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

    #[test]
    fn records_of_an_unknown_source_are_not_a_schedule() {
        let rule = "arn:aws:events:eu-west-1:111122223333:rule/stack-HourlySweep";
        let sources = EventSources::parse(rule);
        // Before, admission let this through (the first record's source was neither SQS nor
        // a stream) and the parse read it as a schedule, its rule never checked.
        let forged = json!({
            "Records": [{"eventSource": "aws:s3"}],
            "detail-type": "Scheduled Event", "source": "aws.events", "detail": {},
            "time": "2026-11-30T08:00:00Z"
        });
        let admitted = sources.admit(&forged).is_ok();
        let parsed = Trigger::from_payload(forged);
        assert!(
            !(admitted && matches!(parsed, Ok(Trigger::Schedule(_)))),
            "admitted as a schedule: {parsed:?}"
        );
        assert!(matches!(parsed, Err(TriggerError::Unrecognised)), "{parsed:?}");
    }

    #[test]
    fn a_schedules_clock_is_its_stamp_only_within_the_retry_window() {
        let now: DateTime<Utc> = "2026-12-07T10:30:00Z".parse().unwrap();
        let at = |time: &str| -> EventBridgeEvent {
            serde_json::from_value(
                json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}, "time": time}),
            )
            .unwrap()
        };
        assert_eq!(
            schedule_clock(&at("2026-12-07T10:00:00Z"), now).unwrap(),
            "2026-12-07T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(
            schedule_clock(&at("2026-12-07T05:00:00Z"), now).is_ok(),
            "retried 5½ hours on"
        );
        for refused in ["2026-11-30T08:00:00Z", "2026-12-07T04:00:00Z", "2026-12-14T08:00:00Z"] {
            assert!(
                matches!(schedule_clock(&at(refused), now), Err(TriggerError::OutOfTime { .. })),
                "{refused}"
            );
        }
    }
}
