//! hone's store written once: SQL that Postgres and SQLite both accept (numbered `$N`
//! placeholders, `CAST(… AS TEXT)` for JSON read as text, 64-bit integers everywhere), run
//! by [`SqlStore`] over any [`Backend`]. The backend crates keep only what truly differs:
//! connecting, claiming, how a step is written, how a commit is announced.
//!
//! - [`backend`] is the seam (the id type, the name);
//! - [`rows`] maps rows to domain types;
//! - [`intake`] stores submitted jobs and cancels them; [`events`] appends to a job's log;
//! - [`reads`] holds the read queries: jobs, attempts, events, webhook deliveries;
//! - [`secrets`] the tenants' webhook signing secrets; [`deliveries`] leases due outbox rows
//!   to dispatchers and records each try.
//!
//! The move is under way: the reads and the webhook paths live here; the backends' job
//! writes follow.

pub mod backend;
pub mod deliveries;
pub mod events;
pub mod intake;
pub mod reads;
pub mod rows;
pub mod secrets;

pub use backend::Backend;

use hone_store::StoreError;

/// The shared queries over `B`'s pools.
pub struct SqlStore<B: Backend> {
    /// Where reads go (SQLite: a read-only pool beside the writer).
    pool: sqlx::Pool<B>,
    /// Where writes go (SQLite: its single writer connection; Postgres: the same pool).
    writer: sqlx::Pool<B>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
        }
    }
}

impl<B: Backend> SqlStore<B> {
    /// The shared queries, reading from `reads` and writing through `writes`.
    pub fn new(reads: sqlx::Pool<B>, writes: sqlx::Pool<B>) -> Self {
        Self {
            pool: reads,
            writer: writes,
        }
    }
}

/// A database error as the store reports it (the text stays in logs, never in an answer).
pub fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}
