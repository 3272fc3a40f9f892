//! What one iteration records: the actor's code, the sandbox run, the critique, and the
//! feedback that carries its failure into the next iteration.

use serde::{Deserialize, Serialize};

use crate::cost::Usage;
use crate::critique::{Critique, CritiqueIssue};
use crate::timestamp::Timestamp;

/// One model call: who answered, how fast, at what cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCall {
    /// The provider name from configuration (`openai`, `replay`, ...).
    pub provider: String,
    /// The model name sent to the provider.
    pub model: String,
    /// Wall time of the call including retries.
    pub latency_ms: u64,
    /// Tokens counted by the provider.
    pub usage: Usage,
}

/// How a sandbox run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    /// Exit status 0 and every test case matched.
    Passed,
    /// The program ran, and a test failed or it exited non-zero.
    Failed,
    /// The code did not run at all: syntax error, missing entry point.
    Error,
    /// The wall-clock or CPU limit was hit.
    Timeout,
    /// The memory limit was hit.
    MemoryLimit,
    /// The program wrote more than the output cap.
    OutputLimit,
    /// The program hit the process limit (a fork bomb, runaway threads).
    ProcessLimit,
    /// The program filled its working directory or wrote a file over the size limit.
    DiskLimit,
    /// Our fault, not the code's: the sandbox could not run it. Retried, never fed to the actor.
    SandboxError,
}

impl ExecutionStatus {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::MemoryLimit => "memory_limit",
            Self::OutputLimit => "output_limit",
            Self::ProcessLimit => "process_limit",
            Self::DiskLimit => "disk_limit",
            Self::SandboxError => "sandbox_error",
        }
    }
}

/// One frame of a parsed traceback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The file as the runtime named it (`main.py`).
    pub file: String,
    /// 1-based line number.
    pub line: u32,
    /// The function, `<module>` at top level.
    pub function: String,
    /// The source line, when the runtime printed it.
    pub code: Option<String>,
}

/// A runtime's error report, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Traceback {
    /// `IndexError`, `SyntaxError`, ...
    pub error_type: String,
    /// The text after the type.
    pub message: String,
    /// Outermost call first, as Python prints them.
    pub frames: Vec<Frame>,
}

/// The verdict on one program-level test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCaseResult {
    /// The case's name from the spec.
    pub name: String,
    /// Whether stdout matched (trailing whitespace trimmed).
    pub passed: bool,
    /// What the program printed (capped).
    pub stdout: String,
    /// What the case expected.
    pub expected_stdout: String,
    /// How the run of this case ended.
    pub status: ExecutionStatus,
}

/// The sandbox's report on one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// The overall verdict.
    pub status: ExecutionStatus,
    /// The program's exit code, if it exited.
    pub exit_code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// Wall time of the run (not counting the wait for a sandbox slot).
    pub duration_ms: u64,
    /// CPU time the run used, user and system, its child processes included; `None` where
    /// the sandbox could not measure it (and for runs stored before it was measured).
    #[serde(default)]
    pub cpu_time_ms: Option<u64>,
    /// The run's peak resident memory in KiB: its largest process's, the sandbox's own
    /// launcher included; `None` where the sandbox could not measure it.
    #[serde(default)]
    pub peak_memory_kb: Option<u64>,
    /// Captured stdout, cut at the job's cap.
    pub stdout: String,
    /// Captured stderr, cut at the job's cap.
    pub stderr: String,
    /// Whether stdout was cut.
    pub stdout_truncated: bool,
    /// Whether stderr was cut.
    pub stderr_truncated: bool,
    /// The parsed error report, if the program raised one.
    pub traceback: Option<Traceback>,
    /// Per-case verdicts of `test_cases`.
    pub test_cases: Vec<TestCaseResult>,
    /// A sentence the actor can act on when a limit tripped or the sandbox failed.
    pub message: Option<String>,
}

#[cfg(test)]
impl Execution {
    /// A run that ended in `status` with nothing more to report: the tests' starting point.
    pub(crate) fn bare(status: ExecutionStatus) -> Self {
        Self {
            status,
            exit_code: Some(0),
            signal: None,
            duration_ms: 1,
            cpu_time_ms: None,
            peak_memory_kb: None,
            stdout: String::new(),
            stderr: String::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            traceback: None,
            test_cases: Vec::new(),
            message: None,
        }
    }
}

/// What goes back to the actor after a failed iteration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The run's status.
    pub status: ExecutionStatus,
    /// The traceback as the runtime printed it, or the tail of stderr.
    pub traceback: Option<String>,
    /// A limit's message, when one tripped.
    pub message: Option<String>,
    /// The test cases that failed.
    pub failing_test_cases: Vec<TestCaseResult>,
    /// The assertion of the in-program tests that failed, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_assertion: Option<FailedAssertion>,
    /// The critic's summary.
    pub critic_feedback: Option<String>,
    /// The critic's issues with their fixes.
    pub critic_issues: Vec<CritiqueIssue>,
    /// What identifies this failure: the run's status, the error type and message, and the
    /// failing test cases. Equal signatures in a row mean no progress.
    #[serde(default)]
    pub signature: String,
    /// How many iterations in a row, this one included, failed with this signature.
    #[serde(default = "one")]
    pub repeated: u32,
}

fn one() -> u32 {
    1
}

/// A failed assertion of the job's tests: where, and what it compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedAssertion {
    /// The line of the tests (1-based).
    pub line: u32,
    /// That line's source, when the runtime printed it.
    pub code: Option<String>,
    /// The assertion's message: for Python's `assert a <op> b`, both values
    /// (`5 == 4 is false`), for Node's `assert`, its own account.
    pub message: String,
}

/// How an iteration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// Steps are still being recorded.
    Running,
    /// The acceptance policy accepted it.
    Accepted,
    /// It was not accepted (its feedback goes to the next iteration), or the job failed
    /// while it ran (an error, a spent budget).
    Failed,
    /// A client cancelled the job while it ran.
    Cancelled,
}

impl AttemptStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Accepted => "accepted",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Running, Self::Accepted, Self::Failed, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One self-correction iteration, as persisted step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based.
    pub iteration: u32,
    /// How it ended, or `running`.
    pub status: AttemptStatus,
    /// The actor's code, once recorded.
    pub code: Option<String>,
    /// The actor call.
    pub actor: Option<ModelCall>,
    /// The sandbox run.
    pub execution: Option<Execution>,
    /// Every answer of the iteration, when the job draws several (`candidates` above 1);
    /// the chosen one is also `code`, `actor` and `execution`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<Candidate>,
    /// The jobs whose lessons the actor was shown (a `memory` job's first iteration).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lessons: Vec<crate::ids::JobId>,
    /// The critic's review (absent when critique is off).
    pub critique: Option<Critique>,
    /// The critic call.
    pub critic: Option<ModelCall>,
    /// What was fed back to the next iteration (absent for the accepted one).
    pub feedback: Option<Feedback>,
    /// When the iteration began.
    pub started_at: Timestamp,
    /// When its decision was recorded.
    pub finished_at: Option<Timestamp>,
}

/// One answer of an iteration that drew several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The code taken from the answer.
    pub code: String,
    /// The actor call that wrote it.
    pub actor: ModelCall,
    /// Its run; absent when another candidate passed first and this run was stopped.
    pub execution: Option<Execution>,
    /// Whether this is the candidate the iteration went on with (the attempt's `code`).
    pub chosen: bool,
}
