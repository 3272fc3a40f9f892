//! Exports of jobs whose programs printed a lot: each attempt's run printed 2 MiB of stdout
//! and 2 MiB of stderr (its limit raised to hold them), and the critiques export, read by a
//! slow client a small chunk at a time, still carries every record with its run's verdict
//! and error. The resident memory this costs is measured in `hone-bench bounds`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

/// A program that prints 2 MiB to each stream, then fails.
const LOUD: &str = "```python\nimport sys\nsys.stdout.write('o' * 2097152)\nsys.stderr.write('e' * 2097152)\nraise ValueError('too loud')\n```";

async fn loud(backend: Backend) {
    let model = FakeModel::start(Arc::new(|system: &str, _: &str| {
        if system.contains("review") || system.contains("critic") {
            r#"{"verdict": "revise", "summary": "it prints too much", "issues": []}"#.to_owned()
        } else {
            LOUD.to_owned()
        }
    }))
    .await;
    let Some(app) = TestApp::start(backend, &model).await else {
        return;
    };
    let spec = json!({
        "task": "print a lot", "tests": "assert True", "max_iterations": 1,
        "limits": {"max_output_bytes": 4 * 1024 * 1024},
    });
    for _ in 0..3 {
        let (id, job) = app.run_job(&spec).await;
        assert_eq!(job["status"], "failed", "{job}");
        let attempt = app.get(&format!("/v1/jobs/{id}/attempts/1")).await;
        let stdout = attempt.body["execution"]["stdout"]
            .as_str()
            .expect("stdout");
        assert_eq!(stdout.len(), 2 * 1024 * 1024, "the run kept its output");
    }
    let mut resp = app
        .http
        .get(format!("{}/v1/exports/critiques", app.base))
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 200);
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        body.extend_from_slice(&chunk);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records: Vec<Value> = String::from_utf8(body)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r["run_status"], "failed", "{r}");
        assert_eq!(r["run_error"], "ValueError: too loud", "{r}");
        assert!(r.to_string().len() < 16 * 1024, "no output in a record");
    }
}

on_both!(
    a_slow_reader_exports_jobs_that_printed_megabytes_on_sqlite,
    a_slow_reader_exports_jobs_that_printed_megabytes_on_postgres,
    loud
);
