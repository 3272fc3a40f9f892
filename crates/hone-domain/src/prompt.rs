//! The actor's and the critic's prompts, and the feedback that carries one iteration's failure
//! into the next.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::attempt::{Execution, ExecutionStatus, Feedback};
use crate::critique::{Critique, Verdict};
use crate::spec::JobSpec;

/// The longest tail of stderr or stdout put into a prompt.
const TAIL_BYTES: usize = 4_000;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// The request.
    User,
    /// A previous answer.
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

impl Message {
    fn new(role: Role, content: String) -> Self {
        Self { role, content }
    }
}

/// The end of `text`, at most `max` bytes, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// What identifies a failure, to notice iterations that fail the same way: the run's
/// status, the error type and message, and the names of the failing test cases.
pub fn failure_signature(execution: &Execution) -> String {
    let error = execution
        .traceback
        .as_ref()
        .map(|t| format!("{}: {}", t.error_type, t.message))
        .unwrap_or_default();
    let cases: Vec<&str> = execution
        .test_cases
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    format!(
        "{} | {error} | {}",
        execution.status.as_str(),
        cases.join(",")
    )
}

/// What the next actor request needs to know about a failed iteration. `previous` is the
/// last iteration's feedback, to count repeated failures.
pub fn build_feedback(
    execution: &Execution,
    critique: Option<&Critique>,
    previous: Option<&Feedback>,
) -> Feedback {
    let signature = failure_signature(execution);
    let repeated = match previous {
        Some(p) if p.signature == signature => p.repeated + 1,
        _ => 1,
    };
    let stderr = tail(&execution.stderr, TAIL_BYTES).trim_end();
    let traceback = (!stderr.is_empty()).then(|| stderr.to_owned());
    let (critic_feedback, critic_issues) = match critique {
        Some(c) if c.verdict != Verdict::Unparsable => (
            (!c.summary.is_empty()).then(|| c.summary.clone()),
            c.issues.clone(),
        ),
        _ => (None, Vec::new()),
    };
    Feedback {
        status: execution.status,
        traceback,
        message: execution.message.clone(),
        failing_test_cases: execution
            .test_cases
            .iter()
            .filter(|c| !c.passed)
            .cloned()
            .collect(),
        critic_feedback,
        critic_issues,
        signature,
        repeated,
    }
}

fn default_actor_system(spec: &JobSpec) -> String {
    format!(
        "You are an expert {lang} programmer. Write a complete, self-contained {lang} program \
         that does what the task asks. Use only the standard library. Do not include tests, \
         example usage that reads input, or explanations outside code: answer with exactly one \
         fenced code block tagged {lang}.",
        lang = spec.language.as_str()
    )
}

/// A service's own system prompts, used where a job sets none: for every language, or for
/// one (`actor.python.md` beats `actor.md`). Loaded by the binary from `HONE_PROMPTS_DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptDefaults {
    /// The actor's, by language name, `""` for every language.
    pub actor: std::collections::BTreeMap<String, String>,
    /// The critic's, the same way.
    pub critic: std::collections::BTreeMap<String, String>,
}

impl PromptDefaults {
    /// Fills the system prompts `spec` leaves unset; a job's own always wins.
    pub fn apply(&self, spec: &mut JobSpec) {
        let lang = spec.language.as_str();
        let pick = |map: &std::collections::BTreeMap<String, String>| {
            map.get(lang).or_else(|| map.get("")).cloned()
        };
        if spec.actor.system_prompt.is_none() {
            spec.actor.system_prompt = pick(&self.actor);
        }
        if let Some(critic) = spec.critic.as_mut()
            && critic.system_prompt.is_none()
        {
            critic.system_prompt = pick(&self.critic);
        }
    }
}

/// The messages of the actor's request for an iteration. `previous` is the last iteration's
/// code and feedback; `None` on the first.
pub fn actor_messages(spec: &JobSpec, previous: Option<(&str, &Feedback)>) -> Vec<Message> {
    let system = spec
        .actor
        .system_prompt
        .clone()
        .unwrap_or_else(|| default_actor_system(spec));
    let lang = spec.language.as_str();
    let mut user = format!("## Task\n{}\n", spec.task);
    if let Some(tests) = &spec.tests {
        let _ = write!(
            user,
            "\n## Tests\nThese tests run after your code, in the same program; they must pass:\n```{lang}\n{tests}\n```\n"
        );
    }
    if !spec.test_cases.is_empty() {
        user.push_str("\n## Program tests\nYour program is run with each stdin; its stdout must equal the expected output.\n");
        for case in &spec.test_cases {
            let _ = writeln!(
                user,
                "- {}: stdin {:?}, expected stdout {:?}",
                case.name, case.stdin, case.expected_stdout
            );
        }
    }
    if !spec.files.is_empty() {
        let names: Vec<&str> = spec.files.keys().map(String::as_str).collect();
        let _ = write!(
            user,
            "\n## Files\nThese files are in the working directory (read-only): {}\n",
            names.join(", ")
        );
    }
    if let (None, Some(starter)) = (previous, &spec.starter_code) {
        let _ = write!(user, "\n## Starter code\n```{lang}\n{starter}\n```\n");
    }
    if let Some((code, feedback)) = previous {
        let _ = write!(user, "\n## Your previous attempt\n```{lang}\n{code}\n```\n");
        user.push_str("\n## What went wrong\n");
        if feedback.repeated > 1 {
            let _ = writeln!(
                user,
                "Your last {} attempts failed in exactly the same way. The approach is not \
                 working: rethink it instead of patching the same code again.",
                feedback.repeated
            );
        }
        let _ = writeln!(user, "Run status: {}", feedback.status.as_str());
        if let Some(message) = &feedback.message {
            let _ = writeln!(user, "{message}");
        }
        if let Some(tb) = &feedback.traceback {
            let _ = write!(user, "Traceback / stderr:\n```\n{tb}\n```\n");
        }
        for case in &feedback.failing_test_cases {
            let _ = writeln!(
                user,
                "Failing test case {}: expected stdout {:?}, got {:?}",
                case.name, case.expected_stdout, case.stdout
            );
        }
        if let Some(summary) = &feedback.critic_feedback {
            let _ = writeln!(user, "Reviewer: {summary}");
        }
        for issue in &feedback.critic_issues {
            let _ = writeln!(
                user,
                "- [{:?}/{:?}] {}{}",
                issue.severity,
                issue.category,
                issue.description,
                issue
                    .fix
                    .as_deref()
                    .map(|f| format!(" Fix: {f}"))
                    .unwrap_or_default()
            );
        }
        user.push_str(
            "\nFix the code. Answer with the complete corrected program in one fenced block.\n",
        );
    }
    vec![
        Message::new(Role::System, system),
        Message::new(Role::User, user),
    ]
}

const CRITIC_SYSTEM: &str = "You are a meticulous code reviewer. Review the candidate code \
against the task and the result of running it. Answer with one JSON object and nothing else: \
{\"verdict\": \"approve\" | \"revise\", \"summary\": string, \"issues\": [{\"severity\": \
\"critical\" | \"major\" | \"minor\", \"category\": \"correctness\" | \"edge_case\" | \
\"security\" | \"performance\" | \"style\", \"description\": string, \"fix\": string}]}. \
Approve only code that is correct for every input the task allows.";

/// The messages of the critic's request.
pub fn critic_messages(spec: &JobSpec, code: &str, execution: &Execution) -> Vec<Message> {
    let system = spec
        .critic
        .as_ref()
        .and_then(|c| c.system_prompt.clone())
        .unwrap_or_else(|| CRITIC_SYSTEM.to_owned());
    let lang = spec.language.as_str();
    let mut user = format!(
        "## Task\n{}\n\n## Candidate code\n```{lang}\n{code}\n```\n",
        spec.task
    );
    if let Some(tests) = &spec.tests {
        let _ = write!(user, "\n## Tests\n```{lang}\n{tests}\n```\n");
    }
    let _ = write!(
        user,
        "\n## Run\nstatus: {}, exit code: {}, duration: {} ms{}\n",
        execution.status.as_str(),
        execution
            .exit_code
            .map_or("none".to_owned(), |c| c.to_string()),
        execution.duration_ms,
        match (execution.cpu_time_ms, execution.peak_memory_kb) {
            (Some(cpu), Some(kb)) =>
                format!(", cpu: {cpu} ms, peak memory: {} MiB", kb.div_ceil(1024)),
            _ => String::new(),
        }
    );
    if execution.status != ExecutionStatus::Passed {
        if let Some(message) = &execution.message {
            let _ = writeln!(user, "{message}");
        }
        let stderr = tail(&execution.stderr, TAIL_BYTES).trim_end();
        if !stderr.is_empty() {
            let _ = write!(user, "stderr:\n```\n{stderr}\n```\n");
        }
    }
    let stdout = tail(&execution.stdout, TAIL_BYTES / 2).trim_end();
    if !stdout.is_empty() {
        let _ = write!(user, "stdout:\n```\n{stdout}\n```\n");
    }
    for case in &execution.test_cases {
        let _ = writeln!(
            user,
            "test case {}: {}",
            case.name,
            if case.passed { "passed" } else { "failed" }
        );
    }
    vec![
        Message::new(Role::System, system),
        Message::new(Role::User, user),
    ]
}

/// The follow-up asked once when the critic's answer could not be parsed.
pub fn critic_repair_message() -> Message {
    Message::new(
        Role::User,
        "Your answer could not be parsed. Reply with only the JSON object described in the \
         instructions, with keys verdict, summary and issues."
            .to_owned(),
    )
}

/// The assistant message that echoes a previous answer in a repair request.
pub fn assistant(content: &str) -> Message {
    Message::new(Role::Assistant, content.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::{ExecutionStatus, Traceback};

    fn failing(message: &str) -> Execution {
        Execution {
            status: ExecutionStatus::Failed,
            exit_code: Some(1),
            signal: None,
            duration_ms: 1,
            cpu_time_ms: None,
            peak_memory_kb: None,
            stdout: String::new(),
            stderr: format!("IndexError: {message}"),
            stdout_truncated: false,
            stderr_truncated: false,
            traceback: Some(Traceback {
                error_type: "IndexError".into(),
                message: message.into(),
                frames: Vec::new(),
            }),
            test_cases: Vec::new(),
            message: None,
        }
    }

    #[test]
    fn repeated_failures_are_counted_and_named_in_the_next_prompt() {
        let first = build_feedback(&failing("out of range"), None, None);
        let second = build_feedback(&failing("out of range"), None, Some(&first));
        let other = build_feedback(&failing("something else"), None, Some(&second));
        assert_eq!((first.repeated, second.repeated, other.repeated), (1, 2, 1));
        let spec = crate::spec::JobSpec::parse(&serde_json::json!({"task": "t", "tests": "pass"}))
            .unwrap();
        let prompt = &actor_messages(&spec, Some(("x = 1", &second)))[1].content;
        assert!(prompt.contains("last 2 attempts failed in exactly the same way"));
        let prompt = &actor_messages(&spec, Some(("x = 1", &other)))[1].content;
        assert!(!prompt.contains("same way"));
    }
}
