//! `cargo run --release -p hone-bench -- history`: a million jobs (and two million attempts)
//! of history on each database, then a filtered page of `GET /v1/jobs` under each filter
//! and `GET /v1/stats` over the 30 days, timed through the store as the API calls it:
//! p50/p95 of repeated runs, with the unfiltered page beside them as the floor. The stats
//! are timed once before the ended jobs are folded into the hourly rollups (what a fresh
//! import reads), then the fold is timed, then the stats are measured from the rollups.
//! `HONE_BENCH_JOBS` changes the size.

mod load;

pub(crate) use load::call as model_call;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hone_domain::{JobStatus, Language, TenantId, Timestamp};
use hone_store::{Bucket, GroupBy, JobFilter, ListJobs, StatsQuery, Store};

fn jobs_wanted() -> usize {
    std::env::var("HONE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

pub(crate) fn pct(mut v: Vec<Duration>, p: usize) -> f64 {
    v.sort_unstable();
    let rank = (v.len() * p).div_ceil(100).max(1);
    v.get(rank - 1).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// Writes the history through `exec` (one call a statement).
pub(crate) async fn load<F, Fut>(
    total: usize,
    settle: &str,
    mut exec: F,
) -> anyhow::Result<Duration>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    exec("INSERT INTO tenants (id, name, created_at) VALUES ('other', 'other', 0)".to_owned())
        .await?;
    let mut rng = load::Rng::new(20_261_201);
    let now = Timestamp::now().as_millis();
    for k in 0..load::chunks(total) {
        let (jobs, attempts) = load::chunk(&mut rng, load::first_of(k), total, now);
        exec(jobs).await?;
        if attempts.ends_with(')') {
            exec(attempts).await?;
        }
    }
    exec(settle.to_owned()).await?;
    Ok(started.elapsed())
}

fn cases() -> Vec<(&'static str, JobFilter)> {
    let day_ago = Timestamp::from_millis(Timestamp::now().as_millis() - 86_400_000);
    vec![
        ("no filter (the floor)", JobFilter::default()),
        ("status=failed", JobFilter::status(JobStatus::Failed)),
        ("status=queued (1%)", JobFilter::status(JobStatus::Queued)),
        (
            "model (10%)",
            JobFilter {
                models: vec![load::MODELS[2].into()],
                ..JobFilter::default()
            },
        ),
        (
            "tag",
            JobFilter {
                tags: vec!["tag-07".into()],
                ..JobFilter::default()
            },
        ),
        (
            "metadata.team",
            JobFilter {
                metadata: vec![("team".into(), "team-3".into())],
                ..JobFilter::default()
            },
        ),
        (
            "language=bash & status=failed",
            JobFilter {
                languages: vec![Language::Bash],
                statuses: vec![JobStatus::Failed],
                ..JobFilter::default()
            },
        ),
        (
            "created_after (last day)",
            JobFilter {
                created_after: Some(day_ago),
                ..JobFilter::default()
            },
        ),
        (
            "q (one word)",
            JobFilter {
                text: Some(load::word(42)),
                ..JobFilter::default()
            },
        ),
        (
            "q (two words)",
            JobFilter {
                text: Some(format!("{} {}", load::word(42), load::word(7))),
                ..JobFilter::default()
            },
        ),
        (
            "tag & status & model",
            JobFilter {
                tags: vec!["tag-07".into()],
                statuses: vec![JobStatus::Failed],
                models: vec![load::MODELS[0].into()],
                ..JobFilter::default()
            },
        ),
    ]
}

/// Times each filtered page and the stats on `store`.
async fn measure(
    db: &str,
    store: Arc<dyn Store>,
    loaded: Duration,
    total: usize,
) -> anyhow::Result<()> {
    let tenant = TenantId::default_tenant();
    println!(
        "\n{db}: {total} jobs loaded in {:.0} s",
        loaded.as_secs_f64()
    );
    println!(
        "{:<32} {:>8} {:>9} {:>9}",
        "GET /v1/jobs?…  (limit 50)", "items", "p50 ms", "p95 ms"
    );
    for (name, filter) in cases() {
        let mut times = Vec::new();
        let mut items = 0;
        for run in 0..25 {
            let query = ListJobs {
                filter: filter.clone(),
                limit: 50,
                before: None,
                ..Default::default()
            };
            let started = Instant::now();
            let page = store.list_jobs(&tenant, query).await?;
            if run >= 3 {
                times.push(started.elapsed());
            }
            items = page.items.len();
        }
        println!(
            "{name:<32} {items:>8} {:>9.2} {:>9.2}",
            pct(times.clone(), 50),
            pct(times, 95)
        );
    }
    let now = Timestamp::now().as_millis();
    for (name, bucket, group_by) in [
        (
            "stats 30 days by day, by model",
            Bucket::Day,
            Some(GroupBy::Model),
        ),
        (
            "stats 30 days by hour, by tag",
            Bucket::Hour,
            Some(GroupBy::Tag),
        ),
    ] {
        let q = StatsQuery {
            since: Timestamp::from_millis(now - 30 * 86_400_000),
            until: Timestamp::from_millis(now + 1),
            bucket,
            group_by,
        };
        let mut times = Vec::new();
        let mut jobs = 0;
        for run in 0..6 {
            let started = Instant::now();
            let s = store.stats(&tenant, q).await?;
            if run >= 1 {
                times.push(started.elapsed());
            }
            jobs = s.totals.jobs;
        }
        println!(
            "{name:<32} {jobs:>8} {:>9.0} {:>9.0}",
            pct(times.clone(), 50),
            pct(times, 95)
        );
    }
    Ok(())
}

/// Times one `GET /v1/stats` over the 30 days read from the rows alone (nothing folded
/// yet), then folds every ended job into the rollups as the compactor does, batch by batch,
/// and prints both.
async fn fold_all(store: &Arc<dyn Store>) -> anyhow::Result<()> {
    let now = Timestamp::now().as_millis();
    let q = StatsQuery {
        since: Timestamp::from_millis(now - 30 * 86_400_000),
        until: Timestamp::from_millis(now + 1),
        bucket: Bucket::Day,
        group_by: Some(GroupBy::Model),
    };
    let started = Instant::now();
    store.stats(&TenantId::default_tenant(), q).await?;
    let unfolded = started.elapsed();
    let started = Instant::now();
    let mut folded = 0;
    loop {
        let n = store.fold_stats(2_000).await?;
        folded += n;
        if n < 2_000 {
            break;
        }
    }
    println!(
        "stats before folding: {:.2} s; folding {folded} ended jobs: {:.1} s ({:.0} jobs/s)",
        unfolded.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        folded as f64 / started.elapsed().as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Runs one loading statement on `pool`.
pub(crate) async fn exec<DB: sqlx::Database>(
    pool: sqlx::Pool<DB>,
    sql: String,
) -> anyhow::Result<()>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&pool)
        .await?;
    Ok(())
}

/// Runs the scenario on SQLite, then on Postgres when `HONE_TEST_POSTGRES_URL` is set.
pub async fn run() -> anyhow::Result<()> {
    let total = jobs_wanted();
    // Measure again a Postgres database an earlier run loaded (its name is printed).
    if let Ok(url) = std::env::var("HONE_BENCH_LOADED_URL") {
        let store: Arc<dyn Store> = Arc::new(hone_store_postgres::connect(&url).await?);
        fold_all(&store).await?;
        return measure("Postgres (loaded before)", store, Duration::ZERO, total).await;
    }
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("history.db").display());
    let store = Arc::new(hone_store_sqlite::connect(&url).await?);
    let pool = store.writer().clone();
    let loaded = load(total, "ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    let store: Arc<dyn Store> = store;
    fold_all(&store).await?;
    exec(pool.clone(), "ANALYZE".to_owned()).await?;
    measure("SQLite", store, loaded, total).await?;

    let Some(url) = hone_store_postgres::testing::fresh_database().await else {
        println!("\nPostgres: skipped (HONE_TEST_POSTGRES_URL is not set)");
        return Ok(());
    };
    println!("\nPostgres database: {url}");
    let store = Arc::new(hone_store_postgres::connect(&url).await?);
    let pool = store.pool().clone();
    // What autovacuum does to a table this size within minutes: statistics, and the
    // visibility map that lets the stats read their covering indexes alone.
    let loaded = load(total, "VACUUM ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    let store: Arc<dyn Store> = store;
    fold_all(&store).await?;
    exec(pool.clone(), "VACUUM ANALYZE".to_owned()).await?;
    measure("Postgres", store, loaded, total).await
}
