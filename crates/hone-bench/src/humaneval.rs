//! The whole loop on HumanEval: the 164 problems as jobs through the whole service (the real
//! API over HTTP, the engine, the bubblewrap sandbox, SQLite or Postgres), with a fake model
//! over HTTP that answers each problem wrong first (the program raises) and right after the
//! traceback: 328 sandbox runs. The floor is the same 328 programs through plain bubblewrap,
//! two at a time, with no service around them. Floor and service alternate.
//!
//! Needs `target/humaneval/HumanEval.jsonl` (`scripts/fetch-humaneval`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Json;
use axum::routing::post;
use hone_domain::{JobStatus, TenantId};
use hone_store::{ListJobs, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::engine::engine;
use crate::intake::{client, hone_server};

/// Runs at a time, on both sides: the sandbox's slots and the floor's.
const AT_ONCE: usize = 2;
/// Rounds of floor and service, alternated, per database.
const ROUNDS: usize = 2;

/// CPU time the whole machine has spent (all processes, the kernel included), from
/// `/proc/stat`: what a phase cost in CPU, not only in wall time.
fn machine_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: u64 = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .enumerate()
        // user nice system idle iowait irq softirq steal: all but idle and iowait.
        .filter(|(i, _)| *i != 3 && *i != 4)
        .filter_map(|(_, v)| v.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

/// One HumanEval problem.
#[derive(Deserialize)]
pub(crate) struct Problem {
    /// `HumanEval/N`.
    pub task_id: String,
    /// The signature and docstring.
    pub prompt: String,
    canonical_solution: String,
    test: String,
    entry_point: String,
}

impl Problem {
    /// A program that raises before doing anything.
    pub fn wrong(&self) -> String {
        format!(
            "{}    raise NotImplementedError('first draft')\n",
            self.prompt
        )
    }

    /// The canonical solution.
    pub fn right(&self) -> String {
        format!("{}{}", self.prompt, self.canonical_solution)
    }

    /// The job's task: the problem's id (which the fake models read) and its prompt.
    pub fn task(&self) -> String {
        format!(
            "{}: complete the function.\n\n{}",
            self.task_id, self.prompt
        )
    }

    /// The problem's tests, calling `check` on the entry point.
    pub fn tests(&self) -> String {
        format!("{}\ncheck({})\n", self.test, self.entry_point)
    }
}

/// The problem a model request is about: the first `HumanEval/N` in its text (the task
/// names it), or empty.
pub(crate) fn task_named(text: &str) -> String {
    text.find("HumanEval/")
        .map(|at| {
            let digits: String = text[at + 10..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            format!("HumanEval/{digits}")
        })
        .unwrap_or_default()
}

/// The 164 problems (`scripts/fetch-humaneval`).
pub(crate) fn problems() -> anyhow::Result<Vec<Problem>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/humaneval/HumanEval.jsonl");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} (run scripts/fetch-humaneval)", path.display()))?;
    let problems = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<Vec<Problem>, _>>()?;
    anyhow::ensure!(problems.len() == 164, "{} problems", problems.len());
    Ok(problems)
}

/// The fake model: for each problem (named in the task), the wrong program on the first
/// request and the right one after.
async fn fake_model(problems: &[Problem]) -> anyhow::Result<String> {
    let answers: Arc<HashMap<String, (String, String)>> = Arc::new(
        problems
            .iter()
            .map(|p| (p.task_id.clone(), (p.wrong(), p.right())))
            .collect(),
    );
    let seen: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    // The program for a request: the problem is named in the task; wrong first, then right.
    let code_for = move |body: &Value| -> String {
        let text = body["messages"].to_string();
        let id = task_named(&text);
        let n = {
            let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(id.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let code = answers
            .get(&id)
            .map(|(wrong, right)| if n == 1 { wrong } else { right })
            .cloned()
            .unwrap_or_default();
        format!("```python\n{code}```")
    };
    let messages_code = code_for.clone();
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            post(move |Json(body): Json<Value>| async move {
                Json(json!({
                    "choices": [{"message": {"role": "assistant", "content": code_for(&body)}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
                }))
            }),
        )
        .route(
            "/v1/messages",
            post(move |Json(body): Json<Value>| async move {
                Json(json!({
                    "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": messages_code(&body)}],
                    "usage": {"input_tokens": 100, "output_tokens": 50}
                }))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}

/// The plain bubblewrap command for one program: the same namespaces and read-only `/usr`
/// as the sandbox, none of its limits, cgroups, seccomp or bookkeeping.
fn plain_bwrap(python: &Path, main: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("bwrap");
    cmd.args([
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]);
    cmd.args([
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--ro-bind",
        "/usr",
        "/usr",
    ]);
    for top in ["/bin", "/sbin", "/lib", "/lib64"] {
        if let Ok(target) = std::fs::read_link(top) {
            cmd.arg("--symlink").arg(target).arg(top);
        }
    }
    cmd.args([
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/work",
    ]);
    cmd.arg("--ro-bind").arg(main).arg("/work/main.py");
    cmd.args(["--chdir", "/work"])
        .arg(python)
        .args(["-I", "-B", "main.py"]);
    cmd.stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped());
    cmd
}

/// The 328 programs through plain bubblewrap, [`AT_ONCE`] at a time (the next starts as soon
/// as any slot is free); the wall time.
fn floor(python: &Path, programs: &[(PathBuf, bool)]) -> anyhow::Result<Duration> {
    crate::pool::run_pool(AT_ONCE, programs.len(), |i| {
        let Some((main, should_pass)) = programs.get(i) else {
            return Ok(());
        };
        let out = plain_bwrap(python, main).output()?;
        anyhow::ensure!(
            out.status.success() == *should_pass,
            "plain bwrap: unexpected {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    })
}

/// Submits every spec to the API at `api`, then waits until every job has ended (at most
/// 15 minutes); the wall time from the first submission.
pub(crate) async fn submit_and_wait(
    store: &Arc<dyn Store>,
    api: &str,
    specs: impl IntoIterator<Item = Value>,
) -> anyhow::Result<Duration> {
    let http = client(16)?;
    let started = Instant::now();
    for spec in specs {
        let r = http.post(api).json(&spec).send().await?;
        anyhow::ensure!(r.status().as_u16() == 202, "submit: {}", r.status());
    }
    while !all_ended(store).await? {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "jobs did not end"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(started.elapsed())
}

/// Whether every job has ended: none queued, none running (two one-row queries, so the
/// polling costs the service next to nothing).
async fn all_ended(store: &Arc<dyn Store>) -> anyhow::Result<bool> {
    for status in [JobStatus::Queued, JobStatus::Running] {
        let query = ListJobs {
            filter: hone_store::JobFilter::status(status),
            limit: 1,
            before: None,
            ..Default::default()
        };
        let page = store.list_jobs(&TenantId::default_tenant(), query).await?;
        if !page.items.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The jobs that succeeded so far (a round adds 164; two rounds fit one page).
async fn succeeded(store: &Arc<dyn Store>) -> anyhow::Result<Vec<hone_domain::Job>> {
    let query = ListJobs {
        filter: hone_store::JobFilter::status(JobStatus::Succeeded),
        limit: 500,
        before: None,
        ..Default::default()
    };
    Ok(store
        .list_jobs(&TenantId::default_tenant(), query)
        .await?
        .items)
}

/// The 164 jobs through the whole service; the wall time from the first submission to the
/// last job's end.
async fn service(
    store: Arc<dyn Store>,
    problems: &[Problem],
    provider: &str,
) -> anyhow::Result<Duration> {
    let model = fake_model(problems).await?;
    let api = hone_server(store.clone()).await?;
    let worker = engine(store.clone(), model, 16)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let before = succeeded(&store).await?.len();
    let specs = problems.iter().map(|p| {
        json!({
            "task": p.task(),
            "tests": p.tests(),
            "critic": null,
            "max_iterations": 3,
            "actor": {"provider": provider, "model": "fake"},
        })
    });
    let elapsed = submit_and_wait(&store, &api, specs).await?;
    let _ = stop.send(());
    worker.await?;
    // Every job took exactly two iterations: the traceback, then the fix.
    let done = succeeded(&store).await?;
    anyhow::ensure!(
        done.len() == before + problems.len(),
        "not every job succeeded"
    );
    anyhow::ensure!(
        done.iter().all(|j| j.iterations == 2),
        "a job did not take two iterations"
    );
    Ok(elapsed)
}

/// Runs floor and service alternated, SQLite then Postgres (when configured).
pub async fn run() -> anyhow::Result<()> {
    let problems = problems()?;
    let python = crate::pool::python()?;
    let dir = tempfile::tempdir()?;
    let mut programs = Vec::new();
    for (i, p) in problems.iter().enumerate() {
        for (n, code, pass) in [(0, p.wrong(), false), (1, p.right(), true)] {
            let path = dir.path().join(format!("p{i}-{n}.py"));
            std::fs::write(&path, crate::pool::plain_program(&code, &p.tests()))?;
            programs.push((path, pass));
        }
    }
    println!("HumanEval: 164 jobs, wrong then right (328 sandbox runs), {AT_ONCE} runs at a time");
    floor(&python, &programs)?; // warm the page cache
    let mut backends: Vec<(&str, Arc<dyn Store>)> = Vec::new();
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    backends.push(("sqlite", Arc::new(hone_store_sqlite::connect(&url).await?)));
    if let Some(url) = hone_store_postgres::testing::fresh_database().await {
        backends.push((
            "postgres",
            Arc::new(hone_store_postgres::connect(&url).await?),
        ));
    }
    for (name, store) in backends {
        for _ in 0..ROUNDS {
            let cpu = machine_cpu();
            let bare = floor(&python, &programs)?;
            let bare_cpu = machine_cpu().saturating_sub(cpu);
            let cpu = machine_cpu();
            let whole = service(store.clone(), &problems, "openai").await?;
            let whole_cpu = machine_cpu().saturating_sub(cpu);
            println!(
                "{name}: plain bubblewrap {:.2} s ({:.1} CPU-s), hone {:.2} s ({:.1} CPU-s), \
                 hone/floor {:.2}x (target <= 1.5x)",
                bare.as_secs_f64(),
                bare_cpu.as_secs_f64(),
                whole.as_secs_f64(),
                whole_cpu.as_secs_f64(),
                whole.as_secs_f64() / bare.as_secs_f64()
            );
        }
        // The same 164 jobs through the Anthropic client (the fake's Messages API).
        let bare = floor(&python, &programs)?;
        let whole = service(store.clone(), &problems, "anthropic").await?;
        println!(
            "{name}, anthropic provider: plain bubblewrap {:.2} s, hone {:.2} s, hone/floor {:.2}x",
            bare.as_secs_f64(),
            whole.as_secs_f64(),
            whole.as_secs_f64() / bare.as_secs_f64()
        );
    }
    Ok(())
}
