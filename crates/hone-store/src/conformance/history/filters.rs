//! History queries: every filter, alone and combined, returns exactly what a reference
//! filter over the whole list returns; cursor paging under a filter is stable; full-text
//! search finds a job by a (stemmed) word of its task; another tenant's jobs never show.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::{
    Job, JobId, JobSpec, JobStatus, Language, Outcome, OutcomeReason, TenantId, Timestamp,
};
use serde_json::json;

use crate::conformance::access::key_for;
use crate::conformance::fixtures::tenant;
use crate::{ClaimJobs, Enqueued, FinishJob, JobFilter, ListJobs, ManualClock, NewJob, Store};

const TASKS: [&str; 4] = [
    "Parse the CSV file and sum the second column",
    "Sort numbers quickly without the standard library",
    "Reverse a linked list in place",
    "Count words in a sentence, ignoring case",
];

fn spec_for(i: usize) -> JobSpec {
    let language = ["python", "javascript", "bash"][i % 3];
    let tags: Vec<&str> = ["nightly", "ci", "team:x"]
        .into_iter()
        .enumerate()
        .filter(|(bit, _)| i & (1 << bit) != 0)
        .map(|(_, t)| t)
        .collect();
    let model = ["m-a", "m-b"][i % 2];
    let team = ["red", "blue", "green"][i % 3];
    JobSpec::parse(&json!({
        "task": format!("{} (case {i})", TASKS[i % 4]),
        "tests": "assert True",
        "language": language,
        "actor": {"model": model},
        "tags": tags,
        "metadata": {"team": team, "run": (i % 4).to_string()},
    }))
    .unwrap_or_else(|e| panic!("test spec rejected: {e:?}"))
}

async fn add(store: &Arc<dyn Store>, owner: &TenantId, spec: JobSpec) -> JobId {
    let new = NewJob::new(JobId::new(), owner.clone(), spec);
    match store.enqueue_job(new).await {
        Ok(Enqueued::Created(job)) => job.id,
        other => panic!("enqueue failed: {other:?}"),
    }
}

/// Stores 24 varied jobs a minute apart (and 3 of another tenant), runs 12 of them to
/// different ends after 0 to 2 iterations, leaves 3 running. Returns the default tenant's jobs,
/// newest first.
pub(crate) async fn varied_history(store: &Arc<dyn Store>, clock: &ManualClock) -> Vec<Job> {
    let other = key_for("history-other", clock).tenant;
    store
        .create_key(key_for("history-other", clock))
        .await
        .expect("other tenant");
    for i in 0..24 {
        add(store, &tenant(), spec_for(i)).await;
        clock.advance(Duration::from_secs(60));
    }
    for i in 0..3 {
        add(store, &other, spec_for(i)).await;
    }
    let ends = [
        (JobStatus::Succeeded, OutcomeReason::Accepted),
        (JobStatus::Failed, OutcomeReason::MaxIterations),
        (JobStatus::Failed, OutcomeReason::Error),
        (JobStatus::Cancelled, OutcomeReason::Cancelled),
    ];
    for n in 0..15 {
        let claim = ClaimJobs {
            worker: "w".into(),
            limit: 1,
            lease_ms: 600_000,
            per_tenant: None,
            serves: None,
        };
        let got = store.claim_jobs(claim).await.expect("claim");
        let Some(c) = got.first() else { break };
        if n >= 12 {
            continue;
        }
        // 0 to 2 iterations, for the iteration filters.
        for iteration in 1..=(n % 3) as u32 {
            store
                .start_attempt(&c.lease, iteration)
                .await
                .expect("attempt");
        }
        let (status, reason) = ends[n % ends.len()];
        let outcome = Outcome {
            reason,
            accepted_iteration: None,
            code: None,
            message: None,
        };
        store
            .finish_job(&c.lease, FinishJob { status, outcome })
            .await
            .expect("finish");
    }
    all(store, &tenant(), JobFilter::default()).await
}

/// Every job of `owner` that passes `filter`, page by page (3 a page).
pub(crate) async fn all(store: &Arc<dyn Store>, owner: &TenantId, filter: JobFilter) -> Vec<Job> {
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let query = ListJobs {
            filter: filter.clone(),
            limit: 3,
            before,
            ..Default::default()
        };
        let page = store.list_jobs(owner, query).await.expect("list");
        out.extend(page.items);
        match page.next {
            Some(id) => before = Some(id),
            None => return out,
        }
    }
}

/// What `filter` should take, judged from the job's own record (text search aside).
fn reference(job: &Job, f: &JobFilter) -> bool {
    let reason = job.outcome.as_ref().map(|o| o.reason);
    (f.statuses.is_empty() || f.statuses.contains(&job.status))
        && (f.reasons.is_empty() || reason.is_some_and(|r| f.reasons.contains(&r)))
        && (f.languages.is_empty() || f.languages.contains(&job.spec.language))
        && (f.models.is_empty() || f.models.contains(&job.spec.actor.model))
        && f.tags.iter().all(|t| job.tags.contains(t))
        && f.metadata
            .iter()
            .all(|(k, v)| job.metadata.get(k) == Some(v))
        && f.created_after.is_none_or(|t| job.created_at >= t)
        && f.created_before.is_none_or(|t| job.created_at < t)
        && f.min_iterations.is_none_or(|n| job.iterations >= n)
        && f.max_iterations.is_none_or(|n| job.iterations <= n)
        && f.text.as_ref().is_none_or(|w| {
            let task = job.spec.task.to_lowercase();
            w.split_whitespace()
                .all(|w| task.contains(&w.to_lowercase()))
        })
}

/// Each filter alone and in combination equals the reference; text search stems.
pub async fn history_filters_match_a_reference(store: Arc<dyn Store>, clock: Arc<ManualClock>) {
    let jobs = varied_history(&store, &clock).await;
    assert_eq!(jobs.len(), 24, "the other tenant's jobs must not show");
    let mid = jobs[12].created_at;
    let filters = [
        JobFilter::status(JobStatus::Failed),
        JobFilter {
            statuses: vec![JobStatus::Queued, JobStatus::Running],
            ..JobFilter::default()
        },
        JobFilter {
            reasons: vec![OutcomeReason::Error, OutcomeReason::Accepted],
            ..JobFilter::default()
        },
        JobFilter {
            languages: vec![Language::Bash],
            ..JobFilter::default()
        },
        JobFilter {
            models: vec!["m-b".into()],
            ..JobFilter::default()
        },
        JobFilter {
            tags: vec!["nightly".into(), "team:x".into()],
            ..JobFilter::default()
        },
        JobFilter {
            metadata: vec![("team".into(), "red".into()), ("run".into(), "0".into())],
            ..JobFilter::default()
        },
        JobFilter {
            created_after: Some(mid),
            ..JobFilter::default()
        },
        JobFilter {
            min_iterations: Some(0),
            max_iterations: Some(0),
            ..JobFilter::default()
        },
        JobFilter {
            min_iterations: Some(1),
            ..JobFilter::default()
        },
        JobFilter {
            min_iterations: Some(2),
            max_iterations: Some(2),
            statuses: vec![JobStatus::Failed],
            ..JobFilter::default()
        },
        JobFilter {
            created_before: Some(mid),
            languages: vec![Language::Python, Language::Javascript],
            ..JobFilter::default()
        },
        JobFilter {
            text: Some("csv".into()),
            ..JobFilter::default()
        },
        JobFilter {
            text: Some("Sort numbers".into()),
            tags: vec!["ci".into()],
            models: vec!["m-a".into(), "m-b".into()],
            ..JobFilter::default()
        },
        JobFilter {
            statuses: vec![JobStatus::Succeeded, JobStatus::Failed],
            reasons: vec![OutcomeReason::MaxIterations],
            created_after: Some(Timestamp::from_millis(0)),
            metadata: vec![("team".into(), "blue".into())],
            ..JobFilter::default()
        },
    ];
    for f in filters {
        let want: Vec<JobId> = jobs
            .iter()
            .filter(|j| reference(j, &f))
            .map(|j| j.id)
            .collect();
        let got: Vec<JobId> = all(&store, &tenant(), f.clone())
            .await
            .iter()
            .map(|j| j.id)
            .collect();
        assert_eq!(got, want, "filter {f:?}");
        assert!(
            !want.is_empty() || f.text.is_some(),
            "a filter that takes nothing: {f:?}"
        );
    }
    let stemmed = JobFilter {
        text: Some("sorting".into()),
        ..JobFilter::default()
    };
    let found = all(&store, &tenant(), stemmed).await;
    assert_eq!(found.len(), 6, "'sorting' finds the tasks that say 'sort'");
    let nothing = JobFilter {
        text: Some("\"OR* NEAR(".into()),
        ..JobFilter::default()
    };
    assert!(all(&store, &tenant(), nothing).await.is_empty());
}

/// A bulk cancel ends exactly the filtered queued jobs (with their events), flags exactly
/// the filtered running ones, and leaves finished jobs and other tenants alone.
pub async fn bulk_cancel_takes_exactly_the_filtered_unfinished_jobs(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) {
    let before = varied_history(&store, &clock).await;
    let filter = JobFilter {
        tags: vec!["ci".into()],
        ..JobFilter::default()
    };
    let taken = |j: &&Job| reference(j, &filter);
    let queued = before
        .iter()
        .filter(taken)
        .filter(|j| j.status == JobStatus::Queued)
        .count() as u64;
    let running = before
        .iter()
        .filter(taken)
        .filter(|j| j.status == JobStatus::Running)
        .count() as u64;
    assert!(queued > 0 && running > 0, "the history must hold both");
    let done = store.cancel_jobs(&tenant(), &filter).await.expect("cancel");
    assert_eq!((done.cancelled, done.requested), (queued, running));
    let after = all(&store, &tenant(), JobFilter::default()).await;
    for (old, new) in before.iter().zip(&after) {
        let hit = reference(old, &filter);
        match old.status {
            JobStatus::Queued if hit => {
                assert_eq!(new.status, JobStatus::Cancelled);
                let events = crate::conformance::fixtures::events_after(&store, new.id, 1).await;
                assert_eq!(events.len(), 1, "one job.cancelled event");
            }
            JobStatus::Running if hit => assert!(new.cancel_requested),
            _ => assert_eq!((new.status, new.cancel_requested), (old.status, false)),
        }
    }
    let other = key_for("history-other", &clock).tenant;
    let theirs = all(&store, &other, JobFilter::default()).await;
    assert!(theirs.iter().all(|j| j.status != JobStatus::Cancelled));
    let again = store.cancel_jobs(&tenant(), &filter).await.expect("cancel");
    assert_eq!(
        (again.cancelled, again.requested),
        (0, 0),
        "nothing left to cancel"
    );
}

/// A re-run names its original, and the original its newest re-run.
pub async fn retries_are_linked_both_ways(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let first = add(&store, &tenant(), spec_for(1)).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let new = NewJob {
            id: JobId::new(),
            tenant: tenant(),
            spec: spec_for(2),
            idempotency: None,
            retry_of: Some(first),
            trace_parent: None,
        };
        match store.enqueue_job(new).await {
            Ok(Enqueued::Created(job)) => {
                assert_eq!(job.retry_of, Some(first));
                ids.push(job.id);
            }
            other => panic!("enqueue failed: {other:?}"),
        }
    }
    let original = store
        .get_job(&tenant(), first)
        .await
        .expect("get")
        .expect("job");
    assert_eq!(original.retried_as, Some(ids[1]));
    let retries = JobFilter {
        retry_of: Some(first),
        ..JobFilter::default()
    };
    let found: Vec<JobId> = all(&store, &tenant(), retries)
        .await
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(found, vec![ids[1], ids[0]]);
}
