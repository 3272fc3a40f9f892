//! Training-data exports (issue 16): `GET /v1/exports/preferences` streams one NDJSON
//! record per failed attempt of a succeeded job, paired with its accepted code, within the
//! caller's tenant and the history filters.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::access::key_in_database;
use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp, client_with};

/// The NDJSON lines of `GET path` with `http`, and the content type.
async fn ndjson(http: &reqwest::Client, url: String) -> (u16, String, Vec<Value>) {
    let resp = http.get(url).send().await.expect("get");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().await.expect("body");
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    (status, kind, lines)
}

/// `hone export ARGS`: what it wrote.
async fn hone_export(args: &[&str]) -> anyhow::Result<String> {
    use clap::Parser;
    let cli = hone::config::Cli::try_parse_from(
        ["hone", "export"].into_iter().chain(args.iter().copied()),
    )
    .expect("parse");
    let hone::config::Command::Export(args) = cli.command else {
        unreachable!("parsed export")
    };
    let mut out = Vec::new();
    hone::client::export::export(&args, &mut out).await?;
    Ok(String::from_utf8(out).expect("utf-8"))
}

async fn preference_pairs_come_from_corrected_jobs_of_the_tenant(backend: Backend) {
    let model = FakeModel::start(crate::self_correction::brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    // Corrected in two iterations: one pair. Tagged so a filter can find it.
    let mut corrected = crate::self_correction::spec();
    corrected["tags"] = json!(["nightly"]);
    let (id, job) = app.run_job(&corrected).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    // Right the first time: nothing to prefer.
    let mut first_time = crate::self_correction::spec();
    first_time["tests"] = json!("assert True");
    let (_, job) = app.run_job(&first_time).await;
    assert_eq!(job["iterations"], 1, "{job}");

    let url = |q: &str| format!("{}/v1/exports/preferences{q}", app.base);
    let (status, kind, lines) = ndjson(&app.http, url("")).await;
    assert_eq!(status, 200);
    assert_eq!(kind, "application/x-ndjson");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let pair = &lines[0];
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    assert_eq!(pair["job_id"], json!(id));
    assert_eq!(pair["rejected"], attempts["items"][0]["code"]);
    assert_eq!(pair["chosen"], attempts["items"][1]["code"]);
    assert_eq!(pair["rejected_status"], "failed");
    assert_eq!(pair["chosen_status"], "passed");
    assert!(
        pair["rejected_error"]
            .as_str()
            .is_some_and(|e| e.starts_with("IndexError")),
        "{pair}"
    );
    assert_eq!(pair["rejected_critique"]["verdict"], "revise");
    assert_eq!(pair["prompt"][0]["role"], "system");
    assert!(
        pair["prompt"][1]["content"]
            .as_str()
            .is_some_and(|c| c.starts_with("## Task")),
        "the prompt the actor saw for the task: {pair}"
    );

    // Filters narrow it; status is implied; a bad filter changes nothing and says why.
    let (_, _, tagged) = ndjson(&app.http, url("?tag=nightly")).await;
    assert_eq!(tagged.len(), 1);
    let (_, _, other) = ndjson(&app.http, url("?tag=weekly")).await;
    assert!(other.is_empty());
    for bad in ["?status=failed", "?language=cobol", "?nope=1"] {
        let (status, kind, _) = ndjson(&app.http, url(bad)).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(kind, "application/problem+json", "{bad}");
    }
    // Critiques, labelled by whether the next attempt passed.
    let critiques = |q: &str| format!("{}/v1/exports/critiques{q}", app.base);
    let (status, _, reviews) = ndjson(&app.http, critiques("?tag=nightly&status=succeeded")).await;
    assert_eq!(status, 200);
    assert_eq!(reviews.len(), 2, "{reviews:?}");
    let (first, second) = (&reviews[0], &reviews[1]);
    assert_eq!(first["iteration"], 1);
    assert_eq!(first["critique"]["verdict"], "revise");
    assert_eq!(first["run_status"], "failed");
    assert_eq!(
        first["next_passed"], true,
        "the fix after this critique passed"
    );
    assert_eq!(first["code"], attempts["items"][0]["code"]);
    assert_eq!(second["iteration"], 2);
    assert_eq!(second["critique"]["verdict"], "approve");
    assert!(second["next_passed"].is_null(), "no next attempt");
    let (_, _, all) = ndjson(&app.http, critiques("")).await;
    assert_eq!(
        all.len(),
        3,
        "the job right the first time was reviewed once"
    );

    // The CLI writes the same records.
    let service = ["--url", app.base.as_str(), "--api-key", app.key.as_str()];
    let cli = hone_export(&[&["preferences", "--tag", "nightly"][..], &service].concat()).await;
    let written = cli.expect("export");
    assert_eq!(written.lines().count(), 1);
    let record: Value = serde_json::from_str(written.trim()).expect("a record");
    assert_eq!(record, lines[0]);
    let refused = hone_export(&[&["preferences", "--language", "cobol"][..], &service].concat())
        .await
        .expect_err("a bad filter");
    assert!(refused.to_string().contains("400"), "{refused}");
    // Another tenant sees none of it.
    let other = client_with(&key_in_database(&app, "tenant-b").await);
    let (status, _, lines) = ndjson(&other, url("")).await;
    assert_eq!(status, 200);
    assert!(lines.is_empty(), "{lines:?}");
}

#[tokio::test]
async fn preference_pairs_come_from_corrected_jobs_of_the_tenant_on_sqlite() {
    preference_pairs_come_from_corrected_jobs_of_the_tenant(Backend::Sqlite).await;
}

#[tokio::test]
async fn preference_pairs_come_from_corrected_jobs_of_the_tenant_on_postgres() {
    preference_pairs_come_from_corrected_jobs_of_the_tenant(Backend::Postgres).await;
}

/// More jobs than one page of the stream: every pair arrives once.
#[tokio::test]
async fn the_export_pages_through_every_job() {
    let model = FakeModel::start(Arc::new(|_: &str, user: &str| {
        if user.contains("What went wrong") {
            "```python\nx = 1\n```".to_owned()
        } else {
            "```python\nraise SystemExit(1)\n```".to_owned()
        }
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let items: Vec<Value> = (0..130)
        .map(|i| json!({"task": format!("job {i}"), "tests": "assert True", "critic": null}))
        .collect();
    let batch = app
        .post_json("/v1/jobs/batch", json!({"items": items}).to_string(), &[])
        .await;
    assert_eq!(batch.status, 202, "{}", batch.body);
    for id in batch.body["ids"].as_array().expect("ids") {
        let job = app.wait_finished(id.as_str().expect("id")).await;
        assert_eq!(job["iterations"], 2, "{job}");
    }
    let url = format!("{}/v1/exports/preferences", app.base);
    let (_, _, lines) = ndjson(&app.http, url).await;
    assert_eq!(lines.len(), 130);
    let mut ids: Vec<&str> = lines.iter().filter_map(|l| l["job_id"].as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 130, "each job once");
}
