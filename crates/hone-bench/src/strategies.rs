//! Repair against candidates on HumanEval: the 164 problems through the whole service
//! (API, engine, bubblewrap, SQLite) under four strategies — one draw, repair only (3
//! iterations), `candidates: 3` (one iteration), and both — against one replayed model, so
//! the table shows what each strategy solves and what it spends per solved task.
//!
//! The model is a deterministic simulation, the same for every strategy: each problem has a
//! difficulty `d` (uniform in [0, 1), from a hash of its id); a fresh draw is right with
//! probability `p = 1 - d^A`; a repair (a request carrying the last failure) is right with
//! `p + g (1 - p)` for feedback that helps (`g > 0`), or `p (1 + g)` for a model anchored on
//! its own mistake (`g < 0`). The table is printed for an anchored model, feedback that
//! neither helps nor hurts, and good feedback ([`FEEDBACK`]). Every call takes
//! [`LATENCY`], as a real model's would, so the job times show what drawing in parallel
//! saves. The k-th fresh draw and the k-th repair of a problem always
//! come out the same, so every strategy meets the same answers in the same order. Hard
//! problems stay hard for every strategy, as they do for real models. Tokens are counted
//! from the real prompts and answers (4 characters a token) and priced as `gpt-4.1-mini`
//! by the shipped price table. The figures show how hone spends under each strategy with a
//! model of this shape; a recorded real session (`HONE_RECORD_DIR`) gives a real model's.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use hone_domain::{JobStatus, TenantId, Usd};
use hone_store::{ListJobs, Store};
use serde_json::{Value, json};

use crate::engine::engine;
use crate::humaneval::{Problem, problems, submit_and_wait, task_named};
use crate::intake::hone_server;

/// The shape of the difficulty curve: the mean fresh-draw success is `A / (1 + A)` (0.65).
const A: f64 = 1.86;
/// The feedback regimes: anchored on the mistake, neutral, helpful.
const FEEDBACK: [f64; 3] = [-0.3, 0.0, 0.3];
/// How long the simulated model takes to answer.
const LATENCY: Duration = Duration::from_millis(500);

/// A number in [0, 1) from `parts`, the same on every run.
fn unit(parts: &[&str]) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts.hash(&mut h);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Whether the `k`-th draw of `kind` (`fresh` or `repair`) for `task` is right, when
/// feedback wins back `gain` of the remaining chance.
fn right(task: &str, kind: &str, k: usize, gain: f64) -> bool {
    let d = unit(&[task, "difficulty"]);
    let fresh = 1.0 - d.powf(A);
    let p = match kind {
        "repair" if gain >= 0.0 => fresh + gain * (1.0 - fresh),
        "repair" => fresh * (1.0 + gain),
        _ => fresh,
    };
    unit(&[task, kind, &k.to_string()]) < p
}

/// The simulated model over HTTP (`/v1/chat/completions`).
async fn model(problems: &[Problem], gain: f64) -> anyhow::Result<String> {
    let answers: Arc<HashMap<String, (String, String)>> = Arc::new(
        problems
            .iter()
            .map(|p| (p.task_id.clone(), (p.wrong(), p.right())))
            .collect(),
    );
    let draws: Arc<Mutex<HashMap<(String, &'static str), usize>>> = Arc::default();
    let answer = move |body: &Value| -> Value {
        let text = body["messages"].to_string();
        let task = task_named(&text);
        let kind = if text.contains("## Your previous attempt") {
            "repair"
        } else {
            "fresh"
        };
        let k = {
            let mut draws = draws.lock().unwrap_or_else(|e| e.into_inner());
            let n = draws.entry((task.clone(), kind)).or_insert(0);
            *n += 1;
            *n - 1
        };
        let code = answers
            .get(&task)
            .map(|(wrong, good)| {
                if right(&task, kind, k, gain) {
                    good
                } else {
                    wrong
                }
            })
            .cloned()
            .unwrap_or_default();
        let content = format!("```python\n{code}```");
        let prompt = (text.len() / 4) as u64;
        let completion = (content.len() / 4) as u64;
        json!({
            "choices": [{"message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}
        })
    };
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| async move {
            tokio::time::sleep(LATENCY).await;
            Json(answer(&body))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}

/// What one strategy did over the 164 jobs.
struct Outcome {
    solved: usize,
    iterations_solved: u64,
    actor_calls: u64,
    tokens: u64,
    cost: Usd,
    /// The median job's time from start to end, and the 90th percentile's.
    job_p50: Duration,
    job_p90: Duration,
    wall: Duration,
}

/// The 164 jobs under `strategy` on a fresh database; every job's usage summed.
async fn run_strategy(
    problems: &[Problem],
    gain: f64,
    candidates: u32,
    iterations: u32,
) -> anyhow::Result<Outcome> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    let store: Arc<dyn Store> = Arc::new(hone_store_sqlite::connect(&url).await?);
    let mut worker = engine(store.clone(), model(problems, gain).await?, 16)?;
    worker.providers.set_prices(hone_llm::Prices::defaults());
    let api = hone_server(store.clone()).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let specs = problems.iter().map(|p| {
        json!({
            "task": p.task(),
            "tests": p.tests(),
            "critic": null,
            "max_iterations": iterations,
            "candidates": candidates,
            "actor": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.8},
        })
    });
    let wall = submit_and_wait(&store, &api, specs).await?;
    let _ = stop.send(());
    worker.await?;
    let query = ListJobs {
        limit: 500,
        ..ListJobs::default()
    };
    let jobs = store
        .list_jobs(&TenantId::default_tenant(), query)
        .await?
        .items;
    anyhow::ensure!(jobs.len() == problems.len(), "{} jobs", jobs.len());
    let mut times: Vec<u64> = jobs
        .iter()
        .filter_map(|j| Some(j.finished_at?.millis_since(j.started_at?)))
        .collect();
    times.sort_unstable();
    let at = |q: usize| times.get(times.len() * q / 100).copied().unwrap_or(0);
    let mut out = Outcome {
        solved: 0,
        iterations_solved: 0,
        actor_calls: 0,
        tokens: 0,
        cost: Usd::ZERO,
        job_p50: Duration::from_millis(at(50)),
        job_p90: Duration::from_millis(at(90)),
        wall,
    };
    for job in &jobs {
        out.tokens += job.usage.total_tokens;
        out.cost += job.usage.cost_usd;
        out.actor_calls += u64::from(job.iterations) * u64::from(candidates);
        if job.status == JobStatus::Succeeded {
            out.solved += 1;
            out.iterations_solved += u64::from(job.iterations);
        }
    }
    Ok(out)
}

/// Runs the four strategies and prints the table, with feedback that does not help and
/// with feedback that does.
pub async fn run() -> anyhow::Result<()> {
    let problems = problems()?;
    println!(
        "Strategies on HumanEval: 164 jobs each through the whole service (SQLite), one \
         simulated model (a fresh draw is right with p = 1 - d^{A}, d the problem's \
         difficulty; a repair is right with p + g(1 - p), or p(1 + g) for g < 0), \
         {} ms a call, priced as gpt-4.1-mini",
        LATENCY.as_millis()
    );
    let strategies = [
        ("one draw", 1, 1),
        ("repair (3 iterations)", 1, 3),
        ("candidates: 3", 3, 1),
        ("both (3 x 3)", 3, 3),
    ];
    for gain in FEEDBACK {
        println!("\nfeedback g = {gain}");
        println!(
            "| strategy | solved | iterations per solved | actor calls | tokens per solved | \
             cost per solved | cost for all 164 | job time p50, p90 | wall |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for (name, candidates, iterations) in strategies {
            let o = run_strategy(&problems, gain, candidates, iterations).await?;
            let solved = o.solved.max(1) as f64;
            println!(
                "| {name} | {}/164 ({:.0}%) | {:.2} | {} | {:.0} | ${:.6} | ${:.4} | {:.2} s, {:.2} s | {:.1} s |",
                o.solved,
                100.0 * o.solved as f64 / 164.0,
                o.iterations_solved as f64 / solved,
                o.actor_calls,
                o.tokens as f64 / solved,
                o.cost.dollars() / solved,
                o.cost.dollars(),
                o.job_p50.as_secs_f64(),
                o.job_p90.as_secs_f64(),
                o.wall.as_secs_f64(),
            );
        }
    }
    Ok(())
}
