//! The actor's request: its system prompt, then the task (the same in every iteration of a
//! job, so a provider's prompt cache keeps it), then what changes: the starter code, or the
//! previous attempt and what went wrong with it.

use std::fmt::Write as _;

use crate::attempt::Feedback;
use crate::lesson::Lesson;
use crate::spec::JobSpec;

use super::feedback::what_went_wrong;
use super::{Message, Role};

fn default_actor_system(spec: &JobSpec) -> String {
    format!(
        "You are an expert {lang} programmer. Write a complete, self-contained {lang} program \
         that does what the task asks. Use only the standard library. Do not include tests, \
         example usage that reads input, or explanations outside code: answer with exactly one \
         fenced code block tagged {lang}.",
        lang = spec.language.as_str()
    )
}

/// The messages of the actor's request for an iteration. `previous` is the last iteration's
/// code and feedback; `None` on the first.
pub fn actor_messages(spec: &JobSpec, previous: Option<(&str, &Feedback)>) -> Vec<Message> {
    actor_messages_with(spec, previous, &[])
}

/// [`actor_messages`], with what earlier repaired jobs learned shown in the first request
/// (after the cacheable prefix: lessons differ from job to job).
pub fn actor_messages_with(
    spec: &JobSpec,
    previous: Option<(&str, &Feedback)>,
    lessons: &[Lesson],
) -> Vec<Message> {
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
    // Everything above is the same in every iteration: the cacheable prefix ends here.
    let task = user;
    let mut user = String::new();
    if previous.is_none() && !lessons.is_empty() {
        user.push_str(
            "## Lessons from similar earlier tasks\nEarlier tasks like this one failed at \
             first and were fixed as below; avoid the same mistakes.\n",
        );
        for lesson in lessons {
            let task = lesson.task.lines().next().unwrap_or_default();
            let task: String = task.chars().take(160).collect();
            let _ = write!(user, "\n### {task}\n{}\n", lesson.text.trim_end());
        }
        user.push('\n');
    }
    if let (None, Some(starter)) = (previous, &spec.starter_code) {
        let _ = write!(user, "## Starter code\n```{lang}\n{starter}\n```\n");
    }
    if let Some((code, feedback)) = previous {
        let _ = write!(user, "## Your previous attempt\n```{lang}\n{code}\n```\n");
        user.push('\n');
        user.push_str(&what_went_wrong(feedback));
    }
    let mut messages = vec![
        Message::new(Role::System, system),
        Message::new(Role::User, task).stable(),
    ];
    if !user.is_empty() {
        messages.push(Message::new(Role::User, user));
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::Execution;
    use crate::attempt::{ExecutionStatus, Traceback};
    use crate::prompt::build_feedback;

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
        let prompt = &actor_messages(&spec, Some(("x = 1", &second)))[2].content;
        assert!(prompt.contains("last 2 attempts failed in exactly the same way"));
        let prompt = &actor_messages(&spec, Some(("x = 1", &other)))[2].content;
        assert!(!prompt.contains("same way"));
    }

    #[test]
    fn every_iteration_starts_with_the_same_prefix_for_the_prompt_cache() {
        let spec = crate::spec::JobSpec::parse(&serde_json::json!({
            "task": "t", "tests": "assert f() == 1", "starter_code": "def f(): pass"
        }))
        .unwrap();
        let feedback = build_feedback(&failing("boom"), None, None);
        let first = actor_messages(&spec, None);
        let later = actor_messages(&spec, Some(("x = 1", &feedback)));
        assert_eq!(first[..2], later[..2], "system and task, byte for byte");
        assert!(first[1].cache_break && !first[0].cache_break);
        assert!(first[2].content.contains("Starter code"));
        assert!(!later[2].content.contains("Starter code"));
        assert!(later[2].content.contains("previous attempt"));
        let bare = crate::spec::JobSpec::parse(&serde_json::json!({"task": "t"})).unwrap();
        assert_eq!(
            actor_messages(&bare, None).len(),
            2,
            "nothing that changes yet"
        );
    }
}
