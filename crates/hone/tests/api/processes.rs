//! `hone api` and `hone worker` as separate processes on one Postgres: jobs queued through
//! the API are run by the workers, a cancel reaches a worker in another process within a
//! second, and a worker stopped with SIGTERM gives its job back for another to finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::fake_model::FakeModel;

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

/// The events of a job, checked to be gap-free and ordered.
async fn checked_events(cluster: &Cluster, id: &str) -> Vec<Value> {
    let events = cluster.get(&format!("/v1/jobs/{id}/events")).await;
    let items = events["items"].as_array().expect("items").clone();
    let seqs: Vec<u64> = items
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(
        seqs,
        (1..=items.len() as u64).collect::<Vec<_>>(),
        "gap in {id}'s events"
    );
    items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_killed_at_random_moments_lose_and_repeat_nothing() {
    // The first answer of each job fails its test; the fixed one passes (two iterations).
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, user: &str| {
            if user.contains("## What went wrong") {
                GOOD.to_owned()
            } else {
                "```python\ndef add(a, b):\n    return a - b\n```".to_owned()
            }
        }),
        Arc::new(|_: &str| Duration::from_millis(300)),
    )
    .await;
    let Some(mut cluster) = Cluster::start(&model, 3).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(
            cluster
                .submit(job(&format!("add numbers, job {i:03}")))
                .await,
        );
    }
    // SIGKILL a worker every 400 to 900 ms, round robin, and start a new one.
    for round in 0..8 {
        tokio::time::sleep(Duration::from_millis(400 + (round * 73 % 500))).await;
        cluster
            .crash_and_restart(round as usize % 3, round as usize)
            .await;
    }
    for id in &ids {
        let done = cluster.wait(id, Duration::from_secs(90)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        if done["iterations"] != 2 {
            let attempts = cluster.get(&format!("/v1/jobs/{id}/attempts")).await;
            for a in attempts["items"].as_array().expect("items") {
                eprintln!(
                    "it {} status {} exec {} code {:?} fb {}",
                    a["iteration"],
                    a["status"],
                    a["execution"]["status"],
                    a["code"],
                    a["feedback"]["repeated"]
                );
            }
            for e in checked_events(&cluster, id).await {
                eprintln!("{} {} {}", e["seq"], e["type"], e["data"]);
            }
        }
        assert_eq!(done["iterations"], 2);
        let attempts = cluster.get(&format!("/v1/jobs/{id}/attempts")).await;
        let iterations: Vec<u64> = attempts["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["iteration"].as_u64().expect("iteration"))
            .collect();
        assert_eq!(iterations, [1, 2], "each iteration exactly once");
        let events = checked_events(&cluster, id).await;
        for kind in ["attempt.code", "attempt.executed", "attempt.finished"] {
            assert_eq!(
                events.iter().filter(|e| e["type"] == kind).count(),
                2,
                "{kind} in {id}"
            );
        }
    }
    // No actor call was made for an iteration whose code was already stored.
    let requests = model.requests.lock().expect("lock").clone();
    let arrivals = model.arrivals.lock().expect("lock").clone();
    for (i, id) in ids.iter().enumerate() {
        let marker = format!("job {i:03}");
        let events = checked_events(&cluster, id).await;
        let stored_at = |iteration: u64| {
            events
                .iter()
                .find(|e| e["type"] == "attempt.code" && e["data"]["iteration"] == iteration)
                .and_then(|e| e["created_at"].as_str())
                .and_then(hone_domain::Timestamp::parse_rfc3339)
                .expect("attempt.code time")
                .as_millis()
        };
        for (request, at) in requests.iter().zip(&arrivals) {
            // The task, then (from the second iteration) what went wrong.
            let prompt: String = request["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .skip(1)
                .filter_map(|m| m["content"].as_str())
                .collect();
            if !prompt.contains(&marker) {
                continue;
            }
            let iteration = if prompt.contains("## What went wrong") {
                2
            } else {
                1
            };
            assert!(
                *at <= stored_at(iteration),
                "{id}: an actor call for iteration {iteration} came after its code was stored"
            );
        }
    }
    for w in &mut cluster.workers {
        let _ = w.start_kill();
    }
    let _ = cluster.api.start_kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_workers_and_one_api_run_300_jobs_once_each() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| GOOD.to_owned())).await;
    // Leases long enough that a loaded machine (the whole suite at once) never loses one:
    // the test counts claims, and a lost lease is a legitimate second claim.
    let Some(mut cluster) = Cluster::start_with(&model, 3, &[("HONE_LEASE_S", "30")]).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let mut ids = Vec::new();
    for i in 0..300 {
        ids.push(cluster.submit(job(&format!("add numbers #{i}"))).await);
    }
    let mut by_worker = std::collections::BTreeMap::new();
    for id in &ids {
        let done = cluster.wait(id, Duration::from_secs(120)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        let events = checked_events(&cluster, id).await;
        let started: Vec<&Value> = events
            .iter()
            .filter(|e| e["type"] == "job.started")
            .collect();
        assert_eq!(started.len(), 1, "{id} was claimed once");
        *by_worker
            .entry(started[0]["data"]["worker"].to_string())
            .or_insert(0) += 1;
        assert_eq!(
            events
                .iter()
                .filter(|e| e["type"] == "attempt.code")
                .count(),
            1
        );
    }
    assert_eq!(
        model.requests.lock().expect("lock").len(),
        300,
        "one model call per job"
    );
    for status in ["queued", "running"] {
        let page = cluster.get(&format!("/v1/jobs?status={status}")).await;
        assert_eq!(page["items"], json!([]), "nothing left {status}");
    }
    eprintln!("jobs per worker: {by_worker:?}");
    for w in &mut cluster.workers {
        let _ = w.start_kill();
    }
    let _ = cluster.api.start_kill();
}

/// How many `job.started` events the job has: one per claim.
async fn claims(cluster: &Cluster, id: &str) -> usize {
    let events = cluster.get(&format!("/v1/jobs/{id}/events")).await;
    events["items"].as_array().map_or(0, |e| {
        e.iter().filter(|e| e["type"] == "job.started").count()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_whose_workers_keep_dying_is_failed_after_the_lease_loss_limit() {
    // The model never answers in time: every worker that takes the job is killed on it.
    let model = FakeModel::start_slow(
        Arc::new(|_: &str, _: &str| GOOD.to_owned()),
        Arc::new(|_: &str| Duration::from_secs(600)),
    )
    .await;
    let Some(mut cluster) = Cluster::start(&model, 1).await else {
        eprintln!("skipped: Postgres not configured");
        return;
    };
    let id = cluster.submit(job("never answered")).await;
    let limit = [("HONE_MAX_LEASE_LOSSES", "2")];
    for generation in 1..=3 {
        let deadline = Instant::now() + Duration::from_secs(20);
        while claims(&cluster, &id).await < generation {
            assert!(Instant::now() < deadline, "claim {generation} never came");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = cluster.workers[0].start_kill();
        let _ = cluster.workers[0].wait().await;
        cluster.workers[0] = crate::cluster::hone_with(
            "worker",
            &format!("w-{generation}"),
            &cluster.db,
            &cluster.model_url,
            0,
            &limit,
        );
    }
    // The fourth claim finds the job lost three times (more than 2) and fails it.
    let done = cluster.wait(&id, Duration::from_secs(20)).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["outcome"]["reason"], "error");
    assert_eq!(done["lease_losses"], 3);
    let message = done["outcome"]["message"].as_str().expect("message");
    assert!(message.contains("lost by its worker 3 times"), "{message}");
}
