//! The one conformance suite every [`Store`] backend must pass. Each backend's tests call
//! [`crate::conformance_suite!`] with an expression that yields a fresh, empty store.

#![expect(
    clippy::expect_used,
    reason = "the conformance suite is test code: a failed step is a failed test"
)]

use std::sync::Arc;

use hone_domain::{
    AttemptStatus, Critique, EventType, Execution, ExecutionStatus, JobId, JobSpec, JobStatus,
    ModelCall, Outcome, OutcomeReason, TenantId, Usage, Verdict,
};
use serde_json::json;

mod live;

pub use live::*;

use crate::{
    CancelOutcome, ClaimJobs, Enqueued, FinishJob, Idempotency, Lease, ListJobs, NewJob, Signal,
    Store, StoreError,
};

/// Generates one `#[tokio::test]` per conformance case. `$make` is an expression of type
/// `impl Future<Output = Option<Arc<dyn Store>>>`; `None` skips (backend not configured).
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr) => {
        $crate::conformance_suite!(@cases $make;
            enqueue_then_read_back, idempotency_keys, list_pages_newest_first,
            claims_never_overlap, claims_follow_priority, attempt_steps_are_written_once,
            lost_lease_stops_writes, cancel_by_state, requeue_delays_the_job,
            release_gives_the_job_back_at_once, signals_announce_jobs_and_cancels,
            a_tenant_cap_limits_running_jobs, events_are_announced_and_read_back,
            webhook_outbox_follows_the_filter, webhook_leases_expire,
            webhook_secrets_rotate_with_overlap);
    };
    (@cases $make:expr; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(store) = $make.await else {
                    eprintln!("skipped: backend not configured");
                    return;
                };
                $crate::conformance::$case(store).await;
            }
        )*
    };
}

pub(crate) fn tenant() -> TenantId {
    TenantId::default_tenant()
}

fn spec(priority: i32) -> JobSpec {
    JobSpec::parse(&json!({"task": "add", "tests": "assert True", "priority": priority}))
        .unwrap_or_else(|e| panic!("test spec rejected: {e:?}"))
}

pub(crate) async fn enqueue(store: &Arc<dyn Store>, priority: i32) -> JobId {
    let id = JobId::new();
    let new = NewJob {
        id,
        tenant: tenant(),
        spec: spec(priority),
        idempotency: None,
    };
    match store.enqueue_job(new).await {
        Ok(Enqueued::Created(job)) => job.id,
        other => panic!("enqueue failed: {other:?}"),
    }
}

pub(crate) async fn claim_one(store: &Arc<dyn Store>, worker: &str, lease_ms: u64) -> Lease {
    let claim = ClaimJobs {
        worker: worker.to_owned(),
        limit: 1,
        lease_ms,
        per_tenant: None,
    };
    let mut got = store.claim_jobs(claim).await.unwrap_or_default();
    assert_eq!(got.len(), 1, "expected one claimable job");
    got.remove(0).lease
}

fn call(tokens: u64) -> ModelCall {
    ModelCall {
        provider: "fake".into(),
        model: "m".into(),
        latency_ms: 5,
        usage: Usage {
            prompt_tokens: tokens,
            completion_tokens: tokens,
            total_tokens: 2 * tokens,
        },
    }
}

fn execution(status: ExecutionStatus) -> Execution {
    Execution {
        status,
        exit_code: Some(1),
        signal: None,
        duration_ms: 3,
        stdout: String::new(),
        stderr: "Traceback".into(),
        stdout_truncated: false,
        stderr_truncated: false,
        traceback: None,
        test_cases: Vec::new(),
        message: None,
    }
}

/// A stored job reads back with its defaults and a `job.queued` event at seq 1.
pub async fn enqueue_then_read_back(store: Arc<dyn Store>) {
    let id = enqueue(&store, 0).await;
    let job = store
        .get_job(&tenant(), id)
        .await
        .ok()
        .flatten()
        .expect("job");
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.spec.max_iterations, 5);
    let events = store
        .list_events(&tenant(), id, 0, 100)
        .await
        .ok()
        .flatten()
        .expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].seq, events[0].kind), (1, EventType::JobQueued));
    let other = TenantId("someone-else".into());
    assert!(store.get_job(&other, id).await.ok().flatten().is_none());
    assert!(
        store
            .list_events(&other, id, 0, 10)
            .await
            .ok()
            .flatten()
            .is_none()
    );
    assert!(
        store
            .get_job(&tenant(), JobId::new())
            .await
            .ok()
            .flatten()
            .is_none()
    );
}

/// The same key and fingerprint return the first job; another fingerprint is refused.
pub async fn idempotency_keys(store: Arc<dyn Store>) {
    let new = |fingerprint: &str| NewJob {
        id: JobId::new(),
        tenant: tenant(),
        spec: spec(0),
        idempotency: Some(Idempotency {
            key: "k-1".into(),
            fingerprint: fingerprint.into(),
        }),
    };
    let first = match store.enqueue_job(new("a")).await {
        Ok(Enqueued::Created(job)) => job.id,
        other => panic!("{other:?}"),
    };
    match store.enqueue_job(new("a")).await {
        Ok(Enqueued::Existing(job)) => assert_eq!(job.id, first),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.enqueue_job(new("b")).await,
        Ok(Enqueued::KeyReused)
    ));
    let page = store
        .list_jobs(
            &tenant(),
            ListJobs {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1, "a replay must not store a second job");
}

/// Pages run newest first, the cursor continues without overlap, the filter applies.
pub async fn list_pages_newest_first(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(enqueue(&store, 0).await);
    }
    let first = store
        .list_jobs(
            &tenant(),
            ListJobs {
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let got: Vec<JobId> = first.items.iter().map(|j| j.id).collect();
    assert_eq!(got, vec![ids[4], ids[3], ids[2]]);
    let second = store
        .list_jobs(
            &tenant(),
            ListJobs {
                limit: 3,
                before: first.next,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let got: Vec<JobId> = second.items.iter().map(|j| j.id).collect();
    assert_eq!(got, vec![ids[1], ids[0]]);
    assert!(second.next.is_none());
    let running = store
        .list_jobs(
            &tenant(),
            ListJobs {
                limit: 10,
                status: Some(JobStatus::Running),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert!(running.items.is_empty());
}

/// Concurrent claims from many workers never hand out the same job twice.
pub async fn claims_never_overlap(store: Arc<dyn Store>) {
    for _ in 0..20 {
        enqueue(&store, 0).await;
    }
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..10 {
                let claim = ClaimJobs {
                    worker: format!("w{w}"),
                    limit: 3,
                    lease_ms: 60_000,
                    per_tenant: None,
                };
                let got = store.claim_jobs(claim).await.expect("claim");
                mine.extend(got.into_iter().map(|c| c.job.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (total, all.len()),
        (20, 20),
        "every job claimed exactly once"
    );
}

/// Higher priority first, then oldest.
pub async fn claims_follow_priority(store: Arc<dyn Store>) {
    let low = enqueue(&store, -5).await;
    let old = enqueue(&store, 0).await;
    let high = enqueue(&store, 10).await;
    let young = enqueue(&store, 0).await;
    let claim = ClaimJobs {
        worker: "w".into(),
        limit: 4,
        lease_ms: 60_000,
        per_tenant: None,
    };
    let got: Vec<JobId> = store
        .claim_jobs(claim)
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.job.id)
        .collect();
    assert_eq!(got, vec![high, old, young, low]);
}

/// A whole attempt, step by step: each step once, usage summed, events in order.
pub async fn attempt_steps_are_written_once(store: Arc<dyn Store>) {
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
        .record_actor_output(&lease, 1, "x = 1\n", &call(10))
        .await
        .expect("code");
    assert!(matches!(
        store
            .record_actor_output(&lease, 1, "x = 2\n", &call(10))
            .await,
        Err(StoreError::StepExists { step: "code", .. })
    ));
    store
        .record_execution(&lease, 1, &execution(ExecutionStatus::Failed))
        .await
        .expect("run");
    let critique = Critique {
        verdict: Verdict::Revise,
        summary: "no".into(),
        issues: Vec::new(),
        raw: None,
    };
    store
        .record_critique(&lease, 1, &critique, &call(5))
        .await
        .expect("critique");
    store
        .finish_attempt(&lease, 1, AttemptStatus::Failed, None)
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

    let job = store
        .get_job(&tenant(), id)
        .await
        .ok()
        .flatten()
        .expect("job");
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(job.iterations, 1);
    assert_eq!(job.usage.total_tokens, 30);
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
    let kinds: Vec<EventType> = store
        .list_events(&tenant(), id, 0, 100)
        .await
        .ok()
        .flatten()
        .expect("events")
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
    let after = store
        .list_events(&tenant(), id, 6, 100)
        .await
        .ok()
        .flatten()
        .expect("events");
    assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![7, 8]);
}

/// An expired lease is taken by another worker; the first worker's writes then fail.
pub async fn lost_lease_stops_writes(store: Arc<dyn Store>) {
    enqueue(&store, 0).await;
    let first = claim_one(&store, "w1", 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
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

/// Cancel finishes a queued job, flags a running one, and refuses a finished one.
pub async fn cancel_by_state(store: Arc<dyn Store>) {
    let queued = enqueue(&store, 0).await;
    assert_eq!(
        store.request_cancel(&tenant(), queued).await.ok(),
        Some(CancelOutcome::Cancelled)
    );
    let job = store
        .get_job(&tenant(), queued)
        .await
        .ok()
        .flatten()
        .expect("job");
    assert_eq!(job.status, JobStatus::Cancelled);
    assert_eq!(
        job.outcome.map(|o| o.reason),
        Some(OutcomeReason::Cancelled)
    );
    assert_eq!(
        store.request_cancel(&tenant(), queued).await.ok(),
        Some(CancelOutcome::AlreadyFinished(JobStatus::Cancelled))
    );
    let running = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, running);
    assert_eq!(
        store.request_cancel(&tenant(), running).await.ok(),
        Some(CancelOutcome::Requested)
    );
    assert!(
        store
            .heartbeat(&lease, 60_000)
            .await
            .expect("heartbeat")
            .cancel_requested
    );
    assert_eq!(
        store.request_cancel(&tenant(), JobId::new()).await.ok(),
        Some(CancelOutcome::NotFound)
    );
}

/// A requeued job waits out its delay; with no delay it is claimable at once; the count grows.
pub async fn requeue_delays_the_job(store: Arc<dyn Store>) {
    let delayed = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(
        store
            .requeue_job(&lease, "sandbox_error", 60_000)
            .await
            .ok(),
        Some(1)
    );
    let claim = ClaimJobs {
        worker: "w".into(),
        limit: 5,
        lease_ms: 60_000,
        per_tenant: None,
    };
    assert!(store.claim_jobs(claim).await.expect("claim").is_empty());
    let job = store
        .get_job(&tenant(), delayed)
        .await
        .ok()
        .flatten()
        .expect("job");
    assert_eq!(job.status, JobStatus::Queued);

    let soon = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, soon, "the delayed job must not be claimable yet");
    assert_eq!(store.requeue_job(&lease, "x", 0).await.ok(), Some(1));
    let again = claim_one(&store, "w", 60_000).await;
    assert_eq!(again.job, soon);
    assert_eq!(store.requeue_job(&again, "y", 0).await.ok(), Some(2));
}

/// A released job is claimable at once, keeps its requeue count, and its old lease is dead.
pub async fn release_gives_the_job_back_at_once(store: Arc<dyn Store>) {
    let id = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w1", 60_000).await;
    store
        .release_job(&lease, "shutdown")
        .await
        .expect("release");
    assert!(matches!(
        store.start_attempt(&lease, 1).await,
        Err(StoreError::LeaseLost(_))
    ));
    let again = claim_one(&store, "w2", 60_000).await;
    assert_eq!(again.job, id);
    let job = store
        .get_job(&tenant(), id)
        .await
        .ok()
        .flatten()
        .expect("job");
    assert_eq!(
        job.requeues, 0,
        "a release is not an infrastructure failure"
    );
    let events = store
        .list_events(&tenant(), id, 0, 100)
        .await
        .ok()
        .flatten()
        .expect("events");
    let requeued = events
        .iter()
        .find(|e| e.kind == EventType::JobRequeued)
        .expect("requeued");
    assert_eq!(requeued.data["reason"], "shutdown");
}

/// Listeners hear about queued jobs and about cancels of running ones.
pub async fn signals_announce_jobs_and_cancels(store: Arc<dyn Store>) {
    let mut signals = store.listen().await.expect("listen");
    let id = enqueue(&store, 0).await;
    assert_eq!(next_signal(&mut signals).await, Some(Signal::JobQueued));
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, id);
    store.request_cancel(&tenant(), id).await.expect("cancel");
    assert_eq!(
        next_signal(&mut signals).await,
        Some(Signal::CancelRequested(id))
    );
}

async fn next_signal(signals: &mut tokio::sync::mpsc::Receiver<Signal>) -> Option<Signal> {
    tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
        .await
        .expect("a signal within 5 s")
}

/// With a cap of 2 running jobs per tenant, a claim for 5 gets 2, and one more once a job
/// ends.
pub async fn a_tenant_cap_limits_running_jobs(store: Arc<dyn Store>) {
    for _ in 0..5 {
        enqueue(&store, 0).await;
    }
    let claim = |limit| ClaimJobs {
        worker: "w".into(),
        limit,
        lease_ms: 60_000,
        per_tenant: Some(2),
    };
    let got = store.claim_jobs(claim(5)).await.expect("claim");
    assert_eq!(got.len(), 2);
    assert!(store.claim_jobs(claim(5)).await.expect("claim").is_empty());
    let outcome = Outcome {
        reason: OutcomeReason::Accepted,
        accepted_iteration: None,
        code: None,
        message: None,
    };
    let finish = FinishJob {
        status: JobStatus::Succeeded,
        outcome,
    };
    store
        .finish_job(&got[0].lease, finish)
        .await
        .expect("finish");
    assert_eq!(store.claim_jobs(claim(5)).await.expect("claim").len(), 1);
}
