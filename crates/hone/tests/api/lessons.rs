//! Lessons (issue 16): a job accepted after a failed attempt leaves a lesson; a later
//! `memory` job of the tenant is shown the most similar ones in its first prompt, its first
//! attempt records which, and the repair analytics compare jobs with and without.

use serde_json::{Value, json};

use crate::access::key_in_database;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

/// The actor requests that carried a lessons section.
fn with_lessons(model: &FakeModel) -> Vec<Value> {
    model
        .requests_with_system("expert python programmer")
        .into_iter()
        .filter(|r| {
            r["messages"]
                .to_string()
                .contains("Lessons from similar earlier tasks")
        })
        .collect()
}

async fn a_memory_job_is_shown_what_an_earlier_repair_learned(backend: Backend) {
    // The brain fixes the code once its prompt names the IndexError: a lesson naming it
    // makes the first answer right.
    let model = FakeModel::start(crate::self_correction::brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let (first, job) = app.run_job(&crate::self_correction::spec()).await;
    assert_eq!(job["iterations"], 2, "repaired: {job}");

    // Without memory: no lessons, the same repair.
    let (_, plain) = app.run_job(&crate::self_correction::spec()).await;
    assert_eq!(plain["iterations"], 2, "{plain}");
    assert!(
        with_lessons(&model).is_empty(),
        "only memory jobs are shown lessons"
    );

    let mut remembering = crate::self_correction::spec();
    remembering["memory"] = json!(true);
    let (id, job) = app.run_job(&remembering).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["iterations"], 1, "the lesson avoided the repair: {job}");
    let shown = with_lessons(&model);
    assert_eq!(shown.len(), 1, "the first prompt only");
    let prompt = shown[0]["messages"].to_string();
    assert!(
        prompt.contains("IndexError") && prompt.contains("Skip blank lines"),
        "{prompt}"
    );
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let lessons = attempts["items"][0]["lessons"]
        .as_array()
        .expect("lessons")
        .clone();
    assert!(
        lessons.contains(&json!(first)),
        "the first repair's lesson: {lessons:?}"
    );

    // The analytics tell the two apart.
    let stats = app.get("/v1/stats/repair").await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let memory = &stats.body["groups"][0]["memory"];
    assert_eq!(memory["with_lessons"]["jobs"], 1, "{memory}");
    assert_eq!(
        memory["with_lessons"]["mean_iterations_per_solved"], 1.0,
        "{memory}"
    );
    assert_eq!(memory["without_lessons"]["jobs"], 2, "{memory}");
    assert_eq!(
        memory["without_lessons"]["mean_iterations_per_solved"], 2.0,
        "{memory}"
    );

    // Another tenant's memory job sees none of this tenant's lessons.
    let other = client_with(&key_in_database(&app, "tenant-b").await);
    let submitted: Value = other
        .post(format!("{}/v1/jobs", app.base))
        .json(&remembering)
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let theirs = submitted["id"].as_str().expect("id").to_owned();
    let job = loop {
        let job: Value = other
            .get(format!("{}/v1/jobs/{theirs}", app.base))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        if job["status"] == "succeeded" || job["status"] == "failed" {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(job["iterations"], 2, "no lesson to learn from: {job}");
    assert_eq!(with_lessons(&model).len(), 1);

    // `memory` is a boolean.
    let mut bad = crate::self_correction::spec();
    bad["memory"] = json!("yes");
    let refused = app.submit(&bad).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.to_string().contains("memory"),
        "{}",
        refused.body
    );
}

on_both!(
    a_memory_job_is_shown_what_an_earlier_repair_learned_on_sqlite,
    a_memory_job_is_shown_what_an_earlier_repair_learned_on_postgres,
    a_memory_job_is_shown_what_an_earlier_repair_learned
);
