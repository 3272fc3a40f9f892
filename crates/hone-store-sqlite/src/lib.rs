//! The SQLite store, hone's embedded default (`sqlite://hone.db`): created and migrated on
//! first start, WAL journal, and a single writer connection, so claims and step writes are
//! serialised without `SKIP LOCKED` while readers run in parallel.

mod rows;
mod signals;
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
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::mpsc;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A SQLite database: one writer connection, several readers.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// The shared queries: reads on the read-only pool, writes through the writer.
    sql: hone_store_sql::SqlStore<sqlx::Sqlite>,
    signals: tokio::sync::broadcast::Sender<Signal>,
    events: tokio::sync::broadcast::Sender<EventSignal>,
}

pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://path` or
    /// `sqlite::memory:` is not supported: readers and the writer must share a file) and applies
    /// pending migrations.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(db_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(db_err)?;
        MIGRATOR
            .run(&writer)
            .await
            .map_err(|e| StoreError::Migrate(Box::new(e)))?;
        let reader = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await
            .map_err(db_err)?;
        Ok(Self {
            sql: hone_store_sql::SqlStore::new(reader.clone(), writer.clone()),
            writer,
            reader,
            signals: signals::channel(),
            events: signals::events_channel(),
        })
    }

    /// Tells live-event listeners that `seq` of `job` is committed.
    fn appended(&self, job: JobId, seq: i64) {
        let seq = u64::try_from(seq).unwrap_or(0);
        let _ = self.events.send(EventSignal::Appended { job, seq });
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1 FROM tenants LIMIT 1")
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        let enqueued = self.sql.enqueue_job(job).await?;
        if let Enqueued::Created(job) = &enqueued {
            let _ = self.signals.send(Signal::JobQueued);
            self.appended(job.id, 1);
        }
        Ok(enqueued)
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
        let (outcome, seq) = self.sql.request_cancel(tenant, id).await?;
        if outcome == CancelOutcome::Requested {
            let _ = self.signals.send(Signal::CancelRequested(id));
        }
        if let Some(seq) = seq {
            self.appended(id, seq);
        }
        Ok(outcome)
    }

    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError> {
        let claimed = worker::claim_jobs(&self.writer, claim).await?;
        Ok(claimed
            .into_iter()
            .map(|(c, seq)| {
                self.appended(c.job.id, seq);
                c
            })
            .collect())
    }

    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError> {
        self.sql.heartbeat(lease, lease_ms).await
    }

    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError> {
        let seq = worker::start_attempt(&self.writer, lease, iteration).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn record_actor_output(
        &self,
        lease: &Lease,
        iteration: u32,
        code: &str,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        let seq = worker::record_actor_output(&self.writer, lease, iteration, code, call).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn record_execution(
        &self,
        lease: &Lease,
        iteration: u32,
        execution: &Execution,
    ) -> Result<(), StoreError> {
        let seq = worker::record_execution(&self.writer, lease, iteration, execution).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn record_critique(
        &self,
        lease: &Lease,
        iteration: u32,
        critique: &Critique,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        let seq = worker::record_critique(&self.writer, lease, iteration, critique, call).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn finish_attempt(
        &self,
        lease: &Lease,
        iteration: u32,
        status: AttemptStatus,
        feedback: Option<&Feedback>,
    ) -> Result<(), StoreError> {
        let seq = worker::finish_attempt(&self.writer, lease, iteration, status, feedback).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError> {
        let seq = self.sql.finish_job(lease, finish).await?;
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn requeue_job(
        &self,
        lease: &Lease,
        reason: &str,
        delay_ms: u64,
    ) -> Result<u32, StoreError> {
        let (n, seq) = self.sql.requeue_job(lease, reason, delay_ms, true).await?;
        let _ = self.signals.send(Signal::JobQueued);
        self.appended(lease.job, seq);
        Ok(n)
    }

    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        let (_, seq) = self.sql.requeue_job(lease, reason, 0, false).await?;
        let _ = self.signals.send(Signal::JobQueued);
        self.appended(lease.job, seq);
        Ok(())
    }

    async fn listen(&self) -> Result<tokio::sync::mpsc::Receiver<Signal>, StoreError> {
        Ok(signals::subscribe(&self.signals))
    }

    async fn listen_events(&self) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        Ok(signals::subscribe_events(&self.events))
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
