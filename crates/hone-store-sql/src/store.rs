//! [`Store`] for [`SqlStore`], once for both databases: each method runs the shared query
//! and, after the commit, announces the change through the backend
//! ([`Backend::announce`]: a broadcast on SQLite, nothing more on Postgres).

use async_trait::async_trait;
use hone_domain::{Attempt, Event, Job, JobId, KeyId, TenantId, Timestamp};
use hone_store::{
    Actor, ActorOutput, AttemptDecision, AuditEntry, AuditPage, BulkCancel, CancelOutcome,
    ClaimDeliveries, ClaimJobs, Claimed, CritiqueRecord, Delivery, DeliveryTry, DueDelivery,
    Enqueued, EnqueuedBatch, EventSignal, EventsPage, ExecutionRecord, FinishJob, JobControl,
    JobFilter, JobPage, KeyInfo, KeyRates, Lease, ListJobs, NewBatch, NewJob, NewKey, QueueStats,
    QuotaExceeded, Requeue, RotateSecret, Signal, Store, StoreError, TenantEvent, TenantQuotas,
    TenantUsage, WebhookSecret,
};
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::types::Json;
use tokio::sync::mpsc;

use crate::backend::Announce;
use crate::{Backend, SqlStore, db_err};

impl<B: Backend> SqlStore<B> {
    /// Announces that event `seq` of `job` has committed.
    fn appended(&self, job: JobId, seq: i64) {
        B::announce(&self.hub, Announce::Appended(job, seq));
    }
}

#[async_trait]
impl<B> Store for SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    B::Arguments: sqlx::IntoArguments<B>,
    for<'q> i64: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Option<i64>: sqlx::Encode<'q, B>,
    for<'q> &'q str: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, B>,
    for<'q> Option<B::Id>: sqlx::Encode<'q, B>,
    for<'q> Json<&'q RawValue>: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Json<&'q Value>: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Option<Json<&'q RawValue>>: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> bool: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    fn backend(&self) -> &'static str {
        <B as Backend>::NAME
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM tenants LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        let enqueued = SqlStore::enqueue_job(self, job).await?;
        if let Enqueued::Created(job) = &enqueued {
            B::announce(&self.hub, Announce::Queued);
            self.appended(job.id, 1);
        }
        Ok(enqueued)
    }

    async fn enqueue_batch(&self, batch: NewBatch) -> Result<EnqueuedBatch, StoreError> {
        let enqueued = SqlStore::enqueue_batch(self, batch).await?;
        if let EnqueuedBatch::Created(ids) = &enqueued {
            B::announce(&self.hub, Announce::Queued);
            for id in ids {
                self.appended(*id, 1);
            }
        }
        Ok(enqueued)
    }

    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError> {
        SqlStore::get_job(self, tenant, id).await
    }

    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError> {
        SqlStore::list_jobs(self, tenant, query).await
    }

    async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError> {
        SqlStore::list_attempts(self, tenant, id).await
    }

    async fn attempts_of_jobs(
        &self,
        tenant: &TenantId,
        ids: &[JobId],
    ) -> Result<Vec<(JobId, Attempt)>, StoreError> {
        SqlStore::attempts_of_jobs(self, tenant, ids).await
    }

    async fn add_lesson(&self, lesson: hone_store::NewLesson) -> Result<(), StoreError> {
        SqlStore::add_lesson(self, lesson).await
    }

    async fn find_lessons(
        &self,
        tenant: &TenantId,
        language: hone_domain::Language,
        task: &str,
        limit: usize,
    ) -> Result<Vec<hone_domain::lesson::Lesson>, StoreError> {
        SqlStore::find_lessons(self, tenant, language, task, limit).await
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        page: EventsPage,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        SqlStore::list_events(self, tenant, id, page.after, page.limit).await
    }

    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError> {
        let (outcome, seq) = SqlStore::request_cancel(self, tenant, id).await?;
        if outcome == CancelOutcome::Requested {
            B::announce(&self.hub, Announce::Cancel(id));
        }
        if let Some(seq) = seq {
            self.appended(id, seq);
        }
        Ok(outcome)
    }

    async fn stats(
        &self,
        tenant: &TenantId,
        query: hone_store::StatsQuery,
    ) -> Result<hone_store::Stats, StoreError> {
        SqlStore::stats(self, tenant, query).await
    }

    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError> {
        SqlStore::count_prunable(self, cut).await
    }

    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError> {
        SqlStore::prune_batch(self, cut, limit).await
    }

    async fn repair_stats(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<hone_store::RepairGroup>, StoreError> {
        SqlStore::repair_stats(self, tenant, since, until).await
    }

    async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        SqlStore::queue_stats(self).await
    }

    async fn worker_alive(&self, id: &str, serves: &hone_store::Serves) -> Result<(), StoreError> {
        SqlStore::worker_alive(self, id, serves).await
    }

    async fn live_workers(&self, since: Timestamp) -> Result<Vec<hone_store::Serves>, StoreError> {
        SqlStore::live_workers(self, since).await
    }

    async fn queued_needs(&self) -> Result<Vec<hone_store::QueuedNeed>, StoreError> {
        SqlStore::queued_needs(self).await
    }

    async fn cancel_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
    ) -> Result<BulkCancel, StoreError> {
        let done = SqlStore::cancel_jobs(self, tenant, filter).await?;
        for id in done.flagged {
            B::announce(&self.hub, Announce::Cancel(id));
        }
        for (id, seq) in done.appended {
            self.appended(id, seq);
        }
        Ok(done.counts)
    }

    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError> {
        let claimed = SqlStore::claim_jobs(self, claim).await?;
        Ok(claimed
            .into_iter()
            .map(|(c, seq)| {
                self.appended(c.job.id, seq);
                c
            })
            .collect())
    }

    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError> {
        SqlStore::heartbeat(self, lease, lease_ms).await
    }

    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError> {
        let seq = SqlStore::start_attempt(self, lease, iteration).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn record_actor_output(
        &self,
        lease: &Lease,
        output: ActorOutput<'_>,
    ) -> Result<(), StoreError> {
        let seq = SqlStore::record_actor_output(self, lease, output).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn record_execution(
        &self,
        lease: &Lease,
        run: ExecutionRecord<'_>,
    ) -> Result<(), StoreError> {
        let seq = SqlStore::record_execution(self, lease, run.iteration, run.execution).await?;
        self.appended(lease.job, seq);
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
        self.appended(lease.job, seq);
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
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError> {
        let seq = SqlStore::finish_job(self, lease, finish).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn requeue_job(&self, lease: &Lease, requeue: Requeue<'_>) -> Result<u32, StoreError> {
        let Requeue { reason, delay_ms } = requeue;
        let (n, seq) = SqlStore::requeue_job(self, lease, reason, delay_ms, true).await?;
        B::announce(&self.hub, Announce::Queued);
        self.appended(lease.job, seq);
        Ok(n)
    }

    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        let (_, seq) = SqlStore::requeue_job(self, lease, reason, 0, false).await?;
        B::announce(&self.hub, Announce::Queued);
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn listen(&self) -> Result<mpsc::Receiver<Signal>, StoreError> {
        B::listen(&self.pool, &self.hub).await
    }

    async fn listen_events(&self) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        B::listen_events(&self.pool, &self.hub).await
    }

    async fn read_events(
        &self,
        job: JobId,
        page: EventsPage,
    ) -> Result<Vec<TenantEvent>, StoreError> {
        SqlStore::read_events(self, job, page.after, page.limit).await
    }

    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        SqlStore::webhook_secrets(self, tenant, candidate).await
    }

    async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        SqlStore::rotate_webhook_secret(self, tenant, rotation).await
    }

    async fn claim_deliveries(
        &self,
        claim: ClaimDeliveries,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        SqlStore::claim_deliveries(self, &claim.worker, claim.limit, claim.lease_ms).await
    }

    async fn record_delivery(&self, delivery: &DeliveryTry) -> Result<(), StoreError> {
        SqlStore::record_delivery(self, delivery).await
    }

    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError> {
        SqlStore::list_deliveries(self, tenant, id).await
    }

    async fn set_quotas(
        &self,
        tenant: &TenantId,
        quotas: TenantQuotas,
    ) -> Result<bool, StoreError> {
        SqlStore::set_quotas(self, tenant, quotas).await
    }

    async fn tenant_usage(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<TenantUsage>, StoreError> {
        SqlStore::tenant_usage(self, tenant).await
    }

    async fn daily_quota_spent(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<QuotaExceeded>, StoreError> {
        SqlStore::daily_quota_spent(self, tenant).await
    }

    async fn create_key(&self, key: NewKey) -> Result<KeyInfo, StoreError> {
        SqlStore::create_key(self, key).await
    }

    async fn create_first_key(&self, key: NewKey) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::create_first_key(self, key).await
    }

    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
        SqlStore::touch_keys(self, used).await
    }

    async fn find_key(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::find_key(self, hash).await
    }

    async fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<KeyInfo>, StoreError> {
        SqlStore::list_keys(self, tenant).await
    }

    async fn revoke_key(
        &self,
        tenant: Option<&TenantId>,
        id: KeyId,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::revoke_key(self, tenant, id, by).await
    }

    async fn set_key_rates(
        &self,
        id: KeyId,
        rates: KeyRates,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::set_key_rates(self, id, rates, by).await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        page: AuditPage,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        SqlStore::list_audit(self, tenant, page).await
    }
}
