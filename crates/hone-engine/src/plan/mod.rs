//! The loop's decisions, without IO, each testable alone: where a (re-)claimed job resumes,
//! whether its budget is spent ([`budget`], from the one spending meter), and what an
//! iteration's result means (accepted, another try with feedback, or stuck on the same
//! failure).

pub mod budget;

use hone_domain::acceptance::is_accepted;
use hone_domain::prompt::build_feedback;
use hone_domain::{Attempt, AttemptStatus, Critique, Execution, Feedback, JobSpec};

/// Where a claimed job goes on, from its stored attempts.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// An attempt's acceptance was stored but the job never ended (its worker died between
    /// the two writes): end the job now, never run another iteration.
    Accepted {
        /// The accepted iteration.
        iteration: u32,
        /// Its code.
        code: Option<String>,
    },
    /// Run from `next`.
    From(Box<Progress>),
}

/// The stored progress a run continues from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Progress {
    /// The first iteration to run (or finish).
    pub next: u32,
    /// The last decided iteration's code and the feedback it left for the actor.
    pub previous: Option<(String, Feedback)>,
    /// The iteration `next` when it was started but not decided: its stored steps are
    /// reused, never asked again.
    pub partial: Option<Attempt>,
}

/// Reads the stored attempts (in order) into the place to resume.
pub fn resume(attempts: Vec<Attempt>) -> Resume {
    let mut progress = Progress {
        next: 1,
        ..Progress::default()
    };
    for a in attempts {
        match a.status {
            AttemptStatus::Running => {
                progress.next = a.iteration;
                progress.partial = Some(a);
            }
            AttemptStatus::Accepted => {
                return Resume::Accepted {
                    iteration: a.iteration,
                    code: a.code,
                };
            }
            AttemptStatus::Failed | AttemptStatus::Cancelled => {
                progress.next = a.iteration + 1;
                progress.previous = a.code.clone().zip(a.feedback.clone());
            }
        }
    }
    Resume::From(Box::new(progress))
}

/// Whether a job resumed between iterations is already stuck: its last `limit` iterations
/// failed the same way and iterations remain (`limit` 0 never stops a job).
pub fn stuck_on_resume(progress: &Progress, limit: u32, max_iterations: u32) -> bool {
    progress.partial.is_none()
        && limit > 0
        && progress.next <= max_iterations
        && progress
            .previous
            .as_ref()
            .is_some_and(|(_, f)| f.repeated >= limit)
}

/// What an iteration's result means.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The job's acceptance policy is met.
    Accepted,
    /// Not accepted: this feedback goes to the actor's next try.
    Retry(Feedback),
    /// Not accepted, and the same failure has repeated `limit` times while iterations
    /// remain: the job stops with `no_progress`.
    Stuck(Feedback),
}

/// Decides iteration `iteration` from its run and critique; `previous` is the feedback of
/// the iteration before, which counts repeats of the same failure.
pub fn decide(
    spec: &JobSpec,
    iteration: u32,
    execution: &Execution,
    critique: Option<&Critique>,
    previous: Option<&Feedback>,
    limit: u32,
) -> Decision {
    if is_accepted(spec.acceptance, execution, critique) {
        return Decision::Accepted;
    }
    let feedback = build_feedback(execution, critique, previous);
    if limit > 0 && feedback.repeated >= limit && iteration < spec.max_iterations {
        Decision::Stuck(feedback)
    } else {
        Decision::Retry(feedback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::{Limits, Meter};
    use hone_domain::{ExecutionStatus, Timestamp};
    use serde_json::json;

    fn spec(extra: serde_json::Value) -> JobSpec {
        let mut body = json!({"task": "t", "tests": "assert True", "critic": null});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        JobSpec::parse(&body).unwrap_or_else(|e| panic!("spec: {e:?}"))
    }

    fn execution(status: ExecutionStatus, stderr: &str) -> Execution {
        Execution {
            status,
            exit_code: Some(i32::from(status != ExecutionStatus::Passed)),
            signal: None,
            duration_ms: 5,
            cpu_time_ms: None,
            peak_memory_kb: None,
            stdout: String::new(),
            stderr: stderr.to_owned(),
            stdout_truncated: false,
            stderr_truncated: false,
            traceback: None,
            test_cases: Vec::new(),
            message: None,
        }
    }

    fn attempt(iteration: u32, status: AttemptStatus, feedback: Option<Feedback>) -> Attempt {
        Attempt {
            iteration,
            status,
            code: Some(format!("code {iteration}")),
            actor: None,
            execution: None,
            candidates: Vec::new(),
            lessons: Vec::new(),
            critique: None,
            critic: None,
            feedback,
            started_at: Timestamp::from_millis(0),
            finished_at: None,
        }
    }

    #[test]
    fn a_new_job_starts_at_the_first_iteration() {
        assert_eq!(
            resume(Vec::new()),
            Resume::From(Box::new(Progress {
                next: 1,
                ..Progress::default()
            }))
        );
    }

    #[test]
    fn a_resumed_job_goes_on_after_its_last_decision_and_reuses_a_started_one() {
        let fb = build_feedback(&execution(ExecutionStatus::Failed, "boom"), None, None);
        let attempts = vec![
            attempt(1, AttemptStatus::Failed, Some(fb.clone())),
            attempt(2, AttemptStatus::Running, None),
        ];
        let Resume::From(p) = resume(attempts) else {
            panic!("not accepted")
        };
        assert_eq!(p.next, 2);
        assert_eq!(p.previous, Some(("code 1".to_owned(), fb)));
        assert_eq!(p.partial.map(|a| a.iteration), Some(2));
    }

    #[test]
    fn a_stored_acceptance_ends_the_job_without_another_iteration() {
        let attempts = vec![
            attempt(1, AttemptStatus::Failed, None),
            attempt(2, AttemptStatus::Accepted, None),
        ];
        assert_eq!(
            resume(attempts),
            Resume::Accepted {
                iteration: 2,
                code: Some("code 2".to_owned())
            }
        );
    }

    #[test]
    fn budgets_are_spent_by_tokens_or_by_time() {
        let s = spec(json!({"budget": {"max_total_tokens": 100, "max_duration_s": 10}}));
        let t0 = Timestamp::from_millis(1_000_000);
        let used = |total_tokens| hone_domain::Usage {
            total_tokens,
            ..hone_domain::Usage::default()
        };
        let meter = |tokens| Meter::new(Limits::of(&s), t0, &used(tokens));
        assert_eq!(budget::before_iteration(&meter(99), t0, None), None);
        let spent = budget::before_iteration(&meter(100), t0, None);
        assert_eq!(spent, Some(budget::Exhausted::Tokens));
        let later = Timestamp::from_millis(1_010_000);
        let spent = budget::before_iteration(&meter(0), later, None);
        assert_eq!(spent, Some(budget::Exhausted::Time));
    }

    #[test]
    fn a_pass_is_accepted_and_a_repeated_failure_gets_stuck_before_the_last_iteration() {
        let s = spec(json!({"max_iterations": 5}));
        let passed = execution(ExecutionStatus::Passed, "");
        assert_eq!(decide(&s, 1, &passed, None, None, 3), Decision::Accepted);

        let failed = execution(ExecutionStatus::Failed, "same error");
        let Decision::Retry(first) = decide(&s, 1, &failed, None, None, 3) else {
            panic!("a first failure is retried")
        };
        let Decision::Retry(second) = decide(&s, 2, &failed, None, Some(&first), 3) else {
            panic!("a second is retried")
        };
        assert!(matches!(
            decide(&s, 3, &failed, None, Some(&second), 3),
            Decision::Stuck(_)
        ));
        // On the last iteration the job ends by max_iterations instead.
        assert!(matches!(
            decide(&s, 5, &failed, None, Some(&second), 3),
            Decision::Retry(_)
        ));
        // A limit of 0 never stops a job.
        assert!(matches!(
            decide(&s, 3, &failed, None, Some(&second), 0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn a_job_resumed_after_the_limit_is_already_stuck() {
        let fb = Feedback {
            repeated: 3,
            ..build_feedback(&execution(ExecutionStatus::Failed, "x"), None, None)
        };
        let p = Progress {
            next: 4,
            previous: Some(("c".to_owned(), fb)),
            partial: None,
        };
        assert!(stuck_on_resume(&p, 3, 5));
        assert!(!stuck_on_resume(&p, 0, 5), "no limit");
        assert!(!stuck_on_resume(&p, 3, 3), "no iteration left");
    }
}
