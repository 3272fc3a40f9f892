//! Tenants' quotas: queued jobs and tokens a day, checked by the database at submission,
//! per tenant; tokens and spend counted from the attempt steps' usage, per UTC day.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::{JobId, TenantId, Usd};

use crate::conformance::fixtures::{call, claim_one, spec, tenant};
use crate::{
    ActorOutput, Enqueued, EnqueuedBatch, ManualClock, NewBatch, NewJob, QuotaExceeded, Store,
    TenantQuotas,
};

fn job(owner: &TenantId) -> NewJob {
    NewJob::new(JobId::new(), owner.clone(), spec(0))
}

/// A tenant at its queued-jobs quota is refused (single and batch) and another tenant is
/// not; spent tokens refuse new jobs until the next UTC day, and are what running jobs see.
pub async fn quotas_hold_per_tenant_and_day(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    let a = tenant();
    let quotas = TenantQuotas {
        max_queued_jobs: Some(2),
        max_tokens_per_day: Some(100),
        max_cost_usd_per_day: None,
    };
    assert!(store.set_quotas(&a, quotas).await.expect("set"));
    assert!(
        !store
            .set_quotas(&TenantId("nobody".into()), quotas)
            .await
            .expect("set"),
        "no such tenant"
    );
    for _ in 0..2 {
        assert!(matches!(
            store.enqueue_job(job(&a)).await,
            Ok(Enqueued::Created(_))
        ));
    }
    let over = store.enqueue_job(job(&a)).await.expect("enqueue");
    assert_eq!(
        over,
        Enqueued::OverQuota(QuotaExceeded::QueuedJobs { limit: 2 })
    );
    let batch = NewBatch {
        tenant: a.clone(),
        jobs: vec![job(&a)],
        idempotency: None,
    };
    assert_eq!(
        store.enqueue_batch(batch).await.expect("batch"),
        EnqueuedBatch::OverQuota(QuotaExceeded::QueuedJobs { limit: 2 })
    );
    let usage = store.tenant_usage(Some(&a)).await.expect("usage");
    assert_eq!(usage[0].queued_jobs, 2, "the refusals stored nothing");
    assert_eq!(usage[0].quotas, quotas);

    // Another tenant (made with a key, the only way a tenant is made) is not limited.
    let b = TenantId("tenant-b".into());
    let key = super::keys::key_for(&b.0, &clock);
    store.create_key(key).await.expect("tenant b");
    for _ in 0..3 {
        assert!(matches!(
            store.enqueue_job(job(&b)).await,
            Ok(Enqueued::Created(_))
        ));
    }

    // A running job's model calls count against its tenant's day.
    let lease = claim_one_of(&store, &a).await;
    store.start_attempt(&lease, 1).await.expect("start");
    store
        .record_actor_output(
            &lease,
            ActorOutput {
                iteration: 1,
                code: "x = 1\n",
                call: &call(50),
                candidates: &[],
                lessons: &[],
            },
        )
        .await
        .expect("code");
    assert_eq!(
        store.daily_quota_spent(&a).await.expect("spent"),
        Some(QuotaExceeded::TokensPerDay { limit: 100 })
    );
    assert_eq!(store.daily_quota_spent(&b).await.expect("spent"), None);
    store
        .set_quotas(
            &a,
            TenantQuotas {
                max_queued_jobs: None,
                max_tokens_per_day: Some(100),
                max_cost_usd_per_day: None,
            },
        )
        .await
        .expect("set");
    assert_eq!(
        store.enqueue_job(job(&a)).await.expect("enqueue"),
        Enqueued::OverQuota(QuotaExceeded::TokensPerDay { limit: 100 })
    );
    let usage = store.tenant_usage(Some(&a)).await.expect("usage");
    assert_eq!(usage[0].tokens_today, 100);
    assert_eq!(
        usage[0].cost_usd_today,
        Usd(50_000_000),
        "the call cost $0.00005"
    );

    // The spend quota, alone: reached at the day's spend, not below it.
    let spend = |limit| TenantQuotas {
        max_queued_jobs: None,
        max_tokens_per_day: None,
        max_cost_usd_per_day: Some(Usd(limit)),
    };
    store.set_quotas(&a, spend(50_000_001)).await.expect("set");
    assert_eq!(store.daily_quota_spent(&a).await.expect("spent"), None);
    store.set_quotas(&a, spend(50_000_000)).await.expect("set");
    let reached = QuotaExceeded::CostPerDay {
        limit: Usd(50_000_000),
    };
    assert_eq!(
        store.daily_quota_spent(&a).await.expect("spent"),
        Some(reached)
    );
    assert_eq!(
        store.enqueue_job(job(&a)).await.expect("enqueue"),
        Enqueued::OverQuota(reached)
    );
    let batch = NewBatch {
        tenant: a.clone(),
        jobs: vec![job(&a)],
        idempotency: None,
    };
    assert_eq!(
        store.enqueue_batch(batch).await.expect("batch"),
        EnqueuedBatch::OverQuota(reached)
    );

    // A new UTC day starts afresh.
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(store.daily_quota_spent(&a).await.expect("spent"), None);
    assert!(matches!(
        store.enqueue_job(job(&a)).await,
        Ok(Enqueued::Created(_))
    ));
}

/// Claims jobs until one of `owner`'s (tenant B's jobs are claimable too).
async fn claim_one_of(store: &Arc<dyn Store>, owner: &TenantId) -> crate::Lease {
    for _ in 0..10 {
        let lease = claim_one(store, "w", 60_000).await;
        let job = store.get_job(owner, lease.job).await.expect("get");
        if job.is_some() {
            return lease;
        }
    }
    panic!("no job of {owner} was claimed")
}
