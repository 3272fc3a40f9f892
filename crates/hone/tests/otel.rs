//! OpenTelemetry: a `hone serve` process with `OTEL_EXPORTER_OTLP_ENDPOINT` set exports its
//! spans over OTLP/HTTP to a receiver here, and a job submitted with a `traceparent` header
//! has every span of its life in the caller's trace: the request, the job run, its
//! iterations, the model calls (with `gen_ai.*` attributes) and the sandbox runs.

#![expect(clippy::expect_used, reason = "test code: a failure is a failed test")]

#[allow(
    dead_code,
    reason = "the API tests' fake model, of which this test uses a part"
)]
#[path = "api/fake_model.rs"]
mod fake_model;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::post;
use serde_json::{Value, json};

use crate::fake_model::FakeModel;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// An OTLP/HTTP receiver: keeps every body posted to `/v1/traces`.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        post(move |body: axum::body::Bytes| {
            let keep = keep.clone();
            async move {
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    keep.lock().expect("lock").push(v);
                }
                axum::Json(json!({}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), got)
}

/// Every span received: (trace id, name, attributes as key → value).
fn spans(bodies: &[Value]) -> Vec<(String, String, serde_json::Map<String, Value>)> {
    let mut out = Vec::new();
    for body in bodies {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let attrs = span["attributes"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| {
                            (
                                a["key"].as_str().unwrap_or("").to_owned(),
                                a["value"].clone(),
                            )
                        })
                        .collect();
                    out.push((
                        span["traceId"].as_str().unwrap_or("").to_owned(),
                        span["name"].as_str().unwrap_or("").to_owned(),
                        attrs,
                    ));
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn spans_reach_an_otlp_receiver_in_the_callers_trace() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nprint('ok')\n```".to_owned()
    }))
    .await;
    let (otlp, received) = receiver().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let key = hone_api::auth::issue::issue(
        hone_api::auth::issue::KeyRequest {
            tenant: hone_domain::TenantId::default_tenant(),
            name: "otel".to_owned(),
            scopes: hone_domain::apikey::Scope::ALL.to_vec(),
            expires_in: None,
            by: hone_store::Actor::Operator,
        },
        hone_domain::Timestamp::now(),
    )
    .expect("key")
    .key;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--database-url",
            &format!("sqlite://{}", dir.path().join("hone.db").display()),
        ])
        .env("HONE_BOOTSTRAP_KEY", &key)
        .env("OPENAI_BASE_URL", &model.base_url)
        .env("OPENAI_API_KEY", "sk-test")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("HONE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start hone serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let created: Value = http
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(&key)
        .header("traceparent", format!("00-{TRACE}-{PARENT}-01"))
        .json(&json!({"task": "print ok", "tests": "pass", "critic": null}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    let mut names = Vec::new();
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let all = spans(&received.lock().expect("lock"));
        names = all
            .iter()
            .filter(|(t, _, _)| t == TRACE)
            .map(|(_, n, _)| n.clone())
            .collect();
        if names.iter().any(|n| n == "sandbox.run") && names.iter().any(|n| n == "job.run") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    for want in [
        "POST",
        "job.run",
        "iteration",
        "chat gpt-4.1-mini",
        "sandbox.run",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "no {want:?} span in the caller's trace (job {id}); got {names:?}"
        );
    }
    let all = spans(&received.lock().expect("lock"));
    let chat = all
        .iter()
        .find(|(t, n, _)| t == TRACE && n.starts_with("chat"))
        .expect("chat span");
    assert_eq!(
        chat.2["gen_ai.request.model"]["stringValue"],
        "gpt-4.1-mini"
    );
    assert_eq!(chat.2["gen_ai.operation.name"]["stringValue"], "chat");
    let sandbox = all
        .iter()
        .find(|(t, n, _)| t == TRACE && n == "sandbox.run")
        .expect("sandbox span");
    assert_eq!(
        chat.2["gen_ai.usage.input_tokens"]["intValue"], "100",
        "{:?}",
        chat.2
    );
    assert_eq!(
        chat.2["gen_ai.usage.output_tokens"]["intValue"], "20",
        "{:?}",
        chat.2
    );
    assert_eq!(sandbox.2["hone.run.status"]["stringValue"], "passed");
}
