//! hone's benchmarks. Each prints its figures side by side from one run, as ratios where a
//! baseline exists, so a slower machine changes the numbers but not the comparison.
//!
//! `cargo run --release -p hone-bench -- sandbox`: the sandbox's overhead over a bare
//! process, and executions per second on all cores.
//! `cargo run --release -p hone-bench -- harness`: a passing and a failing Python run through
//! the test harness against the same program and tests as one plain program.
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
mod harness;
mod history;
mod humaneval;
mod intake;
mod memory;
mod pool;
mod sandbox;
mod sse;
mod strategies;

/// Each benchmark and what it measures, for `--help`.
const BENCHMARKS: [(&str, &str); 11] = [
    (
        "sandbox",
        "the sandbox's overhead over a bare process, and runs a second",
    ),
    (
        "harness",
        "a passing and a failing run through the Python test harness against plain",
    ),
    (
        "engine",
        "jobs in flight against a slow model; the engine's overhead per iteration",
    ),
    (
        "sse",
        "1,000 SSE clients on one job and 1,000 on /v1/events: delivery latency",
    ),
    (
        "intake",
        "POST /v1/jobs against the bare axum + sqlx handler; batch against singles",
    ),
    (
        "history",
        "a million jobs: filtered pages and 30-day stats, p50/p95",
    ),
    (
        "dashboard",
        "the dashboard's pages against the API's JSON of the same data",
    ),
    (
        "humaneval",
        "the 164 HumanEval problems through the service against plain bubblewrap",
    ),
    (
        "strategies",
        "one draw, repair, candidates and both against one simulated model",
    ),
    (
        "exports",
        "HumanEval's exports checked record by record; 100,000 jobs exported",
    ),
    (
        "bounds",
        "resident memory of a page of large specs and of exports of loud runs",
    ),
];

fn usage() -> String {
    let mut out = String::from(
        "usage: cargo run --release -p hone-bench -- BENCHMARK\n\n\
         Postgres figures too when HONE_TEST_POSTGRES_URL is set; BENCHMARKS.md records them.\n\n",
    );
    for (name, what) in BENCHMARKS {
        out.push_str(&format!("  {name:<11} {what}\n"));
    }
    out
}

/// Runs the benchmark named on the command line; a failure prints one line (its causes
/// joined, no backtrace) and exits 1.
fn main() -> std::process::ExitCode {
    let which = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "sandbox".to_owned());
    if matches!(which.as_str(), "-h" | "--help" | "help") {
        print!("{}", usage());
        return std::process::ExitCode::SUCCESS;
    }
    match run(&which) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hone-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(which: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match which {
        "sandbox" => runtime.block_on(sandbox::run()),
        "harness" => harness::run(),
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
        other => anyhow::bail!("unknown benchmark {other:?}\n\n{}", usage()),
    }
}
