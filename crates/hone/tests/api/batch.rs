//! `POST /v1/jobs/batch`: all jobs or none, every invalid item named, ids in order, the
//! Idempotency-Key over the whole batch; on both databases.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, Reply, TestApp};

fn spec(i: usize) -> Value {
    json!({"task": format!("task {i}"), "tests": "pass", "critic": null,
           "metadata": {"n": i.to_string()}})
}

async fn batch(app: &TestApp, items: Vec<Value>, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    let body = json!({"items": items}).to_string();
    app.post_json("/v1/jobs/batch", body, &headers).await
}

async fn count(app: &TestApp) -> usize {
    let listed = app.get("/v1/jobs?limit=500").await;
    listed.body["items"].as_array().map_or(0, Vec::len)
}

async fn batches_on(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nprint(1)\n```".to_owned()
    }))
    .await;
    let Some(app) = TestApp::start(backend, &model).await else {
        return;
    };
    // Invalid items are each named, and nothing is stored.
    let mut items: Vec<Value> = (0..5).map(spec).collect();
    items[1]["tests"] = json!(5);
    items[3]["priority"] = json!(1000);
    items[4] = json!("not an object");
    let refused = batch(&app, items, None).await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    let fields: Vec<&str> = refused.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "items[1].tests",
            "items[1].acceptance",
            "items[3].priority",
            "items[4]"
        ]
    );
    assert_eq!(count(&app).await, 0);

    // The shape of the batch itself.
    for (body, field) in [
        (json!({}), "items"),
        (json!({"items": []}), "items"),
        (json!({"items": {}}), "items"),
        (json!({"items": [spec(0)], "extra": 1}), "extra"),
        (json!({"items": vec![spec(0); 1001]}), "items"),
    ] {
        let r = app.post_json("/v1/jobs/batch", body.to_string(), &[]).await;
        assert_eq!(r.status, 422, "{:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field);
    }
    assert_eq!(count(&app).await, 0);

    // A valid batch: every job stored, the ids in order.
    let stored = batch(&app, (0..120).map(spec).collect(), Some("b-1")).await;
    assert_eq!(stored.status, 202, "{:?}", stored.body);
    let ids: Vec<String> = stored.body["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 120);
    for i in [0, 60, 119] {
        let job = app.get(&format!("/v1/jobs/{}", ids[i])).await;
        assert_eq!(job.body["spec"]["task"], format!("task {i}"));
    }
    assert_eq!(count(&app).await, 120);

    // The same key and body: the same ids, nothing stored; another body: refused.
    let again = batch(&app, (0..120).map(spec).collect(), Some("b-1")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["ids"], stored.body["ids"]);
    let other = batch(&app, vec![spec(7)], Some("b-1")).await;
    assert_eq!(other.status, 422);
    assert_eq!(
        other.body["type"],
        "urn:hone:problem:idempotency-key-reused"
    );
    assert_eq!(count(&app).await, 120);

    // The batch's jobs run like any other.
    let first = app.wait_finished(&ids[0]).await;
    assert_eq!(first["status"], "succeeded", "{first}");
}

on_both!(
    a_batch_stores_all_or_nothing_on_sqlite,
    a_batch_stores_all_or_nothing_on_postgres,
    batches_on
);
