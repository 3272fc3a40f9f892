//! Tenants cannot grow `/metrics`: 300 jobs naming 300 distinct made-up models (and one dated
//! snapshot of a priced model) add no series beyond the price table's names and `other`. In a
//! process of its own: the recorder is process-wide.

#![expect(clippy::expect_used, reason = "test code: a failure is a failed test")]

#[allow(
    dead_code,
    reason = "the API tests' fake model, of which this test uses a part"
)]
#[path = "api/fake_model.rs"]
mod fake_model;
#[allow(
    dead_code,
    reason = "the API tests' helpers, of which this test uses a few"
)]
#[path = "api/helpers.rs"]
mod helpers;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// Every `model="…"` label value in the exposition, and the number of series.
fn models_and_series(text: &str) -> (BTreeSet<String>, usize) {
    let mut models = BTreeSet::new();
    let mut series = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        series += 1;
        if let Some(rest) = line.split("model=\"").nth(1) {
            models.insert(rest.split('"').next().unwrap_or_default().to_owned());
        }
    }
    (models, series)
}

async fn scrape(app: &TestApp) -> String {
    let resp = reqwest::get(format!("{}/metrics", app.base))
        .await
        .expect("scrape");
    resp.text().await.expect("text")
}

#[tokio::test]
async fn three_hundred_made_up_model_names_add_no_series() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nprint('ok')\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let one = |name: String| {
        json!({"task": "t", "tests": "pass", "critic": null, "max_iterations": 1,
               "actor": {"model": name}})
    };
    // A first job on a priced model's dated snapshot, to see the series a model makes.
    let (_, job) = app.run_job(&one("gpt-4o-2024-08-06".to_owned())).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let (before, series_before) = models_and_series(&scrape(&app).await);
    assert_eq!(before, BTreeSet::from(["gpt-4o".to_owned()]));

    let items: Vec<_> = (0..300)
        .map(|i| one(format!("made-up-{i:03}-{}", "m".repeat(180))))
        .collect();
    let batch = app
        .post_json("/v1/jobs/batch", json!({ "items": items }).to_string(), &[])
        .await;
    assert_eq!(batch.status, 202, "{}", batch.body);
    for _ in 0..1200 {
        let open = app
            .get("/v1/jobs?status=queued&status=running&limit=1")
            .await;
        if open.body["items"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let open = app
        .get("/v1/jobs?status=queued&status=running&limit=1")
        .await;
    assert_eq!(open.body["items"], json!([]), "the jobs did not finish");

    let (after, series_after) = models_and_series(&scrape(&app).await);
    assert_eq!(
        after,
        BTreeSet::from(["gpt-4o".to_owned(), "other".to_owned()]),
        "only priced names and other"
    );
    // "other" adds what one model adds, and nothing grows with the number of names.
    let per_model = series_before;
    assert!(
        series_after <= 2 * per_model,
        "{series_after} series after 300 model names, {per_model} with one model"
    );
}
