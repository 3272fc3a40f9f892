//! Choosing the store once, from the database URL's scheme.

use std::sync::Arc;

use anyhow::{Context, bail};
use hone_store::Store;

/// Connects to (and migrates) the database named by `url`.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = hone_store_sqlite::connect(url)
            .await
            .with_context(|| format!("opening the SQLite database {url}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let store = hone_store_postgres::connect(url)
            .await
            .context("connecting to Postgres (check HONE_DATABASE_URL)")?;
        Ok(Arc::new(store))
    } else {
        bail!("HONE_DATABASE_URL must start with sqlite:// or postgres:// (got {url:?})")
    }
}
