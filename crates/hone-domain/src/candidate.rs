//! Candidates: a job with `candidates: n` has the actor draw n answers per iteration, runs
//! each in the sandbox, and takes the best one on to the critic and the decision. This
//! module ranks the runs ([`rank`]), picks the one that goes on ([`best`]), and scores an
//! attempt by its run ([`Attempt::score`]); each answer is an [`crate::attempt::Candidate`].

use crate::attempt::{Attempt, Execution, ExecutionStatus};

/// The most candidates a job may draw per iteration.
pub const MAX_CANDIDATES: u32 = 8;

impl Attempt {
    /// How many of the job's checks passed: used to pick a failed job's best attempt.
    pub fn score(&self) -> usize {
        self.execution.as_ref().map_or(0, rank)
    }
}

/// How good a run is, higher better: a pass beats any failure, then the most test cases
/// passed, then a program that ran (failed its checks) over one that did not run at all.
pub fn rank(execution: &Execution) -> usize {
    let cases = execution.test_cases.iter().filter(|c| c.passed).count();
    let ran = usize::from(matches!(
        execution.status,
        ExecutionStatus::Passed | ExecutionStatus::Failed
    ));
    let passed = usize::from(execution.status == ExecutionStatus::Passed);
    passed * 1_000_000 + cases * 2 + ran
}

/// The index of the best run, the earliest among equals; `None` if none ran.
pub fn best(runs: &[Option<&Execution>]) -> Option<usize> {
    runs.iter()
        .enumerate()
        .filter_map(|(i, e)| e.map(|e| (i, rank(e))))
        .fold(None, |best: Option<(usize, usize)>, (i, r)| match best {
            Some((_, b)) if b >= r => best,
            _ => Some((i, r)),
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::TestCaseResult;

    fn run(status: ExecutionStatus, cases_passed: usize) -> Execution {
        Execution {
            test_cases: (0..3)
                .map(|i| TestCaseResult {
                    name: format!("case {i}"),
                    passed: i < cases_passed,
                    stdout: String::new(),
                    expected_stdout: String::new(),
                    status,
                })
                .collect(),
            ..Execution::bare(status)
        }
    }

    #[test]
    fn the_best_run_passes_or_passes_the_most_cases_and_ties_go_to_the_first() {
        let error = run(ExecutionStatus::Error, 0);
        let one = run(ExecutionStatus::Failed, 1);
        let two = run(ExecutionStatus::Failed, 2);
        let pass = run(ExecutionStatus::Passed, 3);
        assert_eq!(best(&[Some(&error), Some(&two), Some(&one)]), Some(1));
        assert_eq!(best(&[Some(&one), Some(&one)]), Some(0), "the earliest");
        assert_eq!(best(&[Some(&two), None, Some(&pass)]), Some(2));
        assert_eq!(
            best(&[Some(&error), Some(&run(ExecutionStatus::Failed, 0))]),
            Some(1)
        );
        assert_eq!(best(&[None, None]), None);
    }
}
