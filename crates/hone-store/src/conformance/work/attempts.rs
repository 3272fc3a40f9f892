//! Attempt steps: each written once, and none by a worker that lost its lease.

use std::sync::Arc;

use hone_domain::{
    AttemptStatus, Critique, EventType, ExecutionStatus, JobStatus, Outcome, OutcomeReason, Verdict,
};

use crate::{
    ActorOutput, AttemptDecision, CritiqueRecord, ExecutionRecord, FinishJob, ManualClock, Store,
    StoreError,
};

use crate::conformance::fixtures::*;

/// A whole attempt, step by step: each step once, usage summed, events in order.
pub async fn attempt_steps_are_written_once(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let id = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    store.start_attempt(&lease, 1).await.expect("start");
    assert!(matches!(
        store.start_attempt(&lease, 1).await,
        Err(StoreError::StepExists {
            step: "attempt",
            ..
        })
    ));
    store
        .record_actor_output(
            &lease,
            ActorOutput {
                iteration: 1,
                code: "x = 1\n",
                call: &call(10),
                candidates: &[],
                lessons: &[],
            },
        )
        .await
        .expect("code");
    assert!(matches!(
        store
            .record_actor_output(
                &lease,
                ActorOutput {
                    iteration: 1,
                    code: "x = 2\n",
                    call: &call(10),
                    candidates: &[],
                    lessons: &[],
                }
            )
            .await,
        Err(StoreError::StepExists { step: "code", .. })
    ));
    store
        .record_execution(
            &lease,
            ExecutionRecord {
                iteration: 1,
                execution: &execution(ExecutionStatus::Failed),
            },
        )
        .await
        .expect("run");
    let critique = Critique {
        verdict: Verdict::Revise,
        summary: "no".into(),
        issues: Vec::new(),
        raw: None,
    };
    store
        .record_critique(
            &lease,
            CritiqueRecord {
                iteration: 1,
                critique: &critique,
                call: &call(5),
            },
        )
        .await
        .expect("critique");
    store
        .finish_attempt(
            &lease,
            AttemptDecision {
                iteration: 1,
                status: AttemptStatus::Failed,
                feedback: None,
            },
        )
        .await
        .expect("finish");
    let outcome = Outcome {
        reason: OutcomeReason::MaxIterations,
        accepted_iteration: None,
        code: Some("x = 1\n".into()),
        message: None,
    };
    let finish = FinishJob {
        status: JobStatus::Failed,
        outcome,
    };
    store
        .finish_job(&lease, finish.clone())
        .await
        .expect("finish job");
    assert!(matches!(
        store.finish_job(&lease, finish).await,
        Err(StoreError::LeaseLost(_))
    ));

    let job = stored_job(&store, id).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.iterations, 1);
    assert_eq!(job.usage.total_tokens, 30);
    // Every kind of token, and the cost, add up call by call (calls of 10 and 5 tokens).
    assert_eq!(job.usage.cache_read_tokens, 5 + 2);
    assert_eq!(job.usage.cache_write_tokens, 2);
    assert_eq!(job.usage.reasoning_tokens, 4);
    assert_eq!(job.usage.cost_usd, hone_domain::Usd(15_000_000));
    let attempts = store
        .list_attempts(&tenant(), id)
        .await
        .ok()
        .flatten()
        .expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].code.as_deref(), Some("x = 1\n"));
    assert_eq!(
        attempts[0].critique.as_ref().map(|c| c.verdict),
        Some(Verdict::Revise)
    );
    let kinds: Vec<EventType> = events_after(&store, id, 0)
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    use EventType::*;
    assert_eq!(
        kinds,
        vec![
            JobQueued,
            JobStarted,
            AttemptStarted,
            AttemptCode,
            AttemptExecuted,
            AttemptCritiqued,
            AttemptFinished,
            JobFailed
        ]
    );
    let after = events_after(&store, id, 6).await;
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![7, 8]);
}

/// An expired lease is taken by another worker; the first worker's writes then fail.
pub async fn lost_lease_stops_writes(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    enqueue(&store, 0).await;
    let first = claim_one(&store, "w1", 1_000).await;
    clock.advance(std::time::Duration::from_millis(1_001));
    let second = claim_one(&store, "w2", 60_000).await;
    assert_eq!(first.job, second.job);
    assert!(matches!(
        store.start_attempt(&first, 1).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert!(matches!(
        store.heartbeat(&first, 1_000).await,
        Err(StoreError::LeaseLost(_))
    ));
    store
        .start_attempt(&second, 1)
        .await
        .expect("new owner writes");
    let losses = |store: Arc<dyn Store>, job| async move {
        let job = store
            .get_job(&tenant(), job)
            .await
            .expect("get")
            .expect("job");
        job.lease_losses
    };
    assert_eq!(
        losses(store.clone(), second.job).await,
        1,
        "the expired lease counts"
    );
    // A job given back on purpose is no loss.
    store
        .release_job(&second, "worker shutting down")
        .await
        .expect("release");
    let third = claim_one(&store, "w3", 60_000).await;
    assert_eq!(third.job, second.job);
    assert_eq!(losses(store.clone(), third.job).await, 1);
}

/// A page of jobs' attempts in one read: each job's in iteration order, jobs without any
/// read nothing, and another tenant reads none of them. Runs come without their output.
pub async fn attempts_of_jobs_read_a_page_at_once(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let mut ids = Vec::new();
    let loud = hone_domain::Execution {
        stdout: "o".repeat(100_000),
        stderr: "e".repeat(100_000),
        ..execution(ExecutionStatus::Failed)
    };
    for attempts in [2, 0, 1] {
        let id = enqueue(&store, 0).await;
        let lease = claim_one(&store, "w", 60_000).await;
        assert_eq!(lease.job, id);
        for iteration in 1..=attempts {
            store.start_attempt(&lease, iteration).await.expect("start");
        }
        if attempts == 2 {
            let output = ActorOutput {
                iteration: 2,
                code: "print(1)\n",
                call: &call(10),
                candidates: &[],
                lessons: &[],
            };
            store
                .record_actor_output(&lease, output)
                .await
                .expect("code");
            let run = ExecutionRecord {
                iteration: 2,
                execution: &loud,
            };
            store.record_execution(&lease, run).await.expect("run");
        }
        ids.push(id);
    }
    let read = store.attempts_of_jobs(&tenant(), &ids).await.expect("read");
    let run = read
        .iter()
        .find_map(|(_, a)| a.execution.as_ref())
        .expect("the run");
    assert_eq!(run.status, ExecutionStatus::Failed);
    assert_eq!(run.exit_code, loud.exit_code);
    assert!(
        run.stdout.is_empty() && run.stderr.is_empty(),
        "output read"
    );
    let got: Vec<(hone_domain::JobId, u32)> = read
        .into_iter()
        .map(|(job, a)| (job, a.iteration))
        .collect();
    let mut want = vec![(ids[0], 1), (ids[0], 2), (ids[2], 1)];
    want.sort();
    let mut sorted = got.clone();
    sorted.sort();
    assert_eq!(sorted, want);
    let first = got.iter().position(|(j, _)| *j == ids[0]).expect("job 0");
    assert_eq!(
        got[first + 1],
        (ids[0], 2),
        "a job's attempts in order, together"
    );
    let other = hone_domain::TenantId::parse("other").expect("tenant");
    assert!(
        store
            .attempts_of_jobs(&other, &ids)
            .await
            .expect("read")
            .is_empty()
    );
    assert!(
        store
            .attempts_of_jobs(&tenant(), &[])
            .await
            .expect("read")
            .is_empty()
    );
}
