//! `POST /v1/jobs` throughput, side by side with the floor: the simplest honest axum + sqlx
//! handler (typed JSON parse, one `INSERT`, `202` with the id) on the same database, under
//! the same load (32 keep-alive connections from this process), alternated A B A B.
//!
//! hone runs its real router and store with no worker, so only intake is measured (queued
//! jobs stay queued). SQLite always; Postgres too with `HONE_TEST_POSTGRES_URL`.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const CONNECTIONS: usize = 32;
const ROUND: Duration = Duration::from_secs(4);
const ROUNDS: usize = 2;

/// The body every request sends (as in the reference measurements).
pub(crate) fn body() -> Value {
    json!({
        "task": "Write parse_logs(text) that returns one dict per non-empty line",
        "tests": "assert parse_logs('') == []",
        "language": "python",
        "max_iterations": 3,
        "actor": {"provider": "openai", "model": "gpt-4.1-mini"},
        "critic": {"provider": "openai", "model": "gpt-4.1-mini"},
        "metadata": {"team": "billing"}
    })
}

/// The floor's typed body.
#[derive(Deserialize)]
#[expect(
    dead_code,
    reason = "parsed as a real handler would, not all fields are used"
)]
struct FloorSpec {
    task: String,
    tests: Option<String>,
    language: Option<String>,
    max_iterations: Option<u32>,
    actor: Option<Value>,
    critic: Option<Value>,
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Clone)]
enum FloorDb {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

async fn floor_create(
    State(db): State<FloorDb>,
    Json(spec): Json<FloorSpec>,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let id = uuid::Uuid::now_v7();
    let now = hone_domain::Timestamp::now().as_millis();
    let done = match &db {
        FloorDb::Sqlite(pool) => {
            sqlx::query("INSERT INTO floor_jobs (id, task, created_at) VALUES ($1, $2, $3)")
                .bind(id.to_string())
                .bind(&spec.task)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        }
        FloorDb::Postgres(pool) => {
            sqlx::query("INSERT INTO floor_jobs (id, task, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(&spec.task)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ())
        }
    };
    done.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"id": id}))))
}

async fn listen(router: axum::Router) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(hone_api::serve(
        listener,
        router,
        hone_api::ServerConfig::default(),
        std::future::pending(),
    ));
    Ok(format!("http://{addr}/v1/jobs"))
}

async fn floor_server(db: FloorDb) -> anyhow::Result<String> {
    match &db {
        FloorDb::Sqlite(pool) => {
            sqlx::query(
                "CREATE TABLE floor_jobs (id TEXT PRIMARY KEY, task TEXT NOT NULL, \
                 created_at BIGINT NOT NULL)",
            )
            .execute(pool)
            .await?;
        }
        FloorDb::Postgres(pool) => {
            sqlx::query(
                "CREATE TABLE floor_jobs (id UUID PRIMARY KEY, task TEXT NOT NULL, \
                 created_at BIGINT NOT NULL)",
            )
            .execute(pool)
            .await?;
        }
    }
    listen(
        axum::Router::new()
            .route("/v1/jobs", post(floor_create))
            .with_state(db),
    )
    .await
}

/// The API key every bench client sends: hone checks it, the floor ignores it, so both get
/// the same bytes.
pub(crate) fn bench_key() -> &'static str {
    static KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let request = hone_api::auth::issue::KeyRequest {
            tenant: hone_domain::TenantId::default_tenant(),
            name: "bench".to_owned(),
            scopes: hone_domain::apikey::Scope::ALL.to_vec(),
            expires_in: None,
            by: hone_store::Actor::Operator,
        };
        hone_api::auth::issue::issue(request, hone_domain::Timestamp::now())
            .map(|issued| issued.key)
            .unwrap_or_default()
    })
}

/// A client sending [`bench_key`], keeping up to `idle` connections.
pub(crate) fn client(idle: usize) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {}", bench_key()).parse()?,
    );
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(idle)
        .default_headers(headers)
        .build()?)
}

/// Stores [`bench_key`] (if it is not yet) and returns the key checker and rate limits of a
/// bench server: the limits are real but far above any bench's rate, so they cost their
/// check and never refuse.
pub(crate) async fn access(
    store: &Arc<dyn hone_store::Store>,
) -> anyhow::Result<(
    Arc<hone_api::auth::Authenticator>,
    Arc<hone_api::auth::RateLimits>,
)> {
    let stored = hone_api::auth::issue::bootstrap(bench_key())?;
    if store.find_key(&stored.hash).await?.is_none() {
        store.create_key(stored).await?;
    }
    let per_minute = std::env::var("RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000_000);
    let rate = hone_api::auth::RateConfig {
        reads_per_minute: per_minute,
        writes_per_minute: per_minute,
        tenant_reads_per_minute: per_minute,
        tenant_writes_per_minute: per_minute,
    };
    Ok((
        Arc::new(hone_api::auth::Authenticator::new(store.clone())),
        Arc::new(hone_api::auth::RateLimits::new(rate)),
    ))
}

/// The API's state over `store` for a bench: the bench key, and limits that never refuse.
pub(crate) async fn bench_state(
    store: Arc<dyn hone_store::Store>,
) -> anyhow::Result<hone_api::AppState> {
    bench_state_with(store, hone_api::live::StreamCaps::default()).await
}

/// [`bench_state`] whose hub holds up to `caps` streams open.
pub(crate) async fn bench_state_with(
    store: Arc<dyn hone_store::Store>,
    caps: hone_api::live::StreamCaps,
) -> anyhow::Result<hone_api::AppState> {
    let hub = hone_api::live::Hub::start(store.clone(), caps).await?;
    let providers = BTreeMap::from([
        ("openai".to_owned(), Ok(())),
        ("anthropic".to_owned(), Ok(())),
    ]);
    let (auth, rate) = access(&store).await?;
    Ok(hone_api::AppState {
        store,
        auth,
        rate,
        sandbox: "none",
        hub,
        webhook_policy: hone_webhook::TargetPolicy::default(),
        secret_overlap: Duration::from_secs(0),
        max_secrets: 3,
        providers: Arc::new(providers),
        runtimes: None,
        metrics: None,
        redactor: Arc::default(),
        max_keys: 100,
    })
}

pub(crate) async fn hone_server(store: Arc<dyn hone_store::Store>) -> anyhow::Result<String> {
    let state = bench_state(store).await?;
    listen(hone_api::router(
        state,
        hone_api::HttpLimits::default(),
        axum::Router::new(),
    ))
    .await
}

/// Requests per second accepted by `url` under the load, over one round.
async fn load(url: &str) -> anyhow::Result<f64> {
    let http = client(CONNECTIONS)?;
    let body = Arc::new(body().to_string());
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let (http, body, done, failed, url) = (
            http.clone(),
            body.clone(),
            done.clone(),
            failed.clone(),
            url.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < ROUND {
                let sent = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.as_str().to_owned())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 202 => done.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let failures = failed.load(Ordering::Relaxed);
    anyhow::ensure!(failures == 0, "{failures} requests failed against {url}");
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Measures one database: floor and hone alternated, with the ratio per pair.
async fn compare(name: &str, floor: String, hone: String) -> anyhow::Result<()> {
    let mut ratios = Vec::new();
    for round in 0..ROUNDS {
        let f = load(&floor).await?;
        let h = load(&hone).await?;
        ratios.push(h / f);
        println!(
            "{name} round {}: floor {f:>7.0} req/s, hone {h:>7.0} req/s, hone/floor {:.2}",
            round + 1,
            h / f
        );
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{name}: hone/floor {:.2} to {:.2} (target >= 0.5)",
        ratios[0],
        ratios[ratios.len() - 1]
    );
    Ok(())
}

async fn sqlite_pool(path: &std::path::Path) -> anyhow::Result<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// Runs the comparison on SQLite, and on Postgres when configured.
pub async fn run() -> anyhow::Result<()> {
    println!(
        "POST /v1/jobs, {CONNECTIONS} connections, {} s rounds, floor and hone alternated",
        ROUND.as_secs()
    );
    let dir = tempfile::tempdir()?;
    let floor = floor_server(FloorDb::Sqlite(
        sqlite_pool(&dir.path().join("floor.db")).await?,
    ))
    .await?;
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    let store: Arc<dyn hone_store::Store> = Arc::new(hone_store_sqlite::connect(&url).await?);
    let hone = hone_server(store).await?;
    compare("sqlite", floor, hone).await?;

    if let Some(url) = hone_store_postgres::testing::fresh_database().await {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await?;
        let floor = floor_server(FloorDb::Postgres(pool)).await?;
        let store: Arc<dyn hone_store::Store> = Arc::new(hone_store_postgres::connect(&url).await?);
        let hone = hone_server(store).await?;
        compare("postgres", floor, hone).await?;
    }
    Ok(())
}
