//! hone's domain model, free of IO: what a job is, how it is validated, which states it moves
//! through, what an attempt records, how model answers are read (code extraction, critique
//! parsing), what model calls cost, how prompts are built and when an attempt is accepted, and
//! what an API key and
//! its scopes look like.
//!
//! Every other crate speaks these types; none of them depends on sqlx, axum or tokio.

pub mod acceptance;
pub mod apikey;
pub mod attempt;
pub mod broken_tests;
pub mod candidate;
pub mod chatformat;
pub mod cost;
pub mod critique;
pub mod event;
pub mod extract;
pub mod ids;
pub mod job;
pub mod jsonscan;
pub mod lesson;
pub mod metric;
pub mod prompt;
pub mod spec;
pub mod status;
pub mod text;
pub mod timestamp;

pub use attempt::{
    Attempt, AttemptStatus, Candidate, Execution, ExecutionStatus, FailedAssertion, Feedback,
    Frame, ModelCall, TestCaseResult, Traceback,
};
pub use cost::{Price, Usage, Usd};
pub use critique::{Category, Critique, CritiqueIssue, Severity, Verdict};
pub use event::{Event, EventType};
pub use ids::{JobId, KeyId, TenantId};
pub use job::{Job, Outcome, OutcomeReason};
pub use spec::{Acceptance, FieldError, JobSpec, Language};
pub use status::JobStatus;
pub use timestamp::Timestamp;
