//! hone's API tests: the real router, the real engine and sandbox, real databases (SQLite
//! always, Postgres when `HONE_TEST_POSTGRES_URL` is set), and a fake OpenAI-compatible model
//! server over real HTTP.

#![expect(
    clippy::expect_used,
    reason = "test helpers: a failure is a failed test"
)]

/// One case, one test per database: `on_both!(x_on_sqlite, x_on_postgres, case)` runs
/// `case(Backend::Sqlite)` and `case(Backend::Postgres)` (the latter skips where Postgres is
/// not configured, and fails under `CI`).
macro_rules! on_both {
    ($sqlite:ident, $postgres:ident, $case:path) => {
        #[tokio::test]
        async fn $sqlite() {
            $case(crate::helpers::Backend::Sqlite).await;
        }

        #[tokio::test]
        async fn $postgres() {
            $case(crate::helpers::Backend::Postgres).await;
        }
    };
}

mod access;
mod bad_input;
mod batch;
mod bodies;
mod broken_tests;
mod browser;
mod browser_flows;
mod caching;
mod cli;
mod cli_codes;
mod cluster;
mod compose;
mod connections;
mod cost;
mod dashboard;
mod dashboard_errors;
mod exports;
mod fake_model;
mod first_run;
mod helpers;
mod history;
mod jobs;
mod key_limits;
mod keys_cli;
mod lessons;
mod live;
mod loud_exports;
mod pages;
mod processes;
mod quotas;
mod receiver;
mod repair_stats;
mod retention;
mod secrets;
mod self_correction;
mod serving;
mod strategies;
mod streams;
mod tenancy;
mod untrusted_text;
mod watch;
mod webhooks;
