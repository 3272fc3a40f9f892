//! The Postgres store, for deployments with many API and worker processes: connecting and
//! migrating. Its queries are hone's shared SQL ([`hone_store_sql`]); what is particular to
//! Postgres there — `FOR UPDATE SKIP LOCKED` claims, steps in one statement, `NOTIFY` /
//! `LISTEN` signals — is `hone_store_sql::backend::postgres`.

#[cfg(feature = "testing")]
pub mod testing;

use std::str::FromStr;
use std::time::Duration;

use hone_store::StoreError;
use hone_store_sql::{SqlStore, db_err};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// A Postgres database behind a connection pool.
pub type PgStore = SqlStore<sqlx::Postgres>;

/// Connects to `url` (`postgres://...`) and applies pending migrations (under an advisory
/// lock, so concurrent starts are safe).
pub async fn connect(url: &str) -> Result<PgStore, StoreError> {
    let options = PgConnectOptions::from_str(url).map_err(db_err)?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(db_err)?;
    hone_store_sql::migrate(&MIGRATOR, &pool).await?;
    Ok(SqlStore::new(pool.clone(), pool))
}
