//! The store conformance suite against Postgres, a fresh database per test. Needs
//! `HONE_TEST_POSTGRES_URL`; without it the cases skip, except under `CI=true`, where a
//! missing Postgres fails the run.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::Arc;

use hone_store::{ManualClock, Store};

async fn fresh() -> Option<(Arc<dyn Store>, Arc<ManualClock>)> {
    let url = hone_store_postgres::testing::fresh_database().await?;
    let store = hone_store_postgres::connect(&url).await.expect("connect");
    let clock = Arc::new(ManualClock::default());
    Some((Arc::new(store.with_clock(clock.clone())), clock))
}

hone_store::conformance_suite!(fresh());
