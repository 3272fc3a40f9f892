//! `Cluster`: `hone api` and `hone worker` as separate processes on a fresh Postgres
//! database, with helpers to submit, read, wait and crash workers.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::fake_model::FakeModel;
use crate::helpers::{client_with, shared_key};

pub struct Cluster {
    pub base: String,
    pub http: reqwest::Client,
    pub api: Child,
    pub workers: Vec<Child>,
    pub db: String,
    pub model_url: String,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn hone(role: &str, name: &str, db: &str, model_url: &str, port: u16) -> Child {
    hone_with(role, name, db, model_url, port, &[])
}

/// `hone` with extra environment variables, set last so they win.
pub fn hone_with(
    role: &str,
    name: &str,
    db: &str,
    model_url: &str,
    port: u16,
    env: &[(&str, &str)],
) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
    cmd.args([role, "--database-url", db, "--openai-base-url", model_url])
        // Settings of one role only, as variables: a command ignores those it does not take.
        .env("HONE_WORKER_ID", name)
        .env("HONE_LISTEN", format!("127.0.0.1:{port}"))
        .env("HONE_SHUTDOWN_GRACE_S", "0")
        .env("HONE_LEASE_S", "2")
        .env("HONE_SANDBOX_CONCURRENCY", "2")
        // The random-kill test may lose a job several times; a test of the limit sets its own.
        .env("HONE_MAX_LEASE_LOSSES", "50")
        .env("OPENAI_API_KEY", "sk-test")
        .env("HONE_LOG", "warn")
        .env("HONE_BOOTSTRAP_KEY", shared_key())
        .env("HONE_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("HONE_WEBHOOK_TIMEOUT_MS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start hone")
}

impl Cluster {
    pub async fn start(model: &FakeModel, workers: usize) -> Option<Self> {
        Self::start_with(model, workers, &[]).await
    }

    /// As [`Cluster::start`], with extra environment for every process.
    pub async fn start_with(
        model: &FakeModel,
        workers: usize,
        env: &[(&str, &str)],
    ) -> Option<Self> {
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
        let api = hone_with("api", "api", &db, &model.base_url, port, env);
        let workers = (0..workers)
            .map(|i| hone_with("worker", &format!("w{i}"), &db, &model.base_url, 0, env))
            .collect();
        let cluster = Self {
            base: format!("http://127.0.0.1:{port}"),
            http: client_with(shared_key()),
            api,
            workers,
            db,
            model_url: model.base_url.clone(),
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

    /// Kills worker `i` with SIGKILL and starts a new one in its place.
    pub async fn crash_and_restart(&mut self, i: usize, generation: usize) {
        let _ = self.workers[i].start_kill();
        let _ = self.workers[i].wait().await;
        let name = format!("w{i}-{generation}");
        self.workers[i] = hone("worker", &name, &self.db, &self.model_url, 0);
    }

    pub async fn submit(&self, spec: Value) -> String {
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

    pub async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("get");
        resp.json().await.expect("json")
    }

    pub async fn wait(&self, id: &str, timeout: Duration) -> Value {
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

    pub async fn wait_for_event(&self, id: &str, kind: &str) {
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
