//! The append-only event log of a job.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::JobId;
use crate::timestamp::Timestamp;

/// What happened. Webhook filters take these names and the shorthand `job.finished`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// The job was accepted and stored.
    #[serde(rename = "job.queued")]
    JobQueued,
    /// A worker claimed it.
    #[serde(rename = "job.started")]
    JobStarted,
    /// An iteration began.
    #[serde(rename = "attempt.started")]
    AttemptStarted,
    /// The actor's code was stored.
    #[serde(rename = "attempt.code")]
    AttemptCode,
    /// The sandbox run was stored.
    #[serde(rename = "attempt.executed")]
    AttemptExecuted,
    /// The critique was stored.
    #[serde(rename = "attempt.critiqued")]
    AttemptCritiqued,
    /// The iteration's decision was stored.
    #[serde(rename = "attempt.finished")]
    AttemptFinished,
    /// The job went back to the queue.
    #[serde(rename = "job.requeued")]
    JobRequeued,
    /// Terminal: accepted.
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    /// Terminal: not accepted.
    #[serde(rename = "job.failed")]
    JobFailed,
    /// Terminal: cancelled.
    #[serde(rename = "job.cancelled")]
    JobCancelled,
}

impl EventType {
    /// Every type.
    pub const ALL: [EventType; 11] = [
        Self::JobQueued,
        Self::JobStarted,
        Self::AttemptStarted,
        Self::AttemptCode,
        Self::AttemptExecuted,
        Self::AttemptCritiqued,
        Self::AttemptFinished,
        Self::JobRequeued,
        Self::JobSucceeded,
        Self::JobFailed,
        Self::JobCancelled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobQueued => "job.queued",
            Self::JobStarted => "job.started",
            Self::AttemptStarted => "attempt.started",
            Self::AttemptCode => "attempt.code",
            Self::AttemptExecuted => "attempt.executed",
            Self::AttemptCritiqued => "attempt.critiqued",
            Self::AttemptFinished => "attempt.finished",
            Self::JobRequeued => "job.requeued",
            Self::JobSucceeded => "job.succeeded",
            Self::JobFailed => "job.failed",
            Self::JobCancelled => "job.cancelled",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether this event ends the job's stream.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::JobSucceeded | Self::JobFailed | Self::JobCancelled
        )
    }
}

/// One entry of a job's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The job it belongs to.
    pub job_id: JobId,
    /// 1, 2, 3, ... per job, without gaps.
    pub seq: u64,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Details: the iteration, a status, ...
    pub data: Value,
    /// When it was written.
    pub created_at: Timestamp,
}
