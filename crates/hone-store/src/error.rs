//! Storage errors. The API maps them once, to generic 500s; their text only reaches logs.

use hone_domain::JobId;

/// What can go wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The worker no longer holds the job: its lease expired and another worker took it, the
    /// job was finished, or it was cancelled. The worker must stop working on it.
    #[error("lease on job {0} is lost")]
    LeaseLost(JobId),
    /// A step of an attempt was already recorded (or the attempt already exists).
    #[error("{step} of job {job} iteration {iteration} is already recorded")]
    StepExists {
        /// The job.
        job: JobId,
        /// The iteration.
        iteration: u32,
        /// Which step: `attempt`, `code`, `execution`, `critique`, `decision`.
        step: &'static str,
    },
    /// The dispatcher no longer holds the outbox row: its lease expired and another
    /// dispatcher took it.
    #[error("lease on webhook delivery {0} is lost")]
    DeliveryLeaseLost(i64),
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be decoded.
    #[error("stored {what} could not be decoded: {source}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Migrations could not be applied.
    #[error("migration failed: {0}")]
    Migrate(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a decoding error of a stored JSON column.
    pub fn corrupt(what: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Corrupt {
            what,
            source: Box::new(e),
        }
    }
}

/// A stored enum name (status, event type) that this version does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored name {0:?}")]
pub struct UnknownName(pub String);
