//! The live-event benchmark: 1,000 SSE clients on one job's stream and 1,000 on the tenant's
//! `/v1/events`, all on one API process, while a writer appends a job's events through the
//! store at a steady pace. Every client must receive every event (checked); the figure is
//! the delivery latency from the event's commit (the store call returned) to a client
//! reading its frame, p50/p99/max over all deliveries, against the target p99 < 100 ms.
//! SQLite always; Postgres too (through `LISTEN/NOTIFY`) when `HONE_TEST_POSTGRES_URL` is set.
//!
//! The 2,000 streams come from one key of one tenant, so the server runs with stream caps
//! and a connection cap that fit them (the defaults, 32 streams a key and 1,024
//! connections, would refuse them). A client that cannot open its stream within
//! [`CONNECT_WITHIN`] stops the run with an error naming it, never a silent wait.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hone_domain::{
    AttemptStatus, Critique, Execution, ExecutionStatus, JobId, JobSpec, JobStatus, ModelCall,
    Outcome, OutcomeReason, TenantId, Usage, Verdict,
};
use hone_store::{
    ActorOutput, AttemptDecision, ClaimJobs, CritiqueRecord, Enqueued, ExecutionRecord, FinishJob,
    Lease, NewJob, Store,
};
use serde_json::{Value, json};

const CLIENTS: usize = 1_000;
/// How long a client may take to get its stream's response head.
const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// The p99 delivery latency the service aims at.
const TARGET_P99_MS: f64 = 100.0;
const ITERATIONS: u32 = 5;
const PACE: Duration = Duration::from_millis(20);

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

/// Per event seq, when its write committed (µs since the epoch).
type Commits = Arc<Mutex<HashMap<u64, u128>>>;

/// Per client, each received seq with its arrival time (µs).
type Arrivals = Vec<(u64, u128)>;

async fn serve(store: Arc<dyn Store>) -> anyhow::Result<String> {
    let streams = 2 * CLIENTS;
    let caps = hone_api::live::StreamCaps {
        per_key: streams,
        per_tenant: streams,
        total: streams,
    };
    let state = crate::intake::bench_state_with(store, caps).await?;
    let router = hone_api::router(state, hone_api::HttpLimits::default(), axum::Router::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let config = hone_api::ServerConfig {
        max_connections: 2 * streams,
        ..hone_api::ServerConfig::default()
    };
    tokio::spawn(hone_api::serve(
        listener,
        router,
        config,
        std::future::pending(),
    ));
    Ok(format!("http://{addr}"))
}

/// Opens a stream and returns once the response headers arrived; the task then reads
/// frames until `until_seq` of `job` (or the stream ends).
async fn client(
    http: reqwest::Client,
    url: String,
    job: Option<JobId>,
    until_seq: u64,
) -> anyhow::Result<tokio::task::JoinHandle<Arrivals>> {
    let opened = http.get(&url).header("accept", "text/event-stream").send();
    let mut resp = tokio::time::timeout(CONNECT_WITHIN, opened)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "no answer to {url} within {CONNECT_WITHIN:?}: the server did not accept the stream"
            )
        })??;
    anyhow::ensure!(
        resp.status().is_success(),
        "{url} answered {}: {}",
        resp.status(),
        resp.text().await.unwrap_or_default()
    );
    Ok(tokio::spawn(async move {
        let mut got = Vec::new();
        let mut buf = String::new();
        while let Ok(Some(chunk)) = resp.chunk().await {
            let at = now_us();
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let Some(data) = block.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                    continue;
                };
                if job.is_some_and(|j| event["job_id"] != j.to_string()) {
                    continue;
                }
                let seq = event["seq"].as_u64().unwrap_or(0);
                got.push((seq, at));
                if seq >= until_seq {
                    return got;
                }
            }
        }
        got
    }))
}

fn call() -> ModelCall {
    ModelCall {
        provider: "bench".into(),
        model: "m".into(),
        latency_ms: 1,
        usage: Usage::default(),
    }
}

/// Appends the job's events at a steady pace, noting when each committed.
async fn write(store: &Arc<dyn Store>, lease: &Lease, commits: &Commits) -> anyhow::Result<()> {
    let mut seq = 2u64;
    let mark = |seq: u64| {
        if let Ok(mut c) = commits.lock() {
            c.insert(seq, now_us());
        }
    };
    let execution = Execution {
        status: ExecutionStatus::Failed,
        exit_code: Some(1),
        signal: None,
        duration_ms: 1,
        cpu_time_ms: None,
        peak_memory_kb: None,
        stdout: String::new(),
        stderr: String::new(),
        stdout_truncated: false,
        stderr_truncated: false,
        traceback: None,
        test_cases: Vec::new(),
        message: None,
    };
    let critique = Critique {
        verdict: Verdict::Revise,
        summary: "again".into(),
        issues: Vec::new(),
        raw: None,
    };
    for i in 1..=ITERATIONS {
        store.start_attempt(lease, i).await?;
        seq += 1;
        mark(seq);
        tokio::time::sleep(PACE).await;
        store
            .record_actor_output(
                lease,
                ActorOutput {
                    iteration: i,
                    code: "x = 1",
                    call: &call(),
                    candidates: &[],
                    lessons: &[],
                },
            )
            .await?;
        seq += 1;
        mark(seq);
        tokio::time::sleep(PACE).await;
        store
            .record_execution(
                lease,
                ExecutionRecord {
                    iteration: i,
                    execution: &execution,
                },
            )
            .await?;
        seq += 1;
        mark(seq);
        tokio::time::sleep(PACE).await;
        store
            .record_critique(
                lease,
                CritiqueRecord {
                    iteration: i,
                    critique: &critique,
                    call: &call(),
                },
            )
            .await?;
        seq += 1;
        mark(seq);
        tokio::time::sleep(PACE).await;
        store
            .finish_attempt(
                lease,
                AttemptDecision {
                    iteration: i,
                    status: AttemptStatus::Failed,
                    feedback: None,
                },
            )
            .await?;
        seq += 1;
        mark(seq);
        tokio::time::sleep(PACE).await;
    }
    let outcome = Outcome {
        reason: OutcomeReason::MaxIterations,
        accepted_iteration: None,
        code: None,
        message: None,
    };
    let finish = FinishJob {
        status: JobStatus::Failed,
        outcome,
    };
    store.finish_job(lease, finish).await?;
    mark(seq + 1);
    Ok(())
}

fn pct(sorted: &[u128], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

async fn one(name: &str, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let base = serve(store.clone()).await?;
    let http = crate::intake::client(0)?;
    let total = 2 + u64::from(ITERATIONS) * 5 + 1;

    // Tenant clients first, so they see the job from its first event.
    let mut tenant = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let opened = client(http.clone(), format!("{base}/v1/events"), None, total).await;
        tenant.push(opened.with_context(|| format!("tenant stream {}", tenant.len() + 1))?);
    }
    let spec = JobSpec::parse(&json!({"task": "add", "tests": "assert True"}))
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let id = JobId::new();
    let new = NewJob::new(id, TenantId::default_tenant(), spec);
    anyhow::ensure!(matches!(
        store.enqueue_job(new).await?,
        Enqueued::Created(_)
    ));
    let mut jobs = Vec::with_capacity(CLIENTS);
    let url = format!("{base}/v1/jobs/{id}/events");
    for _ in 0..CLIENTS {
        let opened = client(http.clone(), url.clone(), Some(id), total).await;
        jobs.push(opened.with_context(|| format!("job stream {}", jobs.len() + 1))?);
    }
    let commits: Commits = Arc::default();
    let claim = ClaimJobs {
        worker: "bench".into(),
        limit: 1,
        lease_ms: 600_000,
        per_tenant: None,
        serves: None,
    };
    let lease = store.claim_jobs(claim).await?.pop().context("claim")?.lease;
    if let Ok(mut c) = commits.lock() {
        c.insert(2, now_us());
    }
    write(&store, &lease, &commits).await?;

    let commits = commits.lock().map(|c| c.clone()).unwrap_or_default();
    for (label, handles, first) in [("one job", jobs, 1u64), ("/v1/events", tenant, 1u64)] {
        let mut latencies = Vec::new();
        for h in handles {
            let got = tokio::time::timeout(Duration::from_secs(60), h)
                .await
                .context("a client did not get every event in 60 s")??;
            let seqs: Vec<u64> = got.iter().map(|(s, _)| *s).collect();
            anyhow::ensure!(
                seqs == (first..=total).collect::<Vec<_>>(),
                "{label}: a client got {seqs:?}"
            );
            for (seq, at) in got {
                if let Some(c) = commits.get(&seq) {
                    latencies.push(at.saturating_sub(*c));
                }
            }
        }
        latencies.sort_unstable();
        let p99 = pct(&latencies, 0.99);
        let verdict = if p99 < TARGET_P99_MS { "met" } else { "MISSED" };
        println!(
            "{name:<8} {label:<11} {CLIENTS} clients x {total} events: every client got every \
             event; latency p50 {:.2} ms, p99 {p99:.2} ms, max {:.2} ms ({} deliveries); \
             target p99 < {TARGET_P99_MS} ms {verdict}",
            pct(&latencies, 0.5),
            pct(&latencies, 1.0),
            latencies.len()
        );
    }
    Ok(())
}

/// Runs the benchmark on SQLite, and on Postgres when configured.
pub async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    one("sqlite", Arc::new(hone_store_sqlite::connect(&url).await?)).await?;
    if std::env::var_os("HONE_TEST_POSTGRES_URL").is_some() {
        let url = hone_store_postgres::testing::fresh_database()
            .await
            .context("HONE_TEST_POSTGRES_URL")?;
        one(
            "postgres",
            Arc::new(hone_store_postgres::connect(&url).await?),
        )
        .await?;
    }
    Ok(())
}
