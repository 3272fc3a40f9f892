//! SQLite rows through the shared mapping (`hone_store_sql::rows`), for the queries that
//! still live in this crate.

use hone_store::StoreError;
use sqlx::sqlite::SqliteRow;

pub(crate) use hone_store_sql::rows::JOB_COLUMNS;

/// A job row (from [`JOB_COLUMNS`]), mapped by the shared code.
pub(crate) fn job(row: &SqliteRow) -> Result<hone_domain::Job, StoreError> {
    hone_store_sql::rows::job::<sqlx::Sqlite>(row)
}
