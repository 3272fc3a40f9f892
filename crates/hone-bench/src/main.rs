//! hone's benchmarks. Each prints its figures side by side from one run, as ratios where a
//! baseline exists, so a slower machine changes the numbers but not the comparison.
//!
//! `cargo run --release -p hone-bench -- sandbox`: the sandbox's overhead over a bare
//! process, and executions per second on all cores.
//! `cargo run --release -p hone-bench -- engine`: jobs in flight against a slow model, and
//! the engine's own overhead per iteration (SQLite; Postgres too with
//! `HONE_TEST_POSTGRES_URL`).
//! `cargo run --release -p hone-bench -- sse`: 1,000 SSE clients on one job and 1,000 on
//! `/v1/events`; delivery latency from commit to client.
//! `cargo run --release -p hone-bench -- intake`: `POST /v1/jobs` throughput against the
//! bare axum + sqlx handler on the same database (SQLite; Postgres too when configured),
//! then 1,000 jobs as one `POST /v1/jobs/batch` against 1,000 single requests.
//! `cargo run --release -p hone-bench -- history`: a million jobs on each database; a
//! filtered page of `GET /v1/jobs` under each filter and the 30-day stats, p50/p95.
//! `cargo run --release -p hone-bench -- dashboard`: the dashboard's jobs page over 100,000
//! jobs and a 20-iteration job's page, server time against the API's JSON of the same data.
//! `cargo run --release -p hone-bench -- humaneval`: the 164 HumanEval problems through the
//! whole service (a fake model answers wrong, then right) against the same 328 programs
//! through plain bubblewrap.
//! `cargo run --release -p hone-bench -- strategies`: the same problems under one draw,
//! repair, `candidates: 3` and both, against one simulated model: solved, iterations, tokens
//! and dollars per solved task.
//! `cargo run --release -p hone-bench -- exports`: the 164 HumanEval jobs' exports checked
//! record by record, then 100,000 jobs exported: records a second and resident memory.
//! `cargo run --release -p hone-bench -- bounds`: resident memory while a 500-item page of
//! large specs and an export of jobs with 4 MiB outputs are served, against reading them
//! whole as before issue 31.

mod batch;
mod bounds;
mod dashboard;
mod engine;
mod exports;
mod history;
mod humaneval;
mod intake;
mod memory;
mod sandbox;
mod sse;
mod strategies;

fn main() -> anyhow::Result<()> {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sandbox".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match which.as_str() {
        "sandbox" => runtime.block_on(sandbox::run()),
        "engine" => runtime.block_on(engine::run()),
        "sse" => runtime.block_on(sse::run()),
        "humaneval" => runtime.block_on(humaneval::run()),
        "history" => runtime.block_on(history::run()),
        "dashboard" => runtime.block_on(dashboard::run()),
        "strategies" => runtime.block_on(strategies::run()),
        "exports" => runtime.block_on(exports::run()),
        "bounds" => runtime.block_on(bounds::run()),
        "bounds-scenario" => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            runtime.block_on(bounds::scenario(&args))
        }
        "intake" => runtime.block_on(async {
            intake::run().await?;
            batch::run().await
        }),
        other => {
            anyhow::bail!(
                "unknown benchmark {other:?}; available: sandbox, engine, sse, intake, history, dashboard, humaneval, strategies, exports, bounds"
            )
        }
    }
}
