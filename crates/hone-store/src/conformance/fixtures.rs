//! Shared set-up: a spec, a stored job, a claimed lease, a model call and a run.

use std::sync::Arc;

use hone_domain::{Event, Execution, ExecutionStatus, JobId, JobSpec, ModelCall, TenantId, Usage};
use serde_json::json;

use crate::{ClaimJobs, Enqueued, EventsPage, Lease, NewJob, Store};

pub(crate) fn tenant() -> TenantId {
    TenantId::default_tenant()
}

pub(crate) fn spec(priority: i32) -> JobSpec {
    JobSpec::parse(&json!({"task": "add", "tests": "assert True", "priority": priority}))
        .unwrap_or_else(|e| panic!("test spec rejected: {e:?}"))
}

pub(crate) async fn enqueue(store: &Arc<dyn Store>, priority: i32) -> JobId {
    let id = JobId::new();
    let new = NewJob::new(id, tenant(), spec(priority));
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
        serves: None,
    };
    let mut got = store.claim_jobs(claim).await.unwrap_or_default();
    assert_eq!(got.len(), 1, "expected one claimable job");
    got.remove(0).lease
}

pub(crate) fn call(tokens: u64) -> ModelCall {
    ModelCall {
        provider: "fake".into(),
        model: "m".into(),
        latency_ms: 5,
        usage: Usage {
            prompt_tokens: tokens,
            completion_tokens: tokens,
            total_tokens: 2 * tokens,
            cache_read_tokens: tokens / 2,
            cache_write_tokens: 1,
            reasoning_tokens: 2,
            // A microdollar a token.
            cost_usd: hone_domain::Usd(tokens * 1_000_000),
        },
    }
}

pub(crate) fn execution(status: ExecutionStatus) -> Execution {
    Execution {
        status,
        exit_code: Some(1),
        signal: None,
        duration_ms: 3,
        cpu_time_ms: None,
        peak_memory_kb: None,
        stdout: String::new(),
        stderr: "Traceback".into(),
        stdout_truncated: false,
        stderr_truncated: false,
        traceback: None,
        test_cases: Vec::new(),
        message: None,
    }
}

/// The default tenant's events of job `id` after seq `after` (up to 100).
pub(crate) async fn events_after(store: &Arc<dyn Store>, id: JobId, after: u64) -> Vec<Event> {
    let page = EventsPage { after, limit: 100 };
    store
        .list_events(&tenant(), id, page)
        .await
        .ok()
        .flatten()
        .expect("events")
}

/// The default tenant's job `id` as stored.
pub(crate) async fn stored_job(store: &Arc<dyn Store>, id: JobId) -> hone_domain::Job {
    store
        .get_job(&tenant(), id)
        .await
        .ok()
        .flatten()
        .expect("job")
}
