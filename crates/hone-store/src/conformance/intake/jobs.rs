//! Enqueueing, reading back, idempotency keys and listing.

use std::sync::Arc;

use hone_domain::{EventType, JobId, JobStatus, TenantId};

use crate::{Enqueued, EventsPage, Idempotency, ListJobs, ManualClock, NewJob, Store};

use crate::conformance::fixtures::*;

/// A stored job reads back with its defaults and a `job.queued` event at seq 1.
pub async fn enqueue_then_read_back(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let id = enqueue(&store, 0).await;
    let job = stored_job(&store, id).await;
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.spec.max_iterations, 5);
    let events = events_after(&store, id, 0).await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].seq, events[0].kind), (1, EventType::JobQueued));
    let other = TenantId("someone-else".into());
    assert!(store.get_job(&other, id).await.ok().flatten().is_none());
    assert!(
        store
            .list_events(
                &other,
                id,
                EventsPage {
                    after: 0,
                    limit: 10
                }
            )
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
pub async fn idempotency_keys(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let new = |fingerprint: &str| NewJob {
        id: JobId::new(),
        tenant: tenant(),
        spec: spec(0),
        idempotency: Some(Idempotency {
            key: "k-1".into(),
            fingerprint: fingerprint.into(),
        }),

        retry_of: None,
        trace_parent: None,
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
pub async fn list_pages_newest_first(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
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
                filter: crate::JobFilter::status(JobStatus::Running),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert!(running.items.is_empty());
}
