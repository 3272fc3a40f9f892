//! The steps of an attempt as a worker writes them (actor output, run, critique, decision)
//! and how a job ends.

use hone_domain::{
    AttemptStatus, Critique, Execution, Feedback, JobId, JobStatus, ModelCall, Outcome,
};

/// The actor's answer for an attempt ([`crate::Work::record_actor_output`]).
#[derive(Debug, Clone, Copy)]
pub struct ActorOutput<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The code extracted from the answer.
    pub code: &'a str,
    /// The model call, with its usage.
    pub call: &'a ModelCall,
    /// Every answer of the iteration when the job draws several (empty otherwise); `code`
    /// and `call` are the chosen one's, and every candidate's usage counts.
    pub candidates: &'a [hone_domain::Candidate],
    /// The jobs whose lessons the actor was shown (empty but for a `memory` job's first
    /// iteration).
    pub lessons: &'a [JobId],
}

/// The sandbox run of an attempt ([`crate::Work::record_execution`]).
#[derive(Debug, Clone, Copy)]
pub struct ExecutionRecord<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The run.
    pub execution: &'a Execution,
}

/// The critic's review of an attempt ([`crate::Work::record_critique`]).
#[derive(Debug, Clone, Copy)]
pub struct CritiqueRecord<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The review.
    pub critique: &'a Critique,
    /// The model call, with its usage.
    pub call: &'a ModelCall,
}

/// The decision on an attempt ([`crate::Work::finish_attempt`]).
#[derive(Debug, Clone, Copy)]
pub struct AttemptDecision<'a> {
    /// The attempt.
    pub iteration: u32,
    /// Accepted, failed or cancelled.
    pub status: AttemptStatus,
    /// What goes back to the actor, when the attempt failed.
    pub feedback: Option<&'a Feedback>,
}

/// How a job ends.
#[derive(Debug, Clone)]
pub struct FinishJob {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: JobStatus,
    /// Why, and the code.
    pub outcome: Outcome,
}
