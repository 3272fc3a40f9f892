//! Exporting a large history: records a second over HTTP and the process's resident memory
//! while the export streams, against the floor of reading the same pages of jobs and their
//! attempts from the store alone (no records, no JSON, no HTTP).

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_domain::{JobId, JobStatus, TenantId};
use hone_store::{JobFilter, ListJobs, Store};

use crate::history::{exec, load};
use crate::intake::{client, hone_server};

/// What one export streamed.
struct Streamed {
    records: u64,
    bytes: u64,
    took: Duration,
    rss_before: u64,
    rss_peak: u64,
}

/// Streams `GET url` to its end, counting lines and sampling the resident memory.
async fn stream(http: &reqwest::Client, url: &str) -> anyhow::Result<Streamed> {
    let started = Instant::now();
    let (counted, resident) = crate::memory::during(async {
        let mut resp = http.get(url).send().await?;
        anyhow::ensure!(resp.status().is_success(), "{url}: {}", resp.status());
        let (mut records, mut bytes) = (0u64, 0u64);
        while let Some(chunk) = resp.chunk().await? {
            bytes += chunk.len() as u64;
            records += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        anyhow::Ok((records, bytes))
    })
    .await;
    let (records, bytes) = counted?;
    Ok(Streamed {
        records,
        bytes,
        took: started.elapsed(),
        rss_before: resident.before,
        rss_peak: resident.peak,
    })
}

/// The floor: every page of the filter's jobs and their attempts, read from the store as the
/// export reads them; the jobs read and the time.
async fn floor(store: &Arc<dyn Store>, filter: JobFilter) -> anyhow::Result<(u64, Duration)> {
    let tenant = TenantId::default_tenant();
    let started = Instant::now();
    let (mut jobs, mut before): (u64, Option<JobId>) = (0, None);
    loop {
        let query = ListJobs {
            filter: filter.clone(),
            limit: 100,
            before,
            ..Default::default()
        };
        let page = store.list_jobs(&tenant, query).await?;
        let ids: Vec<JobId> = page.items.iter().map(|j| j.id).collect();
        std::hint::black_box(store.attempts_of_jobs(&tenant, &ids).await?);
        jobs += ids.len() as u64;
        match page.next {
            Some(next) => before = Some(next),
            None => return Ok((jobs, started.elapsed())),
        }
    }
}

async fn measure(
    name: &str,
    store: Arc<dyn Store>,
    total: usize,
    loaded: Duration,
) -> anyhow::Result<()> {
    println!(
        "\n{name}: {total} jobs of history (90% the caller's) loaded in {:.1} s",
        loaded.as_secs_f64()
    );
    let api = hone_server(store.clone()).await?;
    let base = api.trim_end_matches("/jobs");
    let http = client(4)?;
    let mut ndjson_records = 0;
    for (kind, filter) in [
        ("preferences", JobFilter::status(JobStatus::Succeeded)),
        ("trajectories", JobFilter::status(JobStatus::Succeeded)),
        ("critiques", JobFilter::default()),
        ("critiques?format=parquet", JobFilter::default()),
    ] {
        let (jobs, floor_took) = floor(&store, filter).await?;
        let mut s = stream(&http, &format!("{base}/exports/{kind}")).await?;
        // A Parquet file is not lines: it holds the records the NDJSON export just counted.
        if kind.ends_with("parquet") {
            s.records = ndjson_records;
        }
        ndjson_records = s.records;
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!(
            "  {kind:<24} {:>7} records ({:>6.1} MiB) from {jobs} jobs in {:>5.2} s: \
             {:>6.0} records/s; resident memory {:.0} MiB before, {:.0} MiB at most \
             (+{:.1} MiB); floor (the same pages read from the store) {:.2} s, \
             export/floor {:.2}x",
            s.records,
            s.bytes as f64 / 1_048_576.0,
            s.took.as_secs_f64(),
            s.records as f64 / s.took.as_secs_f64(),
            mib(s.rss_before),
            mib(s.rss_peak),
            mib(s.rss_peak.saturating_sub(s.rss_before)),
            floor_took.as_secs_f64(),
            s.took.as_secs_f64() / floor_took.as_secs_f64(),
        );
    }
    Ok(())
}

/// Loads the history on SQLite (then Postgres when configured) and exports it.
pub async fn run() -> anyhow::Result<()> {
    let total = std::env::var("HONE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("exports.db").display());
    let sqlite = Arc::new(hone_store_sqlite::connect(&url).await?);
    let pool = sqlite.writer().clone();
    let loaded = load(total, "ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    measure("SQLite", sqlite, total, loaded).await?;
    let Some(url) = hone_store_postgres::testing::fresh_database().await else {
        println!("\nPostgres: skipped (HONE_TEST_POSTGRES_URL is not set)");
        return Ok(());
    };
    let postgres = Arc::new(hone_store_postgres::connect(&url).await?);
    let pool = postgres.pool().clone();
    let loaded = load(total, "VACUUM ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    measure("Postgres", postgres, total, loaded).await
}
