//! Test support: a fresh, empty database per test on the server named by
//! `HONE_TEST_POSTGRES_URL`, so tests never share state or depend on order.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Creates a new database and returns its URL. `None` when `HONE_TEST_POSTGRES_URL` is unset
/// (the caller skips); under `CI=true` that is a failure instead, so CI cannot pass by
/// skipping Postgres.
///
/// # Panics
/// When the server cannot be reached or the database cannot be created: a test set-up failure.
pub async fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("HONE_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but HONE_TEST_POSTGRES_URL is not set: Postgres tests must run in CI"
        );
        return None;
    };
    let options = PgConnectOptions::from_str(&base)
        .unwrap_or_else(|e| panic!("HONE_TEST_POSTGRES_URL is not a Postgres URL: {e}"));
    let mut admin = PgConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| panic!("cannot reach Postgres at HONE_TEST_POSTGRES_URL: {e}"));
    let name = format!("hone_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database: {e}"));
    let _ = admin.close().await;
    let mut url = url::Url::parse(&base)
        .unwrap_or_else(|e| panic!("HONE_TEST_POSTGRES_URL is not a URL: {e}"));
    url.set_path(&name);
    Some(url.to_string())
}
