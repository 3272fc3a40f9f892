//! The operations API through HTTP: history filters and search, re-runs with a merge patch,
//! bulk cancel, and the runtimes report. (Every filter against a reference, on both
//! databases, is the store's conformance case `history_filters_match_a_reference`.)

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

fn ids(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|j| j["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn slow_model() -> FakeModel {
    FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| "```python\nimport time\ntime.sleep(30)\n```".to_owned()),
        Arc::new(|_: &str| Duration::from_millis(300)),
    )
    .await
}

async fn history_through_http(backend: Backend) {
    let model = slow_model().await;
    let Some(app) = TestApp::start(backend, &model).await else {
        return;
    };
    let specs = [
        json!({"task": "Parse the CSV report", "tags": ["nightly"], "metadata": {"team": "red"}}),
        json!({"task": "Sort the ledger", "tags": ["nightly", "ci", "ci"], "metadata": {"team": "blue"}}),
        json!({"task": "Merge two lists", "tags": ["ci"], "language": "bash"}),
    ];
    let mut made = Vec::new();
    for s in &specs {
        let mut s = s.clone();
        s["tests"] = json!("true");
        s["critic"] = Value::Null;
        let r = app.submit(&s).await;
        assert_eq!(r.status, 202, "{}", r.body);
        made.push(r.body["id"].as_str().expect("id").to_owned());
    }
    let created = app.get(&format!("/v1/jobs/{}", made[1])).await.body;
    assert_eq!(created["tags"], json!(["nightly", "ci"]), "repeats dropped");

    let cases = [
        ("tag=nightly", vec![1, 0]),
        ("tag=nightly&tag=ci", vec![1]),
        ("metadata.team=red", vec![0]),
        ("q=csv", vec![0]),
        ("q=sorting", vec![1]),
        ("language=bash&language=python", vec![2, 1, 0]),
        ("language=bash", vec![2]),
        ("model=gpt-4.1-mini&tag=ci", vec![2, 1]),
        ("q=%22OR%20NEAR(", vec![]),
        ("created_before=2000-01-01T00:00:00Z", vec![]),
        ("created_after=2000-01-01T00:00:00Z&limit=1", vec![2]),
    ];
    for (query, want) in cases {
        let r = app.get(&format!("/v1/jobs?{query}")).await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        let want: Vec<String> = want.iter().map(|&i| made[i].clone()).collect();
        assert_eq!(ids(&r.body), want, "{query}");
    }
    for bad in [
        "tag=no%20spaces",
        "status=nope",
        "reason=maybe",
        "created_after=yesterday",
        "metadata.=x",
        "q=",
        "retry_of=12",
        "colour=red",
    ] {
        let r = app.get(&format!("/v1/jobs?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(
            r.body["errors"][0]["field"].is_string(),
            "{bad}: {}",
            r.body
        );
    }

    // A re-run with a merge patch: linked both ways, validated like a submission.
    let retry = app
        .post_json(
            &format!("/v1/jobs/{}/retry", made[0]),
            json!({"tags": ["rerun"], "max_iterations": 2, "metadata": {"team": null}}).to_string(),
            &[],
        )
        .await;
    assert_eq!(retry.status, 202, "{}", retry.body);
    assert_eq!(retry.body["retry_of"], json!(made[0]));
    assert_eq!(retry.body["spec"]["task"], "Parse the CSV report");
    assert_eq!(retry.body["spec"]["max_iterations"], 2);
    assert_eq!(retry.body["tags"], json!(["rerun"]));
    assert_eq!(retry.body["metadata"], json!({}));
    let new_id = retry.body["id"].as_str().expect("id").to_owned();
    let original = app.get(&format!("/v1/jobs/{}", made[0])).await.body;
    assert_eq!(original["retried_as"], json!(new_id));
    // `"critic": null` in a patch turns critique off, as in a submission (a bare merge
    // patch would only drop the field, which brings the default critic back).
    let with_critic = app
        .post_json(
            &format!("/v1/jobs/{new_id}/retry"),
            json!({"critic": {"model": "gpt-4.1"}, "acceptance": "tests_and_critic"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(with_critic.status, 202, "{}", with_critic.body);
    assert_eq!(with_critic.body["spec"]["critic"]["model"], "gpt-4.1");
    let critic_id = with_critic.body["id"].as_str().expect("id").to_owned();
    let without = app
        .post_json(
            &format!("/v1/jobs/{critic_id}/retry"),
            json!({"critic": null, "acceptance": "tests"}).to_string(),
            &[],
        )
        .await;
    assert_eq!(without.status, 202, "{}", without.body);
    assert!(without.body["spec"]["critic"].is_null(), "{}", without.body);
    let plain = app.post(&format!("/v1/jobs/{}/retry", made[2])).await;
    assert_eq!(plain.status, 202, "an empty body re-runs as it was");
    let listed = app.get(&format!("/v1/jobs?retry_of={}", made[0])).await;
    assert_eq!(ids(&listed.body), vec![new_id.clone()]);
    let before = ids(&app.get("/v1/jobs?limit=100").await.body).len();
    for (patch, field) in [
        (json!({"max_iterations": 0}), "max_iterations"),
        (json!({"task": null}), "task"),
        (json!(["not", "an", "object"]), ""),
    ] {
        let r = app
            .post_json(
                &format!("/v1/jobs/{}/retry", made[0]),
                patch.to_string(),
                &[],
            )
            .await;
        assert_eq!(r.status, 422, "{patch}: {}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{}", r.body);
    }
    let missing = app
        .post("/v1/jobs/01930000-0000-7000-8000-000000000000/retry")
        .await;
    assert_eq!(missing.status, 404);
    assert_eq!(ids(&app.get("/v1/jobs?limit=100").await.body).len(), before);

    // Bulk cancel: it takes what the filter takes, and says how many.
    let bad = app.post("/v1/jobs/cancel?tag=a%20b").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let done = app.post("/v1/jobs/cancel?tag=nightly").await;
    assert_eq!(done.status, 200, "{}", done.body);
    let taken = done.body["cancelled"].as_u64().expect("n")
        + done.body["cancel_requested"].as_u64().expect("n");
    assert_eq!(taken, 2, "{}", done.body);
    for id in &made[..2] {
        assert_eq!(app.wait_finished(id).await["status"], "cancelled");
    }
    let untouched = app.get(&format!("/v1/jobs/{}", made[2])).await.body;
    assert_ne!(untouched["status"], "cancelled");
    let rest = app.post("/v1/jobs/cancel").await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(app.wait_finished(&made[2]).await["status"], "cancelled");

    for _ in 0..100 {
        let open = app.get("/v1/jobs?status=queued&status=running").await;
        if open.body["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = app.get("/v1/stats?group_by=tag&bucket=hour").await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["jobs"]["jobs"], 7, "{}", stats.body);
    assert_eq!(stats.body["jobs"]["cancelled"], 7, "{}", stats.body);
    assert_eq!(stats.body["outcomes"]["cancelled"], 7, "{}", stats.body);
    let keys: Vec<&str> = stats.body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["ci", "rerun", "nightly"], "{}", stats.body);
    for bad in [
        "bucket=week",
        "group_by=colour",
        "since=2026-01-01T00:00:00Z&until=2025-01-01T00:00:00Z",
        "since=2020-01-01T00:00:00Z",
        "since=2026-01-01T00:00:00Z&until=2026-12-01T00:00:00Z&bucket=hour",
    ] {
        let r = app.get(&format!("/v1/stats?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }

    let runtimes = app.get("/v1/runtimes").await;
    assert_eq!(runtimes.status, 200);
    assert_eq!(runtimes.body["runs_jobs"], true);
    let python = &runtimes.body["items"][0];
    assert_eq!(python["language"], "python");
    assert_eq!(python["ready"], true, "{python}");
    let version = python["version"].as_str().expect("version");
    assert!(version.starts_with("Python 3"), "{version}");
}

on_both!(
    history_retry_bulk_cancel_and_runtimes_on_sqlite,
    history_retry_bulk_cancel_and_runtimes_on_postgres,
    history_through_http
);
