//! A `memory` job's lessons: before its first iteration, the tenant's most similar lessons
//! (same language, full-text ranking over task and lesson) for the actor's first prompt;
//! after any job is accepted following a failed attempt, its own lesson. Neither can stop a
//! job: a store that fails here is logged, and the job goes on without.

use hone_domain::lesson::{Lesson, MAX_SHOWN, lesson_of};
use hone_store::{Claimed, NewLesson};

use crate::Engine;

/// The lessons to show a `memory` job's first prompt; none for any other job.
pub(crate) async fn recall(engine: &Engine, claimed: &Claimed) -> Vec<Lesson> {
    let spec = &claimed.job.spec;
    if !spec.memory {
        return Vec::new();
    }
    let found = engine
        .store
        .find_lessons(&claimed.tenant, spec.language, &spec.task, MAX_SHOWN)
        .await;
    match found {
        Ok(lessons) => lessons,
        Err(e) => {
            tracing::warn!(job = %claimed.job.id, error = %e, "finding lessons failed; going on without");
            Vec::new()
        }
    }
}

/// Stores the lesson of a job just accepted after a failed attempt.
pub(crate) async fn remember(engine: &Engine, claimed: &Claimed) {
    let job = &claimed.job;
    let attempts = match engine.store.list_attempts(&claimed.tenant, job.id).await {
        Ok(attempts) => attempts.unwrap_or_default(),
        Err(e) => {
            tracing::warn!(job = %job.id, error = %e, "reading attempts for a lesson failed");
            return;
        }
    };
    let Some(text) = lesson_of(&attempts) else {
        return;
    };
    let lesson = NewLesson {
        job: job.id,
        tenant: claimed.tenant.clone(),
        language: job.spec.language,
        task: job.spec.task.clone(),
        text,
    };
    if let Err(e) = engine.store.add_lesson(lesson).await {
        tracing::warn!(job = %job.id, error = %e, "storing the job's lesson failed");
    }
}
