//! The [`hone_store::Work`] topic: the workers' side. Each step is announced after its
//! commit.
//!
//! - [`steps`] claims jobs and writes the attempt steps, described once and written by the
//!   backend;
//! - [`lifecycle`] keeps a claimed job's lease, ends it, or sends it back to the queue;
//! - [`workers`] records which workers are alive and what they serve, and reads the queue.

pub(crate) mod lifecycle;
pub(crate) mod steps;
pub(crate) mod workers;

use async_trait::async_trait;
use hone_domain::Timestamp;
use hone_store::{
    ActorOutput, AttemptDecision, ClaimJobs, Claimed, CritiqueRecord, ExecutionRecord, FinishJob,
    JobControl, Lease, QueueStats, QueuedNeed, Requeue, Serves, Signal, StoreError, Work,
};
use macro_rules_attribute::apply;
use tokio::sync::mpsc;

use crate::SqlStore;
use crate::backend::Announce;

#[apply(sql)]
#[async_trait]
impl<B> Work for SqlStore<B> {
    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        SqlStore::queue_stats(self).await
    }

    async fn worker_alive(&self, id: &str, serves: &Serves) -> Result<(), StoreError> {
        SqlStore::worker_alive(self, id, serves).await
    }

    async fn live_workers(&self, since: Timestamp) -> Result<Vec<Serves>, StoreError> {
        SqlStore::live_workers(self, since).await
    }

    async fn queued_needs(&self) -> Result<Vec<QueuedNeed>, StoreError> {
        SqlStore::queued_needs(self).await
    }

    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError> {
        let claimed = SqlStore::claim_jobs(self, claim).await?;
        let changes: Vec<Announce> = claimed
            .iter()
            .map(|(c, seq)| Announce::Appended(c.job.id, *seq))
            .collect();
        self.announce(&changes).await;
        Ok(claimed.into_iter().map(|(c, _)| c).collect())
    }

    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError> {
        SqlStore::heartbeat(self, lease, lease_ms).await
    }

    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError> {
        let seq = SqlStore::start_attempt(self, lease, iteration).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn record_actor_output(
        &self,
        lease: &Lease,
        output: ActorOutput<'_>,
    ) -> Result<(), StoreError> {
        let seq = SqlStore::record_actor_output(self, lease, output).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn record_execution(
        &self,
        lease: &Lease,
        run: ExecutionRecord<'_>,
    ) -> Result<(), StoreError> {
        let seq = SqlStore::record_execution(self, lease, run.iteration, run.execution).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn record_critique(
        &self,
        lease: &Lease,
        review: CritiqueRecord<'_>,
    ) -> Result<(), StoreError> {
        let CritiqueRecord {
            iteration,
            critique,
            call,
        } = review;
        let seq = SqlStore::record_critique(self, lease, iteration, critique, call).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn finish_attempt(
        &self,
        lease: &Lease,
        decision: AttemptDecision<'_>,
    ) -> Result<(), StoreError> {
        let AttemptDecision {
            iteration,
            status,
            feedback,
        } = decision;
        let seq = SqlStore::finish_attempt(self, lease, iteration, status, feedback).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError> {
        let seq = SqlStore::finish_job(self, lease, finish).await?;
        self.appended(lease.job, seq).await;
        Ok(())
    }

    async fn requeue_job(&self, lease: &Lease, requeue: Requeue<'_>) -> Result<u32, StoreError> {
        let Requeue { reason, delay_ms } = requeue;
        let (n, seq) = SqlStore::requeue_job(self, lease, reason, delay_ms, true).await?;
        self.announce(&[Announce::Queued, Announce::Appended(lease.job, seq)])
            .await;
        Ok(n)
    }

    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        let (_, seq) = SqlStore::requeue_job(self, lease, reason, 0, false).await?;
        self.announce(&[Announce::Queued, Announce::Appended(lease.job, seq)])
            .await;
        Ok(())
    }

    async fn listen(&self) -> Result<mpsc::Receiver<Signal>, StoreError> {
        B::listen(&self.pool, &self.hub).await
    }
}
