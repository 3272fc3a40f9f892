//! `hone api` and `hone worker` as separate processes on one Postgres: jobs queued through
//! the API are run by the workers, a cancel reaches a worker in another process within a
//! second, and a worker stopped with SIGTERM gives its job back for another to finish.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::fake_model::FakeModel;

struct Cluster {
    base: String,
    http: reqwest::Client,
    api: Child,
    workers: Vec<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn hone(role: &str, name: &str, db: &str, model: &FakeModel, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_hone"))
        .args([
            role,
            "--database-url",
            db,
            "--openai-base-url",
            &model.base_url,
        ])
        .args(["--worker-id", name])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--shutdown-grace-s",
            "0",
        ])
        .args(["--lease-s", "5"])
        .env("OPENAI_API_KEY", "sk-test")
        .env("HONE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start hone")
}

impl Cluster {
    async fn start(model: &FakeModel, workers: usize) -> Option<Self> {
        let db = hone_store_postgres::testing::fresh_database().await?;
        // Migrate once before the processes race to do it.
        let status = Command::new(env!("CARGO_BIN_EXE_hone"))
            .args(["migrate", "--database-url", &db])
            .env("HONE_LOG", "warn")
            .status()
            .await
            .expect("migrate");
        assert!(status.success());
        let port = free_port();
        let api = hone("api", "api", &db, model, port);
        let workers = (0..workers)
            .map(|i| hone("worker", &format!("w{i}"), &db, model, 0))
            .collect();
        let cluster = Self {
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            api,
            workers,
        };
        for _ in 0..100 {
            if cluster
                .http
                .get(format!("{}/healthz", cluster.base))
                .send()
                .await
                .is_ok()
            {
                return Some(cluster);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("hone api did not start");
    }

    async fn submit(&self, spec: Value) -> String {
        let resp = self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .json(&spec)
            .send()
            .await
            .expect("submit");
        assert_eq!(resp.status().as_u16(), 202);
        let body: Value = resp.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        resp.json().await.expect("json")
    }

    async fn wait(&self, id: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let job = self.get(&format!("/v1/jobs/{id}")).await;
            if matches!(
                job["status"].as_str(),
                Some("succeeded" | "failed" | "cancelled")
            ) {
                return job;
            }
            assert!(
                started.elapsed() < timeout,
                "job {id} still {} after {timeout:?}",
                job["status"]
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_for_event(&self, id: &str, kind: &str) {
        for _ in 0..500 {
            let events = self.get(&format!("/v1/jobs/{id}/events")).await;
            if events["items"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["type"] == kind))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no {kind} event for {id}");
    }
}

const GOOD: &str = "```python\ndef add(a, b):\n    return a + b\n```";

/// Answers at once, except for tasks that say "slow", which take 4 s.
async fn model() -> FakeModel {
    FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| GOOD.to_owned()),
        Arc::new(|user: &str| {
            if user.contains("slow") {
                Duration::from_secs(4)
            } else {
                Duration::ZERO
            }
        }),
    )
    .await
}

fn job(task: &str) -> Value {
    json!({"task": task, "tests": "assert add(2, 3) == 5", "critic": null})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn api_and_workers_in_separate_processes_share_the_work_and_hear_cancels() {
    let model = model().await;
    let Some(mut cluster) = Cluster::start(&model, 2).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };

    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(cluster.submit(job(&format!("add numbers #{i}"))).await);
    }
    for id in &ids {
        let done = cluster.wait(id, Duration::from_secs(30)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let attempts = cluster.get(&format!("/v1/jobs/{id}/attempts")).await;
        assert_eq!(attempts["items"].as_array().map(Vec::len), Some(1));
    }

    // A cancel during a model call in a worker process takes effect within a second.
    let slow = cluster.submit(job("slow: add numbers")).await;
    cluster.wait_for_event(&slow, "attempt.started").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let resp = cluster
        .http
        .post(format!("{}/v1/jobs/{slow}/cancel", cluster.base))
        .send()
        .await
        .expect("cancel");
    let status = resp.status().as_u16();
    assert_eq!(
        status,
        202,
        "{}",
        cluster.get(&format!("/v1/jobs/{slow}/events")).await
    );
    let done = cluster.wait(&slow, Duration::from_secs(3)).await;
    assert_eq!(done["status"], "cancelled");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    // A worker stopped with SIGTERM gives its job back; the other worker finishes it.
    let handed_over = cluster.submit(job("slow: add more numbers")).await;
    cluster
        .wait_for_event(&handed_over, "attempt.started")
        .await;
    let holder = holder_of(&cluster, &handed_over).await;
    let pid = cluster.workers[holder].id().expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("sigterm");
    let done = cluster.wait(&handed_over, Duration::from_secs(30)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let events = cluster.get(&format!("/v1/jobs/{handed_over}/events")).await;
    let requeued = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["type"] == "job.requeued")
        .expect("a job.requeued event");
    assert_eq!(requeued["data"]["reason"], "worker shutting down");
    let exit = cluster.workers[holder].wait().await.expect("exit");
    assert!(exit.success(), "the worker exits cleanly on SIGTERM");
    let _ = cluster.api.start_kill();
}

/// The index of the worker process that claimed a job, from its `job.started` event.
async fn holder_of(cluster: &Cluster, job: &str) -> usize {
    let events = cluster.get(&format!("/v1/jobs/{job}/events")).await;
    let worker = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .rev()
        .find(|e| e["type"] == "job.started")
        .and_then(|e| e["data"]["worker"].as_str())
        .expect("job.started names its worker")
        .to_owned();
    worker
        .trim_start_matches('w')
        .parse()
        .expect("worker index")
}
