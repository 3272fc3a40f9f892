//! `cargo run --release -p hone-bench -- bounds`: what one tenant's large data costs the
//! service's memory (issue 31). The server runs in this process, so its resident memory is
//! sampled while it answers:
//!
//! - [`list`]: a 500-item page of large specs (`HONE_BENCH_SPEC_KIB`, 1,024 KiB by default:
//!   the size the attack used; up to 8,192) as summaries, as whole specs within the page
//!   budget, and read whole at once as before;
//! - [`export`]: jobs whose runs printed 4 MiB each (`HONE_BENCH_JOBS`, 1,000 by default)
//!   exported to a fast and to a slow reader, against each page's attempts read whole as
//!   before.
//!
//! Each measurement runs in a process of its own (`bounds-scenario`), started after the data
//! is loaded, so no other one's memory (which the allocator keeps) hides its own. SQLite,
//! then Postgres when `HONE_TEST_POSTGRES_URL` is set.

mod export;
mod list;

use std::sync::Arc;
use std::time::Instant;

use hone_store::Store;

use crate::intake::{client, hone_server};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One measurement, in a process of its own so the memory another one took (and the
/// allocator kept) hides nothing: `hone-bench bounds-scenario WHAT DATABASE_URL JOBS`.
pub async fn scenario(args: &[String]) -> anyhow::Result<()> {
    let [what, url, jobs] = args else {
        anyhow::bail!("usage: hone-bench bounds-scenario WHAT DATABASE_URL JOBS");
    };
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(hone_store_sqlite::connect(url).await?)
    } else {
        Arc::new(hone_store_postgres::connect(url).await?)
    };
    let api = hone_server(store.clone()).await?;
    let base = api.trim_end_matches("/jobs");
    let http = client(4)?;
    match what.as_str() {
        "summaries" => list::summaries(base, &http).await,
        "budgeted" => list::budgeted(base, &http).await,
        "list-before" => list::before(store).await,
        "export-fast" => export::stream(base, &http, jobs.parse()?, false).await,
        "export-slow" => export::stream(base, &http, jobs.parse()?, true).await,
        "export-before" => export::before(store).await,
        other => anyhow::bail!("unknown bounds scenario {other:?}"),
    }
}

/// Runs `hone-bench bounds-scenario` for each of `scenarios` on `url`.
fn each(scenarios: &[&str], url: &str, jobs: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    for what in scenarios {
        let status = std::process::Command::new(&exe)
            .args(["bounds-scenario", what, url, &jobs.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "bounds scenario {what} failed");
    }
    Ok(())
}

async fn one(
    name: &str,
    lists: (Arc<dyn Store>, String),
    exports: (Arc<dyn Store>, String),
) -> anyhow::Result<()> {
    let (kib, jobs) = (
        env("HONE_BENCH_SPEC_KIB", 1024),
        env("HONE_BENCH_JOBS", 1_000),
    );
    let started = Instant::now();
    list::load(&lists.0, 500, kib).await?;
    println!(
        "\n{name}: 500 jobs of {kib} KiB specs loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    each(&["summaries", "budgeted", "list-before"], &lists.1, jobs)?;
    let started = Instant::now();
    export::load(&exports.0, jobs).await?;
    println!(
        "\n{name}: {jobs} jobs whose runs printed 4 MiB each loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    each(
        &["export-fast", "export-slow", "export-before"],
        &exports.1,
        jobs,
    )
}

/// Loads the data on SQLite, then on Postgres when configured, and measures each way of
/// reading it in a process of its own.
pub async fn run() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let open = |file: &str| format!("sqlite://{}", dir.path().join(file).display());
    let (a, b) = (open("lists.db"), open("exports.db"));
    let lists: Arc<dyn Store> = Arc::new(hone_store_sqlite::connect(&a).await?);
    let exports: Arc<dyn Store> = Arc::new(hone_store_sqlite::connect(&b).await?);
    one("SQLite", (lists, a), (exports, b)).await?;
    let (Some(a), Some(b)) = (
        hone_store_postgres::testing::fresh_database().await,
        hone_store_postgres::testing::fresh_database().await,
    ) else {
        println!("\nPostgres: skipped (HONE_TEST_POSTGRES_URL is not set)");
        return Ok(());
    };
    let lists: Arc<dyn Store> = Arc::new(hone_store_postgres::connect(&a).await?);
    let exports: Arc<dyn Store> = Arc::new(hone_store_postgres::connect(&b).await?);
    one("Postgres", (lists, a), (exports, b)).await
}
