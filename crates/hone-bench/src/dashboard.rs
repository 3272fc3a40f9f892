//! `cargo run --release -p hone-bench -- dashboard`: the dashboard's server time. On a
//! history of 100,000 jobs (`HONE_BENCH_JOBS`), with one job of 20 iterations (each with
//! code, a failed run with a traceback, a critique and feedback), the jobs page and that
//! job's page are rendered through the whole router in-process, beside the floor: the API's
//! JSON of the same data (`GET /v1/jobs`; `GET /v1/jobs/{id}`, its attempts and its events).
//! p50/p95 of repeated requests and their ratio; SQLite, then Postgres when
//! `HONE_TEST_POSTGRES_URL` is set.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use hone_domain::{
    AttemptStatus, Category, Critique, CritiqueIssue, ExecutionStatus, Feedback, Frame, JobId,
    JobSpec, Outcome, OutcomeReason, Severity, Traceback, Verdict,
};
use hone_store::{
    ActorOutput, AttemptDecision, ClaimJobs, CritiqueRecord, ExecutionRecord, FinishJob, NewJob,
    Store,
};
use serde_json::json;
use tower::ServiceExt;

use crate::history::{exec, load, model_call, pct};

const ROUNDS: usize = 200;

/// A job of 20 failed-then-accepted iterations, through the store's own steps.
async fn long_job(store: &Arc<dyn Store>) -> anyhow::Result<JobId> {
    let spec = JobSpec::parse(&json!({"task": "Parse the logs, 20 times over.",
        "tests": "assert parse_logs('') == []", "max_iterations": 20}))
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let id = JobId::new();
    let tenant = hone_domain::TenantId::default_tenant();
    store.enqueue_job(NewJob::new(id, tenant, spec)).await?;
    let claim = ClaimJobs {
        worker: "bench".into(),
        limit: 1,
        lease_ms: 600_000,
        per_tenant: None,
        serves: None,
    };
    let claimed = store.claim_jobs(claim).await?;
    let lease = claimed
        .into_iter()
        .find(|c| c.job.id == id)
        .ok_or_else(|| anyhow::anyhow!("the long job was not claimed"))?
        .lease;
    let body: String = (0..40)
        .map(|l| format!("    value_{l} = compute(line, {l})  # step {l}\n"))
        .collect();
    for it in 1..=20u32 {
        store.start_attempt(&lease, it).await?;
        let code = format!("def parse_logs(text):\n    # attempt {it}\n{body}    return []\n");
        let actor = model_call("gpt-4.1-mini", 1200, 900, 300);
        let output = ActorOutput {
            iteration: it,
            code: &code,
            call: &actor,
            candidates: &[],
            lessons: &[],
        };
        store.record_actor_output(&lease, output).await?;
        let passed = it == 20;
        let execution = hone_domain::Execution {
            status: if passed {
                ExecutionStatus::Passed
            } else {
                ExecutionStatus::Failed
            },
            exit_code: Some(i32::from(!passed)),
            signal: None,
            duration_ms: 40,
            cpu_time_ms: Some(30),
            peak_memory_kb: Some(8000),
            stdout: "line of output\n".repeat(20),
            stderr: if passed {
                String::new()
            } else {
                "Traceback (most recent call last):\n  File \"main.py\", line 3\nIndexError: list index out of range\n".to_owned()
            },
            stdout_truncated: false,
            stderr_truncated: false,
            traceback: (!passed).then(|| Traceback {
                error_type: "IndexError".into(),
                message: "list index out of range".into(),
                frames: (1..=4)
                    .map(|n| Frame {
                        file: "main.py".into(),
                        line: n * 3,
                        function: format!("f{n}"),
                        code: Some(format!("value = parts[{n}]")),
                    })
                    .collect(),
            }),
            test_cases: Vec::new(),
            message: None,
        };
        let run = ExecutionRecord {
            iteration: it,
            execution: &execution,
        };
        store.record_execution(&lease, run).await?;
        let issue = |severity| CritiqueIssue {
            severity,
            category: Category::EdgeCase,
            description: "An empty line raises IndexError.".into(),
            fix: Some("Skip blank lines.".into()),
        };
        let critique = Critique {
            verdict: if passed {
                Verdict::Approve
            } else {
                Verdict::Revise
            },
            summary: "Crashes on empty lines.".into(),
            issues: vec![issue(Severity::Critical), issue(Severity::Minor)],
            raw: None,
        };
        let critic = model_call("gpt-4.1", 1200, 900, 300);
        let review = CritiqueRecord {
            iteration: it,
            critique: &critique,
            call: &critic,
        };
        store.record_critique(&lease, review).await?;
        let feedback = (!passed).then(|| Feedback {
            status: ExecutionStatus::Failed,
            traceback: Some(execution.stderr.clone()),
            message: None,
            failing_test_cases: Vec::new(),
            failed_assertion: None,
            critic_feedback: Some(critique.summary.clone()),
            critic_issues: critique.issues.clone(),
            signature: "failed IndexError".into(),
            repeated: 1,
        });
        let decision = AttemptDecision {
            iteration: it,
            status: if passed {
                AttemptStatus::Accepted
            } else {
                AttemptStatus::Failed
            },
            feedback: feedback.as_ref(),
        };
        store.finish_attempt(&lease, decision).await?;
    }
    let outcome = Outcome {
        reason: OutcomeReason::Accepted,
        accepted_iteration: Some(20),
        code: None,
        message: None,
    };
    store
        .finish_job(
            &lease,
            FinishJob {
                status: hone_domain::JobStatus::Succeeded,
                outcome,
            },
        )
        .await?;
    Ok(id)
}

/// The API and dashboard router over `store`, and a signed-in session's cookie.
async fn router(store: Arc<dyn Store>) -> anyhow::Result<(axum::Router, String)> {
    let state = crate::intake::bench_state(store).await?;
    let pages = hone_web::router(hone_web::WebState {
        api: state.clone(),
        sessions: Arc::new(hone_web::SessionKey::random()?),
    });
    let router = hone_api::router(state, hone_api::HttpLimits::default(), pages);
    let sign_in = Request::post("/sign-in")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("key={}", crate::intake::bench_key())))?;
    let resp = router.clone().oneshot(sign_in).await?;
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("signing in set no cookie"))?
        .to_owned();
    Ok((router, cookie))
}

/// Times `ROUNDS` rounds of `paths` (each round requests every path once).
async fn time(
    router: &axum::Router,
    cookie: &str,
    paths: &[String],
) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for path in paths {
            let req = Request::get(path.as_str())
                .header("cookie", cookie)
                .header(
                    "authorization",
                    format!("Bearer {}", crate::intake::bench_key()),
                )
                .body(Body::empty())?;
            let resp = router.clone().oneshot(req).await?;
            anyhow::ensure!(resp.status() == 200, "{path}: {}", resp.status());
            axum::body::to_bytes(resp.into_body(), usize::MAX).await?;
        }
        out.push(started.elapsed());
    }
    Ok(out)
}

async fn measure(
    label: &str,
    store: Arc<dyn Store>,
    id: JobId,
    total: usize,
) -> anyhow::Result<()> {
    let (router, cookie) = router(store).await?;
    println!("\n{label}: {total} jobs, one of 20 iterations; {ROUNDS} rounds, in-process");
    println!(
        "{:<26} {:>14} {:>9} {:>9} {:>8}",
        "page", "floor p50 ms", "p50 ms", "p95 ms", "x floor"
    );
    let cases = [
        (
            "jobs page, 50 rows",
            vec!["/".to_owned()],
            vec!["/v1/jobs?limit=50".to_owned()],
        ),
        (
            "job page, 20 iterations",
            vec![format!("/jobs/{id}")],
            vec![
                format!("/v1/jobs/{id}"),
                format!("/v1/jobs/{id}/attempts"),
                format!("/v1/jobs/{id}/events?limit=1000"),
            ],
        ),
    ];
    for (name, page, floor) in cases {
        let floor_t = time(&router, &cookie, &floor).await?;
        let page_t = time(&router, &cookie, &page).await?;
        let (f50, p50, p95) = (
            pct(floor_t.clone(), 50),
            pct(page_t.clone(), 50),
            pct(page_t, 95),
        );
        println!(
            "{name:<26} {f50:>14.2} {p50:>9.2} {p95:>9.2} {:>8.2}",
            p50 / f50.max(f64::EPSILON)
        );
    }
    Ok(())
}

/// Runs the scenario on SQLite, then on Postgres when configured.
pub async fn run() -> anyhow::Result<()> {
    let total = std::env::var("HONE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("dashboard.db").display());
    let store = Arc::new(hone_store_sqlite::connect(&url).await?);
    let pool = store.writer().clone();
    // The long job first: the history has queued jobs of its own, which a claim would take.
    let id = long_job(&(store.clone() as Arc<dyn Store>)).await?;
    load(total, "ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    measure("SQLite", store, id, total).await?;
    let Some(url) = hone_store_postgres::testing::fresh_database().await else {
        println!("\nPostgres: skipped (HONE_TEST_POSTGRES_URL is not set)");
        return Ok(());
    };
    let store = Arc::new(hone_store_postgres::connect(&url).await?);
    let pool = store.pool().clone();
    let id = long_job(&(store.clone() as Arc<dyn Store>)).await?;
    load(total, "VACUUM ANALYZE", |sql| exec(pool.clone(), sql)).await?;
    measure("Postgres", store, id, total).await
}
