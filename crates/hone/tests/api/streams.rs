//! Live streams within bounds: a key, a tenant and the whole process each hold at most their
//! cap of open streams, the next gets a problem document (`429`, or `503` for the process),
//! a closed stream frees its place, and `/healthz` answers at once throughout. The dashboard's
//! streams count against the same caps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::access::key_in_database;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

/// Opens `GET /v1/events` with `http`: the response, whatever its status.
async fn open(app: &TestApp, http: &reqwest::Client) -> reqwest::Response {
    http.get(format!("{}/v1/events", app.base))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("open a stream")
}

async fn refused(resp: reqwest::Response, status: u16, cap: &str) {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    assert!(resp.headers().contains_key("retry-after"));
    let body: serde_json::Value = resp.json().await.expect("problem");
    assert_eq!(body["type"], "urn:hone:problem:too-many-streams");
    assert_eq!(body["cap"], cap, "{body}");
}

async fn healthz_at_once(app: &TestApp) {
    let started = Instant::now();
    assert_eq!(app.get("/healthz").await.status, 200);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cap_on_open_streams_holds_and_healthz_answers_meanwhile() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let flags = [
        "--max-streams-per-key",
        "3",
        "--max-streams-per-tenant",
        "5",
        "--http-max-connections",
        "20",
    ];
    let app = TestApp::start_with(Backend::Sqlite, &model, &flags)
        .await
        .expect("sqlite app");
    // The key's cap: its fourth stream is refused.
    let mut held = Vec::new();
    for _ in 0..3 {
        let resp = open(&app, &app.http).await;
        assert_eq!(resp.status().as_u16(), 200);
        held.push(resp);
    }
    refused(open(&app, &app.http).await, 429, "key").await;
    // The tenant's cap: another key of the same tenant gets two more, not three.
    let second = client_with(&key_in_database(&app, "default").await);
    for _ in 0..2 {
        let resp = open(&app, &second).await;
        assert_eq!(resp.status().as_u16(), 200);
        held.push(resp);
    }
    refused(open(&app, &second).await, 429, "tenant").await;
    healthz_at_once(&app).await;
    // The process's cap (half the 20 connections): other tenants fill the other five places.
    for t in 0..5 {
        let other = client_with(&key_in_database(&app, &format!("tenant-{t}")).await);
        let resp = open(&app, &other).await;
        assert_eq!(resp.status().as_u16(), 200);
        held.push(resp);
    }
    let late = client_with(&key_in_database(&app, "tenant-late").await);
    refused(open(&app, &late).await, 503, "process").await;
    for _ in 0..5 {
        healthz_at_once(&app).await;
    }
    // A closed stream frees its place.
    drop(held.pop());
    let mut reopened = None;
    for _ in 0..50 {
        let resp = open(&app, &late).await;
        if resp.status().as_u16() == 200 {
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "a closed stream's place was not freed");
}

#[tokio::test]
async fn a_stream_cap_at_or_over_the_connection_cap_is_refused_at_start() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let flags = ["--max-streams", "20", "--http-max-connections", "20"];
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}", dir.path().join("hone.db").display());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &db])
        .args(["--openai-base-url", &model.base_url])
        .args(flags)
        .output()
        .expect("run hone serve");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("HONE_MAX_STREAMS (20) must be below"), "{err}");
}
