//! Webhooks end to end: deliveries signed with the tenant's secret verify with the Standard
//! Webhooks reference implementation, a receiver that fails three times gets the event once
//! as a success with three failures logged, a rotation signs with both secrets, and private
//! targets are refused unless the operator allows them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};
use crate::receiver::Receiver;

const GOOD: &str = "```python\ndef add(a, b):\n    return a + b\n```";

async fn model() -> FakeModel {
    FakeModel::start(Arc::new(|_: &str, _: &str| GOOD.to_owned())).await
}

fn job(url: &str) -> Value {
    json!({"task": "add two numbers", "tests": "assert add(2, 3) == 5", "critic": null,
           "webhook": {"url": url}})
}

const FAST_RETRIES: [&str; 4] = [
    "--webhook-allow-private",
    "true",
    "--webhook-schedule",
    "0,100ms,100ms,100ms,100ms",
];

async fn secrets(app: &TestApp) -> Vec<String> {
    let got = app.get("/v1/webhook-secret").await;
    assert_eq!(got.status, 200, "{}", got.body);
    got.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["secret"].as_str().expect("secret").to_owned())
        .collect()
}

/// Polls the job's deliveries until `done` holds (or fails after 20 s).
async fn deliveries(app: &TestApp, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    for _ in 0..200 {
        let got = app.get(&format!("/v1/jobs/{id}/webhook-deliveries")).await;
        assert_eq!(got.status, 200, "{}", got.body);
        let items = got.body["items"].as_array().cloned().unwrap_or_default();
        if done(&items) {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("deliveries of {id} did not settle");
}

#[tokio::test]
async fn a_receiver_that_fails_three_times_gets_the_event_once_as_a_success() {
    let model = model().await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &FAST_RETRIES)
        .await
        .expect("sqlite app");
    let secret = secrets(&app).await;
    assert_eq!(secret.len(), 1);
    assert!(secret[0].starts_with("whsec_"));
    let receiver = Receiver::start(&[&secret[0]], &["--fail", "3"]).await;

    let created = app.submit(&job(&receiver.url())).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    assert_eq!(app.wait_finished(&id).await["status"], "succeeded");

    let tries = deliveries(&app, &id, |d| d.iter().any(|t| t["state"] == "delivered")).await;
    let codes: Vec<_> = tries.iter().map(|t| t["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(500), json!(500), json!(200)]);
    let attempts: Vec<_> = tries.iter().map(|t| t["attempt"].clone()).collect();
    assert_eq!(attempts, [json!(1), json!(2), json!(3), json!(4)]);
    assert!(
        tries
            .iter()
            .all(|t| t["webhook_id"] == tries[0]["webhook_id"])
    );
    assert!(tries.iter().all(|t| t["event_type"] == "job.succeeded"));
    assert!(tries[..3].iter().all(|t| !t["next_attempt_at"].is_null()));
    assert!(tries[3]["next_attempt_at"].is_null());

    let seen = receiver.entries();
    assert_eq!(seen.len(), 4, "{seen:?}");
    for entry in &seen {
        assert_eq!(entry["verified_with"], json!([0]), "{entry}");
        assert_eq!(entry["webhook_id"], tries[0]["webhook_id"]);
        assert_eq!(entry["type"], "job.succeeded");
        assert_eq!(entry["job_status"], "succeeded");
    }
    let successes = seen.iter().filter(|e| e["answered"] == 200).count();
    assert_eq!(successes, 1);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_during_the_overlap() {
    let model = model().await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &FAST_RETRIES)
        .await
        .expect("sqlite app");
    let old = secrets(&app).await.remove(0);
    let rotated = app.post("/v1/webhook-secret/rotate").await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let now = secrets(&app).await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[1], old, "the old secret still signs");
    assert!(!rotated.body["items"][1]["expires_at"].is_null());
    let receiver = Receiver::start(&[&now[0], &old], &[]).await;

    let id = app.submit(&job(&receiver.url())).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    deliveries(&app, &id, |d| d.iter().any(|t| t["state"] == "delivered")).await;
    let seen = receiver.entries();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0]["signatures"].as_array().map(Vec::len), Some(2));
    assert_eq!(seen[0]["verified_with"], json!([0, 1]));

    // Without overlap the previous current secret stops signing at once.
    let bad = app.post("/v1/webhook-secret/rotate?overlap_s=x").await;
    assert_eq!(bad.status, 400);
    app.post("/v1/webhook-secret/rotate?overlap_s=0").await;
    let after = secrets(&app).await;
    assert!(!after.contains(&now[0]));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let model = model().await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    for (url, kind) in [
        ("http://127.0.0.1:9/x", "loopback"),
        ("http://10.0.0.1/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[::1]:9/x", "loopback"),
        ("http://[::ffff:192.168.0.1]/x", "private"),
    ] {
        let got = app.submit(&job(url)).await;
        assert_eq!(got.status, 422, "{url}: {}", got.body);
        let detail = got.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(detail.contains(kind), "{url}: {}", got.body);
        assert_eq!(got.body["errors"][0]["field"], "webhook.url");
    }
    let listed = app.get("/v1/jobs").await;
    assert_eq!(
        listed.body["items"],
        json!([]),
        "refused jobs are not stored"
    );

    // A name is checked when it is resolved: localhost is loopback, so nothing is sent.
    let secret = secrets(&app).await.remove(0);
    let receiver = Receiver::start(&[&secret], &[]).await;
    let url = format!("http://localhost:{}/hook", receiver.port);
    let created = app.submit(&job(&url)).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["id"].as_str().expect("id").to_owned();
    let tries = deliveries(&app, &id, |d| !d.is_empty()).await;
    assert_eq!(tries.len(), 1, "a refusal is not retried: {tries:?}");
    assert_eq!(tries[0]["state"], "refused");
    let error = tries[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("loopback"), "{error}");
    assert!(receiver.entries().is_empty());

    // The operator's setting allows them.
    let open = TestApp::start_with(
        Backend::Sqlite,
        &model,
        &["--webhook-allow-private", "true"],
    )
    .await
    .expect("sqlite app");
    let secret = secrets(&open).await.remove(0);
    let receiver = Receiver::start(&[&secret], &[]).await;
    let url = format!("http://localhost:{}/hook", receiver.port);
    let id = open.submit(&job(&url)).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    deliveries(&open, &id, |d| d.iter().any(|t| t["state"] == "delivered")).await;
    assert_eq!(receiver.entries()[0]["verified_with"], json!([0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delivery_cut_by_a_killed_dispatcher_is_sent_after_restart() {
    let model = model().await;
    let Some(mut cluster) = Cluster::start(&model, 1).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let secret = cluster.get("/v1/webhook-secret").await["items"][0]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    let receiver = Receiver::start(&[&secret], &["--hang-first", "30"]).await;
    let id = cluster.submit(job(&receiver.url())).await;
    for _ in 0..300 {
        if receiver.hanging() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(receiver.hanging(), "the first delivery did not arrive");
    cluster.crash_and_restart(0, 1).await;

    let mut delivered = Vec::new();
    for _ in 0..300 {
        let tries = cluster
            .get(&format!("/v1/jobs/{id}/webhook-deliveries"))
            .await;
        delivered = tries["items"].as_array().cloned().unwrap_or_default();
        if delivered.iter().any(|t| t["state"] == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        delivered.iter().any(|t| t["status_code"] == 200),
        "{delivered:?}"
    );
    let answered: Vec<_> = receiver
        .entries()
        .into_iter()
        .filter(|e| e["webhook_id"] == delivered[0]["webhook_id"] && e["n"] != 1)
        .collect();
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!(answered[0]["verified_with"], json!([0]));
}

#[tokio::test]
async fn gone_stops_retries_and_a_redirect_is_a_failure() {
    let model = model().await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &FAST_RETRIES)
        .await
        .expect("sqlite app");
    let secret = secrets(&app).await.remove(0);

    let gone = Receiver::start(&[&secret], &["--status", "410"]).await;
    let id = app.submit(&job(&gone.url())).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let tries = deliveries(&app, &id, |d| d.iter().any(|t| t["state"] != "pending")).await;
    assert_eq!(tries.len(), 1, "{tries:?}");
    assert_eq!(tries[0]["state"], "gone");
    assert_eq!(tries[0]["status_code"], 410);

    // A 302 is not followed: every try fails until the schedule (5 tries here) is spent.
    let moved = Receiver::start(&[&secret], &["--status", "302"]).await;
    let id = app.submit(&job(&moved.url())).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let tries = deliveries(&app, &id, |d| d.iter().any(|t| t["state"] == "failed")).await;
    assert_eq!(tries.len(), 5, "{tries:?}");
    assert!(tries.iter().all(|t| t["status_code"] == 302));
    let error = tries[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("redirects are not followed"), "{error}");
    assert_eq!(moved.entries().len(), 5);
}
