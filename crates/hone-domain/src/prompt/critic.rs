//! The critic's request: its system prompt, then the task and its tests (the same for every
//! review in a job, so a provider's prompt cache keeps them), then the candidate code and
//! its run; and the follow-up asked once when its answer cannot be parsed.

use std::fmt::Write as _;

use crate::attempt::{Execution, ExecutionStatus};
use crate::spec::JobSpec;

use super::{Message, Role, TAIL_BYTES, tail};

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
    // The task and its tests are the same in every review of the job: the cacheable prefix.
    let mut task = format!("## Task\n{}\n", spec.task);
    if let Some(tests) = &spec.tests {
        let _ = write!(task, "\n## Tests\n```{lang}\n{tests}\n```\n");
    }
    let mut user = format!("## Candidate code\n```{lang}\n{code}\n```\n");
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
        Message::new(Role::User, task).stable(),
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
