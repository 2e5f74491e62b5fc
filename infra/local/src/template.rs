//! Reading `infra/template.yaml`: its resources, its functions and their triggers, and the
//! intrinsic functions (`!Ref`, `!GetAtt`, `!Sub`) the local stack must resolve. The template
//! is the one list of tables, queues, functions and schedules; nothing else repeats it.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_norway::Value;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read the template: {0}")]
    Io(#[from] std::io::Error),
    #[error("the template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    #[error("{0}")]
    Invalid(String),
}

pub struct Template {
    root: Value,
}

/// One resource as written in the template.
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub kind: &'a str,
    pub properties: &'a Value,
    pub metadata: &'a Value,
}

/// An intrinsic function, in short (`!Ref X`) or long (`Ref: X`) form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intrinsic<'a> {
    Ref(&'a str),
    GetAtt(String, String),
    Sub(&'a str),
}

/// An SQS trigger of a function.
#[derive(Debug, Clone)]
pub struct SqsTrigger {
    pub name: String,
    pub queue: String,
    pub batch_size: i32,
    /// How long Lambda gathers messages before it invokes with fewer than `batch_size`.
    pub batching_window: Duration,
    pub reports_batch_item_failures: bool,
}

/// A DynamoDB stream trigger of a function.
#[derive(Debug, Clone)]
pub struct StreamTrigger {
    pub name: String,
    /// The table whose stream it reads.
    pub table: String,
    pub batch_size: usize,
    pub reports_batch_item_failures: bool,
    pub max_retries: u32,
    /// The event names its filter lets through (`None`: every record).
    pub event_names: Option<Vec<String>>,
    /// The queue that gets the failed batches' ranges, if any.
    pub on_failure: Option<String>,
}

/// A schedule of a function, as `rate(…)` or `cron(…)`.
#[derive(Debug, Clone)]
pub struct ScheduleTrigger {
    pub name: String,
    pub expression: String,
}

/// A function as the local stack runs it.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The function's local name, from its logical id (`OutboxRelayFunction` is
    /// `outbox-relay`): several functions may run one binary.
    pub name: String,
    pub binary: String,
    pub timeout_secs: u64,
    pub memory_mb: u64,
    pub has_url: bool,
    /// `ReservedConcurrentExecutions`, as written (a number, a `!Ref` or an `!If`): resolve
    /// it with [`Template::reserved_concurrency`].
    pub reserved_concurrency: Option<Value>,
    pub environment: BTreeMap<String, Value>,
    pub sqs: Vec<SqsTrigger>,
    pub streams: Vec<StreamTrigger>,
    pub schedules: Vec<ScheduleTrigger>,
}

static NULL: Value = Value::Null;

impl Template {
    pub fn load(path: &Path) -> Result<Self, TemplateError> {
        Self::parse(&std::fs::read_to_string(path)?)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        Ok(Self {
            root: serde_norway::from_str(text)?,
        })
    }

    pub fn root(&self) -> &Value {
        &self.root
    }

    pub fn resources(&self) -> impl Iterator<Item = Resource<'_>> {
        self.root["Resources"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(id, body)| {
                Some(Resource {
                    logical_id: id.as_str()?,
                    kind: body["Type"].as_str()?,
                    properties: body.get("Properties").unwrap_or(&NULL),
                    metadata: body.get("Metadata").unwrap_or(&NULL),
                })
            })
    }

    pub fn resources_of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = Resource<'a>> + 'a {
        self.resources().filter(move |resource| resource.kind == kind)
    }

    pub fn parameters(&self) -> BTreeMap<String, Option<String>> {
        self.root["Parameters"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(name, body)| Some((name.as_str()?.to_owned(), scalar_text(&body["Default"]))))
            .collect()
    }

    fn global_function(&self, key: &str) -> &Value {
        self.root["Globals"]["Function"].get(key).unwrap_or(&NULL)
    }

    pub fn functions(&self) -> Result<Vec<FunctionSpec>, TemplateError> {
        self.resources_of_kind("AWS::Serverless::Function")
            .map(|resource| self.function_spec(&resource))
            .collect()
    }

    fn function_spec(&self, resource: &Resource<'_>) -> Result<FunctionSpec, TemplateError> {
        let id = resource.logical_id;
        let own_or_global = |key: &str| {
            resource
                .properties
                .get(key)
                .unwrap_or_else(|| self.global_function(key))
        };
        let binary = resource.metadata["BuildProperties"]["Binary"]
            .as_str()
            .ok_or_else(|| TemplateError::Invalid(format!("{id}: Metadata.BuildProperties.Binary is missing")))?;
        let mut environment = BTreeMap::new();
        for variables in [
            &self.global_function("Environment")["Variables"],
            &resource.properties["Environment"]["Variables"],
        ] {
            for (name, value) in variables.as_mapping().into_iter().flatten() {
                if let Some(name) = name.as_str() {
                    environment.insert(name.to_owned(), value.clone());
                }
            }
        }
        let mut spec = FunctionSpec {
            logical_id: id.to_owned(),
            name: local_name(id),
            binary: binary.to_owned(),
            timeout_secs: own_or_global("Timeout").as_u64().unwrap_or(3),
            memory_mb: own_or_global("MemorySize").as_u64().unwrap_or(128),
            has_url: resource.properties.get("FunctionUrlConfig").is_some(),
            reserved_concurrency: resource.properties.get("ReservedConcurrentExecutions").cloned(),
            environment,
            sqs: Vec::new(),
            streams: Vec::new(),
            schedules: Vec::new(),
        };
        for (name, event) in resource.properties["Events"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default().to_owned();
            let properties = &event["Properties"];
            match event["Type"].as_str() {
                Some("SQS") => spec.sqs.push(SqsTrigger {
                    queue: match intrinsic(&properties["Queue"]) {
                        Some(Intrinsic::GetAtt(queue, attribute)) if attribute == "Arn" => queue,
                        _ => {
                            return Err(TemplateError::Invalid(format!(
                                "{id}.{name}: Queue must be !GetAtt <Queue>.Arn"
                            )));
                        }
                    },
                    batch_size: properties["BatchSize"].as_i64().unwrap_or(10) as i32,
                    batching_window: Duration::from_secs(
                        properties["MaximumBatchingWindowInSeconds"].as_u64().unwrap_or(0),
                    ),
                    reports_batch_item_failures: properties["FunctionResponseTypes"]
                        .as_sequence()
                        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures"))),
                    name,
                }),
                Some("DynamoDB") => spec.streams.push(stream_trigger(id, name, properties)?),
                Some("Schedule") | Some("ScheduleV2") => {
                    let expression = properties
                        .get("Schedule")
                        .or_else(|| properties.get("ScheduleExpression"))
                        .and_then(Value::as_str)
                        .ok_or_else(|| TemplateError::Invalid(format!("{id}.{name}: schedule has no expression")))?;
                    spec.schedules.push(ScheduleTrigger {
                        name,
                        expression: expression.to_owned(),
                    });
                }
                other => {
                    return Err(TemplateError::Invalid(format!(
                        "{id}.{name}: event type {other:?} is not run locally"
                    )));
                }
            }
        }
        Ok(spec)
    }
}

impl Template {
    /// How many invocations of `spec` may run at once, with the stack's `parameters`: `None`
    /// when it reserves none (it shares the account's concurrency). Reads a number, a
    /// `!Ref <Parameter>`, `!Ref AWS::NoValue`, and `!If [<Condition>, …, …]` whose
    /// condition is `!Equals`, `!Not` of one, over parameters and literals.
    pub fn reserved_concurrency(
        &self,
        spec: &FunctionSpec,
        parameters: &BTreeMap<String, String>,
    ) -> Result<Option<usize>, TemplateError> {
        let Some(value) = &spec.reserved_concurrency else {
            return Ok(None);
        };
        let invalid =
            |what: String| TemplateError::Invalid(format!("{}: ReservedConcurrentExecutions {what}", spec.logical_id));
        let chosen = self.choose(value, parameters).map_err(invalid)?;
        match chosen {
            None => Ok(None),
            Some(text) => text
                .parse()
                .map(Some)
                .map_err(|_| invalid(format!("{text:?} is not a count"))),
        }
    }

    /// The scalar `value` resolves to; `None` for `AWS::NoValue`.
    fn choose(&self, value: &Value, parameters: &BTreeMap<String, String>) -> Result<Option<String>, String> {
        if let Some(text) = scalar_text(value) {
            return Ok(Some(text));
        }
        match intrinsic(value) {
            Some(Intrinsic::Ref("AWS::NoValue")) => return Ok(None),
            Some(Intrinsic::Ref(name)) => {
                return parameters
                    .get(name)
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| format!("names {name}, which has no value"));
            }
            _ => {}
        }
        match tagged(value, "If") {
            Some([Value::String(condition), then, otherwise]) => {
                let holds = self.condition(&self.root["Conditions"][condition.as_str()], parameters)?;
                self.choose(if holds { then } else { otherwise }, parameters)
            }
            _ => Err(format!("{value:?} is not read locally")),
        }
    }

    fn condition(&self, value: &Value, parameters: &BTreeMap<String, String>) -> Result<bool, String> {
        if let Some([inner]) = tagged(value, "Not") {
            return self.condition(inner, parameters).map(|holds| !holds);
        }
        if let Some([left, right]) = tagged(value, "Equals") {
            return Ok(self.choose(left, parameters)? == self.choose(right, parameters)?);
        }
        Err(format!("the condition {value:?} is not read locally"))
    }
}

/// The arguments of `!<name> [...]` (or `Fn::<name>: [...]`), if `value` is that call.
fn tagged<'a>(value: &'a Value, name: &str) -> Option<&'a [Value]> {
    let arguments = match value {
        Value::Tagged(call) if call.tag.to_string().trim_start_matches('!') == name => &call.value,
        Value::Mapping(map) if map.len() == 1 => map.get(format!("Fn::{name}"))?,
        _ => return None,
    };
    arguments.as_sequence().map(Vec::as_slice)
}

/// `OrderIntakeFunction` is `order-intake`, `StockAlertsWorkerFunction` `stock-alerts-worker`.
fn local_name(logical_id: &str) -> String {
    let stem = logical_id.strip_suffix("Function").unwrap_or(logical_id);
    let mut name = String::new();
    for (index, letter) in stem.chars().enumerate() {
        if letter.is_ascii_uppercase() && index > 0 {
            name.push('-');
        }
        name.push(letter.to_ascii_lowercase());
    }
    name
}

fn stream_trigger(id: &str, name: String, properties: &Value) -> Result<StreamTrigger, TemplateError> {
    let invalid = |what: &str| TemplateError::Invalid(format!("{id}.{name}: {what}"));
    let table = match intrinsic(&properties["Stream"]) {
        Some(Intrinsic::GetAtt(table, attribute)) if attribute == "StreamArn" => table,
        _ => return Err(invalid("Stream must be !GetAtt <Table>.StreamArn")),
    };
    let on_failure = match &properties["DestinationConfig"]["OnFailure"]["Destination"] {
        Value::Null => None,
        destination => match intrinsic(destination) {
            Some(Intrinsic::GetAtt(queue, attribute)) if attribute == "Arn" => Some(queue),
            _ => return Err(invalid("OnFailure.Destination must be !GetAtt <Queue>.Arn")),
        },
    };
    let mut event_names: Option<Vec<String>> = None;
    for filter in properties["FilterCriteria"]["Filters"]
        .as_sequence()
        .into_iter()
        .flatten()
    {
        let pattern: serde_json::Value = serde_json::from_str(filter["Pattern"].as_str().unwrap_or_default())
            .map_err(|error| invalid(&format!("filter pattern: {error}")))?;
        let names = pattern
            .as_object()
            .filter(|pattern| pattern.len() == 1)
            .and_then(|pattern| pattern.get("eventName"))
            .and_then(serde_json::Value::as_array)
            .ok_or_else(|| invalid("only eventName filters are run locally"))?;
        event_names
            .get_or_insert_with(Vec::new)
            .extend(names.iter().filter_map(|name| name.as_str().map(str::to_owned)));
    }
    Ok(StreamTrigger {
        table,
        batch_size: properties["BatchSize"].as_u64().unwrap_or(100) as usize,
        reports_batch_item_failures: properties["FunctionResponseTypes"]
            .as_sequence()
            .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures"))),
        // Lambda's default is to retry until the records expire; locally that would never end.
        max_retries: properties["MaximumRetryAttempts"].as_u64().unwrap_or(10) as u32,
        event_names,
        on_failure,
        name,
    })
}

/// The intrinsic function `value` is, if it is one.
pub fn intrinsic(value: &Value) -> Option<Intrinsic<'_>> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            match (tag.trim_start_matches('!'), &tagged.value) {
                ("Ref", Value::String(name)) => Some(Intrinsic::Ref(name)),
                ("GetAtt", Value::String(dotted)) => {
                    let (resource, attribute) = dotted.split_once('.')?;
                    Some(Intrinsic::GetAtt(resource.to_owned(), attribute.to_owned()))
                }
                ("GetAtt", Value::Sequence(parts)) => get_att_parts(parts),
                ("Sub", Value::String(text)) => Some(Intrinsic::Sub(text)),
                _ => None,
            }
        }
        Value::Mapping(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next()?;
            match (key.as_str()?, inner) {
                ("Ref", Value::String(name)) => Some(Intrinsic::Ref(name)),
                ("Fn::GetAtt", Value::Sequence(parts)) => get_att_parts(parts),
                ("Fn::Sub", Value::String(text)) => Some(Intrinsic::Sub(text)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn get_att_parts(parts: &[Value]) -> Option<Intrinsic<'_>> {
    match parts {
        [resource, attribute] => Some(Intrinsic::GetAtt(
            resource.as_str()?.to_owned(),
            attribute.as_str()?.to_owned(),
        )),
        _ => None,
    }
}

/// The `${Name}` and `${Resource.Attribute}` references inside a `!Sub` string (not `${!Literal}`).
pub fn sub_references(text: &str) -> Vec<&str> {
    let mut references = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            references.push(name);
        }
        rest = &after[end + 1..];
    }
    references
}

/// Calls `visit` on every value of the tree, tags and all.
pub fn walk<'a>(value: &'a Value, visit: &mut dyn FnMut(&'a Value)) {
    visit(value);
    match value {
        Value::Sequence(items) => items.iter().for_each(|item| walk(item, visit)),
        Value::Mapping(map) => map.iter().for_each(|(_, item)| walk(item, visit)),
        Value::Tagged(tagged) => walk(&tagged.value, visit),
        _ => {}
    }
}

pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intrinsics_are_read_in_both_forms() {
        let doc: Value = serde_norway::from_str(
            "a: !Ref Table\nb: !GetAtt Queue.Arn\nc: {Ref: Table}\nd: {'Fn::GetAtt': [Queue, QueueName]}\ne: !Sub 'x-${AWS::Region}'",
        )
        .unwrap();
        assert_eq!(intrinsic(&doc["a"]), Some(Intrinsic::Ref("Table")));
        assert_eq!(
            intrinsic(&doc["b"]),
            Some(Intrinsic::GetAtt("Queue".into(), "Arn".into()))
        );
        assert_eq!(intrinsic(&doc["c"]), Some(Intrinsic::Ref("Table")));
        assert_eq!(
            intrinsic(&doc["d"]),
            Some(Intrinsic::GetAtt("Queue".into(), "QueueName".into()))
        );
        assert_eq!(intrinsic(&doc["e"]), Some(Intrinsic::Sub("x-${AWS::Region}")));
    }

    #[test]
    fn sub_references_skip_literals() {
        assert_eq!(
            sub_references("arn:${AWS::Partition}:x:${Table.Arn}/${!Literal}"),
            ["AWS::Partition", "Table.Arn"]
        );
    }

    #[test]
    fn the_project_template_lists_every_function_with_its_triggers() {
        let template = Template::load(&crate::paths::template()).unwrap();
        let functions = template.functions().unwrap();
        let names: Vec<_> = functions.iter().map(|f| (f.name.as_str(), f.binary.as_str())).collect();
        assert_eq!(
            names,
            [
                ("order-intake", "order-intake"),
                ("outbox-relay", "order-intake"),
                ("stock-alerts", "stock-alerts"),
                ("stock-alerts-worker", "stock-alerts"),
                ("review-monitor", "review-monitor"),
                ("review-monitor-worker", "review-monitor"),
                ("refund-processor", "refund-processor"),
                ("refund-processor-worker", "refund-processor"),
                ("buyer-messaging", "buyer-messaging"),
                ("buyer-messaging-worker", "buyer-messaging"),
                ("seller-health", "seller-health"),
                ("buyer-privacy", "buyer-privacy"),
                ("buyer-privacy-worker", "buyer-privacy"),
            ]
        );
        let named = |name: &str| functions.iter().find(|f| f.name == name).unwrap();
        let health = named("seller-health");
        assert_eq!(health.schedules[0].expression, "cron(0 * * * ? *)");
        assert_eq!(health.timeout_secs, 120);
        let stock = named("stock-alerts-worker");
        assert_eq!(stock.sqs[0].queue, "StockChangeQueue");
        assert_eq!(stock.schedules[0].expression, "rate(1 hour)");
        assert_eq!(stock.timeout_secs, 30);
        let relay = named("outbox-relay");
        let outbox = &relay.streams[0];
        assert_eq!(
            (outbox.table.as_str(), outbox.on_failure.as_deref()),
            ("OutboxTable", Some("OutboxDeadLetterQueue"))
        );
        assert_eq!(outbox.event_names, Some(vec!["INSERT".to_owned()]));
        assert!(outbox.reports_batch_item_failures);
        let intake = named("order-intake");
        assert!(intake.has_url && intake.streams.is_empty() && intake.sqs.is_empty());
        let parameters = |cap: &str| BTreeMap::from([("WebhookConcurrency".to_owned(), cap.to_owned())]);
        assert_eq!(
            template.reserved_concurrency(intake, &parameters("25")).unwrap(),
            Some(25)
        );
        assert_eq!(
            template.reserved_concurrency(intake, &parameters("0")).unwrap(),
            None,
            "0 reserves none"
        );
        assert_eq!(template.reserved_concurrency(relay, &parameters("25")).unwrap(), None);
    }
}
