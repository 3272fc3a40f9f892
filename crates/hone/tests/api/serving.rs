//! Workers take only the jobs they can serve: on one Postgres, a worker without the
//! `anthropic` provider leaves `anthropic` jobs queued (it neither claims nor fails them),
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
    }

    let able = hone_with("worker", "able", &cluster.db, &model.base_url, 0, &env);
    cluster.workers.push(able);
    for id in &ids {
        let job = cluster.wait(id, Duration::from_secs(30)).await;
        assert_eq!(job["status"], "succeeded", "{job}");
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
