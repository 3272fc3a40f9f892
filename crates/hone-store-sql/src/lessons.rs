//! Lessons: written when a repaired job is accepted, found again by full-text ranking for a
//! later job of the same tenant and language ([`Backend::lessons_sql`]).

use async_trait::async_trait;
use hone_domain::lesson::{Lesson, search_words};
use hone_domain::{Language, TenantId};
use hone_store::{Lessons, NewLesson, StoreError};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::rows::{get, job_id_col};
use crate::{SqlStore, db_err};

#[apply(sql)]
#[async_trait]
impl<B> Lessons for SqlStore<B> {
    /// Stores a job's lesson; a second one for the same job is ignored.
    async fn add_lesson(&self, lesson: NewLesson) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lessons (job_id, tenant_id, language, task, lesson, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(B::id(lesson.job))
        .bind(lesson.tenant.as_str())
        .bind(lesson.language.as_str())
        .bind(lesson.task.as_str())
        .bind(lesson.text.as_str())
        .bind(self.now())
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    /// The tenant's lessons of `language` most similar to `task`, best first, at most
    /// `limit`.
    async fn find_lessons(
        &self,
        tenant: &TenantId,
        language: Language,
        task: &str,
        limit: usize,
    ) -> Result<Vec<Lesson>, StoreError> {
        let words = search_words(task);
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let query = B::lessons_query(&words);
        let rows = sqlx::query(AssertSqlSafe(B::lessons_sql()))
            .bind(tenant.as_str())
            .bind(language.as_str())
            .bind(query.as_str())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok(Lesson {
                    job_id: job_id_col::<B>(r, "job_id")?,
                    task: get::<B, String>(r, "task")?,
                    text: get::<B, String>(r, "lesson")?,
                })
            })
            .collect()
    }
}
