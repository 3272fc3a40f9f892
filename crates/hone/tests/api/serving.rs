//! Workers take only the jobs they can serve: on one Postgres, a worker without the
//! `anthropic` provider leaves `anthropic` jobs queued (it neither claims nor fails them),
//! and says so (`waiting_for` in the job and the list, `hone_queue_unserved` in `/metrics`),
//! and every one of them succeeds on a worker that has it. A worker with no usable provider
//! at all refuses to start, naming what to set.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::cluster::{Cluster, hone_with};
use crate::fake_model::FakeModel;

const GOOD: &str = "```python\ndef add(a, b):\n    return a + b\n```";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_without_a_jobs_provider_leaves_it_to_one_with_it() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| GOOD.to_owned())).await;
    let anthropic = model.anthropic_url();
    // The API knows the provider; the first worker does not.
    let env = [
        ("ANTHROPIC_BASE_URL", anthropic.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
    ];
    let Some(mut cluster) = Cluster::start_with(&model, 0, &env).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let blind = hone_with("worker", "blind", &cluster.db, &model.base_url, 0, &[]);
    cluster.workers.push(blind);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spec = json!({"task": "add", "tests": "assert add(2, 3) == 5", "critic": null,
                      "actor": {"provider": "anthropic", "model": "claude-haiku-4-5"}});
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(cluster.submit(spec.clone()).await);
    }
    // An openai job shows the blind worker is working.
    let openai = cluster
        .submit(json!({"task": "add", "tests": "assert add(2, 3) == 5", "critic": null}))
        .await;
    let done = cluster.wait(&openai, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    for id in &ids {
        let job = cluster.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(job["status"], "queued", "the blind worker took {id}: {job}");
        // It says what it waits for, in the job and in the list.
        let waiting = job["waiting_for"].as_str().unwrap_or_default();
        assert!(waiting.contains("\"anthropic\""), "{job}");
    }
    let list = cluster.get("/v1/jobs?status=queued").await;
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|j| j["waiting_for"].is_string()), "{list}");
    // And /metrics counts them (its database gauges are at most 5 s old).
    let mut unserved = String::new();
    for _ in 0..80 {
        let text = cluster
            .http
            .get(format!("{}/metrics", cluster.base))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        unserved = text
            .lines()
            .find(|l| l.starts_with("hone_queue_unserved "))
            .unwrap_or_default()
            .to_owned();
        if unserved == "hone_queue_unserved 4" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(unserved, "hone_queue_unserved 4");

    let able = hone_with("worker", "able", &cluster.db, &model.base_url, 0, &env);
    cluster.workers.push(able);
    for id in &ids {
        let job = cluster.wait(id, Duration::from_secs(30)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
        assert!(job.get("waiting_for").is_none(), "{job}");
        let events = cluster.get(&format!("/v1/jobs/{id}/events")).await;
        let workers: Vec<&str> = events["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["type"] == "job.started")
            .filter_map(|e| e["data"]["worker"].as_str())
            .collect();
        assert_eq!(workers, ["able"], "{events}");
    }

    // A worker that could run no job at all does not start.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_hone"))
        .args(["worker", "--database-url", &cluster.db])
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env_remove("HONE_REPLAY_FILE")
        .env("HONE_LOG", "warn")
        .output()
        .await
        .expect("run hone worker");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no usable model provider"), "{err}");
    assert!(err.contains("ANTHROPIC_API_KEY"), "{err}");
}
