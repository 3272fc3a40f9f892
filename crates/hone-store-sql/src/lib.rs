//! hone's store written once: SQL that Postgres and SQLite both accept (numbered `$N`
//! placeholders, `CAST(… AS TEXT)` for JSON read as text, 64-bit integers everywhere), run
//! by [`SqlStore`] over any [`Backend`].
//!
//! - [`backend`] is the seam, what truly differs (the id type, the claim statement, how a
//!   step is written, how a commit is announced), one module a database;
//! - one private module a topic of the store, of the same name as its trait in `hone-store`,
//!   implementing it with its announcements: `intake` ([`hone_store::Intake`]), `history`,
//!   `work`, `outbox`, `access`, `lessons`, `retention`; the [`hone_store::Store`] sum adds
//!   `backend` and `ping`, here;
//! - `rows` maps rows to domain types; `events` appends to a job's log (intake and work);
//! - the sqlx bounds every generic item needs are written once, in the `sql` macro that
//!   `#[apply(sql)]` puts on each item.
//!
//! What lives in the backend crates: connecting, migrations and test support.

/// Gives the item it decorates (`#[apply(sql)]`: an `impl<B>` block of [`SqlStore`], or an
/// `fn` generic over `B`) the bounds every shared query needs: `B` is a [`Backend`] and
/// sqlx can run statements on its connections, bind our parameter types and read our column
/// types. Rust does not imply such bounds from a trait, so without this they would be
/// written out on every generic item; here they are written once, and the compiler checks
/// that both backends meet them.
macro_rules! sql {
    ($(#[$m:meta])* impl<B> $topic:ident for SqlStore<B> { $($body:tt)* }) => {
        sql!(@where [$(#[$m])* impl<B> $topic for SqlStore<B>] { $($body)* });
    };
    ($(#[$m:meta])* impl<B> SqlStore<B> { $($body:tt)* }) => {
        sql!(@where [$(#[$m])* impl<B> SqlStore<B>] { $($body)* });
    };
    ($(#[$m:meta])* $v:vis async fn $f:ident<B>($($arg:tt)*) -> $ret:ty { $($body:tt)* }) => {
        sql!(@where [$(#[$m])* $v async fn $f<B>($($arg)*) -> $ret] { $($body)* });
    };
    (@where [$($head:tt)*] { $($body:tt)* }) => {
        $($head)*
        where
            B: $crate::Backend,
            for<'c> &'c mut B::Connection: ::sqlx::Executor<'c, Database = B>,
            B::Arguments: ::sqlx::IntoArguments<B>,
            for<'q> i64: ::sqlx::Encode<'q, B> + ::sqlx::Type<B>,
            for<'q> Option<i64>: ::sqlx::Encode<'q, B>,
            for<'q> &'q str: ::sqlx::Encode<'q, B> + ::sqlx::Type<B>,
            for<'q> Option<&'q str>: ::sqlx::Encode<'q, B>,
            for<'q> Option<B::Id>: ::sqlx::Encode<'q, B>,
            for<'q> ::sqlx::types::Json<&'q ::serde_json::value::RawValue>:
                ::sqlx::Encode<'q, B> + ::sqlx::Type<B>,
            for<'q> Option<::sqlx::types::Json<&'q ::serde_json::value::RawValue>>:
                ::sqlx::Encode<'q, B> + ::sqlx::Type<B>,
            for<'q> ::sqlx::types::Json<&'q ::serde_json::Value>:
                ::sqlx::Encode<'q, B> + ::sqlx::Type<B>,
            for<'r> i64: ::sqlx::Decode<'r, B> + ::sqlx::Type<B>,
            for<'r> String: ::sqlx::Decode<'r, B> + ::sqlx::Type<B>,
            for<'r> Option<String>: ::sqlx::Decode<'r, B>,
            for<'r> bool: ::sqlx::Decode<'r, B> + ::sqlx::Type<B>,
            for<'a> &'a str: ::sqlx::ColumnIndex<B::Row>,
        { $($body)* }
    };
}

mod access;
pub mod backend;
mod events;
mod history;
mod intake;
mod lessons;
mod outbox;
mod retention;
mod rows;
mod work;

pub use backend::Backend;

use std::sync::Arc;

use async_trait::async_trait;
use hone_store::{Clock, Store, StoreError, SystemClock};
use macro_rules_attribute::apply;

use crate::backend::Announce;

/// The shared queries over `B`'s pools.
pub struct SqlStore<B: Backend> {
    /// Where reads go (SQLite: a read-only pool beside the writer).
    pool: sqlx::Pool<B>,
    /// Where writes go (SQLite: its single writer connection; Postgres: the same pool).
    writer: sqlx::Pool<B>,
    /// How commits are announced (see [`Backend::announce`]).
    hub: B::Hub,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// Which tenants have a quota, as last read ([`quotas`]).
    quota_tenants: access::quotas::QuotaTenants,
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
        let hub = B::hub(&writes);
        Self {
            pool: reads,
            writer: writes,
            hub,
            clock: Arc::new(SystemClock),
            quota_tenants: access::quotas::QuotaTenants::default(),
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
        self.now().div_euclid(access::quotas::DAY_MS)
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

impl<B: Backend> SqlStore<B> {
    /// Announces changes that have committed (each topic calls it after its commit, so
    /// workers and live streams hear of them at once).
    pub(crate) async fn announce(&self, changes: &[Announce]) {
        B::announce(&self.hub, changes).await;
    }

    /// Announces that event `seq` of `job` has committed.
    pub(crate) async fn appended(&self, job: hone_domain::JobId, seq: i64) {
        self.announce(&[Announce::Appended(job, seq)]).await;
    }
}

#[apply(sql)]
#[async_trait]
impl<B> Store for SqlStore<B> {
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
