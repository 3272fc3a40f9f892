//! Postgres rows through the shared mapping (`hone_store_sql::rows`), for the queries that
//! still live in this crate.

use hone_store::StoreError;
use sqlx::postgres::PgRow;

pub(crate) use hone_store_sql::rows::JOB_COLUMNS;

/// A job row (from [`JOB_COLUMNS`]), mapped by the shared code.
pub(crate) fn job(row: &PgRow) -> Result<hone_domain::Job, StoreError> {
    hone_store_sql::rows::job::<sqlx::Postgres>(row)
}
