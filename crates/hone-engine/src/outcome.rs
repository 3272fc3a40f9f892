//! How a job's run ends, in one place: why the loop stopped before a decision ([`Halt`]),
//! every ending the loop or the worker decides ([`End`]), and the record the store keeps of
//! each (`FinishJob`: status, reason, sentence, and the best code a failed job keeps).

use hone_domain::{Feedback, JobStatus, Outcome, OutcomeReason};
use hone_llm::LlmError;
use hone_sandbox::SandboxError;
use hone_store::{Claimed, FinishJob, StoreError};

use crate::Engine;
use crate::lease::Stop;
use crate::plan::budget::Exhausted;

/// Why the loop stopped before a decision: the job goes on elsewhere or later (requeued,
/// released, taken over), or ends by what stopped it (a cancel, a model's refusal).
#[derive(Debug)]
pub(crate) enum Halt {
    Stop(Stop),
    Model(LlmError),
    Sandbox(SandboxError),
    Store(StoreError),
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LeaseLost(_) => Halt::Stop(Stop::LeaseLost),
            e => Halt::Store(e),
        }
    }
}

/// How a job ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End {
    /// Iteration `iteration` met the acceptance policy with `code`.
    Accepted {
        iteration: u32,
        code: Option<String>,
    },
    /// A budget or the tenant's quota ran out, `done` iterations having been decided.
    Exhausted { why: Exhausted, done: u32 },
    /// The same failure repeated the no-progress limit's times.
    NoProgress(Feedback),
    /// No attempt was accepted in the job's `max_iterations`.
    MaxIterations(u32),
    /// The job's tests do not compile: no code can pass them (the sentence says where).
    BrokenTests(String),
    /// A client cancelled the job while it ran.
    Cancelled,
    /// A model refused the job for good (the error's sentence, scrubbed of keys).
    ModelRefused(String),
    /// Its workers lost the job this many times (crashed, killed, cut off).
    LostTooOften(u32),
    /// Infrastructure errors requeued it `retries` times; the last one's sentence.
    Retried { retries: u32, why: String },
}

impl End {
    /// The job's status and the outcome's reason.
    fn status_and_reason(&self) -> (JobStatus, OutcomeReason) {
        match self {
            End::Accepted { .. } => (JobStatus::Succeeded, OutcomeReason::Accepted),
            End::Exhausted { .. } => (JobStatus::Failed, OutcomeReason::BudgetExhausted),
            End::NoProgress(_) => (JobStatus::Failed, OutcomeReason::NoProgress),
            End::MaxIterations(_) => (JobStatus::Failed, OutcomeReason::MaxIterations),
            End::Cancelled => (JobStatus::Cancelled, OutcomeReason::Cancelled),
            End::BrokenTests(_)
            | End::ModelRefused(_)
            | End::LostTooOften(_)
            | End::Retried { .. } => (JobStatus::Failed, OutcomeReason::Error),
        }
    }

    /// The sentence the outcome carries (none for an acceptance).
    fn message(&self) -> Option<String> {
        Some(match self {
            End::Accepted { .. } => return None,
            End::Exhausted { why, done } => why.message(*done),
            End::NoProgress(feedback) => format!(
                "{} iterations in a row failed the same way ({})",
                feedback.repeated, feedback.signature
            ),
            End::MaxIterations(n) => format!("no attempt was accepted in {n} iterations"),
            End::BrokenTests(why) | End::ModelRefused(why) => why.clone(),
            End::Cancelled => "cancelled by a client while running".to_owned(),
            End::LostTooOften(losses) => format!(
                "the job was lost by its worker {losses} times (crashed, killed or cut off \
                 from the database while running it); it was stopped so it cannot loop"
            ),
            End::Retried { retries, why } => {
                format!("infrastructure error after {retries} retries: {why}")
            }
        })
    }
}

/// The record of `end`: an acceptance keeps its code, every other ending the best code so
/// far.
pub(crate) async fn finish(engine: &Engine, claimed: &Claimed, end: End) -> FinishJob {
    let (status, reason) = end.status_and_reason();
    let message = end.message().map(hone_domain::text::clean_owned);
    let (accepted_iteration, code) = match end {
        End::Accepted { iteration, code } => (Some(iteration), code),
        _ => (None, best_code(engine, claimed).await),
    };
    FinishJob {
        status,
        outcome: Outcome {
            reason,
            accepted_iteration,
            code,
            message,
        },
    }
}

/// The code of the best attempt so far: most checks passed, then latest.
async fn best_code(engine: &Engine, claimed: &Claimed) -> Option<String> {
    let attempts = engine
        .store
        .list_attempts(&claimed.tenant, claimed.job.id)
        .await
        .ok()
        .flatten()?;
    attempts
        .into_iter()
        .filter(|a| a.code.is_some())
        .max_by_key(|a| (a.score(), a.iteration))
        .and_then(|a| a.code)
}
