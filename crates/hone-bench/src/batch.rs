//! Batch intake: 1,000 jobs stored by one `POST /v1/jobs/batch` against the same 1,000 jobs
//! as single `POST /v1/jobs` requests (32 keep-alive connections), on the same server and
//! database, alternated. Target: the batch at least 10× faster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::intake::{body, client, hone_server};

const JOBS: usize = 1000;
const CONNECTIONS: usize = 32;
const ROUNDS: usize = 5;

/// Stores `JOBS` jobs with single requests; the time it took.
async fn singles(http: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let body = Arc::new(body().to_string());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..CONNECTIONS {
        let (http, body, url) = (http.clone(), body.clone(), url.to_owned());
        let share = JOBS / CONNECTIONS + usize::from(c < JOBS % CONNECTIONS);
        tasks.push(tokio::spawn(async move {
            for _ in 0..share {
                let r = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .await?;
                anyhow::ensure!(r.status().as_u16() == 202, "single: {}", r.status());
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}

/// Stores `JOBS` jobs with one batch request; the time it took (serialising the request
/// included).
async fn batch(http: &reqwest::Client, url: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let items = vec![body(); JOBS];
    let r = http
        .post(format!("{url}/batch"))
        .header("content-type", "application/json")
        .body(json!({"items": items}).to_string())
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 202, "batch: {}", r.status());
    let answer: serde_json::Value = r.json().await?;
    let ids = answer["ids"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(ids == JOBS, "batch answered {ids} ids");
    Ok(started.elapsed())
}

async fn compare(name: &str, store: Arc<dyn hone_store::Store>) -> anyhow::Result<()> {
    let url = hone_server(store).await?;
    let http = client(CONNECTIONS)?;
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let s = singles(&http, &url).await?;
        let b = batch(&http, &url).await?;
        let ratio = s.as_secs_f64() / b.as_secs_f64();
        ratios.push(ratio);
        println!(
            "{name} round {}: {JOBS} singles {:>6.1} ms, one batch {:>6.1} ms, {ratio:.1}x",
            round + 1,
            s.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{name}: batch {:.1}x to {:.1}x faster, median {:.1}x (target >= 10x)",
        ratios[0],
        ratios[ROUNDS - 1],
        ratios[ROUNDS / 2]
    );
    Ok(())
}

/// Runs the comparison on SQLite, and on Postgres when configured.
pub async fn run() -> anyhow::Result<()> {
    println!("{JOBS} jobs: single requests ({CONNECTIONS} connections) against one batch");
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    compare("sqlite", Arc::new(hone_store_sqlite::connect(&url).await?)).await?;
    if let Some(url) = hone_store_postgres::testing::fresh_database().await {
        compare(
            "postgres",
            Arc::new(hone_store_postgres::connect(&url).await?),
        )
        .await?;
    }
    Ok(())
}
