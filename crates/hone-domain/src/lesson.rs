//! Lessons: what a repaired job learned, kept so later jobs of the tenant can be shown it.
//! A lesson is written when a job is accepted after at least one failed attempt: the task,
//! how the last failed attempt failed, what the critic said, and the diff that fixed it.

use serde::{Deserialize, Serialize};

use crate::attempt::{Attempt, AttemptStatus};
use crate::ids::JobId;

/// The longest lesson text, in bytes.
pub const MAX_LESSON_BYTES: usize = 2_000;
/// The most lessons a prompt carries.
pub const MAX_SHOWN: usize = 3;

/// A stored lesson, as a later job is shown it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lesson {
    /// The job it came from (one lesson a job).
    pub job_id: JobId,
    /// That job's task.
    pub task: String,
    /// What failed and what fixed it.
    pub text: String,
}

/// The lesson of an accepted job: `None` when it was accepted at once (nothing was
/// repaired) or the attempts lack what a lesson needs.
pub fn lesson_of(attempts: &[Attempt]) -> Option<String> {
    let accepted = attempts
        .iter()
        .find(|a| a.status == AttemptStatus::Accepted)?;
    let failed = attempts
        .iter()
        .rev()
        .find(|a| a.status == AttemptStatus::Failed && a.iteration < accepted.iteration)?;
    let mut text = String::new();
    if let Some(run) = &failed.execution {
        text.push_str("Failed: ");
        match &run.traceback {
            Some(t) => text.push_str(&format!("{}: {}", t.error_type, t.message)),
            None => text.push_str(run.status.as_str()),
        }
        text.push('\n');
    }
    if let Some(c) = failed.critique.as_ref().filter(|c| !c.summary.is_empty()) {
        text.push_str(&format!("Reviewer: {}\n", c.summary));
        for issue in &c.issues {
            let fix = issue.fix.as_deref().unwrap_or("");
            text.push_str(&format!("- {} {fix}\n", issue.description));
        }
    }
    let (before, after) = (failed.code.as_deref()?, accepted.code.as_deref()?);
    text.push_str("Fix:\n");
    text.push_str(&changed_lines(before, after));
    Some(cut(&text, MAX_LESSON_BYTES).to_owned())
}

/// The lines `after` has that `before` lacks (`+`) and the reverse (`-`): a short diff that
/// keeps what changed, not where.
fn changed_lines(before: &str, after: &str) -> String {
    let old: std::collections::HashSet<&str> = before.lines().collect();
    let new: std::collections::HashSet<&str> = after.lines().collect();
    let mut out = String::new();
    for line in before
        .lines()
        .filter(|l| !new.contains(l) && !l.trim().is_empty())
    {
        out.push_str(&format!("-{line}\n"));
    }
    for line in after
        .lines()
        .filter(|l| !old.contains(l) && !l.trim().is_empty())
    {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

/// The start of `text`, at most `max` bytes, cut at a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Words too common in tasks to tell one from another: English stop words and the words
/// nearly every coding task has. Matching on them would rank a lesson by chance.
const COMMON: [&str; 48] = [
    "the", "and", "for", "that", "with", "this", "from", "into", "are", "was", "were", "its",
    "not", "but", "all", "any", "each", "which", "their", "them", "then", "than", "there", "these",
    "those", "has", "have", "had", "you", "your", "should", "would", "could", "can", "will", "may",
    "must", "also", "only", "when", "what", "where", "how", "write", "function", "return",
    "returns", "given",
];

/// The words of a task to find similar lessons by: runs of letters and digits of three or
/// more characters, lower-cased, without [`COMMON`] words, each once, at most 32.
pub fn search_words(task: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for w in task
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
    {
        let w = w.to_lowercase();
        if !COMMON.contains(&w.as_str()) && !words.contains(&w) {
            words.push(w);
        }
        if words.len() == 32 {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::{Execution, ExecutionStatus, Traceback};
    use crate::timestamp::Timestamp;

    fn attempt(iteration: u32, status: AttemptStatus, code: &str) -> Attempt {
        let failed = status == AttemptStatus::Failed;
        Attempt {
            iteration,
            status,
            code: Some(code.into()),
            actor: None,
            execution: Some(Execution {
                exit_code: Some(i32::from(failed)),
                traceback: failed.then(|| Traceback {
                    error_type: "IndexError".into(),
                    message: "list index out of range".into(),
                    frames: Vec::new(),
                }),
                ..Execution::bare(if failed {
                    ExecutionStatus::Failed
                } else {
                    ExecutionStatus::Passed
                })
            }),
            candidates: Vec::new(),
            lessons: Vec::new(),
            critique: None,
            critic: None,
            feedback: None,
            started_at: Timestamp::now(),
            finished_at: None,
        }
    }

    #[test]
    fn a_lesson_names_the_failure_and_the_lines_that_fixed_it() {
        let attempts = [
            attempt(1, AttemptStatus::Failed, "def f(xs):\n    return xs[0]\n"),
            attempt(
                2,
                AttemptStatus::Accepted,
                "def f(xs):\n    return xs[0] if xs else None\n",
            ),
        ];
        let text = lesson_of(&attempts).unwrap();
        assert!(
            text.starts_with("Failed: IndexError: list index out of range\n"),
            "{text}"
        );
        assert!(
            text.contains("-    return xs[0]\n+    return xs[0] if xs else None\n"),
            "{text}"
        );
        assert!(
            !text.contains("def f"),
            "unchanged lines are left out: {text}"
        );
        assert_eq!(
            lesson_of(&attempts[1..]),
            None,
            "accepted at once: nothing repaired"
        );
    }

    #[test]
    fn search_words_drop_short_and_common_words_and_repeats() {
        assert_eq!(
            search_words("Write a function that parses the log; parse LOG lines, ok?"),
            ["parses", "log", "parse", "lines"]
        );
        assert!(search_words("a to of ?!").is_empty());
    }
}
