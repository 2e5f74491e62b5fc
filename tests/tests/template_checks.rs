//! Checks over `infra/template.yaml` that cfn-lint cannot make: it does not look inside
//! `AWS::Serverless::Function`, so a `!Ref` to a missing table, `ReportBatchItemFailure`
//! without the s, or `Runtime: provided.al2099` all pass it. Each check is also run on a
//! template broken on purpose, to prove it can fail.

use std::collections::BTreeSet;

use local_cloud::schedule::Schedule;
use local_cloud::template::{Intrinsic, Template, intrinsic, sub_references, walk};
use serde_norway::Value;

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::Region",
    "AWS::Partition",
    "AWS::StackName",
    "AWS::StackId",
    "AWS::URLSuffix",
    "AWS::NoValue",
];

fn project_template_text() -> String {
    std::fs::read_to_string(local_cloud::paths::template()).expect("infra/template.yaml")
}

/// Every problem found, one line each; empty for a sound template.
fn problems(text: &str) -> Vec<String> {
    let template = Template::parse(text).expect("the template is YAML");
    let mut found = Vec::new();
    references_resolve(&template, &mut found);
    functions_are_rust_lambdas(&template, &mut found);
    queues_have_dead_letter_queues_and_alarms(&template, &mut found);
    policies_grant_only_named_data(&template, &mut found);
    tables_are_on_demand_with_recovery(&template, &mut found);
    logs_expire_and_never_hold_whole_events(&template, &mut found);
    public_urls_have_a_concurrency_cap(&template, &mut found);
    email_leaves_from_the_stack_address_only(&template, &mut found);
    only_order_intake_writes_whole_orders(&template, &mut found);
    only_stock_alerts_writes_whole_skus(&template, &mut found);
    event_sources_are_exactly_the_triggers(&template, &mut found);
    found
}

/// Logical ids that exist once SAM has transformed the template, with their attributes.
fn known_resources(template: &Template) -> Vec<(String, &'static [&'static str])> {
    let mut known = Vec::new();
    for resource in template.resources() {
        let attributes: &'static [&'static str] = match resource.kind {
            "AWS::DynamoDB::Table" => &["Arn", "StreamArn"],
            "AWS::SQS::Queue" => &["Arn", "QueueName", "QueueUrl"],
            "AWS::SNS::Topic" => &["TopicArn", "TopicName"],
            "AWS::IAM::Role" => &["Arn", "RoleId"],
            "AWS::S3::Bucket" => &["Arn", "DomainName"],
            "AWS::Logs::LogGroup" => &["Arn"],
            "AWS::Serverless::Function" => &["Arn"],
            _ => &[],
        };
        known.push((resource.logical_id.to_owned(), attributes));
        if resource.kind == "AWS::Serverless::Function" {
            known.push((format!("{}Role", resource.logical_id), &["Arn"]));
            if resource.properties.get("FunctionUrlConfig").is_some() {
                known.push((format!("{}Url", resource.logical_id), &["FunctionUrl", "FunctionArn"]));
            }
        }
    }
    known
}

fn references_resolve(template: &Template, found: &mut Vec<String>) {
    let parameters: BTreeSet<String> = template.parameters().into_keys().collect();
    let resources = known_resources(template);
    let refers_to = |name: &str| {
        PSEUDO_PARAMETERS.contains(&name) || parameters.contains(name) || resources.iter().any(|(id, _)| id == name)
    };
    let has_attribute = |resource: &str, attribute: &str| {
        resources
            .iter()
            .any(|(id, attributes)| id == resource && attributes.contains(&attribute))
    };
    let mut check = |value: &Value| match intrinsic(value) {
        Some(Intrinsic::Ref(name)) if !refers_to(name) => found.push(format!("!Ref {name} names nothing")),
        Some(Intrinsic::GetAtt(resource, attribute)) if !has_attribute(&resource, &attribute) => {
            found.push(format!("!GetAtt {resource}.{attribute} names nothing"))
        }
        Some(Intrinsic::Sub(text)) => {
            for reference in sub_references(text) {
                let resolves = match reference.split_once('.') {
                    Some((resource, attribute)) => has_attribute(resource, attribute),
                    None => refers_to(reference),
                };
                if !resolves {
                    found.push(format!("${{{reference}}} in !Sub names nothing"));
                }
            }
        }
        _ => {}
    };
    walk(template.root(), &mut check);
}

fn functions_are_rust_lambdas(template: &Template, found: &mut Vec<String>) {
    let globals = &template.root()["Globals"]["Function"];
    for resource in template.resources_of_kind("AWS::Serverless::Function") {
        let id = resource.logical_id;
        let setting = |key: &str| resource.properties.get(key).unwrap_or(&globals[key]).clone();
        if setting("Runtime").as_str() != Some("provided.al2023") {
            found.push(format!("{id}: Runtime must be provided.al2023"));
        }
        if setting("Handler").as_str() != Some("bootstrap") {
            found.push(format!("{id}: Handler must be bootstrap"));
        }
        if resource.metadata["BuildMethod"].as_str() != Some("rust-cargolambda") {
            found.push(format!("{id}: Metadata.BuildMethod must be rust-cargolambda"));
        }
        match resource.metadata["BuildProperties"]["Binary"].as_str() {
            Some(binary)
                if local_cloud::paths::workspace_root()
                    .join("functions")
                    .join(binary)
                    .join("Cargo.toml")
                    .exists() => {}
            other => found.push(format!("{id}: Binary {other:?} is not a crate under functions/")),
        }
        for (name, event) in resource.properties["Events"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            let properties = &event["Properties"];
            let reports = properties["FunctionResponseTypes"]
                .as_sequence()
                .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("ReportBatchItemFailures")));
            match event["Type"].as_str() {
                Some("SQS") if !reports => {
                    found.push(format!("{id}.{name}: SQS trigger must report batch item failures"));
                }
                Some("SQS") => {}
                Some("DynamoDB") => {
                    if !reports {
                        found.push(format!("{id}.{name}: stream trigger must report batch item failures"));
                    }
                    // Lambda's defaults retry a failing record until it expires, blocking its shard.
                    if properties["MaximumRetryAttempts"].as_i64().is_none_or(|n| n < 0) {
                        found.push(format!(
                            "{id}.{name}: stream trigger needs a MaximumRetryAttempts limit"
                        ));
                    }
                    if intrinsic(&properties["DestinationConfig"]["OnFailure"]["Destination"]).is_none() {
                        found.push(format!("{id}.{name}: stream trigger needs an on-failure queue"));
                    }
                }
                Some("Schedule") => {
                    let expression = properties["Schedule"].as_str().unwrap_or_default();
                    if let Err(reason) = Schedule::parse(expression) {
                        found.push(format!("{id}.{name}: {reason}"));
                    }
                }
                other => found.push(format!(
                    "{id}.{name}: trigger type {other:?} is not run by the local stack"
                )),
            }
        }
    }
}

fn queues_have_dead_letter_queues_and_alarms(template: &Template, found: &mut Vec<String>) {
    let queues: Vec<_> = template.resources_of_kind("AWS::SQS::Queue").collect();
    let mut dead_letter_targets: BTreeSet<String> = queues
        .iter()
        .filter_map(
            |queue| match intrinsic(&queue.properties["RedrivePolicy"]["deadLetterTargetArn"]) {
                Some(Intrinsic::GetAtt(target, _)) => Some(target),
                _ => None,
            },
        )
        .collect();
    // A stream trigger's on-failure queue is that stream's dead-letter queue.
    for function in template.resources_of_kind("AWS::Serverless::Function") {
        for (_, event) in function.properties["Events"].as_mapping().into_iter().flatten() {
            if let Some(Intrinsic::GetAtt(target, _)) =
                intrinsic(&event["Properties"]["DestinationConfig"]["OnFailure"]["Destination"])
            {
                dead_letter_targets.insert(target);
            }
        }
    }
    let alarmed: BTreeSet<String> = template
        .resources_of_kind("AWS::CloudWatch::Alarm")
        .filter(|alarm| {
            alarm.properties["MetricName"].as_str() == Some("ApproximateNumberOfMessagesVisible")
                && alarm.properties["Threshold"].as_i64() == Some(1)
                && alarm.properties["ComparisonOperator"].as_str() == Some("GreaterThanOrEqualToThreshold")
        })
        .flat_map(|alarm| {
            alarm.properties["Dimensions"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|dimension| match intrinsic(&dimension["Value"]) {
            Some(Intrinsic::GetAtt(queue, _)) => Some(queue),
            _ => None,
        })
        .collect();
    for queue in &queues {
        let id = queue.logical_id;
        if dead_letter_targets.contains(id) {
            if !alarmed.contains(id) {
                found.push(format!("{id}: dead-letter queue has no depth ≥ 1 alarm"));
            }
            continue;
        }
        let redrive = &queue.properties["RedrivePolicy"];
        if redrive.is_null() {
            found.push(format!("{id}: queue has no dead-letter queue"));
        } else if redrive["maxReceiveCount"].as_i64() != Some(5) {
            found.push(format!("{id}: maxReceiveCount must be 5"));
        }
    }
}

/// The statements of the role a function runs as: it must have one of its own, declared here
/// (SAM's generated role would get AWS's managed policies for its event sources, which read
/// every queue or stream of the account), with nothing managed but the basic logging policy.
fn own_role_statements<'a>(
    template: &'a Template,
    function: &local_cloud::template::Resource<'_>,
    found: &mut Vec<String>,
) -> Vec<&'a Value> {
    let id = function.logical_id;
    if !function.properties["Policies"].is_null() {
        found.push(format!("{id}: grants go in its own role, not in SAM's Policies"));
    }
    let role_id = match intrinsic(&function.properties["Role"]) {
        Some(Intrinsic::GetAtt(role, attribute)) if attribute == "Arn" => role,
        _ => {
            found.push(format!("{id}: needs Role: !GetAtt <its role>.Arn"));
            return Vec::new();
        }
    };
    let users = template
        .resources_of_kind("AWS::Serverless::Function")
        .filter(
            |other| matches!(intrinsic(&other.properties["Role"]), Some(Intrinsic::GetAtt(role, _)) if role == role_id),
        )
        .count();
    if users > 1 {
        found.push(format!("{id}: role {role_id} is shared with another function"));
    }
    let Some(role) = template
        .resources_of_kind("AWS::IAM::Role")
        .find(|role| role.logical_id == role_id)
    else {
        found.push(format!(
            "{id}: role {role_id} is not an AWS::IAM::Role of this template"
        ));
        return Vec::new();
    };
    for managed in role.properties["ManagedPolicyArns"].as_sequence().into_iter().flatten() {
        let basic_logging = matches!(intrinsic(managed), Some(Intrinsic::Sub(text))
            if text.ends_with(":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"));
        if !basic_logging {
            found.push(format!("{role_id}: no managed policy but AWSLambdaBasicExecutionRole"));
        }
    }
    role.properties["Policies"]
        .as_sequence()
        .into_iter()
        .flatten()
        .flat_map(|policy| {
            policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
        })
        .collect()
}

fn policies_grant_only_named_data(template: &Template, found: &mut Vec<String>) {
    for resource in template.resources_of_kind("AWS::Serverless::Function") {
        let id = resource.logical_id;
        let binary = resource.metadata["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default();
        for statement in own_role_statements(template, &resource, found) {
            let actions: Vec<&str> = match &statement["Action"] {
                Value::Sequence(actions) => actions.iter().filter_map(Value::as_str).collect(),
                Value::String(action) => vec![action.as_str()],
                _ => vec![],
            };
            if actions.iter().any(|action| action.contains('*')) {
                found.push(format!("{id}: a statement grants a wildcard action {actions:?}"));
            }
            // ListStreams names no resource in IAM; it lists stream ARNs, no data.
            let lists_streams_only = actions == ["dynamodb:ListStreams"];
            // Objects under a key prefix of a bucket the template names (`${Bucket.Arn}/reports/*`).
            let objects_of_own_bucket = actions.iter().all(|action| action.starts_with("s3:"))
                && statement["Resource"]
                    .as_str()
                    .is_some_and(|text| text.starts_with("${") && text.contains(".Arn}/") && !text.contains("}/*"));
            if statement["Resource"].as_str().is_some_and(|text| text.contains('*'))
                && !lists_streams_only
                && !objects_of_own_bucket
            {
                found.push(format!("{id}: a statement grants a wildcard resource"));
            }
            let touches_dynamodb = actions.iter().any(|action| action.starts_with("dynamodb:"));
            let leading_keys = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
            let own_prefix = format!("{binary}#*");
            if touches_dynamodb
                && intrinsic(&statement["Resource"])
                    .is_some_and(|target| matches!(target, Intrinsic::GetAtt(table, _) if table == "IdempotencyTable"))
                && leading_keys
                    .as_sequence()
                    .is_none_or(|keys| keys != &[Value::String(own_prefix.clone())])
            {
                found.push(format!("{id}: idempotency keys must be limited to {own_prefix}"));
            }
        }
        secrets_stay_in_secrets_manager(template, &resource, found);
    }
}

/// A secret is never in a function's configuration, where `lambda:GetFunctionConfiguration`
/// shows it (a dynamic reference is resolved into it at deploy time): a function with a
/// public URL names the secret (`WEBHOOK_SECRET_ID`) and may read that secret alone.
fn secrets_stay_in_secrets_manager(
    template: &Template,
    resource: &local_cloud::template::Resource,
    found: &mut Vec<String>,
) {
    let id = resource.logical_id;
    let variables = resource.properties["Environment"]["Variables"].as_mapping();
    for (name, value) in variables.into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        let resolves_secret = matches!(intrinsic(value), Some(Intrinsic::Sub(text)) if text.contains("{{resolve:secretsmanager"))
            || value
                .as_str()
                .is_some_and(|text| text.contains("{{resolve:secretsmanager"));
        // A secret's id, named by a `…SecretId` parameter, is read at init: not a secret.
        let names_a_secret = name.ends_with("_SECRET_ID")
            && matches!(intrinsic(value), Some(Intrinsic::Ref(parameter)) if parameter.ends_with("SecretId"));
        if resolves_secret || (name.contains("SECRET") && !names_a_secret) {
            found.push(format!("{id}: {name} holds a secret in its configuration"));
        }
        // The local stack's alone: it lets any invocation choose the week seller health reports.
        if name == "REPLAYS_SCHEDULES" {
            found.push(format!(
                "{id}: REPLAYS_SCHEDULES is for the local stack, never deployed"
            ));
        }
    }
    let names_it = matches!(
        intrinsic(&resource.properties["Environment"]["Variables"]["WEBHOOK_SECRET_ID"]),
        Some(Intrinsic::Ref("WebhookSecretId"))
    );
    let may_read_it = own_role_statements(template, resource, &mut Vec::new()).iter().any(|statement| {
        statement["Action"].as_str() == Some("secretsmanager:GetSecretValue")
            && matches!(intrinsic(&statement["Resource"]), Some(Intrinsic::Sub(text)) if text.ends_with(":secret:${WebhookSecretId}-??????"))
    });
    let has_url = resource.properties.get("FunctionUrlConfig").is_some();
    if has_url && (!names_it || !may_read_it) {
        found.push(format!(
            "{id}: a webhook function reads its secret from WEBHOOK_SECRET_ID: !Ref WebhookSecretId, with GetSecretValue on that secret alone"
        ));
    }
    let names_any_secret = resource.properties["Environment"]["Variables"]
        .get("WEBHOOK_SECRET_ID")
        .is_some();
    if !has_url && (names_any_secret || may_read_it) {
        found.push(format!(
            "{id}: a function without a URL takes no webhooks, and neither names nor may read the signing secret"
        ));
    }
}

fn tables_are_on_demand_with_recovery(template: &Template, found: &mut Vec<String>) {
    for table in template.resources_of_kind("AWS::DynamoDB::Table") {
        let id = table.logical_id;
        if table.properties["BillingMode"].as_str() != Some("PAY_PER_REQUEST") {
            found.push(format!("{id}: tables are on demand"));
        }
        if table.properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool() != Some(true) {
            found.push(format!("{id}: point-in-time recovery must be on"));
        }
        // The code marks what need not be kept with `expires_at`; a table without the TTL on
        // it would keep that forever, a buyer's words among it.
        let ttl = &table.properties["TimeToLiveSpecification"];
        if ttl["AttributeName"].as_str() != Some("expires_at") || ttl["Enabled"].as_bool() != Some(true) {
            found.push(format!("{id}: its TTL must be on, on expires_at"));
        }
    }
}

/// Each function logs to a group of the stack's with a retention (Lambda's own groups keep
/// logs forever), and the log level cannot be TRACE, at which the runtime logs whole events.
fn logs_expire_and_never_hold_whole_events(template: &Template, found: &mut Vec<String>) {
    let levels = &template.root()["Parameters"]["LogLevel"]["AllowedValues"];
    if levels
        .as_sequence()
        .is_none_or(|levels| levels.iter().any(|level| level.as_str() == Some("TRACE")))
    {
        found.push("LogLevel: must list its allowed values, without TRACE".to_owned());
    }
    for resource in template.resources_of_kind("AWS::Serverless::Function") {
        let id = resource.logical_id;
        let group = match intrinsic(&resource.properties["LoggingConfig"]["LogGroup"]) {
            Some(Intrinsic::Ref(group)) => group.to_owned(),
            _ => {
                found.push(format!("{id}: LoggingConfig.LogGroup must name the stack's log group"));
                continue;
            }
        };
        let retained = template
            .resources_of_kind("AWS::Logs::LogGroup")
            .any(|log| log.logical_id == group && !log.properties["RetentionInDays"].is_null());
        if !retained {
            found.push(format!("{id}: its log group {group} needs a RetentionInDays"));
        }
    }
}

/// A function with a public URL reserves (and so caps) its concurrency, and does nothing but
/// answer that URL: a flood of requests, signed or not, holds at most its reservation, and
/// the outbox relay, the queue consumers and the schedules, in functions of their own, never
/// wait behind it.
fn public_urls_have_a_concurrency_cap(template: &Template, found: &mut Vec<String>) {
    for resource in template.resources_of_kind("AWS::Serverless::Function") {
        if resource.properties.get("FunctionUrlConfig").is_none() {
            continue;
        }
        let id = resource.logical_id;
        if resource.properties.get("ReservedConcurrentExecutions").is_none() {
            found.push(format!("{id}: a public URL needs ReservedConcurrentExecutions"));
        }
        let triggers: Vec<&str> = resource.properties["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
            .filter_map(|(name, _)| name.as_str())
            .collect();
        if !triggers.is_empty() {
            found.push(format!(
                "{id}: a public URL shares its concurrency with {triggers:?}; give them a function of their own"
            ));
        }
    }
}

/// Sending email is allowed only from the stack's sender address.
fn email_leaves_from_the_stack_address_only(template: &Template, found: &mut Vec<String>) {
    for role in template.resources_of_kind("AWS::IAM::Role") {
        for policy in role.properties["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let sends = match &statement["Action"] {
                    Value::String(action) => action.starts_with("ses:Send"),
                    Value::Sequence(actions) => actions
                        .iter()
                        .any(|a| a.as_str().is_some_and(|a| a.starts_with("ses:Send"))),
                    _ => false,
                };
                let from = &statement["Condition"]["StringEquals"]["ses:FromAddress"];
                if sends && !matches!(intrinsic(from), Some(Intrinsic::Ref("SenderAddress"))) {
                    found.push(format!(
                        "{}: ses:Send* needs Condition StringEquals ses:FromAddress !Ref SenderAddress",
                        role.logical_id
                    ));
                }
            }
        }
    }
}

/// Stock alerts owns the SKUs; order intake and refund processing may update only the
/// attributes their writes name (`ORDER_ATTRIBUTES`, `RESTOCK_ATTRIBUTES`), and no other role
/// writes SKUs at all.
fn only_stock_alerts_writes_whole_skus(template: &Template, found: &mut Vec<String>) {
    use backoffice::domains::stock::inventory::{ORDER_ATTRIBUTES, RESTOCK_ATTRIBUTES};
    writes_limited_to_attributes(
        template,
        found,
        WriteLimit {
            table: "InventoryTable",
            operator: "ForAllValues:StringLike",
            key: None,
            owners: &["StockAlertsFunctionRole", "StockAlertsWorkerFunctionRole"],
            limited: &[
                ("OrderIntakeFunctionRole", ORDER_ATTRIBUTES),
                ("RefundProcessorFunctionRole", RESTOCK_ATTRIBUTES),
                ("RefundProcessorWorkerFunctionRole", RESTOCK_ATTRIBUTES),
            ],
        },
    );
}

/// Order intake writes whole orders; stock alerts, refund processing and buyer privacy may
/// update only the attributes their change makes (`FILL_ATTRIBUTES`, `REFUND_ATTRIBUTES`,
/// `ERASURE_ATTRIBUTES`, and the key), so none of them can rewrite a price, and only the
/// erasure touches a buyer or an address; no other role writes orders at all.
fn only_order_intake_writes_whole_orders(template: &Template, found: &mut Vec<String>) {
    use backoffice::domains::orders::erasure::ERASURE_ATTRIBUTES;
    use backoffice::domains::orders::records::{FILL_ATTRIBUTES, REFUND_ATTRIBUTES};
    writes_limited_to_attributes(
        template,
        found,
        WriteLimit {
            table: "OrdersTable",
            operator: "ForAllValues:StringEquals",
            key: Some("order_id"),
            owners: &["OrderIntakeFunctionRole"],
            limited: &[
                ("StockAlertsFunctionRole", FILL_ATTRIBUTES),
                ("StockAlertsWorkerFunctionRole", FILL_ATTRIBUTES),
                ("RefundProcessorFunctionRole", REFUND_ATTRIBUTES),
                ("RefundProcessorWorkerFunctionRole", REFUND_ATTRIBUTES),
                ("BuyerPrivacyWorkerFunctionRole", ERASURE_ATTRIBUTES),
            ],
        },
    );
}

/// A table its owners' roles write whole and others may only update named attributes of.
struct WriteLimit<'a> {
    table: &'a str,
    /// The condition operator the `dynamodb:Attributes` list is under.
    operator: &'a str,
    /// The key attribute, when the code's list leaves it out.
    key: Option<&'a str>,
    owners: &'a [&'a str],
    limited: &'a [(&'a str, &'a [&'a str])],
}

fn writes_limited_to_attributes(template: &Template, found: &mut Vec<String>, limit: WriteLimit) {
    let table = limit.table;
    for role in template.resources_of_kind("AWS::IAM::Role") {
        if limit.owners.contains(&role.logical_id) {
            continue;
        }
        let changes: &[&str] = limit
            .limited
            .iter()
            .find(|(name, _)| *name == role.logical_id)
            .map_or(&[], |(_, attributes)| attributes);
        let allowed: BTreeSet<&str> = changes.iter().copied().chain(limit.key).collect();
        for policy in role.properties["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_sequence()
                .into_iter()
                .flatten()
            {
                let on_table =
                    matches!(intrinsic(&statement["Resource"]), Some(Intrinsic::GetAtt(name, _)) if name == table);
                let actions: Vec<&str> = match &statement["Action"] {
                    Value::String(action) => vec![action.as_str()],
                    Value::Sequence(actions) => actions.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                let writes = actions
                    .iter()
                    .any(|action| ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"].contains(action));
                if !on_table || !writes {
                    continue;
                }
                let granted: BTreeSet<&str> = statement["Condition"][limit.operator]["dynamodb:Attributes"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                if actions.iter().any(|action| *action != "dynamodb:UpdateItem")
                    || changes.is_empty()
                    || granted != allowed
                {
                    found.push(format!(
                        "{}: writes to {table} must be UpdateItem limited to dynamodb:Attributes {allowed:?}",
                        role.logical_id
                    ));
                }
            }
        }
    }
}

/// Each function's `EVENT_SOURCE_ARNS` (what its binary admits) names exactly its SQS queues,
/// its streams and its schedules' rules, each rule named `<stack>-<event>` as the local stack
/// names it: a trigger left out would be refused in production, an extra one admitted.
fn event_sources_are_exactly_the_triggers(template: &Template, found: &mut Vec<String>) {
    const RULE: &str = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${AWS::StackName}-";
    for function in template.resources_of_kind("AWS::Serverless::Function") {
        let id = function.logical_id;
        let mut expected = BTreeSet::new();
        for (name, event) in function.properties["Events"].as_mapping().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            let properties = &event["Properties"];
            match event["Type"].as_str() {
                Some("SQS") => {
                    if let Some(Intrinsic::GetAtt(queue, _)) = intrinsic(&properties["Queue"]) {
                        expected.insert(format!("${{{queue}.Arn}}"));
                    }
                }
                Some("DynamoDB") => {
                    if let Some(Intrinsic::GetAtt(table, _)) = intrinsic(&properties["Stream"]) {
                        expected.insert(format!("${{{table}.StreamArn}}"));
                    }
                }
                Some("Schedule") => {
                    expected.insert(format!("{RULE}{name}"));
                    let named = matches!(intrinsic(&properties["Name"]), Some(Intrinsic::Sub(text)) if text == format!("${{AWS::StackName}}-{name}"));
                    if !named {
                        found.push(format!(
                            "{id}.{name}: a schedule needs Name: !Sub \"${{AWS::StackName}}-{name}\""
                        ));
                    }
                }
                _ => {}
            }
        }
        let listed: BTreeSet<String> =
            match intrinsic(&function.properties["Environment"]["Variables"]["EVENT_SOURCE_ARNS"]) {
                Some(Intrinsic::Sub(text)) => text.split(',').map(str::to_owned).collect(),
                _ => BTreeSet::new(),
            };
        if listed != expected {
            found.push(format!(
                "{id}: EVENT_SOURCE_ARNS must list {expected:?}, not {listed:?}"
            ));
        }
    }
}

#[test]
fn the_project_template_passes_every_check() {
    assert_eq!(problems(&project_template_text()), Vec::<String>::new());
}

fn broken(from: &str, to: &str) -> Vec<String> {
    let text = project_template_text();
    assert!(
        text.contains(from),
        "the template no longer contains {from:?}; update this test"
    );
    problems(&text.replacen(from, to, 1))
}

fn assert_caught(problems: Vec<String>, expected: &str) {
    assert!(
        problems.iter().any(|problem| problem.contains(expected)),
        "expected {expected:?} in {problems:#?}"
    );
}

#[test]
fn a_reference_to_a_missing_table_is_caught() {
    assert_caught(
        broken(
            "IDEMPOTENCY_TABLE: !Ref IdempotencyTable",
            "IDEMPOTENCY_TABLE: !Ref OrdersTabel",
        ),
        "!Ref OrdersTabel",
    );
    assert_caught(
        broken("!GetAtt IdempotencyTable.Arn", "!GetAtt IdempotencyTable.Url"),
        "IdempotencyTable.Url",
    );
    assert_caught(broken("${SenderIdentity}", "${SenderIdentty}"), "${SenderIdentty}");
}

#[test]
fn a_trigger_without_batch_item_failures_is_caught() {
    let sqs = "            Queue: !GetAtt StockChangeQueue.Arn\n            BatchSize: 10\n            MaximumBatchingWindowInSeconds: 1\n            FunctionResponseTypes: [ReportBatchItemFailures]";
    assert_caught(
        broken(sqs, &sqs.replace("[ReportBatchItemFailures]", "[]")),
        "StockAlertsWorkerFunction.StockChanges: SQS trigger must report batch item failures",
    );
    let stream =
        "            MaximumBatchingWindowInSeconds: 0\n            FunctionResponseTypes: [ReportBatchItemFailures]";
    assert_caught(
        broken(stream, &stream.replace("[ReportBatchItemFailures]", "[]")),
        "stream trigger must report batch item failures",
    );
}

#[test]
fn a_stream_trigger_without_retry_limit_or_dead_letter_queue_is_caught() {
    assert_caught(
        broken("MaximumRetryAttempts: 10", "MaximumRetryAttempts: -1"),
        "needs a MaximumRetryAttempts limit",
    );
    assert_caught(
        broken(
            "Destination: !GetAtt OutboxDeadLetterQueue.Arn",
            "Destination: OutboxDeadLetterQueue",
        ),
        "needs an on-failure queue",
    );
    assert_caught(
        broken(
            "Value: !GetAtt OutboxDeadLetterQueue.QueueName",
            "Value: OutboxDeadLetterQueue",
        ),
        "OutboxDeadLetterQueue: dead-letter queue has no depth",
    );
}

#[test]
fn a_wrong_runtime_or_binary_is_caught() {
    assert_caught(
        broken("Runtime: provided.al2023", "Runtime: provided.al2099"),
        "provided.al2023",
    );
    assert_caught(
        broken("Binary: order-intake", "Binary: order-intak"),
        "not a crate under functions/",
    );
}

#[test]
fn a_queue_without_dead_letter_queue_or_alarm_is_caught() {
    let text = project_template_text();
    let without_redrive = text.replacen(
        "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt StockChangeDeadLetterQueue.Arn\n        maxReceiveCount: 5\n",
        "",
        1,
    );
    assert_ne!(without_redrive, text);
    assert_caught(
        problems(&without_redrive),
        "StockChangeQueue: queue has no dead-letter queue",
    );
    assert_caught(
        broken(
            "Value: !GetAtt EmailDeadLetterQueue.QueueName",
            "Value: EmailDeadLetterQueue",
        ),
        "EmailDeadLetterQueue: dead-letter queue has no depth",
    );
    assert_caught(
        broken("maxReceiveCount: 5", "maxReceiveCount: 50"),
        "maxReceiveCount must be 5",
    );
}

#[test]
fn wildcards_and_foreign_keys_in_policies_are_caught() {
    assert_caught(
        broken("Resource: !GetAtt IdempotencyTable.Arn", "Resource: \"*\""),
        "wildcard resource",
    );
    assert_caught(broken("dynamodb:GetItem,", "dynamodb:*,"), "wildcard action");
    assert_caught(
        broken("[\"order-intake#*\"]", "[\"stock-alerts#*\"]"),
        "limited to order-intake#*",
    );
    assert_caught(
        broken(
            "Action: [dynamodb:ListStreams]",
            "Action: [dynamodb:ListStreams, dynamodb:GetRecords]",
        ),
        "wildcard resource",
    );
}

#[test]
fn a_function_without_its_own_role_is_caught() {
    assert_caught(
        broken(
            "      Role: !GetAtt ReviewMonitorFunctionRole.Arn\n",
            "      Policies: [AWSLambdaBasicExecutionRole]\n",
        ),
        "ReviewMonitorFunction: needs Role",
    );
    assert_caught(
        broken(
            "Role: !GetAtt ReviewMonitorFunctionRole.Arn",
            "Role: !GetAtt RefundProcessorFunctionRole.Arn",
        ),
        "is shared with another function",
    );
    assert_caught(
        broken(
            "service-role/AWSLambdaBasicExecutionRole",
            "service-role/AWSLambdaSQSQueueExecutionRole",
        ),
        "no managed policy but AWSLambdaBasicExecutionRole",
    );
}

#[test]
fn a_secret_in_a_functions_configuration_is_caught() {
    assert_caught(
        broken("WEBHOOK_SECRET_ID: !Ref WebhookSecretId", "WEBHOOK_SECRET: hunter2"),
        "OrderIntakeFunction: WEBHOOK_SECRET holds a secret in its configuration",
    );
    assert_caught(
        broken(
            "WEBHOOK_SECRET_ID: !Ref WebhookSecretId",
            "WEBHOOK_SECRET_ID: !Sub \"{{resolve:secretsmanager:${WebhookSecretId}:SecretString}}\"",
        ),
        "OrderIntakeFunction: WEBHOOK_SECRET_ID holds a secret",
    );
    assert_caught(
        broken(":secret:${WebhookSecretId}-??????", ":secret:*"),
        "OrderIntakeFunction: a webhook function reads its secret from WEBHOOK_SECRET_ID",
    );
    assert_caught(
        broken(
            "REPORTS_BUCKET: !Ref ReportsBucket",
            "REPORTS_BUCKET: !Ref ReportsBucket\n          REPLAYS_SCHEDULES: \"true\"",
        ),
        "SellerHealthFunction: REPLAYS_SCHEDULES is for the local stack, never deployed",
    );
}

#[test]
fn a_table_without_its_ttl_is_caught() {
    let text = project_template_text();
    let start = text.find("  RefundsTable:").expect("the refunds table");
    let ttl = "      TimeToLiveSpecification: { AttributeName: expires_at, Enabled: true }\n";
    let at = start + text[start..].find(ttl).expect("its TTL");
    let without = format!("{}{}", &text[..at], &text[at + ttl.len()..]);
    assert_caught(problems(&without), "RefundsTable: its TTL must be on");
}

#[test]
fn logs_kept_forever_or_at_trace_are_caught() {
    assert_caught(
        broken(
            "AllowedValues: [DEBUG, INFO, WARN, ERROR]",
            "AllowedValues: [TRACE, DEBUG, INFO, WARN, ERROR]",
        ),
        "without TRACE",
    );
    assert_caught(
        broken("        LogGroup: !Ref SellerHealthLogGroup\n", ""),
        "SellerHealthFunction: LoggingConfig.LogGroup",
    );
    assert_caught(
        broken(
            "      LogGroupName: !Sub \"/aws/lambda/${AWS::StackName}-OrderIntake\"\n      RetentionInDays: !Ref LogRetentionDays\n",
            "      LogGroupName: !Sub \"/aws/lambda/${AWS::StackName}-OrderIntake\"\n",
        ),
        "OrderIntakeLogGroup needs a RetentionInDays",
    );
}

#[test]
fn a_whole_bucket_is_a_wildcard_resource() {
    assert_caught(
        broken("${ReportsBucket.Arn}/operator/*", "${ReportsBucket.Arn}/*"),
        "SellerHealthFunction: a statement grants a wildcard resource",
    );
}

#[test]
fn email_from_any_address_is_caught() {
    assert_caught(
        broken(
            "                    ses:FromAddress: !Ref SenderAddress\n",
            "                    ses:FromAddress: \"*\"\n",
        ),
        "BuyerMessagingWorkerFunctionRole: ses:Send* needs",
    );
}

/// Release builds (what `sam build` deploys) panic on integer overflow instead of wrapping.
#[test]
fn release_builds_check_integer_overflow() {
    let manifest =
        std::fs::read_to_string(local_cloud::paths::workspace_root().join("Cargo.toml")).expect("Cargo.toml");
    let release: Vec<&str> = manifest
        .split("\n[")
        .find(|section| section.starts_with("profile.release]"))
        .expect("a [profile.release] section")
        .lines()
        .map(str::trim)
        .collect();
    assert!(release.contains(&"overflow-checks = true"), "{release:?}");
}

#[test]
fn a_public_url_without_a_concurrency_cap_is_caught() {
    let text = project_template_text();
    let uncapped = text.replacen(
        "      ReservedConcurrentExecutions: !If [CapWebhooks, !Ref WebhookConcurrency, !Ref AWS::NoValue]\n",
        "",
        1,
    );
    assert_ne!(uncapped, text);
    assert_caught(
        problems(&uncapped),
        "OrderIntakeFunction: a public URL needs ReservedConcurrentExecutions",
    );
}

#[test]
fn whole_order_writes_outside_order_intake_are_caught() {
    assert_caught(
        broken(
            "                Action: dynamodb:UpdateItem\n                Resource: !GetAtt OrdersTable.Arn",
            "                Action: dynamodb:PutItem\n                Resource: !GetAtt OrdersTable.Arn",
        ),
        "StockAlertsFunctionRole: writes to OrdersTable must be UpdateItem",
    );
    assert_caught(
        broken(
            "dynamodb:Attributes: [order_id, status,",
            "dynamodb:Attributes: [order_id, buyer, status,",
        ),
        "StockAlertsFunctionRole: writes to OrdersTable",
    );
    assert_caught(
        broken(
            "dynamodb:Attributes: [order_id, refunded,",
            "dynamodb:Attributes: [order_id, lines, refunded,",
        ),
        "RefundProcessorFunctionRole: writes to OrdersTable",
    );
}

#[test]
fn sku_writes_beyond_a_functions_attributes_are_caught() {
    assert_caught(
        broken(
            "dynamodb:Attributes: [sku_key, available, reserved, on_hand, watch, \"sold_*\"]",
            "dynamodb:Attributes: [sku_key, available, reserved, on_hand, watch, \"*\"]",
        ),
        "OrderIntakeFunctionRole: writes to InventoryTable",
    );
    assert_caught(
        broken(
            "dynamodb:Attributes: [sku_key, on_hand, available, watch]",
            "dynamodb:Attributes: [sku_key, on_hand, available, watch, low_stock_threshold]",
        ),
        "RefundProcessorFunctionRole: writes to InventoryTable",
    );
}

#[test]
fn event_sources_that_miss_or_add_a_trigger_are_caught() {
    assert_caught(
        broken(
            "EVENT_SOURCE_ARNS: !Sub \"${EmailQueue.Arn},${EmailFeedbackQueue.Arn},",
            "EVENT_SOURCE_ARNS: !Sub \"${EmailQueue.Arn},",
        ),
        "BuyerMessagingWorkerFunction: EVENT_SOURCE_ARNS must list",
    );
    assert_caught(
        broken(
            "EVENT_SOURCE_ARNS: !Sub \"${OutboxTable.StreamArn}\"",
            "EVENT_SOURCE_ARNS: !Sub \"${OutboxTable.StreamArn},${EmailQueue.Arn}\"",
        ),
        "OutboxRelayFunction: EVENT_SOURCE_ARNS must list",
    );
    assert_caught(
        broken("Name: !Sub \"${AWS::StackName}-ReplyClock\"", "Name: reply-clock"),
        "BuyerMessagingWorkerFunction.ReplyClock: a schedule needs Name",
    );
}

#[test]
fn a_public_url_sharing_its_function_with_internal_work_is_caught() {
    assert_caught(
        broken(
            "      Description: Relays every function's outbox entries to the follow-up topic; never behind a public URL.\n",
            "      Description: Relays every function's outbox entries.\n      FunctionUrlConfig:\n        AuthType: NONE\n      ReservedConcurrentExecutions: 25\n",
        ),
        "OutboxRelayFunction: a public URL shares its concurrency with [\"FollowUpOutbox\"]",
    );
}

#[test]
fn a_worker_that_could_read_the_signing_secret_is_caught() {
    assert_caught(
        broken(
            "      Description: Relays every function's outbox entries to the follow-up topic; never behind a public URL.\n      Environment:\n        Variables:\n",
            "      Description: Relays.\n      Environment:\n        Variables:\n          WEBHOOK_SECRET_ID: !Ref WebhookSecretId\n",
        ),
        "OutboxRelayFunction: a function without a URL takes no webhooks",
    );
}
