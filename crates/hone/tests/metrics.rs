//! `/metrics` in a process of its own (the recorder is process-wide, so no other test's jobs
//! count here): after a known set of jobs, every counter and histogram counts exactly those
//! jobs, attempts, model calls and sandbox runs, and the text parses with the Prometheus
//! project's own parser (`prometheus_client.parser`, installed by
//! `scripts/fetch-api-checkers`). A second process-local app shows `HONE_METRICS_LISTEN`
//! moving the endpoint to its own listener.

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

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One sample: name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the exposition with `prometheus_client.parser`; panics if it does not parse.
fn parse(text: &str) -> Vec<Sample> {
    let status = Command::new(root().join("scripts/fetch-api-checkers"))
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/fetch-api-checkers");
    assert!(status.success(), "cannot install prometheus-client");
    let script = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = []\n\
        for family in text_string_to_metric_families(sys.stdin.read()):\n\
        \x20   for s in family.samples:\n\
        \x20       out.append([s.name, s.labels, s.value])\n\
        print(json.dumps(out))\n";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .env("PYTHONPATH", root().join("target/pytools"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).expect("write");
    }
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "Prometheus's parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Vec<(String, BTreeMap<String, String>, f64)> =
        serde_json::from_slice(&out.stdout).expect("parser output");
    parsed
}

/// The sum of `name`'s samples whose labels include every pair of `with`.
fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

async fn scrape(base: &str) -> (u16, String, String) {
    let resp = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape");
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, resp.text().await.expect("text"))
}

#[tokio::test]
async fn metrics_count_exactly_the_jobs_attempts_and_runs() {
    // "pass" tasks pass at once; "retry" tasks fail once then pass; "never" tasks never pass.
    let model = FakeModel::start(Arc::new(|_: &str, user: &str| {
        let pass = "```python\nprint('ok')\n```".to_owned();
        let fail = "```python\nraise SystemExit(3)\n```".to_owned();
        if user.contains("never") || (user.contains("retry") && !user.contains("SystemExit")) {
            fail
        } else {
            pass
        }
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let specs = [
        json!({"task": "pass one", "tests": "pass", "critic": null}),
        json!({"task": "pass two", "tests": "pass", "critic": null}),
        json!({"task": "retry", "tests": "pass", "critic": null}),
        json!({"task": "never", "tests": "pass", "critic": null, "max_iterations": 2}),
    ];
    let mut jobs = Vec::new();
    for s in &specs {
        let r = app.submit(s).await;
        assert_eq!(r.status, 202, "{}", r.body);
        let id = r.body["id"].as_str().expect("id").to_owned();
        jobs.push(app.wait_finished(&id).await);
    }
    let outcomes: Vec<&str> = jobs
        .iter()
        .map(|j| j["outcome"]["reason"].as_str().expect("reason"))
        .collect();
    assert_eq!(
        outcomes,
        ["accepted", "accepted", "accepted", "max_iterations"]
    );
    let iterations: u64 = jobs
        .iter()
        .map(|j| j["iterations"].as_u64().expect("n"))
        .sum();
    let prompt: u64 = jobs
        .iter()
        .map(|j| j["usage"]["prompt_tokens"].as_u64().expect("n"))
        .sum();
    let completion: u64 = jobs
        .iter()
        .map(|j| j["usage"]["completion_tokens"].as_u64().expect("n"))
        .sum();
    assert_eq!(iterations, 1 + 1 + 2 + 2);

    let (status, kind, text) = scrape(&app.base).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let s = parse(&text);
    let n = iterations as f64;
    assert_eq!(total(&s, "hone_jobs_submitted_total", &[]), 4.0);
    assert_eq!(
        total(&s, "hone_jobs_finished_total", &[("outcome", "accepted")]),
        3.0
    );
    assert_eq!(
        total(
            &s,
            "hone_jobs_finished_total",
            &[("outcome", "max_iterations")]
        ),
        1.0
    );
    // "pass one" and "pass two" pass at once; "retry" and "never" fail their first run.
    for (result, jobs) in [("passed", 2.0), ("failed", 2.0)] {
        let counted = total(&s, "hone_first_attempts_total", &[("result", result)]);
        assert_eq!(counted, jobs, "{result}");
    }
    assert_eq!(total(&s, "hone_iteration_duration_seconds_count", &[]), n);
    assert_eq!(
        total(
            &s,
            "hone_sandbox_run_duration_seconds_count",
            &[("language", "python")]
        ),
        n
    );
    assert_eq!(
        total(
            &s,
            "hone_sandbox_run_duration_seconds_count",
            &[("status", "passed")]
        ),
        3.0
    );
    assert_eq!(
        total(
            &s,
            "hone_model_call_duration_seconds_count",
            &[("role", "actor"), ("outcome", "ok"), ("provider", "openai")]
        ),
        n
    );
    assert_eq!(
        total(
            &s,
            "hone_model_tokens_total",
            &[("kind", "prompt"), ("role", "actor")]
        ),
        prompt as f64
    );
    assert_eq!(
        total(&s, "hone_model_tokens_total", &[("kind", "completion")]),
        completion as f64
    );
    // A histogram's +Inf bucket holds every observation.
    assert_eq!(
        total(
            &s,
            "hone_sandbox_run_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        n
    );
    assert_eq!(total(&s, "hone_queue_depth", &[]), 0.0);
    assert_eq!(total(&s, "hone_jobs_running", &[]), 0.0);
    assert_eq!(total(&s, "hone_job_requeues_total", &[]), 0.0);
    assert_eq!(total(&s, "hone_build_info", &[]), 1.0);

    // An open SSE stream counts while it is open.
    let stream = app
        .http
        .get(format!("{}/v1/events", app.base))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), 200);
    let (_, _, text) = scrape(&app.base).await;
    assert_eq!(total(&parse(&text), "hone_sse_clients", &[]), 1.0);
    drop(stream);

    // With its own listener, the API's /metrics is a 404 and the listener serves them.
    let split = TestApp::start_with(
        Backend::Sqlite,
        &model,
        &["--metrics-listen", "127.0.0.1:0"],
    )
    .await
    .expect("app");
    let (status, _, body) = scrape(&split.base).await;
    assert_eq!(status, 404, "{body}");
    let own = split.metrics_base.as_deref().expect("metrics listener");
    let (status, _, text) = scrape(own).await;
    assert_eq!(status, 200);
    assert_eq!(total(&parse(&text), "hone_jobs_submitted_total", &[]), 4.0);
    // The metrics listener answers the probes too, apart from the API's connections.
    for (path, want) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let resp = reqwest::get(format!("{own}{path}")).await.expect("probe");
        assert_eq!(resp.status(), 200, "{path}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["status"], want, "{path}");
    }
}
