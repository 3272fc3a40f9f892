//! Leaving the running state early: cancel, requeue, release.

use std::sync::Arc;

use hone_domain::{EventType, JobId, JobStatus, OutcomeReason};

use crate::{CancelOutcome, ClaimJobs, ManualClock, Requeue, Store, StoreError};

use crate::conformance::fixtures::*;

/// Cancel finishes a queued job, flags a running one, and refuses a finished one.
pub async fn cancel_by_state(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let queued = enqueue(&store, 0).await;
    assert_eq!(
        store.request_cancel(&tenant(), queued).await.ok(),
        Some(CancelOutcome::Cancelled)
    );
    let job = stored_job(&store, queued).await;
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
pub async fn requeue_delays_the_job(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    let delayed = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(
        store
            .requeue_job(
                &lease,
                Requeue {
                    reason: "sandbox_error",
                    delay_ms: 60_000
                }
            )
            .await
            .ok(),
        Some(1)
    );
    let claim = ClaimJobs {
        worker: "w".into(),
        limit: 5,
        lease_ms: 60_000,
        per_tenant: None,
        serves: None,
    };
    assert!(store.claim_jobs(claim).await.expect("claim").is_empty());
    let job = stored_job(&store, delayed).await;
    assert_eq!(job.status, JobStatus::Queued);

    let soon = enqueue(&store, 0).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, soon, "the delayed job must not be claimable yet");
    assert_eq!(
        store
            .requeue_job(
                &lease,
                Requeue {
                    reason: "x",
                    delay_ms: 0
                }
            )
            .await
            .ok(),
        Some(1)
    );
    let again = claim_one(&store, "w", 60_000).await;
    assert_eq!(again.job, soon);
    assert_eq!(
        store
            .requeue_job(
                &again,
                Requeue {
                    reason: "y",
                    delay_ms: 0
                }
            )
            .await
            .ok(),
        Some(2)
    );

    // Once the delay has passed, the delayed job is claimable again.
    let soon_again = claim_one(&store, "w", 60_000).await;
    assert_eq!(soon_again.job, soon);
    clock.advance(std::time::Duration::from_millis(60_001));
    let late = claim_one(&store, "w", 60_000).await;
    assert_eq!(late.job, delayed);
}

/// A released job is claimable at once, keeps its requeue count, and its old lease is dead.
pub async fn release_gives_the_job_back_at_once(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
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
    let job = stored_job(&store, id).await;
    assert_eq!(
        job.requeues, 0,
        "a release is not an infrastructure failure"
    );
    let events = events_after(&store, id, 0).await;
    let requeued = events
        .iter()
        .find(|e| e.kind == EventType::JobRequeued)
        .expect("requeued");
    assert_eq!(requeued.data["reason"], "shutdown");
}
