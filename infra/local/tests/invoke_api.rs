//! The local Invoke API, driven by real Lambda clients: boto3 and `cargo lambda invoke`. A
//! function's failure must reach them as Lambda reports it (a 200 with
//! `X-Amz-Function-Error: Unhandled` and the error's payload), so that boto3 does not take it
//! for a server error and invoke the function again, and cargo-lambda can read the error.

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use local_cloud::gateway::{Routes, route};
use local_cloud::loopback::{HttpClient, serve};
use local_cloud::runtime_api::Runtime;
use local_cloud::{paths, venv};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// A `bootstrap` played by the test: echoes its event, or fails when the event says so.
async fn echo_function(runtime_api: std::net::SocketAddr, invocations: Arc<AtomicUsize>) {
    let client = HttpClient::default();
    let base = format!("http://{runtime_api}/2018-06-01/runtime/invocation");
    loop {
        let Ok(next) = client.get(&format!("{base}/next")).await else {
            return;
        };
        invocations.fetch_add(1, Ordering::SeqCst);
        let id = next.headers["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let event = next.json();
        let (path, answer) = if event["fail"] == json!(true) {
            (
                "error",
                json!({"errorType": "Boom", "errorMessage": "the event asked to fail"}),
            )
        } else {
            ("response", json!({"echo": event}))
        };
        let _ = client
            .send(Method::POST, &format!("{base}/{id}/{path}"), &[], answer.to_string())
            .await;
    }
}

/// The gateway in front of one function, `echo`; answers its address and invocation count.
async fn gateway() -> (String, Arc<AtomicUsize>) {
    let (runtime, invoker) = Runtime::new("echo", Duration::from_secs(10), None);
    let (runtime_api, _instance, server) = runtime.endpoint().await.unwrap();
    tokio::spawn(server);
    let invocations = Arc::new(AtomicUsize::new(0));
    tokio::spawn(echo_function(runtime_api, invocations.clone()));
    let routes = Arc::new(Routes {
        invokers: BTreeMap::from([("echo".to_owned(), invoker)]),
        urls: Vec::new(),
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, move |request| route(routes.clone(), request)));
    (format!("http://{address}"), invocations)
}

const BOTO3: &str = r#"
import json, sys
import boto3
client = boto3.client("lambda", endpoint_url=sys.argv[1], region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
seen = {}
answer = client.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))
seen["ok"] = [answer["StatusCode"], answer.get("FunctionError"), json.loads(answer["Payload"].read())]
answer = client.invoke(FunctionName="echo", Payload=json.dumps({"fail": True}))
seen["failed"] = [answer["StatusCode"], answer.get("FunctionError"), json.loads(answer["Payload"].read())]
answer = client.invoke(FunctionName="arn:aws:lambda:us-east-1:123456789012:function:echo",
                       InvocationType="Event", Payload=json.dumps({"n": 2}))
seen["event"] = [answer["StatusCode"]]
try:
    client.invoke(FunctionName="nope", Payload="{}")
except client.exceptions.ResourceNotFoundException as error:
    seen["missing"] = [error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"]]
print(json.dumps(seen))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_invokes_as_it_would_invoke_lambda() {
    venv::ensure().unwrap();
    let (endpoint, invocations) = gateway().await;
    let output = tokio::task::spawn_blocking(move || {
        Command::new(paths::venv_bin("python"))
            .args(["-c", BOTO3, &endpoint])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["ok"], json!([200, null, {"echo": {"n": 1}}]));
    assert_eq!(
        seen["failed"],
        json!([200, "Unhandled", {"errorType": "Boom", "errorMessage": "the event asked to fail"}])
    );
    assert_eq!(seen["event"], json!([202]));
    assert_eq!(seen["missing"], json!([404, "ResourceNotFoundException"]));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        invocations.load(Ordering::SeqCst),
        3,
        "the failure was not retried: ok, failed, and the asynchronous one"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_invoke_reads_answers_and_errors() {
    venv::ensure().unwrap();
    let (endpoint, _) = gateway().await;
    let port = endpoint.rsplit(':').next().unwrap().to_owned();
    let invoke = move |data: &str| {
        Command::new(paths::venv_bin("cargo-lambda"))
            .args([
                "lambda",
                "invoke",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
                &port,
            ])
            .args(["--data-ascii", data, "--output-format", "json", "echo"])
            .output()
            .unwrap()
    };
    let (ok, failed) = tokio::task::spawn_blocking(move || (invoke(r#"{"n":1}"#), invoke(r#"{"fail":true}"#)))
        .await
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let answer: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(answer, json!({"echo": {"n": 1}}));
    // It used to stop at "missing field `errorType`": the error is now Lambda's own payload.
    assert!(failed.status.success(), "{}", String::from_utf8_lossy(&failed.stderr));
    let error: Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(
        error,
        json!({"errorType": "Boom", "errorMessage": "the event asked to fail"})
    );
}
