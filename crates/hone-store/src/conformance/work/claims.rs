//! Claims: never overlapping, by priority, within a tenant cap.

use std::sync::Arc;

use hone_domain::{JobId, JobStatus, Outcome, OutcomeReason};

use crate::{ClaimJobs, FinishJob, ManualClock, Store};

use crate::conformance::fixtures::*;

/// Concurrent claims from many workers never hand out the same job twice.
pub async fn claims_never_overlap(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
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
                    serves: None,
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
pub async fn claims_follow_priority(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let low = enqueue(&store, -5).await;
    let old = enqueue(&store, 0).await;
    let high = enqueue(&store, 10).await;
    let young = enqueue(&store, 0).await;
    let claim = ClaimJobs {
        worker: "w".into(),
        limit: 4,
        lease_ms: 60_000,
        per_tenant: None,
        serves: None,
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

/// With a cap of 2 running jobs per tenant, a claim for 5 gets 2, and one more once a job
/// ends.
pub async fn a_tenant_cap_limits_running_jobs(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    for _ in 0..5 {
        enqueue(&store, 0).await;
    }
    let claim = |limit| ClaimJobs {
        worker: "w".into(),
        limit,
        lease_ms: 60_000,
        per_tenant: Some(2),
        serves: None,
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

/// A worker that names what it serves takes only jobs whose language and providers it has;
/// the others stay queued for a worker that can (here one that serves anything).
pub async fn claims_take_only_jobs_the_worker_can_serve(
    store: Arc<dyn Store>,
    _clock: Arc<ManualClock>,
) {
    let specs = [
        serde_json::json!({"task": "a", "tests": "assert True"}),
        serde_json::json!({"task": "b", "tests": "true", "language": "bash"}),
        serde_json::json!({"task": "c", "tests": "assert True",
                           "actor": {"provider": "anthropic", "model": "m"}}),
        serde_json::json!({"task": "d", "tests": "assert True",
                           "critic": {"provider": "replay", "model": "m"}}),
        serde_json::json!({"task": "e", "tests": "assert True", "critic": null}),
    ];
    let mut ids = Vec::new();
    for s in &specs {
        let spec = hone_domain::JobSpec::parse(s).unwrap_or_else(|e| panic!("{e:?}"));
        let id = JobId::new();
        let new = crate::NewJob::new(id, tenant(), spec);
        assert!(matches!(
            store.enqueue_job(new).await,
            Ok(crate::Enqueued::Created(_))
        ));
        ids.push(id);
    }
    let serves = crate::Serves {
        languages: vec![hone_domain::Language::Python],
        providers: vec!["openai".to_owned()],
    };
    let claim = |worker: &str, serves: Option<crate::Serves>| ClaimJobs {
        worker: worker.to_owned(),
        limit: 10,
        lease_ms: 60_000,
        per_tenant: None,
        serves,
    };
    let mut taken: Vec<JobId> = store
        .claim_jobs(claim("python-openai", Some(serves)))
        .await
        .expect("claim")
        .into_iter()
        .map(|c| c.lease.job)
        .collect();
    taken.sort();
    let mut want = vec![ids[0], ids[4]];
    want.sort();
    assert_eq!(taken, want, "only the python jobs on openai alone");
    let rest = store
        .claim_jobs(claim("any", None))
        .await
        .expect("claim")
        .len();
    assert_eq!(rest, 3, "the others waited for a worker that serves them");
}

/// Workers say they are alive and what they serve; the rows seen lately are read back, and
/// the queued jobs' needs are counted by language and providers.
pub async fn live_workers_and_queued_needs(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let serves = crate::Serves {
        languages: vec![hone_domain::Language::Python, hone_domain::Language::Bash],
        providers: vec!["openai".to_owned(), "replay".to_owned()],
    };
    store.worker_alive("w1", &serves).await.expect("alive");
    store
        .worker_alive("w1", &serves)
        .await
        .expect("alive again");
    let long_ago = hone_domain::Timestamp::from_millis(0);
    let live = store.live_workers(long_ago).await.expect("live");
    assert_eq!(live, vec![serves]);
    let future = hone_domain::Timestamp::from_millis(i64::MAX / 2);
    assert!(store.live_workers(future).await.expect("live").is_empty());
    for _ in 0..2 {
        enqueue(&store, 0).await;
    }
    let needs = store.queued_needs().await.expect("needs");
    assert_eq!(needs.len(), 1, "{needs:?}");
    assert_eq!(needs[0].jobs, 2);
    assert_eq!(needs[0].actor_provider, "openai");
    assert_eq!(needs[0].language, hone_domain::Language::Python);
}
