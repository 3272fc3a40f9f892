//! Body limits mean what the docs say: the route's limit is the only one. A job spec with
//! every size-bearing field at its bound is accepted; a batch just under its 32 MiB limit is
//! accepted and one byte over it is refused with `413`, which stores nothing.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// 256 KiB: the largest file, `tests` or `starter_code` (`docs/api.md`).
const TEXT: usize = 256 * 1024;
/// The batch limit's default.
const BATCH_LIMIT: usize = 32 * 1024 * 1024;

/// Text of exactly `n` bytes that needs no JSON escaping (no newline: JSON writes it as two
/// bytes).
fn text(n: usize) -> String {
    let line = "value = compute(value) + 1; ";
    line.repeat(n / line.len() + 1)[..n].to_owned()
}

/// A spec whose files, tests and starter code are each at their bound.
fn maximal_spec() -> Value {
    let files: serde_json::Map<String, Value> = (0..32)
        .map(|i| (format!("data_{i}.txt"), Value::String(text(TEXT))))
        .collect();
    json!({
        "task": text(64 * 1024),
        "tests": format!("assert True\n#{}", text(TEXT - 13)),
        "starter_code": text(TEXT),
        "files": files,
        "max_iterations": 1,
        "critic": null,
    })
}

#[tokio::test]
async fn a_spec_with_every_field_at_its_bound_is_accepted() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let spec = maximal_spec();
    let body = spec.to_string();
    assert!(body.len() > 8 * 1024 * 1024, "{} bytes", body.len());
    let reply = app.submit_raw(body, &[]).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let id = reply.body["id"].as_str().expect("id");
    let job = app.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(
        job.body["spec"]["files"]["data_31.txt"],
        spec["files"]["data_31.txt"]
    );
}

/// A batch body of exactly `size` bytes: five specs of files, the last file cut to fit.
fn batch_of(size: usize) -> String {
    let item = |files: &serde_json::Map<String, Value>| json!({"task": "t", "files": files, "max_iterations": 1});
    let full: serde_json::Map<String, Value> = (0..31)
        .map(|i| (format!("f{i}.txt"), Value::String(text(TEXT))))
        .collect();
    let mut items: Vec<Value> = (0..4).map(|_| item(&full)).collect();
    let mut last = serde_json::Map::new();
    let body = |items: &[Value], last: &serde_json::Map<String, Value>| {
        let mut all = items.to_vec();
        all.push(item(last));
        json!({ "items": all }).to_string()
    };
    while body(&items, &last).len() + TEXT + 64 < size {
        last.insert(format!("g{}.txt", last.len()), Value::String(text(TEXT)));
    }
    let name = format!("g{}.txt", last.len());
    last.insert(name.clone(), Value::String(String::new()));
    let missing = size - body(&items, &last).len();
    assert!(missing <= TEXT, "the last file fits: {missing}");
    last.insert(name, Value::String(text(missing)));
    assert!(last.len() <= 32);
    items.push(item(&last));
    let body = json!({ "items": items }).to_string();
    assert_eq!(body.len(), size);
    body
}

#[tokio::test]
async fn a_batch_just_under_its_limit_is_accepted_and_one_byte_over_is_refused() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &[])
        .await
        .expect("sqlite app");
    let over = app
        .post_json("/v1/jobs/batch", batch_of(BATCH_LIMIT + 1), &[])
        .await;
    assert_eq!(over.status, 413, "{}", over.body);
    assert_eq!(over.headers["content-type"], "application/problem+json");
    assert_eq!(app.get("/v1/jobs").await.body["items"], json!([]));

    let under = app
        .post_json("/v1/jobs/batch", batch_of(BATCH_LIMIT - 1), &[])
        .await;
    assert_eq!(under.status, 202, "{}", under.body);
    assert_eq!(under.body["ids"].as_array().map(Vec::len), Some(5));
    assert_eq!(
        app.get("/v1/jobs").await.body["items"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}
