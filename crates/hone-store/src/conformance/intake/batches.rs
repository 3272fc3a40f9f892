//! Batch intake: all jobs or none, ids in order, idempotency keys for the whole batch.

use std::sync::Arc;

use hone_domain::{EventType, JobId, JobStatus};

use crate::{EnqueuedBatch, Idempotency, ListJobs, ManualClock, NewBatch, NewJob, Store};

use crate::conformance::fixtures::*;

fn batch(ids: &[JobId], key: Option<(&str, &str)>) -> NewBatch {
    NewBatch {
        tenant: tenant(),
        jobs: ids
            .iter()
            .enumerate()
            .map(|(i, id)| NewJob::new(*id, tenant(), spec(i32::try_from(i % 100).unwrap_or(0))))
            .collect(),
        idempotency: key.map(|(key, fingerprint)| Idempotency {
            key: key.into(),
            fingerprint: fingerprint.into(),
        }),
    }
}

async fn stored(store: &Arc<dyn Store>) -> usize {
    let all = ListJobs {
        limit: 5000,
        ..Default::default()
    };
    store
        .list_jobs(&tenant(), all)
        .await
        .expect("list")
        .items
        .len()
}

/// A batch stores every job queued, each with its `job.queued` event, and answers the ids
/// in the order given; a batch that cannot be stored whole stores nothing.
pub async fn batches_store_all_or_nothing(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let ids: Vec<JobId> = (0..1200).map(|_| JobId::new()).collect();
    match store.enqueue_batch(batch(&ids, None)).await {
        Ok(EnqueuedBatch::Created(got)) => assert_eq!(got, ids),
        other => panic!("{other:?}"),
    }
    for id in [ids[0], ids[599], ids[1199]] {
        let job = stored_job(&store, id).await;
        assert_eq!(job.status, JobStatus::Queued);
        let events = events_after(&store, id, 0).await;
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].seq, events[0].kind), (1, EventType::JobQueued));
    }
    assert_eq!(stored(&store).await, 1200);

    // The last job repeats a stored id: the whole batch is refused.
    let fresh = JobId::new();
    let refused = store.enqueue_batch(batch(&[fresh, ids[0]], None)).await;
    assert!(refused.is_err(), "{refused:?}");
    assert!(
        store
            .get_job(&tenant(), fresh)
            .await
            .ok()
            .flatten()
            .is_none()
    );
}

/// The same key and fingerprint answer the first batch's ids and store nothing; another
/// fingerprint is refused; single submissions' keys are another namespace.
pub async fn batch_idempotency_keys(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let first: Vec<JobId> = (0..3).map(|_| JobId::new()).collect();
    let key = Some(("b-1", "f"));
    match store.enqueue_batch(batch(&first, key)).await {
        Ok(EnqueuedBatch::Created(got)) => assert_eq!(got, first),
        other => panic!("{other:?}"),
    }
    let again: Vec<JobId> = (0..3).map(|_| JobId::new()).collect();
    match store.enqueue_batch(batch(&again, key)).await {
        Ok(EnqueuedBatch::Existing(got)) => assert_eq!(got, first),
        other => panic!("{other:?}"),
    }
    let other = store.enqueue_batch(batch(&again, Some(("b-1", "g")))).await;
    assert!(matches!(other, Ok(EnqueuedBatch::KeyReused)), "{other:?}");
    assert_eq!(stored(&store).await, 3, "a replay must not store more jobs");
    let single = NewJob {
        id: JobId::new(),
        tenant: tenant(),
        spec: spec(0),
        idempotency: Some(Idempotency {
            key: "b-1".into(),
            fingerprint: "f".into(),
        }),

        retry_of: None,
        trace_parent: None,
    };
    assert!(matches!(
        store.enqueue_job(single).await,
        Ok(crate::Enqueued::Created(_))
    ));
}
