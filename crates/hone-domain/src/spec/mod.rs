//! The job spec (`POST /v1/jobs`): its types with every default filled in, and
//! [`JobSpec::parse`], which reports every bad field at once.

mod labels;
mod parse;
mod reader;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use labels::{TAG_RULE, is_metadata_key, is_tag};
pub use reader::{FieldError, as_integer};

/// The language of the candidate code (and of the in-program `tests`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// CPython 3.
    Python,
    /// Node.js.
    Javascript,
    /// GNU bash.
    Bash,
}

impl Language {
    /// Every language, as accepted in a spec.
    pub const ALL: [Language; 3] = [Self::Python, Self::Javascript, Self::Bash];

    /// The spec name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Javascript => "javascript",
            Self::Bash => "bash",
        }
    }

    /// Parses the spec name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// Info strings of fenced blocks that hold this language.
    pub fn fence_tags(self) -> &'static [&'static str] {
        match self {
            Self::Python => &["python", "python3", "py"],
            Self::Javascript => &["javascript", "js", "node", "mjs", "cjs"],
            Self::Bash => &["bash", "sh", "shell"],
        }
    }
}

/// When an attempt counts as accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acceptance {
    /// The tests pass.
    Tests,
    /// The tests pass and the critic approves.
    TestsAndCritic,
    /// The code runs cleanly and the critic approves.
    Critic,
}

impl Acceptance {
    /// The spec name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tests => "tests",
            Self::TestsAndCritic => "tests_and_critic",
            Self::Critic => "critic",
        }
    }
}

/// A program-level test: run the candidate with `stdin`, compare stdout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// Shown in results; defaults to `case N`.
    pub name: String,
    /// Fed to the program.
    pub stdin: String,
    /// Compared with stdout, trailing whitespace trimmed on both.
    pub expected_stdout: String,
}

fn one() -> u32 {
    1
}

/// Budgets beyond the iteration count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    /// Tokens over all model calls of the job.
    pub max_total_tokens: u64,
    /// Wall time from the first claim.
    pub max_duration_s: u64,
    /// Dollars over all model calls of the job (unset: no cap): no call is made that would
    /// take the job past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost_usd: Option<crate::Usd>,
}

/// Sandbox limits of each run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Wall-clock limit of one run.
    pub timeout_ms: u64,
    /// Memory of one run.
    pub memory_mb: u64,
    /// Cap of stdout and of stderr, each.
    pub max_output_bytes: u64,
    /// Processes (and threads) of one run.
    pub max_processes: u64,
}

impl Default for Limits {
    /// The limits of a job that sets none.
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            memory_mb: 256,
            max_output_bytes: 262_144,
            max_processes: 32,
        }
    }
}

/// Which model plays a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// A provider named in configuration.
    pub provider: String,
    /// The model name sent to it.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Replaces the default system prompt.
    pub system_prompt: Option<String>,
}

/// Where to send signed callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSpec {
    /// An `http` or `https` URL.
    pub url: String,
    /// Event types, or `job.finished`.
    pub events: Vec<String>,
}

impl WebhookSpec {
    /// The event types the filter selects, `job.finished` expanded to the three terminal ones.
    pub fn event_types(&self) -> Vec<crate::EventType> {
        let mut types: Vec<crate::EventType> = Vec::new();
        for name in &self.events {
            let more: Vec<crate::EventType> = if name == "job.finished" {
                crate::EventType::ALL
                    .into_iter()
                    .filter(|t| t.is_terminal())
                    .collect()
            } else {
                crate::EventType::parse(name).into_iter().collect()
            };
            for t in more {
                if !types.contains(&t) {
                    types.push(t);
                }
            }
        }
        types
    }

    /// The filter as the stores keep it: the types comma-separated, with a comma at both
    /// ends (`,job.succeeded,job.failed,job.cancelled,`), so a type matches by substring.
    pub fn stored_filter(&self) -> String {
        let mut out = String::from(",");
        for t in self.event_types() {
            out.push_str(t.as_str());
            out.push(',');
        }
        out
    }
}

/// A validated job spec with every default filled in, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// What the code must do.
    pub task: String,
    /// The code's language.
    pub language: Language,
    /// In-program tests, run after the candidate code.
    pub tests: Option<String>,
    /// Program-level stdin/stdout cases.
    pub test_cases: Vec<TestCase>,
    /// Files placed in the working directory.
    pub files: BTreeMap<String, String>,
    /// Code the actor starts from.
    pub starter_code: Option<String>,
    /// The acceptance policy.
    pub acceptance: Acceptance,
    /// The most iterations to run.
    pub max_iterations: u32,
    /// Answers the actor draws per iteration (1 to 8); each is run, the best goes on.
    #[serde(default = "one")]
    pub candidates: u32,
    /// The first prompt carries the most similar lessons of the tenant's earlier repaired
    /// jobs (off by default).
    #[serde(default)]
    pub memory: bool,
    /// Token and time budget.
    pub budget: Budget,
    /// Sandbox limits.
    pub limits: Limits,
    /// The model that writes code.
    pub actor: ModelSpec,
    /// The model that reviews it; `None` turns critique off.
    pub critic: Option<ModelSpec>,
    /// Signed callbacks.
    pub webhook: Option<WebhookSpec>,
    /// The client's labels.
    pub metadata: BTreeMap<String, String>,
    /// Short names to find the job by (`GET /v1/jobs?tag=`), in the order given, without
    /// repeats.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Higher runs first.
    pub priority: i32,
}

impl JobSpec {
    /// Whether the spec carries any test (in-program or program-level).
    pub fn has_tests(&self) -> bool {
        self.tests.is_some() || !self.test_cases.is_empty()
    }
}

/// Bounds enforced by [`JobSpec::parse`].
pub mod bounds {
    /// Largest `task`, in bytes.
    pub const MAX_TASK_BYTES: usize = 64 * 1024;
    /// Largest `tests`, `starter_code`, a file, a system prompt, in bytes.
    pub const MAX_TEXT_BYTES: usize = 256 * 1024;
    /// Most `test_cases`.
    pub const MAX_TEST_CASES: usize = 100;
    /// Most `files`.
    pub const MAX_FILES: usize = 32;
    /// Most metadata entries.
    pub const MAX_METADATA: usize = 32;
    /// Most tags.
    pub const MAX_TAGS: usize = 10;
    /// Longest tag, in bytes.
    pub const MAX_TAG_BYTES: usize = 64;
    /// `max_iterations` range.
    pub const ITERATIONS: (u64, u64) = (1, 50);
}
