//! Job statuses and the transitions between them.

use serde::{Deserialize, Serialize};

/// Where a job is in its life. `queued -> running -> succeeded | failed | cancelled`; a running
/// job may go back to `queued` (lost lease, retried infrastructure error), a queued one may be
/// cancelled, and a failed one may be continued (queued again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    /// A worker holds its lease and runs iterations.
    Running,
    /// An attempt was accepted.
    Succeeded,
    /// The budget ran out or an error ended it.
    Failed,
    /// A client cancelled it.
    Cancelled,
}

impl JobStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [JobStatus; 5] = [
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    /// The name used in the API and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored or queried name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the job has ended (nothing more will run unless it is continued).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// Whether moving from `self` to `to` is legal.
    pub fn can_transition(self, to: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Queued, Running)
                | (Queued, Cancelled)
                | (Running, Queued)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
                | (Failed, Queued)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::JobStatus::*;

    #[test]
    fn terminal_states_only_leave_through_continue() {
        assert!(Queued.can_transition(Running));
        assert!(Running.can_transition(Queued));
        assert!(Failed.can_transition(Queued));
        assert!(!Succeeded.can_transition(Queued));
        assert!(!Cancelled.can_transition(Running));
        assert!(!Queued.can_transition(Succeeded));
    }

    #[test]
    fn names_round_trip() {
        for s in super::JobStatus::ALL {
            assert_eq!(super::JobStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(super::JobStatus::parse("done"), None);
    }
}
