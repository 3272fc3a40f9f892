//! The seam between the loop and what a job is. The loop — resume, budgets, candidates,
//! decisions, every step stored before the next and streamed as it is — is shared by every
//! kind of job; a [`Kind`] supplies the four things that differ: how the actor is asked,
//! how its answer is run against the job's checks, how the run shows that the checks
//! themselves are broken, and how the critic is asked. [`Program`] is today's kind: one
//! file of code, written by the actor and run against the job's tests in the sandbox.
//! Repository jobs will be the next: a workspace prepared, the actor's edits applied, a
//! test command run and per-test results reported, through the same loop.

use async_trait::async_trait;
use hone_domain::lesson::Lesson;
use hone_domain::spec::{JobSpec, ModelSpec};
use hone_domain::{Critique, Execution, Feedback, JobId, ModelCall};
use hone_llm::LlmError;
use hone_sandbox::{SandboxError, verify};

use crate::{Engine, steps};

/// What the actor is asked with.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The job.
    pub job: JobId,
    /// Its spec (the service's system prompts filled in).
    pub spec: &'a JobSpec,
    /// The last decided iteration's answer and the feedback it left.
    pub previous: Option<(&'a str, &'a Feedback)>,
    /// What earlier repaired jobs learned (a `memory` job's first iteration).
    pub lessons: &'a [Lesson],
}

/// What the critic is asked to review.
#[derive(Debug, Clone, Copy)]
pub struct Review<'a> {
    /// The job.
    pub job: JobId,
    /// Its spec.
    pub spec: &'a JobSpec,
    /// The critic.
    pub critic: &'a ModelSpec,
    /// The answer.
    pub answer: &'a str,
    /// The answer's run.
    pub run: &'a Execution,
}

/// A run of an answer, or why the sandbox could not make one.
pub type Run = Result<Execution, SandboxError>;

/// A critique with the critic's call, or why the critic gave none.
pub type Reviewed = Result<(Critique, ModelCall), LlmError>;

/// What differs between kinds of job; everything else is the loop's.
#[async_trait]
pub trait Kind: Send + Sync {
    /// The kind's name, for logs.
    fn name(&self) -> &'static str;

    /// Asks the actor for an answer.
    async fn write(&self, engine: &Engine, ask: Ask<'_>) -> Result<(String, ModelCall), LlmError>;

    /// Runs `answer` against the job's checks.
    async fn run(&self, engine: &Engine, spec: &JobSpec, answer: &str) -> Run;

    /// Why no answer can pass, when `run` shows that the job's own checks are broken.
    fn broken_checks(&self, spec: &JobSpec, run: &Execution) -> Option<String>;

    /// Asks the critic to review an answer and its run.
    async fn review(&self, engine: &Engine, review: Review<'_>) -> Reviewed;
}

/// A program job: the actor writes one file of code, which runs against the job's tests
/// (or test cases) in the sandbox.
#[derive(Debug, Clone, Copy, Default)]
pub struct Program;

#[async_trait]
impl Kind for Program {
    fn name(&self) -> &'static str {
        "program"
    }

    async fn write(&self, engine: &Engine, ask: Ask<'_>) -> Result<(String, ModelCall), LlmError> {
        steps::write_code(
            &engine.providers,
            ask.job,
            ask.spec,
            ask.previous,
            ask.lessons,
        )
        .await
    }

    async fn run(&self, engine: &Engine, spec: &JobSpec, answer: &str) -> Run {
        verify::execute(engine.sandbox.as_ref(), &engine.runtimes, spec, answer).await
    }

    fn broken_checks(&self, spec: &JobSpec, run: &Execution) -> Option<String> {
        hone_domain::broken_tests::tests_do_not_compile(spec.language, run)
    }

    async fn review(&self, engine: &Engine, r: Review<'_>) -> Reviewed {
        steps::review(&engine.providers, r.job, r.spec, r.critic, r.answer, r.run).await
    }
}

/// The kind of the job `spec` describes (every job is a program today).
pub fn of(_spec: &JobSpec) -> &'static dyn Kind {
    &Program
}
