//! hone's store written once: SQL that Postgres and SQLite both accept (numbered `$N`
//! placeholders, `CAST(… AS TEXT)` for JSON read as text, 64-bit integers everywhere), run
//! by [`SqlStore`] over any [`Backend`].
//!
//! - [`backend`] is the seam, what truly differs (the id type, the claim statement, how a
//!   step is written, how a commit is announced), one module a database;
//! - [`rows`] maps rows to domain types;
//! - [`intake`] stores submitted jobs and cancels them, [`batch`] many at once, [`bulk`]
//!   cancels every job a filter takes; [`events`] appends to a job's log;
//! - [`quotas`] checks and sets the tenants' quotas; [`retention`] deletes old finished jobs;
//! - [`lifecycle`] keeps a claimed job's lease, ends it, or sends it back to the queue;
//! - [`stats`] aggregates a tenant's history; [`reads`] holds the read queries: jobs, attempts, events, webhook deliveries; [`filter`]
//!   turns a history filter into SQL conditions;
//! - [`keys`] the tenants' API keys, by hash, and [`audit`] the log of their changes; [`secrets`] the tenants' webhook signing secrets; [`deliveries`] leases due outbox rows
//!   to dispatchers and records each try;
//! - [`steps`] claims jobs and writes the attempt steps, described once and written by
//!   the backend;
//! - [`store`] implements [`hone_store::Store`] for every backend.
//!
//! What lives in the backend crates: connecting, migrations and test support.

pub mod audit;
pub mod backend;
pub mod batch;
pub mod bulk;
pub mod deliveries;
pub mod events;
pub mod filter;
pub mod intake;
pub mod keys;
pub mod lessons;
pub mod lifecycle;
pub mod listing;
pub mod quotas;
pub mod reads;
pub mod repair;
pub mod retention;
pub mod rows;
pub mod secrets;
pub mod stats;
pub mod steps;
pub mod store;
pub mod workers;

pub use backend::Backend;

use std::sync::Arc;

use hone_store::{Clock, StoreError, SystemClock};

/// The shared queries over `B`'s pools.
pub struct SqlStore<B: Backend> {
    /// Where reads go (SQLite: a read-only pool beside the writer).
    pool: sqlx::Pool<B>,
    /// Where writes go (SQLite: its single writer connection; Postgres: the same pool).
    writer: sqlx::Pool<B>,
    /// How commits are announced in-process (see [`Backend::announce`]).
    hub: B::Hub,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// Which tenants have a quota, as last read ([`quotas`]).
    quota_tenants: quotas::QuotaTenants,
}

impl<B: Backend> Clone for SqlStore<B> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            writer: self.writer.clone(),
            hub: self.hub.clone(),
            clock: self.clock.clone(),
            quota_tenants: self.quota_tenants.clone(),
        }
    }
}

impl<B: Backend> SqlStore<B> {
    /// The shared queries, reading from `reads` and writing through `writes`.
    pub fn new(reads: sqlx::Pool<B>, writes: sqlx::Pool<B>) -> Self {
        Self {
            pool: reads,
            writer: writes,
            hub: B::hub(),
            clock: Arc::new(SystemClock),
            quota_tenants: quotas::QuotaTenants::default(),
        }
    }

    /// The same store, reading the time from `clock` (tests let leases expire with a
    /// [`hone_store::ManualClock`] instead of sleeping).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Today, as `tenant_usage.day` counts days (UTC), by the store's clock.
    pub(crate) fn today(&self) -> i64 {
        self.now().div_euclid(quotas::DAY_MS)
    }

    /// Now, in milliseconds since the epoch, by the store's clock.
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().as_millis()
    }

    /// The pool reads go to, for tests and tools that need raw access.
    pub fn pool(&self) -> &sqlx::Pool<B> {
        &self.pool
    }

    /// The pool writes go to (SQLite: the single writer; for tools that load data).
    pub fn writer(&self) -> &sqlx::Pool<B> {
        &self.writer
    }
}

/// Applies `migrator`'s pending migrations to `pool`.
pub async fn migrate<B>(
    migrator: &sqlx::migrate::Migrator,
    pool: &sqlx::Pool<B>,
) -> Result<(), StoreError>
where
    B: Backend,
    B::Connection: sqlx::migrate::Migrate,
{
    migrator
        .run(pool)
        .await
        .map_err(|e| StoreError::Migrate(Box::new(e)))
}

/// A database error as the store reports it (the text stays in logs, never in an answer).
pub fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(Box::new(e))
}

/// Milliseconds as the databases store them (saturating: a `u64` past `i64::MAX` is far
/// beyond any lease or delay).
pub(crate) fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
