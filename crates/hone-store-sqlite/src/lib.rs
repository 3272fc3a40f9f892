//! The SQLite store, hone's embedded default (`sqlite://hone.db`): created and migrated on
//! first start, WAL journal, and a single writer connection, so claims and step writes are
//! serialised without `SKIP LOCKED` while readers run in parallel. Its queries are hone's
//! shared SQL ([`hone_store_sql`]); what is particular to SQLite there — steps as
//! transactions, in-process signals — is `hone_store_sql::backend::sqlite`.

use std::str::FromStr;
use std::time::Duration;

use hone_store::StoreError;
use hone_store_sql::{SqlStore, db_err};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// A SQLite database: one writer connection, several readers.
pub type SqliteStore = SqlStore<sqlx::Sqlite>;

/// Opens (creating if missing) the database at `url` (`sqlite://path`; `sqlite::memory:` is
/// not supported: readers and the writer must share a file) and applies pending migrations.
pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
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
    hone_store_sql::migrate(&MIGRATOR, &writer).await?;
    let reader = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options.read_only(true))
        .await
        .map_err(db_err)?;
    Ok(SqlStore::new(reader, writer))
}
