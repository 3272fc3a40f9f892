//! The acceptance policy: whether an attempt ends the job successfully.

use crate::attempt::{Execution, ExecutionStatus};
use crate::critique::{Critique, Verdict};
use crate::spec::Acceptance;

/// Whether an attempt with this run and critique is accepted under `policy`.
///
/// - `tests`: the run passed (exit 0 and every test case matched).
/// - `tests_and_critic`: the run passed and the critic approved; an unparsable critique leaves
///   the tests as the authority.
/// - `critic`: the code ran cleanly and the critic approved.
pub fn is_accepted(policy: Acceptance, execution: &Execution, critique: Option<&Critique>) -> bool {
    let passed = execution.status == ExecutionStatus::Passed;
    let verdict = critique.map(|c| c.verdict);
    match policy {
        Acceptance::Tests => passed,
        Acceptance::TestsAndCritic => {
            passed && matches!(verdict, Some(Verdict::Approve | Verdict::Unparsable) | None)
        }
        Acceptance::Critic => passed && verdict == Some(Verdict::Approve),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: ExecutionStatus) -> Execution {
        Execution::bare(status)
    }

    fn critique(verdict: Verdict) -> Critique {
        Critique {
            verdict,
            summary: String::new(),
            issues: Vec::new(),
            raw: None,
        }
    }

    #[test]
    fn each_policy_asks_for_what_it_names() {
        let pass = run(ExecutionStatus::Passed);
        let fail = run(ExecutionStatus::Failed);
        let approve = critique(Verdict::Approve);
        let revise = critique(Verdict::Revise);
        assert!(is_accepted(Acceptance::Tests, &pass, Some(&revise)));
        assert!(!is_accepted(Acceptance::Tests, &fail, Some(&approve)));
        assert!(!is_accepted(
            Acceptance::TestsAndCritic,
            &pass,
            Some(&revise)
        ));
        assert!(is_accepted(
            Acceptance::TestsAndCritic,
            &pass,
            Some(&approve)
        ));
        let unparsable = critique(Verdict::Unparsable);
        assert!(is_accepted(
            Acceptance::TestsAndCritic,
            &pass,
            Some(&unparsable)
        ));
        assert!(!is_accepted(Acceptance::Critic, &pass, Some(&unparsable)));
        assert!(is_accepted(Acceptance::Critic, &pass, Some(&approve)));
        assert!(!is_accepted(Acceptance::Critic, &fail, Some(&approve)));
    }
}
