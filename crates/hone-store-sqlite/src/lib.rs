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

/// Creates the database file readable and writable by this user only (0600) when it does not
/// exist yet; SQLite gives its `-wal` and `-shm` files the same mode. An existing file keeps
/// the mode its operator gave it.
fn create_private(path: &std::path::Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    if path.as_os_str().is_empty() || path == std::path::Path::new(":memory:") || path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Database(Box::new(e))),
    }
}

/// Opens (creating if missing) the database at `url` (`sqlite://path`; `sqlite::memory:` is
/// not supported: readers and the writer must share a file) and applies pending migrations.
pub async fn connect(url: &str) -> Result<SqliteStore, StoreError> {
    let options = SqliteConnectOptions::from_str(url).map_err(db_err)?;
    create_private(options.get_filename())?;
    let options = options
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
