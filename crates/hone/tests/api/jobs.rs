//! Listing, idempotent submission, cancellation and the probes.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// A model that takes a while, so jobs stay running long enough to cancel.
async fn slow_model() -> FakeModel {
    FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "```python\nimport time\ntime.sleep(30)\n```".to_owned()),
        Arc::new(|_: &str| Duration::from_millis(300)),
    )
    .await
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_first_job() {
    let model = slow_model().await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let body = json!({"task": "t", "tests": "pass", "critic": null}).to_string();
    let first = app
        .submit_raw(body.clone(), &[("Idempotency-Key", "abc-1")])
        .await;
    assert_eq!(first.status, 202);
    // Same body, keys in another order and spacing: the same request.
    let reordered = json!({"critic": null, "tests": "pass", "task": "t"}).to_string();
    let again = app
        .submit_raw(reordered, &[("Idempotency-Key", "abc-1")])
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    let other = app
        .submit_raw(
            json!({"task": "other"}).to_string(),
            &[("Idempotency-Key", "abc-1")],
        )
        .await;
    assert_eq!(other.status, 422);
    assert_eq!(
        other.body["type"],
        "urn:hone:problem:idempotency-key-reused"
    );
    let listed = app.get("/v1/jobs").await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn jobs_list_newest_first_with_a_cursor_and_a_status_filter() {
    let model = slow_model().await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = app
            .submit(&json!({"task": format!("t{i}"), "tests": "pass", "critic": null}))
            .await;
        ids.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let page = app.get("/v1/jobs?limit=2").await.body;
    let got: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|j| j["id"].as_str().expect("id"))
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    let cursor = page["next_cursor"].as_str().expect("cursor");
    let rest = app
        .get(&format!("/v1/jobs?limit=2&cursor={cursor}"))
        .await
        .body;
    assert_eq!(rest["items"][0]["id"], ids[0].as_str());
    assert!(rest["next_cursor"].is_null());
    let none = app.get("/v1/jobs?status=succeeded").await.body;
    assert_eq!(none["items"], json!([]));
}

#[tokio::test]
async fn cancel_stops_a_running_job_and_refuses_a_finished_one() {
    // The code execs `sleep 60.4242`, a command line no other process has.
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nimport os\nos.execv('/usr/bin/sleep', ['sleep', '60.4242'])\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let spec =
        json!({"task": "t", "tests": "pass", "critic": null, "limits": {"timeout_ms": 60000}});
    let id = app.submit(&spec).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let sleepers = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains("60.4242"))
            })
            .count()
    };
    for _ in 0..200 {
        if sleepers() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sleepers(), 1, "the sandboxed sleep is running");
    let started = std::time::Instant::now();
    let cancel = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "cancelled");
    assert_eq!(job["outcome"]["reason"], "cancelled");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    for _ in 0..40 {
        if sleepers() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sleepers(), 0, "no sandbox process survives the cancel");
    let again = app.post(&format!("/v1/jobs/{id}/cancel")).await;
    assert_eq!(again.status, 409);
    let unknown = app
        .post("/v1/jobs/01935f4e-0000-7000-8000-000000000000/cancel")
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn probes_answer() {
    let model = slow_model().await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    assert_eq!(app.get("/healthz").await.body["status"], "ok");
    let ready = app.get("/readyz").await.body;
    assert_eq!(ready["database"]["backend"], "sqlite");
    assert_eq!(ready["sandbox"]["backend"], "bubblewrap");
    let openapi = app.get("/openapi.yaml").await;
    assert!(
        openapi
            .body
            .as_str()
            .expect("yaml")
            .starts_with("openapi: 3.1.0")
    );
    // Metrics need no key and are on the API's listener unless given their own.
    assert!(app.metrics_base.is_none());
    let metrics = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("text");
    assert!(text.contains("# TYPE hone_queue_depth gauge"), "{text}");
}

#[tokio::test]
async fn a_model_that_keeps_failing_requeues_the_job_then_fails_it_with_an_error() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        crate::fake_model::FAIL_WITH_500.to_owned()
    }))
    .await;
    let flags = [
        "--model-retries",
        "1",
        "--max-requeues",
        "2",
        "--requeue-delay-ms",
        "50",
    ];
    let app = TestApp::start_with(Backend::Sqlite, &model, &flags)
        .await
        .expect("app");
    let id = app
        .submit(&json!({"task": "t", "tests": "pass", "critic": null}))
        .await
        .body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["outcome"]["reason"], "error");
    assert!(
        job["outcome"]["message"]
            .as_str()
            .expect("message")
            .contains("unavailable")
    );
    assert_eq!(job["requeues"], 2);
    let events = app.get(&format!("/v1/jobs/{id}/events")).await.body;
    let requeued = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["type"] == "job.requeued")
        .count();
    assert_eq!(requeued, 2);
    // Three claims, two requests each (one retry): the error was never the code's fault.
    assert_eq!(model.requests.lock().expect("lock").len(), 6);
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let items = attempts["items"].as_array().expect("items");
    assert!(items.iter().all(|a| a["feedback"].is_null()));
    // The attempt the error interrupted failed with its job: nobody cancelled it.
    assert!(!items.is_empty());
    assert!(items.iter().all(|a| a["status"] == "failed"), "{attempts}");
}

/// A named provider limited to 2 calls in flight (in the configuration file) never has
/// more, however many jobs name it at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_providers_concurrency_limit_holds_under_200_jobs() {
    let model = crate::fake_model::FakeModel::start_slow(
        std::sync::Arc::new(|_: &str, _: &str| "```python\nx = 1\n```".to_owned()),
        std::sync::Arc::new(|_: &str| std::time::Duration::from_millis(10)),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("hone.toml");
    let text = format!(
        "[providers.local]\nbase_url = \"{}\"\nmax_concurrency = 2\n",
        model.base_url
    );
    std::fs::write(&file, text).expect("config file");
    let path = file.display().to_string();
    let app = crate::helpers::TestApp::start_with(
        crate::helpers::Backend::Sqlite,
        &model,
        &["--config", &path],
    )
    .await
    .expect("app");
    let spec = serde_json::json!({"task": "t", "tests": "pass", "critic": null,
                                  "actor": {"provider": "local", "model": "m"}});
    let items: Vec<serde_json::Value> = (0..200).map(|_| spec.clone()).collect();
    let batch = app
        .post_json(
            "/v1/jobs/batch",
            serde_json::json!({"items": items}).to_string(),
            &[],
        )
        .await;
    assert_eq!(batch.status, 202, "{}", batch.body);
    let ids: Vec<String> = batch.body["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect();
    for id in &ids {
        assert_eq!(app.wait_finished(id).await["status"], "succeeded");
    }
    let most = model
        .in_flight
        .most
        .load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(model.requests.lock().expect("lock").len(), 200);
    assert!(most <= 2, "{most} calls were in flight at once");
    assert_eq!(most, 2, "the limit is reached, not undercut");
}
