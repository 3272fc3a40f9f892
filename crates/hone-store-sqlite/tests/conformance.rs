//! The store conformance suite against SQLite, a fresh database file per test.

#![expect(
    clippy::expect_used,
    reason = "test set-up: a failure here is a failed test"
)]

use std::sync::Arc;

use hone_store::{ManualClock, Store};

async fn fresh() -> Option<(Arc<dyn Store>, Arc<ManualClock>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hone.db").display());
    let store = hone_store_sqlite::connect(&url).await.expect("connect");
    // The directory must outlive the test: leak it (the OS cleans /tmp).
    std::mem::forget(dir);
    let clock = Arc::new(ManualClock::default());
    Some((Arc::new(store.with_clock(clock.clone())), clock))
}

hone_store::conformance_suite!(fresh());
