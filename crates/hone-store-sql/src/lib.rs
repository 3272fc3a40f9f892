//! hone's store written once: SQL that Postgres and SQLite both accept (numbered `$N`
//! placeholders, `CAST(… AS TEXT)` for JSON read as text, 64-bit integers everywhere), run
//! by [`SqlStore`] over any [`Backend`]. The backend crates keep only what truly differs:
//! connecting, claiming, how a step is written, how a commit is announced.
//!
//! - [`backend`] is the seam (the id type, the name);
//! - [`rows`] maps rows to domain types;
//! - [`reads`] holds the read queries: jobs, attempts, events.
//!
//! The move is under way: the read paths live here; the backends' write paths follow.

pub mod backend;
pub mod reads;
pub mod rows;

pub use backend::Backend;

use hone_store::StoreError;

/// The shared queries over a pool of `B`.
pub struct SqlStore<B: Backend> {
    pool: sqlx::Pool<B>,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

impl<B: Backend> SqlStore<B> {
    /// The shared queries over `pool` (on SQLite, the read-only pool for reads).
    pub fn new(pool: sqlx::Pool<B>) -> Self {
        Self { pool }
    }
}

/// A database error as the store reports it (the text stays in logs, never in an answer).
pub fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}
