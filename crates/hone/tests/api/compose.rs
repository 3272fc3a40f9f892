//! The topology of `docker-compose.yml`, as processes on this machine: the file's own
//! commands and environment for `migrate`, `api` and `worker` (two of them), on a fresh
//! Postgres database. Migrate runs once and exits 0; jobs pushed through the API all
//! succeed, while one worker is stopped as `docker compose` stops a container (SIGTERM, then
//! the grace) and a new one takes its place. Only what cannot hold outside containers is
//! changed: the database URL, the addresses (loopback, free ports) and the secrets (test
//! values for the `.env` variables).

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::cluster::free_port;
use crate::fake_model::FakeModel;
use crate::helpers::{client_with, shared_key};

/// One hone service of the compose file: its command and its environment.
struct Service {
    command: Vec<String>,
    env: BTreeMap<String, String>,
}

/// `${VAR}`, `${VAR:-default}` and `${VAR:?message}` with the values of `vars`.
fn interpolate(text: &str, vars: &BTreeMap<&str, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closing brace") + at;
        let inner = &rest[at + 2..end];
        let name = inner.split([':', '-', '?']).next().expect("a name");
        let value = vars.get(name).cloned().or_else(|| {
            inner
                .split_once(":-")
                .map(|(_, default)| default.to_owned())
        });
        out.push_str(&value.unwrap_or_else(|| panic!("{name} is not set")));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

fn services(vars: &BTreeMap<&str, String>) -> BTreeMap<String, Service> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml");
    let mut doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    doc.apply_merge().expect("merge keys");
    let mut out = BTreeMap::new();
    for name in ["migrate", "api", "worker"] {
        let s = &doc["services"][name];
        let command = s["command"]
            .as_sequence()
            .expect("a command list")
            .iter()
            .map(|c| c.as_str().expect("a string").to_owned())
            .collect();
        let mut env: serde_norway::Value = s["environment"].clone();
        env.apply_merge().expect("merge keys");
        let env = env
            .as_mapping()
            .expect("an environment map")
            .iter()
            .map(|(k, v)| {
                let k = k.as_str().expect("a name").to_owned();
                let v = match v {
                    serde_norway::Value::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .expect("scalar")
                        .trim()
                        .to_owned(),
                };
                (k, interpolate(&v, vars))
            })
            .collect();
        out.insert(name.to_owned(), Service { command, env });
    }
    out
}

fn start(service: &Service, overrides: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hone"));
    cmd.args(&service.command)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(&service.env)
        .env("HONE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in overrides {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start hone")
}

const GOOD: &str = "```python\ndef add(a, b):\n    return a + b\n```";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_compose_topology_runs_jobs_through_a_worker_replacement() {
    let Some(db) = hone_store_postgres::testing::fresh_database().await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| GOOD.to_owned()),
        Arc::new(|_: &str| Duration::from_millis(300)),
    )
    .await;
    let vars = BTreeMap::from([
        ("POSTGRES_PASSWORD", "unused".to_owned()),
        ("HONE_BOOTSTRAP_KEY", shared_key().to_owned()),
        ("HONE_SESSION_SECRET", "s".repeat(40)),
        ("OPENAI_BASE_URL", model.base_url.clone()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        // The image's copy of the transcript is the repository's.
        (
            "HONE_REPLAY_FILE",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../examples/parse-logs.replay.jsonl"
            )
            .to_owned(),
        ),
    ]);
    let services = services(&vars);
    for name in ["migrate", "api", "worker"] {
        assert!(
            services[name].env.contains_key("HONE_REPLAY_FILE"),
            "{name} gets the replay transcript"
        );
    }
    let port = free_port();
    let database = ("HONE_DATABASE_URL", db.clone());
    let local = |port: u16| format!("127.0.0.1:{port}");

    let status = start(&services["migrate"], std::slice::from_ref(&database))
        .wait()
        .await
        .expect("migrate");
    assert!(status.success(), "migrate exits 0");
    let _api = start(
        &services["api"],
        &[database.clone(), ("HONE_LISTEN", local(port))],
    );
    let worker = |n: usize| {
        start(
            &services["worker"],
            &[
                database.clone(),
                ("HONE_METRICS_LISTEN", local(free_port())),
                ("HONE_WORKER_ID", format!("worker-{n}")),
            ],
        )
    };
    let mut workers = [worker(1), worker(2)];

    let http = client_with(shared_key());
    let base = format!("http://{}", local(port));
    let mut ready = false;
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "the api is ready");

    let mut ids = Vec::new();
    // The recorded example runs with no model key, through the replay provider.
    let example: Value = serde_json::from_str(include_str!("../../../../examples/parse-logs.json"))
        .expect("the example");
    let resp = http
        .post(format!("{base}/v1/jobs"))
        .json(&example)
        .send()
        .await
        .expect("submit");
    assert_eq!(resp.status(), 202, "the replay provider is on");
    let job: Value = resp.json().await.expect("json");
    ids.push(job["id"].as_str().expect("id").to_owned());
    for i in 0..20 {
        let resp = http
            .post(format!("{base}/v1/jobs"))
            .json(&json!({"task": format!("add, {i}"), "tests": "assert add(2, 3) == 5"}))
            .send()
            .await
            .expect("submit");
        assert_eq!(resp.status(), 202);
        let job: Value = resp.json().await.expect("json");
        ids.push(job["id"].as_str().expect("id").to_owned());
    }
    // Replace worker 1 as `docker compose` would: SIGTERM, wait for it, start another.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = workers[0].id().expect("pid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid")),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM");
    let stopped = tokio::time::timeout(Duration::from_secs(90), workers[0].wait())
        .await
        .expect("the worker stops within its grace")
        .expect("exit");
    assert!(
        stopped.success(),
        "a worker given SIGTERM exits 0: {stopped:?}"
    );
    workers[0] = worker(3);

    for id in &ids {
        let mut job = Value::Null;
        for _ in 0..600 {
            job = http
                .get(format!("{base}/v1/jobs/{id}"))
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            if job["status"] != "queued" && job["status"] != "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(job["status"], "succeeded", "{job}");
        let events: Value = http
            .get(format!("{base}/v1/jobs/{id}/events"))
            .send()
            .await
            .expect("events")
            .json()
            .await
            .expect("json");
        let seqs: Vec<u64> = events["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        assert_eq!(seqs, expected, "{id}: every event once, in order");
    }
}

/// The three hone services share one image, built once (by `migrate`), never pulled.
#[test]
fn the_image_is_built_once_for_the_three_services() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docker-compose.yml");
    let text = std::fs::read_to_string(path).expect("docker-compose.yml");
    let mut doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    doc.apply_merge().expect("merge keys");
    let built: Vec<&str> = ["migrate", "api", "worker"]
        .into_iter()
        .filter(|s| !doc["services"][*s]["build"].is_null())
        .collect();
    assert_eq!(built, ["migrate"]);
    for s in ["migrate", "api", "worker"] {
        assert_eq!(
            doc["services"][s]["image"].as_str(),
            Some("hone:latest"),
            "{s}"
        );
    }
    for s in ["api", "worker"] {
        assert_eq!(
            doc["services"][s]["pull_policy"].as_str(),
            Some("never"),
            "{s}"
        );
    }
}
