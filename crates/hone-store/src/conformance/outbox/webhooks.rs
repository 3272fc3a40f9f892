//! Webhooks: the outbox filled by the trigger, delivery leases, signing secrets.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::{EventType, JobId, JobSpec, JobStatus, Outcome, OutcomeReason, Timestamp};
use serde_json::json;

use crate::{
    ClaimDeliveries, Clock, DeliveryTry, Enqueued, FinishJob, ManualClock, NewJob, NextTry, Store,
    StoreError,
};

use crate::conformance::fixtures::*;

async fn enqueue_with_webhook(store: &Arc<dyn Store>, events: serde_json::Value) -> JobId {
    let spec = JobSpec::parse(&json!({"task": "add", "tests": "assert True",
        "webhook": {"url": "https://hooks.example.com/x", "events": events}}))
    .unwrap_or_else(|e| panic!("test spec rejected: {e:?}"));
    let new = NewJob::new(JobId::new(), tenant(), spec);
    match store.enqueue_job(new).await {
        Ok(Enqueued::Created(job)) => job.id,
        other => panic!("enqueue failed: {other:?}"),
    }
}

fn tried(outbox: i64, worker: &str, next: NextTry) -> DeliveryTry {
    DeliveryTry {
        outbox,
        worker: worker.into(),
        payload: "{}".into(),
        attempted_at: Timestamp::now(),
        duration_ms: 3,
        status_code: Some(500),
        error: None,
        next,
    }
}

/// A claim of up to 10 due deliveries by `worker`, leased for `lease_ms`.
fn deliveries(worker: &str, lease_ms: u64) -> ClaimDeliveries {
    ClaimDeliveries {
        worker: worker.to_owned(),
        limit: 10,
        lease_ms,
    }
}
/// Events that match the job's filter (and only those) land in the outbox; a claimed row is
/// leased; a try is recorded once, by the lease holder, and listed.
pub async fn webhook_outbox_follows_the_filter(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let plain = enqueue(&store, 0).await;
    let id = enqueue_with_webhook(&store, json!(["job.started", "job.finished"])).await;
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, plain);
    let lease = claim_one(&store, "w", 60_000).await;
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
    store.finish_job(&lease, finish).await.expect("finish");

    let due = store
        .claim_deliveries(deliveries("d1", 60_000))
        .await
        .expect("claim");
    let kinds: Vec<_> = due.iter().map(|d| (d.job, d.seq, d.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            (id, 2, EventType::JobStarted),
            (id, 3, EventType::JobSucceeded)
        ]
    );
    assert_eq!(due[0].url, "https://hooks.example.com/x");
    assert_eq!(due[0].tries, 0);
    assert!(due[0].payload.is_none());
    assert!(
        store
            .claim_deliveries(deliveries("d2", 60_000))
            .await
            .expect("claim")
            .is_empty(),
        "leased rows are not handed out twice"
    );

    let later = Timestamp::from_millis(Timestamp::now().as_millis() + 60_000);
    let retry = tried(due[0].id, "d1", NextTry::RetryAt(later));
    store.record_delivery(&retry).await.expect("record");
    assert!(matches!(
        store
            .record_delivery(&tried(due[1].id, "d2", NextTry::Delivered))
            .await,
        Err(StoreError::DeliveryLeaseLost(_))
    ));
    let mut ok = tried(due[1].id, "d1", NextTry::Delivered);
    ok.status_code = Some(200);
    store.record_delivery(&ok).await.expect("record");
    assert!(
        store
            .claim_deliveries(deliveries("d2", 60_000))
            .await
            .expect("claim")
            .is_empty(),
        "a retry is not due before its time, a delivered row never"
    );

    let listed = store
        .list_deliveries(&tenant(), id)
        .await
        .expect("list")
        .expect("job exists");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].event_seq, 2);
    assert_eq!(listed[0].attempt, 1);
    assert_eq!(listed[0].state, "pending");
    assert_eq!(listed[0].next_attempt_at, Some(later));
    assert_eq!(listed[1].state, "delivered");
    assert_eq!(listed[1].status_code, Some(200));
    assert_eq!(listed[0].webhook_id, crate::webhook_id(id, 2));
    assert!(
        store
            .list_deliveries(&tenant(), plain)
            .await
            .expect("list")
            .expect("job")
            .is_empty()
    );
    assert!(
        store
            .list_deliveries(&tenant(), JobId::new())
            .await
            .expect("list")
            .is_none()
    );
}

/// A dispatcher that dies leaves its rows leased; once the lease expires another takes them,
/// with the payload of the try that was recorded.
pub async fn webhook_leases_expire(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    let id = enqueue_with_webhook(&store, json!(["job.queued"])).await;
    let due = store
        .claim_deliveries(deliveries("d1", 1))
        .await
        .expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].kind, EventType::JobQueued);
    let mut first = tried(due[0].id, "d1", NextTry::RetryAt(clock.now()));
    first.payload = "the body".into();
    store.record_delivery(&first).await.expect("record");
    let due = store
        .claim_deliveries(deliveries("d1", 1))
        .await
        .expect("claim");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].tries, 1);
    assert_eq!(due[0].payload.as_deref(), Some("the body"));
    clock.advance(Duration::from_millis(2));
    let taken = store
        .claim_deliveries(deliveries("d2", 60_000))
        .await
        .expect("claim");
    assert_eq!(taken.len(), 1, "an expired lease is taken over");
    assert_eq!(taken[0].job, id);
    assert!(matches!(
        store
            .record_delivery(&tried(due[0].id, "d1", NextTry::Delivered))
            .await,
        Err(StoreError::DeliveryLeaseLost(_))
    ));
}

/// A tenant's first secret is stored once; a rotation makes a new current secret and keeps
/// the old one signing for the overlap.
pub async fn webhook_secrets_rotate_with_overlap(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let first = store
        .webhook_secrets(&tenant(), "whsec_a")
        .await
        .expect("secrets");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].secret, "whsec_a");
    assert!(first[0].expires_at.is_none());
    let again = store
        .webhook_secrets(&tenant(), "whsec_b")
        .await
        .expect("secrets");
    assert_eq!(again, first, "an existing secret is kept");

    let rotated = store
        .rotate_webhook_secret(&tenant(), rotation("whsec_c", 60_000, 3))
        .await
        .expect("rotate");
    let names: Vec<_> = rotated.iter().map(|s| s.secret.as_str()).collect();
    assert_eq!(names, ["whsec_c", "whsec_a"]);
    assert!(rotated[0].expires_at.is_none());
    assert!(rotated[1].expires_at.is_some());

    let rotated = store
        .rotate_webhook_secret(&tenant(), rotation("whsec_d", 0, 3))
        .await
        .expect("rotate");
    let names: Vec<_> = rotated.iter().map(|s| s.secret.as_str()).collect();
    assert_eq!(
        names,
        ["whsec_d", "whsec_a"],
        "no overlap retires whsec_c at once"
    );

    // However often a tenant rotates, no more than the cap sign at once: the oldest go.
    let mut last = Vec::new();
    for i in 0..20 {
        last = store
            .rotate_webhook_secret(
                &tenant(),
                rotation(&format!("whsec_r{i:02}"), 86_400_000, 2),
            )
            .await
            .expect("rotate");
    }
    let names: Vec<_> = last.iter().map(|s| s.secret.as_str()).collect();
    assert_eq!(names, ["whsec_r19", "whsec_r18"]);
    let shown = store
        .webhook_secrets(&tenant(), "whsec_unused")
        .await
        .expect("secrets");
    assert_eq!(shown, last);

    // Every rotation is in the tenant's audit log, with its overlap; the first secret, made on
    // first use, is not a rotation.
    let log = store
        .list_audit(
            &tenant(),
            crate::AuditPage {
                before: None,
                limit: 100,
            },
        )
        .await
        .expect("audit");
    assert_eq!(log.len(), 22);
    assert!(
        log.iter()
            .all(|e| e.action == crate::AuditAction::SecretRotated)
    );
    assert_eq!(log[0].detail["overlap_s"], 86_400);
    assert_eq!(log[21].detail["overlap_s"], 60);
}

fn rotation(secret: &str, overlap_ms: u64, max_active: u32) -> crate::RotateSecret {
    crate::RotateSecret {
        by: crate::Actor::Operator,
        secret: secret.to_owned(),
        overlap_ms,
        max_active,
    }
}
