//! Why a client command failed, and the exit status that says so, so scripts can tell a
//! failed job from a failed request:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done; a watched job succeeded |
//! | 1 | a watched job failed (its tests never passed: iterations, budget, no progress) |
//! | 2 | a watched job was cancelled or ended in an error |
//! | 3 | the service refused the request (`4xx`: invalid, no such job, no key or scope) |
//! | 4 | the service could not be reached, or failed (`5xx`) |
//! | 5 | the command's own input is wrong (a file, JSON, a job id, `HONE_URL`, no key) |
//! | 64 | the command line is wrong (an unknown flag, a missing argument) |

/// A client command's failure, with its exit status.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The service answered `4xx`.
    #[error("{0}")]
    Refused(String),
    /// No answer, or `5xx`.
    #[error("{0}")]
    Unreachable(String),
    /// The command's own input.
    #[error("{0}")]
    Input(String),
}

impl Failure {
    /// The exit status (see the module's table).
    pub fn code(&self) -> u8 {
        match self {
            Self::Refused(_) => 3,
            Self::Unreachable(_) => 4,
            Self::Input(_) => 5,
        }
    }
}

/// The exit status for a command line clap refused.
pub const USAGE: u8 = 64;

/// The exit status a client command's error maps to: its [`Failure`]'s, else 4 (the request
/// could not be completed).
pub fn code_of(e: &anyhow::Error) -> u8 {
    e.chain()
        .find_map(|c| c.downcast_ref::<Failure>())
        .map_or(4, Failure::code)
}

/// Whether `e` is a write to a closed pipe (`hone jobs | head`): the reader has what it
/// wanted, so the command ends quietly.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
