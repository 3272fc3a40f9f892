//! The seam between the shared SQL and a database: what truly differs between Postgres and
//! SQLite. Everything else — every query's text, every row's mapping — is written once, in
//! the modules that use [`Backend`].
//!
//! The shared code is generic over `B: Backend`. sqlx's bounds on a generic database are not
//! implied by a trait's `where` clause, so each `impl` block of the shared code repeats them
//! once (the `where` block on [`crate::SqlStore`]'s impls); the compiler checks that both
//! backends meet them.

use hone_domain::JobId;
use sqlx::types::Text;

/// A database the shared SQL runs on.
pub trait Backend: sqlx::Database {
    /// How a job id is stored: a native `UUID` on Postgres, its text form on SQLite (whose
    /// sqlx encoding of `Uuid` would be a 16-byte blob).
    type Id: for<'q> sqlx::Encode<'q, Self>
        + for<'r> sqlx::Decode<'r, Self>
        + sqlx::Type<Self>
        + Send
        + Sync
        + 'static;

    /// The name `/readyz` shows.
    const NAME: &'static str;

    /// Appended to the subquery that picks rows to lease, so concurrent claimers never take
    /// the same rows: `FOR UPDATE SKIP LOCKED` on Postgres; nothing on SQLite, whose single
    /// writer runs one claim at a time.
    const SKIP_LOCKED: &'static str;

    /// A job id as this database binds it.
    fn id(job: JobId) -> Self::Id;

    /// A job id as this database returned it.
    fn job_id(id: Self::Id) -> JobId;

    /// Announces a change to listeners in other processes, delivered when the transaction
    /// commits: Postgres `NOTIFY`; on SQLite nothing (its store broadcasts in-process after
    /// the commit, from what the shared call returns).
    fn notify<'c>(
        conn: &'c mut Self::Connection,
        channel: &'static str,
        payload: &'c str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c;

    /// Serialises the transactions that take the same `key` until they end: Postgres takes
    /// a transaction-scoped advisory lock; SQLite has one writer, so there is nothing to do.
    fn lock_key<'c>(
        conn: &'c mut Self::Connection,
        key: &'c str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c;
}

impl Backend for sqlx::Postgres {
    type Id = uuid::Uuid;
    const NAME: &'static str = "postgres";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    fn id(job: JobId) -> Self::Id {
        job.0
    }

    fn job_id(id: Self::Id) -> JobId {
        JobId(id)
    }

    async fn notify<'c>(
        conn: &'c mut Self::Connection,
        channel: &'static str,
        payload: &'c str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(payload)
            .execute(conn)
            .await
            .map(|_| ())
    }

    async fn lock_key<'c>(conn: &'c mut Self::Connection, key: &'c str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(key)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

impl Backend for sqlx::Sqlite {
    type Id = Text<uuid::Uuid>;
    const NAME: &'static str = "sqlite";
    const SKIP_LOCKED: &'static str = "";

    fn id(job: JobId) -> Self::Id {
        Text(job.0)
    }

    fn job_id(id: Self::Id) -> JobId {
        JobId(id.0)
    }

    async fn notify<'c>(
        _conn: &'c mut Self::Connection,
        _channel: &'static str,
        _payload: &'c str,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn lock_key<'c>(
        _conn: &'c mut Self::Connection,
        _key: &'c str,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }
}
