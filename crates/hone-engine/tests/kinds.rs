//! The seam between the loop and a kind of job ([`hone_engine::kind::Kind`]): a job run as
//! a made-up kind goes through the same loop, budgets, store records and event stream as a
//! program job, and today's kind ([`Program`]) runs through that seam end to end (a
//! scripted model, the real Python runtime, no isolation: [`Unconfined`]).

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hone_domain::spec::JobSpec;
use hone_domain::{
    AttemptStatus, EventType, Execution, ExecutionStatus, JobId, JobStatus, ModelCall,
    OutcomeReason, TenantId, Usage, Usd,
};
use hone_engine::job::{JobRun, run_job_as};
use hone_engine::kind::{self, Ask, Kind, Program, Review, Reviewed, Run};
use hone_engine::{Engine, EngineConfig};
use hone_llm::{ChatModel, ChatRequest, ChatResponse, LlmError, Providers};
use hone_sandbox::verify::Runtimes;
use hone_sandbox::{SandboxConfig, Unconfined, runtime};
use hone_store::{ClaimJobs, Claimed, Enqueued, EventsPage, NewJob, Store};
use serde_json::{Value, json};

/// A made-up kind: the actor's answers are scripted, and an answer passes when it is
/// `right`.
struct Scripted {
    answers: Mutex<Vec<&'static str>>,
}

impl Scripted {
    fn new(answers: &[&'static str]) -> Self {
        let mut answers = answers.to_vec();
        answers.reverse();
        Self {
            answers: Mutex::new(answers),
        }
    }
}

fn call(tokens: u64) -> ModelCall {
    ModelCall {
        provider: "scripted".to_owned(),
        model: "m".to_owned(),
        latency_ms: 1,
        usage: Usage {
            total_tokens: tokens,
            cost_usd: Usd(tokens),
            ..Usage::default()
        },
    }
}

#[async_trait]
impl Kind for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    async fn write(&self, _: &Engine, _: Ask<'_>) -> Result<(String, ModelCall), LlmError> {
        let next = self.answers.lock().expect("lock").pop().unwrap_or("wrong");
        Ok((next.to_owned(), call(10)))
    }

    async fn run(&self, _: &Engine, _: &JobSpec, answer: &str) -> Run {
        let passed = answer == "right";
        let run = json!({
            "status": if passed { "passed" } else { "failed" },
            "exit_code": i32::from(!passed), "signal": null, "duration_ms": 1,
            "stdout": "", "stderr": "", "stdout_truncated": false, "stderr_truncated": false,
            "traceback": null, "test_cases": [],
            "message": (!passed).then(|| format!("check failed: {answer} is not right")),
        });
        Ok(serde_json::from_value(run).expect("a run"))
    }

    fn broken_checks(&self, _: &JobSpec, _: &Execution) -> Option<String> {
        None
    }

    async fn review(&self, _: &Engine, _: Review<'_>) -> Reviewed {
        Err(LlmError::Decode("these jobs have no critic".to_owned()))
    }
}

/// A model that answers every request with the same fenced Python code.
struct Answers(&'static str);

#[async_trait]
impl ChatModel for Answers {
    async fn chat(&self, _: ChatRequest) -> Result<ChatResponse, LlmError> {
        let usage = Usage {
            total_tokens: 7,
            ..Usage::default()
        };
        Ok(ChatResponse::new(
            format!("```python\n{}\n```", self.0),
            usage,
        ))
    }
}

fn tenant() -> TenantId {
    TenantId::default_tenant()
}

/// An engine over a fresh SQLite store, with `providers`.
async fn engine(providers: Providers) -> Engine {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    let store: Arc<dyn Store> = Arc::new(hone_store_sqlite::connect(&url).await.expect("store"));
    // The directory must outlive the test: leak it (the OS cleans /tmp).
    std::mem::forget(dir);
    Engine {
        store,
        providers,
        sandbox: Arc::new(Unconfined::new(SandboxConfig::default())),
        runtimes: Runtimes(runtime::resolve(&[]).0),
        config: EngineConfig::default(),
        running: Arc::default(),
    }
}

/// The job's attempts, in order.
async fn attempts(engine: &Engine, id: JobId) -> Vec<hone_domain::Attempt> {
    let found = engine.store.list_attempts(&tenant(), id).await;
    found.expect("attempts").expect("the job")
}

/// The job as stored, and its outcome.
async fn ended(engine: &Engine, id: JobId) -> (hone_domain::Job, hone_domain::Outcome) {
    let job = engine.store.get_job(&tenant(), id).await.expect("read");
    let job = job.expect("the job");
    let outcome = job.outcome.clone().expect("an outcome");
    (job, outcome)
}

/// Stores a job of `spec` and claims it.
async fn claimed(engine: &Engine, spec: Value) -> Claimed {
    let spec = JobSpec::parse(&spec).expect("spec");
    let job = NewJob::new(JobId::new(), tenant(), spec);
    let stored = engine.store.enqueue_job(job).await.expect("enqueue");
    assert!(matches!(stored, Enqueued::Created(_)), "{stored:?}");
    let claim = ClaimJobs {
        worker: "w".to_owned(),
        limit: 1,
        lease_ms: 60_000,
        ..ClaimJobs::default()
    };
    let mut claimed = engine.store.claim_jobs(claim).await.expect("claim");
    claimed.pop().expect("a job to claim")
}

#[tokio::test]
async fn another_kind_shares_the_loop_the_records_and_the_stream() {
    let engine = engine(Providers::new()).await;
    let job = claimed(
        &engine,
        json!({"task": "say right", "tests": "unused", "critic": null, "max_iterations": 3}),
    )
    .await;
    let id = job.job.id;
    let kind = Scripted::new(&["wrong", "right"]);
    let run = run_job_as(&engine, &kind, job).await;
    assert_eq!(
        run,
        JobRun::Finished(JobStatus::Succeeded, OutcomeReason::Accepted)
    );
    let attempts = attempts(&engine, id).await;
    let seen: Vec<_> = attempts
        .iter()
        .map(|a| (a.iteration, a.status, a.code.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (1, AttemptStatus::Failed, Some("wrong")),
            (2, AttemptStatus::Accepted, Some("right")),
        ]
    );
    let feedback = attempts[0]
        .feedback
        .as_ref()
        .expect("the failure's feedback");
    assert!(
        feedback
            .message
            .as_deref()
            .is_some_and(|m| m.contains("wrong is not right")),
        "the run's words go back to the actor: {feedback:?}"
    );
    let (stored, outcome) = ended(&engine, id).await;
    assert_eq!(outcome.accepted_iteration, Some(2));
    assert_eq!(outcome.code.as_deref(), Some("right"));
    assert_eq!(
        stored.usage.total_tokens, 20,
        "both actor calls are counted"
    );
    let events = engine
        .store
        .list_events(
            &tenant(),
            id,
            EventsPage {
                after: 0,
                limit: 100,
            },
        )
        .await
        .expect("events")
        .expect("the job");
    let kinds: Vec<EventType> = events.iter().map(|e| e.kind).collect();
    for expected in [
        EventType::AttemptCode,
        EventType::AttemptExecuted,
        EventType::AttemptFinished,
        EventType::JobSucceeded,
    ] {
        assert!(kinds.contains(&expected), "{expected:?} in {kinds:?}");
    }
}

#[tokio::test]
async fn another_kind_runs_out_of_the_same_budget() {
    let engine = engine(Providers::new()).await;
    let spec = json!({
        "task": "never right", "tests": "unused", "critic": null, "max_iterations": 5,
        "budget": {"max_total_tokens": 15}
    });
    let job = claimed(&engine, spec).await;
    let id = job.job.id;
    let run = run_job_as(&engine, &Scripted::new(&[]), job).await;
    assert_eq!(
        run,
        JobRun::Finished(JobStatus::Failed, OutcomeReason::BudgetExhausted)
    );
    let (_, outcome) = ended(&engine, id).await;
    assert_eq!(
        outcome.message.as_deref(),
        Some("the job's token budget is spent after 2 iterations")
    );
    assert_eq!(
        outcome.code.as_deref(),
        Some("wrong"),
        "the best code is kept"
    );
}

#[tokio::test]
async fn a_program_job_runs_through_the_seam() {
    let mut providers = Providers::new();
    providers.insert(
        "fake",
        Arc::new(Answers("def add(a, b):\n    return a + b")),
    );
    let engine = engine(providers).await;
    if engine.runtimes.get(hone_domain::Language::Python).is_none() {
        eprintln!("skipped: no Python runtime on this machine");
        return;
    }
    let spec = json!({
        "task": "add two numbers", "language": "python",
        "tests": "assert add(1, 2) == 3",
        "actor": {"provider": "fake", "model": "m"}, "critic": null
    });
    let job = claimed(&engine, spec).await;
    let kind = kind::of(&job.job.spec);
    assert_eq!(kind.name(), Program.name(), "every job is a program today");
    let id = job.job.id;
    let run = run_job_as(&engine, kind, job).await;
    assert_eq!(
        run,
        JobRun::Finished(JobStatus::Succeeded, OutcomeReason::Accepted)
    );
    let attempts = attempts(&engine, id).await;
    let run = attempts[0].execution.as_ref().expect("the program's run");
    assert_eq!(run.status, ExecutionStatus::Passed);
    assert_eq!(
        attempts[0].actor.as_ref().map(|c| c.usage.total_tokens),
        Some(7)
    );
}
