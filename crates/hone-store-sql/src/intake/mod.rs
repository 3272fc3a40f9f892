//! The [`hone_store::Intake`] topic: taking jobs in and cancelling them. Each change is
//! announced after its commit (a queued signal for workers, the appended event for streams).
//!
//! - [`jobs`] stores one submitted job and cancels one; [`batch`] stores many at once;
//! - [`bulk`] cancels every job a filter takes.

pub(crate) mod batch;
pub(crate) mod bulk;
pub(crate) mod jobs;

use async_trait::async_trait;
use hone_domain::{JobId, TenantId};
use hone_store::{
    BulkCancel, CancelOutcome, Enqueued, EnqueuedBatch, Intake, JobFilter, NewBatch, NewJob,
    StoreError,
};
use macro_rules_attribute::apply;

use crate::SqlStore;
use crate::backend::Announce;

#[apply(sql)]
#[async_trait]
impl<B> Intake for SqlStore<B> {
    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        let enqueued = SqlStore::enqueue_job(self, job).await?;
        if let Enqueued::Created(job) = &enqueued {
            self.announce(&[Announce::Queued, Announce::Appended(job.id, 1)])
                .await;
        }
        Ok(enqueued)
    }

    async fn enqueue_batch(&self, batch: NewBatch) -> Result<EnqueuedBatch, StoreError> {
        let enqueued = SqlStore::enqueue_batch(self, batch).await?;
        if let EnqueuedBatch::Created(ids) = &enqueued {
            let appended = ids.iter().map(|id| Announce::Appended(*id, 1));
            let changes: Vec<Announce> =
                std::iter::once(Announce::Queued).chain(appended).collect();
            self.announce(&changes).await;
        }
        Ok(enqueued)
    }

    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError> {
        let (outcome, seq) = SqlStore::request_cancel(self, tenant, id).await?;
        let flagged = (outcome == CancelOutcome::Requested).then_some(Announce::Cancel(id));
        let appended = seq.map(|seq| Announce::Appended(id, seq));
        let changes: Vec<Announce> = flagged.into_iter().chain(appended).collect();
        self.announce(&changes).await;
        Ok(outcome)
    }

    async fn cancel_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
    ) -> Result<BulkCancel, StoreError> {
        let done = SqlStore::cancel_jobs(self, tenant, filter).await?;
        let flagged = done.flagged.into_iter().map(Announce::Cancel);
        let appended = done
            .appended
            .into_iter()
            .map(|(id, seq)| Announce::Appended(id, seq));
        let changes: Vec<Announce> = flagged.chain(appended).collect();
        self.announce(&changes).await;
        Ok(done.counts)
    }
}
