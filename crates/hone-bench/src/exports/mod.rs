//! `cargo run --release -p hone-bench -- exports`: the training-data exports.
//!
//! First a check on HumanEval ([`humaneval`]): the 164 problems through the whole service,
//! answered wrong then right with a critic reviewing each attempt, then every exported
//! record checked against the real thing: each preference pair's `rejected` run again fails
//! and its `chosen` passes, each trajectory passes the chat-format checker, each critique's
//! label equals what the next attempt did.
//!
//! Then the throughput ([`throughput`]): 100,000 jobs of history (`HONE_BENCH_JOBS` changes
//! it) exported over HTTP, records a second and the process's resident memory while it
//! streams, against the floor of reading the same pages from the store without making
//! records or answering HTTP. SQLite, then Postgres when `HONE_TEST_POSTGRES_URL` is set.

mod humaneval;
mod throughput;

use std::sync::Arc;

/// The NDJSON lines of `GET url`, parsed.
pub(crate) async fn records(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let resp = http.get(url).send().await?;
    anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
    let text = resp.text().await?;
    text.lines()
        .map(|l| serde_json::from_str(l).map_err(anyhow::Error::from))
        .collect()
}

/// Runs both parts on SQLite, then on Postgres when configured.
pub async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("humaneval.db").display());
    let store: Arc<dyn hone_store::Store> = Arc::new(hone_store_sqlite::connect(&url).await?);
    humaneval::check("SQLite", store).await?;
    if let Some(url) = hone_store_postgres::testing::fresh_database().await {
        let store: Arc<dyn hone_store::Store> = Arc::new(hone_store_postgres::connect(&url).await?);
        humaneval::check("Postgres", store).await?;
    }
    throughput::run().await
}
