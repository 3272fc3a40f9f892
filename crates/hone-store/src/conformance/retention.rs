//! Retention: a prune takes exactly the finished jobs that ended before the cut, a batch at
//! a time (their lessons with them), and leaves queued and running jobs (and newer finished
//! ones) alone.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::{JobId, JobStatus, Outcome, OutcomeReason, Timestamp};

use super::fixtures::{claim_one, enqueue, tenant};
use crate::{Clock, EventsPage, FinishJob, JobFilter, ManualClock, Store};

async fn finish_one(store: &Arc<dyn Store>) -> JobId {
    let lease = claim_one(store, "w", 600_000).await;
    let outcome = Outcome {
        reason: OutcomeReason::Accepted,
        accepted_iteration: Some(1),
        code: None,
        message: None,
    };
    store
        .finish_job(
            &lease,
            FinishJob {
                status: JobStatus::Succeeded,
                outcome,
            },
        )
        .await
        .expect("finish");
    lease.job
}

/// Old finished jobs go, in batches; newer and unfinished ones stay.
pub async fn prune_takes_exactly_the_old_finished_jobs(
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
) {
    for _ in 0..6 {
        enqueue(&store, 0).await;
    }
    let old = [finish_one(&store).await, finish_one(&store).await];
    clock.advance(Duration::from_secs(3600));
    let cut = Timestamp::from_millis(clock.now().as_millis() - 1_800_000);
    let newer = finish_one(&store).await;
    let running = claim_one(&store, "w", 600_000).await.job;
    // A lesson goes with its job, and the search index with it.
    for id in [old[0], newer] {
        let lesson = crate::NewLesson {
            job: id,
            tenant: tenant(),
            language: hone_domain::Language::Python,
            task: "Parse log lines".into(),
            text: "Failed: IndexError. Fix: skip blank lines".into(),
        };
        store.add_lesson(lesson).await.expect("lesson");
    }

    assert_eq!(store.count_prunable(cut).await.expect("count"), 2);
    assert_eq!(store.prune_batch(cut, 1).await.expect("prune"), 1);
    assert_eq!(store.prune_batch(cut, 1).await.expect("prune"), 1);
    assert_eq!(store.prune_batch(cut, 1).await.expect("prune"), 0);
    assert_eq!(store.count_prunable(cut).await.expect("count"), 0);
    for id in old {
        assert!(store.get_job(&tenant(), id).await.expect("get").is_none());
        assert!(
            store
                .list_events(
                    &tenant(),
                    id,
                    EventsPage {
                        after: 0,
                        limit: 10
                    }
                )
                .await
                .expect("events")
                .is_none()
        );
    }
    let newer_job = store.get_job(&tenant(), newer).await.expect("get");
    assert_eq!(newer_job.map(|j| j.status), Some(JobStatus::Succeeded));
    let left = super::history::all(&store, &tenant(), JobFilter::default()).await;
    assert_eq!(
        left.len(),
        4,
        "the newer, the running and two queued jobs stay"
    );
    assert!(
        left.iter()
            .any(|j| j.id == running && j.status == JobStatus::Running)
    );
    let lessons = store
        .find_lessons(
            &tenant(),
            hone_domain::Language::Python,
            "parse log lines",
            3,
        )
        .await
        .expect("lessons");
    let ids: Vec<JobId> = lessons.iter().map(|l| l.job_id).collect();
    assert_eq!(ids, [newer], "the pruned job's lesson is gone");
    let later = Timestamp::from_millis(clock.now().as_millis() + 1);
    assert_eq!(store.count_prunable(later).await.expect("count"), 1);
}
