//! The [`Retention`] topic of the store: deleting finished jobs past the retention
//! window.

use async_trait::async_trait;
use hone_domain::Timestamp;

use crate::StoreError;

/// Forgetting: deleting finished jobs past the retention window.
#[async_trait]
pub trait Retention: Send + Sync + 'static {
    /// How many finished jobs (every tenant) ended before `cut`.
    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError>;

    /// Deletes up to `limit` finished jobs (every tenant) that ended before `cut`, with their
    /// attempts, events, webhook deliveries, tags and labels, in one short transaction;
    /// returns how many. Call it again until it returns less than `limit`.
    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
