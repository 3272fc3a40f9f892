//! The Postgres store, for deployments with many API and worker processes: claims take rows
//! with `FOR UPDATE SKIP LOCKED`, so workers never wait on each other or take the same job.

mod rows;
mod signals;
pub mod testing;
mod worker;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use hone_domain::{
    Attempt, AttemptStatus, Critique, Event, Execution, Feedback, Job, JobId, ModelCall, TenantId,
};
use hone_store::{
    CancelOutcome, ClaimJobs, Claimed, Delivery, DeliveryTry, DueDelivery, Enqueued, EventSignal,
    FinishJob, JobControl, JobPage, Lease, ListJobs, NewJob, RotateSecret, Signal, Store,
    StoreError, TenantEvent, WebhookSecret,
};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::sync::mpsc;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A Postgres database behind a connection pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The shared queries, over the same pool.
    sql: hone_store_sql::SqlStore<sqlx::Postgres>,
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

impl PgStore {
    /// Connects to `url` (`postgres://...`) and applies pending migrations (under an advisory
    /// lock, so concurrent starts are safe).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url).map_err(db_err)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e)))?;
        Ok(Self {
            sql: hone_store_sql::SqlStore::new(pool.clone(), pool.clone()),
            pool,
        })
    }

    /// The pool, for tests and tools that need raw access.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM tenants LIMIT 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        self.sql.enqueue_job(job).await
    }

    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError> {
        self.sql.get_job(tenant, id).await
    }

    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError> {
        self.sql.list_jobs(tenant, query).await
    }

    async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError> {
        self.sql.list_attempts(tenant, id).await
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        self.sql.list_events(tenant, id, after, limit).await
    }

    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError> {
        self.sql
            .request_cancel(tenant, id)
            .await
            .map(|(outcome, _)| outcome)
    }

    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError> {
        worker::claim_jobs(&self.pool, claim).await
    }

    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError> {
        self.sql.heartbeat(lease, lease_ms).await
    }

    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError> {
        worker::start_attempt(&self.pool, lease, iteration).await
    }

    async fn record_actor_output(
        &self,
        lease: &Lease,
        iteration: u32,
        code: &str,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        worker::record_actor_output(&self.pool, lease, iteration, code, call).await
    }

    async fn record_execution(
        &self,
        lease: &Lease,
        iteration: u32,
        execution: &Execution,
    ) -> Result<(), StoreError> {
        worker::record_execution(&self.pool, lease, iteration, execution).await
    }

    async fn record_critique(
        &self,
        lease: &Lease,
        iteration: u32,
        critique: &Critique,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        worker::record_critique(&self.pool, lease, iteration, critique, call).await
    }

    async fn finish_attempt(
        &self,
        lease: &Lease,
        iteration: u32,
        status: AttemptStatus,
        feedback: Option<&Feedback>,
    ) -> Result<(), StoreError> {
        worker::finish_attempt(&self.pool, lease, iteration, status, feedback).await
    }

    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError> {
        self.sql.finish_job(lease, finish).await.map(|_| ())
    }

    async fn requeue_job(
        &self,
        lease: &Lease,
        reason: &str,
        delay_ms: u64,
    ) -> Result<u32, StoreError> {
        let (n, _) = self.sql.requeue_job(lease, reason, delay_ms, true).await?;
        Ok(n)
    }

    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        self.sql.requeue_job(lease, reason, 0, false).await?;
        Ok(())
    }

    async fn listen(&self) -> Result<tokio::sync::mpsc::Receiver<Signal>, StoreError> {
        signals::listen(&self.pool).await
    }

    async fn listen_events(&self) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        signals::listen_events(&self.pool).await
    }

    async fn read_events(
        &self,
        job: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TenantEvent>, StoreError> {
        self.sql.read_events(job, after, limit).await
    }

    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        self.sql.webhook_secrets(tenant, candidate).await
    }

    async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        self.sql.rotate_webhook_secret(tenant, rotation).await
    }

    async fn claim_deliveries(
        &self,
        worker: &str,
        limit: u32,
        lease_ms: u64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        self.sql.claim_deliveries(worker, limit, lease_ms).await
    }

    async fn record_delivery(&self, delivery: &DeliveryTry) -> Result<(), StoreError> {
        self.sql.record_delivery(delivery).await
    }

    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError> {
        self.sql.list_deliveries(tenant, id).await
    }
}
