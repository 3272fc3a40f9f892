//! The [`Lessons`] topic of the store: what repaired jobs taught, stored and found again
//! for a later job; with its parameter type.

use async_trait::async_trait;
use hone_domain::{JobId, TenantId};

use crate::StoreError;

/// What repaired jobs taught: stored lessons, found again for a later job.
#[async_trait]
pub trait Lessons: Send + Sync + 'static {
    /// Stores a repaired job's lesson (a second one for the same job is ignored).
    async fn add_lesson(&self, lesson: NewLesson) -> Result<(), StoreError>;

    /// The tenant's lessons of `language` most similar to `task` (full-text ranking over
    /// their tasks and texts), best first, at most `limit`.
    async fn find_lessons(
        &self,
        tenant: &TenantId,
        language: hone_domain::Language,
        task: &str,
        limit: usize,
    ) -> Result<Vec<hone_domain::lesson::Lesson>, StoreError>;
}

/// A repaired job's lesson to store ([`crate::Lessons::add_lesson`]).
#[derive(Debug, Clone)]
pub struct NewLesson {
    /// The job it came from.
    pub job: JobId,
    /// The job's tenant.
    pub tenant: TenantId,
    /// The job's language.
    pub language: hone_domain::Language,
    /// The job's task.
    pub task: String,
    /// What failed and what fixed it ([`hone_domain::lesson::lesson_of`]).
    pub text: String,
}
