//! The feedback that carries one iteration's failure into the next: what identifies a
//! failure (to notice repeats) and what the next actor request is told.

use crate::attempt::{Execution, FailedAssertion, Feedback};
use std::fmt::Write as _;

use crate::critique::{Critique, Verdict};

use super::{TAIL_BYTES, tail};

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
        failed_assertion: failed_assertion(execution),
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

/// What the actor is told about its previous attempt's failure: the run, the failed
/// assertion, the traceback, the failing test cases, the reviewer's issues, and the request
/// to fix it. Both the next actor request and an exported trajectory's feedback turn.
pub fn what_went_wrong(feedback: &Feedback) -> String {
    let mut user = String::new();
    user.push_str("## What went wrong\n");
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
    if let Some(a) = &feedback.failed_assertion {
        let code = a.code.as_deref().unwrap_or("(source not shown)");
        let _ = writeln!(
            user,
            "Failing assertion, line {} of the tests: `{code}`",
            a.line
        );
        if !a.message.is_empty() {
            let _ = writeln!(user, "It compared: {}", a.message);
        }
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
    user
}

/// The failed assertion of the tests, from the run's traceback: an `AssertionError` whose
/// innermost frame in the tests is the assertion's line.
fn failed_assertion(execution: &Execution) -> Option<FailedAssertion> {
    let tb = execution.traceback.as_ref()?;
    if !tb.error_type.starts_with("AssertionError") {
        return None;
    }
    let frame = tb.frames.iter().rev().find(|f| f.file == "tests")?;
    Some(FailedAssertion {
        line: frame.line,
        code: frame.code.clone(),
        message: tb.message.clone(),
    })
}
