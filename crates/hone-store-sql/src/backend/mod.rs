//! The seam between the shared SQL and a database: what truly differs between Postgres and
//! SQLite. Everything else — every query's text, every row's mapping — is written once, in
//! the modules that use [`Backend`].
//!
//! The two implementations are [`postgres`] and [`sqlite`].
//!
//! The shared code is generic over `B: Backend`. sqlx's bounds on a generic database are not
//! implied by a trait's `where` clause, so they are written once, in the crate's `sql` macro,
//! which `#[apply(sql)]` adds to each generic item; the compiler checks that both backends
//! meet them.

pub mod notifier;
pub mod postgres;
pub mod sqlite;

use hone_domain::JobId;
use hone_store::{EventSignal, Signal, StoreError};
use tokio::sync::mpsc;

use crate::work::steps::Step;

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

    /// The condition that a job's task matches the full-text query bound at `param`
    /// (made by [`Backend::text_query`]).
    fn text_match(param: &str) -> String;

    /// Search words (runs of letters and digits, never empty) as the query
    /// [`Backend::text_match`] binds: every word must appear, stemmed.
    fn text_query(words: &[&str]) -> String;

    /// The statement that finds a tenant's lessons (`$1`) of a language (`$2`) matching any
    /// word of the query bound at `$3` (made by [`Backend::lessons_query`]), best first, at
    /// most `$4`: columns `job_id`, `task`, `lesson`.
    fn lessons_sql() -> &'static str;

    /// Search words (runs of letters and digits, never empty) as the query
    /// [`Backend::lessons_sql`] binds: any word may match; more and rarer matches rank higher.
    fn lessons_query(words: &[String]) -> String;

    /// The statement that makes a just-begun read transaction read one snapshot (`REPEATABLE
    /// READ` on Postgres); empty on SQLite, whose read transactions are snapshots already.
    const SNAPSHOT: &'static str;

    /// The `FROM` item that unnests the critique issues of JSON column `column`, and how to
    /// read a field of one issue in it.
    fn critique_issues(column: &str) -> (String, fn(&str) -> String);

    /// JSON column `column` with the value at each path (keys from the top) replaced by a
    /// JSON literal of ours (never a client's text); a path whose parent is not an object
    /// is left alone, and a NULL column stays NULL.
    fn json_set(column: &str, sets: &[(&[&str], &str)]) -> String;

    /// A job id as this database binds it.
    fn id(job: JobId) -> Self::Id;

    /// A job id as this database returned it.
    fn job_id(id: Self::Id) -> JobId;

    /// Serialises the transactions that take the same `key` until they end: Postgres takes
    /// a transaction-scoped advisory lock; SQLite has one writer, so there is nothing to do.
    fn lock_key<'c>(
        conn: &'c mut Self::Connection,
        key: &'c str,
    ) -> impl Future<Output = Result<(), sqlx::Error>> + Send + 'c;

    /// The claim statement: leases up to `$7` claimable jobs (queued and due, or running
    /// with an expired lease) to worker `$1` until `$2`, at most `$8` running per tenant
    /// when `$8` is not null; `$3` to `$6` are now. When `$9` (languages) and `$10` (model
    /// providers) are not null, only jobs whose language and providers are in those lists
    /// (`,python,bash,`) are taken; the rest stay queued for other workers. It returns the columns
    /// of a job row (`rows::JOB_COLUMNS`),
    /// `last_seq`, `tenant_id` and `trace_parent` of each claimed job, whose `last_seq` it bumped.
    fn claim_sql() -> &'static str;

    /// What the store keeps to announce commits: SQLite's in-process broadcast channels;
    /// on Postgres the task that sends `NOTIFY` after commits ([`notifier`]).
    type Hub: Clone + Send + Sync + 'static;

    /// A new hub, at connect time, for the store writing through `pool`.
    fn hub(pool: &sqlx::Pool<Self>) -> Self::Hub;

    /// Tells listeners about changes that have just committed: SQLite broadcasts
    /// in-process; Postgres hands them to the task that sends them as one `NOTIFY`
    /// statement after the commit, never inside the writing transaction (see [`notifier`]).
    fn announce(hub: &Self::Hub, changes: &[Announce]) -> impl Future<Output = ()> + Send;

    /// Subscribes to job signals ("queued", "cancel requested").
    fn listen(
        pool: &sqlx::Pool<Self>,
        hub: &Self::Hub,
    ) -> impl Future<Output = Result<mpsc::Receiver<Signal>, StoreError>> + Send;

    /// Subscribes to "an event was committed".
    fn listen_events(
        pool: &sqlx::Pool<Self>,
        hub: &Self::Hub,
    ) -> impl Future<Output = Result<mpsc::Receiver<EventSignal>, StoreError>> + Send;

    /// Writes one attempt step under the lease, with its event, and returns the event's seq:
    /// one statement on Postgres (one round trip), a transaction on SQLite (which has no
    /// data-modifying `WITH`).
    fn write_step(
        pool: &sqlx::Pool<Self>,
        step: Step<'_>,
    ) -> impl Future<Output = Result<i64, StoreError>> + Send;
}

/// A change that has committed, as [`Backend::announce`] hears of it.
#[derive(Debug, Clone, Copy)]
pub enum Announce {
    /// A job was queued (or queued again).
    Queued,
    /// A cancel was requested for a running job.
    Cancel(JobId),
    /// Event `seq` of a job was appended.
    Appended(JobId, i64),
}
