//! The SQLite store, hone's embedded default (`sqlite://hone.db`): created and migrated on
//! first start, WAL journal, and a single writer connection, so claims and step writes are
//! serialised without `SKIP LOCKED` while readers run in parallel.

mod client;
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
    CancelOutcome, ClaimJobs, Claimed, Enqueued, FinishJob, JobControl, JobPage, Lease, ListJobs,
    NewJob, Signal, Store, StoreError,
};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A SQLite database: one writer connection, several readers.
#[derive(Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    signals: tokio::sync::broadcast::Sender<Signal>,
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
            writer,
            reader,
            signals: signals::channel(),
        })
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
        let enqueued = client::enqueue_job(self, job).await?;
        if matches!(enqueued, Enqueued::Created(_)) {
            let _ = self.signals.send(Signal::JobQueued);
        }
        Ok(enqueued)
    }

    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError> {
        client::get_job(&self.reader, tenant, id).await
    }

    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError> {
        client::list_jobs(&self.reader, tenant, query).await
    }

    async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError> {
        client::list_attempts(&self.reader, tenant, id).await
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        client::list_events(&self.reader, tenant, id, after, limit).await
    }

    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError> {
        let outcome = client::request_cancel(&self.writer, tenant, id).await?;
        if outcome == CancelOutcome::Requested {
            let _ = self.signals.send(Signal::CancelRequested(id));
        }
        Ok(outcome)
    }

    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError> {
        worker::claim_jobs(&self.writer, claim).await
    }

    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError> {
        worker::heartbeat(&self.writer, lease, lease_ms).await
    }

    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError> {
        worker::start_attempt(&self.writer, lease, iteration).await
    }

    async fn record_actor_output(
        &self,
        lease: &Lease,
        iteration: u32,
        code: &str,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        worker::record_actor_output(&self.writer, lease, iteration, code, call).await
    }

    async fn record_execution(
        &self,
        lease: &Lease,
        iteration: u32,
        execution: &Execution,
    ) -> Result<(), StoreError> {
        worker::record_execution(&self.writer, lease, iteration, execution).await
    }

    async fn record_critique(
        &self,
        lease: &Lease,
        iteration: u32,
        critique: &Critique,
        call: &ModelCall,
    ) -> Result<(), StoreError> {
        worker::record_critique(&self.writer, lease, iteration, critique, call).await
    }

    async fn finish_attempt(
        &self,
        lease: &Lease,
        iteration: u32,
        status: AttemptStatus,
        feedback: Option<&Feedback>,
    ) -> Result<(), StoreError> {
        worker::finish_attempt(&self.writer, lease, iteration, status, feedback).await
    }

    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError> {
        worker::finish_job(&self.writer, lease, finish).await
    }

    async fn requeue_job(
        &self,
        lease: &Lease,
        reason: &str,
        delay_ms: u64,
    ) -> Result<u32, StoreError> {
        let n = worker::requeue_job(&self.writer, lease, reason, delay_ms, true).await?;
        let _ = self.signals.send(Signal::JobQueued);
        Ok(n)
    }

    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError> {
        worker::requeue_job(&self.writer, lease, reason, 0, false).await?;
        let _ = self.signals.send(Signal::JobQueued);
        Ok(())
    }

    async fn listen(&self) -> Result<tokio::sync::mpsc::Receiver<Signal>, StoreError> {
        Ok(signals::subscribe(&self.signals))
    }
}
