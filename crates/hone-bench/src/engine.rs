//! The engine benchmark: one worker holding thousands of jobs in flight against a model
//! that answers after 2 s (throughput, peak memory), and the engine's own overhead per
//! iteration: the time of an iteration not spent in the model or the sandbox. Postgres is
//! measured too when `HONE_TEST_POSTGRES_URL` is set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::routing::post;
use hone_domain::{JobId, JobSpec, JobStatus, TenantId};
use hone_engine::{Engine, EngineConfig};
use hone_llm::{OpenAiCompatible, OpenAiConfig, Providers, RetryPolicy};
use hone_sandbox::verify::Runtimes;
use hone_sandbox::{Bubblewrap, SandboxConfig, runtime};
use hone_store::{Enqueued, ListJobs, NewJob, Store};
use serde_json::{Value, json};

const IN_FLIGHT: usize = 2_000;
const SEQUENTIAL: usize = 40;

/// Starts an OpenAI-compatible fake answering correct code after `delay`.
async fn fake_model(delay: Duration) -> anyhow::Result<String> {
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(_): Json<Value>| async move {
            tokio::time::sleep(delay).await;
            Json(json!({
                "choices": [{"message": {"role": "assistant",
                    "content": "```python\ndef add(a, b):\n    return a + b\n```"}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}

pub(crate) fn engine(
    store: Arc<dyn Store>,
    model_url: String,
    max_jobs: usize,
) -> anyhow::Result<Engine> {
    let mut providers = Providers::new();
    // The fake serves both APIs: `openai` at `{url}/chat/completions`, `anthropic` at
    // `{url without /v1}/v1/messages`.
    let anthropic = hone_llm::Anthropic::new(hone_llm::AnthropicConfig {
        base_url: model_url.trim_end_matches("/v1").to_owned(),
        api_key: Some("bench".to_owned()),
        timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
        max_tokens: 4096,
    })?;
    providers.insert("anthropic", Arc::new(anthropic));
    let client = OpenAiCompatible::new(OpenAiConfig {
        base_url: model_url,
        api_key: None,
        timeout: Duration::from_secs(60),
        retry: RetryPolicy::default(),
    })?;
    providers.insert("openai", Arc::new(client));
    Ok(Engine {
        store,
        providers,
        sandbox: Arc::new(Bubblewrap::new(SandboxConfig::default())?),
        runtimes: Runtimes(runtime::resolve(&[]).0),
        config: EngineConfig {
            max_jobs,
            poll_interval: Duration::from_millis(100),
            ..EngineConfig::default()
        },
        running: Arc::default(),
    })
}

async fn enqueue(store: &Arc<dyn Store>, n: usize) -> anyhow::Result<()> {
    let spec =
        JobSpec::parse(&json!({"task": "add", "tests": "assert add(2, 3) == 5", "critic": null}))
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    for _ in 0..n {
        let new = NewJob::new(JobId::new(), TenantId::default_tenant(), spec.clone());
        anyhow::ensure!(matches!(
            store.enqueue_job(new).await?,
            Enqueued::Created(_)
        ));
    }
    Ok(())
}

async fn count(store: &Arc<dyn Store>, status: JobStatus) -> anyhow::Result<usize> {
    let mut total = 0;
    let mut before = None;
    loop {
        let page = store
            .list_jobs(
                &TenantId::default_tenant(),
                ListJobs {
                    filter: hone_store::JobFilter::status(status),
                    limit: 500,
                    before,
                    ..Default::default()
                },
            )
            .await?;
        total += page.items.len();
        match page.next {
            Some(next) => before = Some(next),
            None => return Ok(total),
        }
    }
}

/// Runs the engine until `n` jobs have succeeded; returns the wall time.
async fn drain(engine: Engine, n: usize) -> anyhow::Result<Duration> {
    let store = engine.store.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let worker = tokio::spawn(engine.run(async move {
        let _ = rx.await;
    }));
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if count(&store, JobStatus::Succeeded).await? >= n {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "jobs did not finish"
        );
    }
    let elapsed = started.elapsed();
    let _ = tx.send(());
    worker.await?;
    Ok(elapsed)
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Mean engine overhead per iteration: wall time of the attempt minus model and sandbox.
async fn overhead(store: &Arc<dyn Store>) -> anyhow::Result<(f64, f64)> {
    let tenant = TenantId::default_tenant();
    let page = store
        .list_jobs(
            &tenant,
            ListJobs {
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
    let (mut over, mut wall, mut n) = (0.0, 0.0, 0.0);
    for job in page.items {
        for a in store
            .list_attempts(&tenant, job.id)
            .await?
            .unwrap_or_default()
        {
            let finished = a.finished_at.context("finished")?;
            let total = finished.millis_since(a.started_at) as f64;
            let model = a.actor.as_ref().map_or(0, |c| c.latency_ms) as f64;
            let sandbox = a.execution.as_ref().map_or(0, |e| e.duration_ms) as f64;
            over += total - model - sandbox;
            wall += total;
            n += 1.0;
        }
    }
    Ok((over / n, 100.0 * over / wall))
}

async fn backend(
    name: &str,
    make: impl AsyncFn() -> anyhow::Result<Arc<dyn Store>>,
) -> anyhow::Result<()> {
    // Overhead: one job at a time, a model that answers after 50 ms.
    let store = make().await?;
    enqueue(&store, SEQUENTIAL).await?;
    let model = fake_model(Duration::from_millis(50)).await?;
    drain(engine(store.clone(), model, 1)?, SEQUENTIAL).await?;
    let (ms, pct) = overhead(&store).await?;
    println!(
        "| {name} | engine overhead per iteration | {ms:.1} ms ({pct:.1} % of the iteration) |"
    );

    // In flight: all jobs claimed at once, a model that answers after 2 s.
    let store = make().await?;
    enqueue(&store, IN_FLIGHT).await?;
    let model = fake_model(Duration::from_secs(2)).await?;
    let elapsed = drain(engine(store.clone(), model, IN_FLIGHT + 500)?, IN_FLIGHT).await?;
    println!(
        "| {name} | {IN_FLIGHT} jobs in flight, model answers after 2 s | {:.1} s, {:.0} jobs/s, peak RSS {:.0} MiB (whole process, fake model included) |",
        elapsed.as_secs_f64(),
        IN_FLIGHT as f64 / elapsed.as_secs_f64(),
        peak_rss_mib()
    );
    Ok(())
}

/// Runs the benchmark and prints its figures.
pub async fn run() -> anyhow::Result<()> {
    println!(
        "engine benchmark (one worker; sandbox: bubblewrap, {} slots)",
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!();
    println!("| store | what | result |");
    println!("| --- | --- | --- |");
    let dir = tempfile::tempdir()?;
    let dir_path = dir.path().to_owned();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    backend("sqlite", async || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let url = format!(
            "sqlite://{}",
            dir_path.join(format!("bench-{n}.db")).display()
        );
        Ok(Arc::new(hone_store_sqlite::connect(&url).await?) as Arc<dyn Store>)
    })
    .await?;
    // Postgres too when HONE_TEST_POSTGRES_URL names a server (a fresh database per part).
    if std::env::var("HONE_TEST_POSTGRES_URL").is_ok() {
        backend("postgres", async || {
            let url = hone_store_postgres::testing::fresh_database()
                .await
                .context("HONE_TEST_POSTGRES_URL")?;
            Ok(Arc::new(hone_store_postgres::connect(&url).await?) as Arc<dyn Store>)
        })
        .await?;
    }
    Ok(())
}
