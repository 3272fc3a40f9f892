//! The [`Retention`] topic of the store: keeping the history within bounds — deleting
//! finished jobs past the retention window, and folding ended jobs into the hourly stats
//! rollups that `GET /v1/stats` reads.

use async_trait::async_trait;
use hone_domain::Timestamp;

use crate::StoreError;

/// Keeping the history within bounds: folding ended jobs into the stats rollups, and
/// deleting finished jobs past the retention window.
#[async_trait]
pub trait Retention: Send + Sync + 'static {
    /// Folds up to `limit` jobs that have ended since the last fold (every tenant) into the
    /// hourly stats rollups, in one transaction; returns how many. Call it again until it
    /// returns less than `limit`. Stats are exact whether or not this has run: what is not
    /// folded yet is read from the jobs themselves.
    async fn fold_stats(&self, limit: u32) -> Result<u64, StoreError>;

    /// How many finished jobs (every tenant) ended before `cut`.
    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError>;

    /// Deletes up to `limit` finished jobs (every tenant) that ended before `cut`, with their
    /// attempts, events, webhook deliveries, tags and labels, in one short transaction;
    /// returns how many. Call it again until it returns less than `limit`.
    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
