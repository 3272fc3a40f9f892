//! Retention: deleting finished jobs older than a cut, a batch at a time, and folding ended
//! jobs into the stats rollups. A job's attempts, events, webhook outbox rows and their
//! delivery tries, tags, labels and search entry go with it (foreign keys `ON DELETE
//! CASCADE`; the SQLite full-text index by trigger), and its figures leave the rollups
//! (`history::rollups`). Batches are small and each is its own transaction, so the engine
//! and the API keep writing in between.

use async_trait::async_trait;
use hone_domain::Timestamp;
use hone_store::{Retention, StoreError};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::{SqlStore, db_err};

/// The condition a prunable job meets, over `$1` (the cut, unix ms).
const PRUNABLE: &str = "status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL AND finished_at < $1";

#[apply(sql)]
#[async_trait]
impl<B> Retention for SqlStore<B> {
    async fn fold_stats(&self, limit: u32) -> Result<u64, StoreError> {
        SqlStore::fold_stats(self, limit).await
    }

    /// How many finished jobs ended before `cut`.
    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) AS n FROM jobs WHERE {PRUNABLE}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(cut.as_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let n: i64 = crate::rows::get::<B, _>(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes up to `limit` finished jobs that ended before `cut`, with everything of
    /// theirs; returns how many. When fewer than `limit` were left, batch idempotency
    /// records made before the cut go too (the jobs they name are gone or going).
    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError> {
        // Tried again once or twice when SQLite reports its schema stale (see `is_stale_schema`).
        let mut tries = 0;
        let n = loop {
            tries += 1;
            match self.prune_folded(PRUNABLE, cut.as_millis(), limit).await {
                Err(StoreError::Database(e))
                    if tries < 3 && e.to_string().contains("no such table: jobs") => {}
                other => break other?,
            }
        };
        if n < u64::from(limit) {
            sqlx::query("DELETE FROM batches WHERE created_at < $1")
                .bind(cut.as_millis())
                .execute(&self.writer)
                .await
                .map_err(db_err)?;
        }
        Ok(n)
    }
}
