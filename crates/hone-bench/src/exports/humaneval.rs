//! The exports of the 164 HumanEval jobs (wrong first, then right; a critic reviews each
//! attempt), each record checked against the real thing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::Context;
use axum::Json;
use axum::routing::post;
use hone_domain::spec::Limits;
use hone_domain::{JobId, Language, TenantId};
use hone_sandbox::{Bubblewrap, RunRequest, Sandbox, SandboxConfig, Termination, runtime};
use hone_store::Store;
use serde_json::{Value, json};

use super::records;
use crate::engine::engine;
use crate::humaneval::{Problem, problems, submit_and_wait, task_named};
use crate::intake::{client, hone_server};

/// The fake model: as the actor, each problem's wrong program until the request says what
/// went wrong, then the right one; as the critic, `revise` naming a correctness issue until
/// the run passed, then `approve`.
async fn fake_model(problems: &[Problem]) -> anyhow::Result<String> {
    let answers: Arc<HashMap<String, (String, String)>> = Arc::new(
        problems
            .iter()
            .map(|p| (p.task_id.clone(), (p.wrong(), p.right())))
            .collect(),
    );
    let answer = move |body: &Value| -> String {
        let system = body["messages"][0]["content"].as_str().unwrap_or_default();
        let text = body["messages"].to_string();
        if system.contains("code reviewer") {
            return if text.contains("status: passed") {
                r#"{"verdict": "approve", "summary": "Correct.", "issues": []}"#.to_owned()
            } else {
                r#"{"verdict": "revise", "summary": "It raises.", "issues": [{"severity": "critical", "category": "correctness", "description": "The body raises instead of computing.", "fix": "Implement it."}]}"#.to_owned()
            };
        }
        let code = answers
            .get(&task_named(&text))
            .map(|(wrong, right)| {
                if text.contains("What went wrong") {
                    right
                } else {
                    wrong
                }
            })
            .cloned()
            .unwrap_or_default();
        format!("```python\n{code}```")
    };
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        post(move |Json(body): Json<Value>| async move {
            Json(json!({
                "choices": [{"message": {"role": "assistant", "content": answer(&body)}}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{addr}/v1"))
}

/// Whether `code` passes `tests` when run again in the sandbox.
async fn passes(
    sandbox: &dyn Sandbox,
    python: &runtime::Runtime,
    code: &str,
    tests: &str,
) -> anyhow::Result<bool> {
    let request = RunRequest {
        runtime: python.clone(),
        source: runtime::program_with_tests(Language::Python, code, Some(tests)),
        files: BTreeMap::new(),
        stdin: None,
        limits: Limits {
            timeout_ms: 10_000,
            memory_mb: 256,
            max_output_bytes: 65_536,
            max_processes: 32,
        },
    };
    Ok(sandbox.run(request).await?.termination == Termination::Exited(0))
}

/// Runs the 164 jobs on `store`, exports them, and checks every record.
pub async fn check(name: &str, store: Arc<dyn Store>) -> anyhow::Result<()> {
    let problems = problems()?;
    let model = fake_model(&problems).await?;
    let api = hone_server(store.clone()).await?;
    let worker = engine(store.clone(), model, 16)?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    let specs = problems.iter().map(|p| {
        json!({
            "task": p.task(), "tests": p.tests(), "max_iterations": 3,
            "actor": {"model": "fake"}, "critic": {"model": "fake-critic"},
        })
    });
    let took = submit_and_wait(&store, &api, specs).await?;
    let _ = stop.send(());
    worker.await?;
    let base = api.trim_end_matches("/jobs");
    let http = client(4)?;

    let sandbox = Bubblewrap::new(SandboxConfig::default())?;
    let python = runtime::resolve(&[])
        .0
        .into_iter()
        .find(|r| r.language == Language::Python)
        .context("no python3")?;
    let tenant = TenantId::default_tenant();
    let pairs = records(&http, &format!("{base}/exports/preferences")).await?;
    let (mut rejected_fail, mut chosen_pass) = (0, 0);
    for pair in &pairs {
        let id: JobId = serde_json::from_value(pair["job_id"].clone())?;
        let job = store
            .get_job(&tenant, id)
            .await?
            .context("the pair's job")?;
        let tests = job.spec.tests.as_deref().unwrap_or_default();
        let code = |k: &str| pair[k].as_str().unwrap_or_default().to_owned();
        rejected_fail += usize::from(!passes(&sandbox, &python, &code("rejected"), tests).await?);
        chosen_pass += usize::from(passes(&sandbox, &python, &code("chosen"), tests).await?);
    }
    let transcripts = records(&http, &format!("{base}/exports/trajectories")).await?;
    let valid = transcripts
        .iter()
        .filter(|t| hone_domain::chatformat::check_record(t).is_ok())
        .count();
    let critiques = records(&http, &format!("{base}/exports/critiques")).await?;
    let mut labelled = 0;
    for c in &critiques {
        let id: JobId = serde_json::from_value(c["job_id"].clone())?;
        let attempts = store.list_attempts(&tenant, id).await?.unwrap_or_default();
        let iteration = c["iteration"].as_u64().unwrap_or(0);
        let next = attempts
            .iter()
            .find(|a| u64::from(a.iteration) == iteration + 1);
        let truth = next
            .and_then(|a| a.execution.as_ref())
            .map(|e| e.status == hone_domain::ExecutionStatus::Passed);
        labelled += usize::from(c["next_passed"] == json!(truth));
    }
    println!(
        "HumanEval exports ({name}; 164 jobs in {:.1} s): {} preference records, {rejected_fail} \
         whose rejected code fails and {chosen_pass} whose chosen code passes when run again; \
         {} trajectories, {valid} accepted by the chat-format checker; {} critiques, \
         {labelled} labelled as their next attempt ran",
        took.as_secs_f64(),
        pairs.len(),
        transcripts.len(),
        critiques.len(),
    );
    anyhow::ensure!(
        pairs.len() == 164 && rejected_fail == 164 && chosen_pass == 164,
        "the preference records do not hold"
    );
    anyhow::ensure!(transcripts.len() == 164 && valid == 164, "bad trajectories");
    anyhow::ensure!(
        critiques.len() == 328 && labelled == 328,
        "critique labels do not match"
    );
    Ok(())
}
