//! Retention: `hone prune --older-than 30d [--dry-run]`, and the hourly prune a running
//! process does when `HONE_RETENTION_DAYS` is set. Both delete finished jobs (with their
//! attempts, events and webhook deliveries) in batches of [`BATCH`], pausing between
//! batches so the engine and the API keep the database. And the stats compactor
//! ([`fold`]) every process runs.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use hone_domain::Timestamp;
use hone_store::{Store, StoreError};

use crate::config::PruneArgs;

/// Jobs a batch deletes.
pub const BATCH: u32 = 500;
/// The pause between batches.
const PAUSE: Duration = Duration::from_millis(50);
/// How often a process with a retention period prunes.
const EVERY: Duration = Duration::from_secs(3600);

/// How often the compactor folds ended jobs into the stats rollups.
const FOLD_EVERY: Duration = Duration::from_secs(2);
/// Jobs one fold takes (one transaction).
const FOLD_BATCH: u32 = 2_000;

/// Folds the jobs that ended into the stats rollups now and every [`FOLD_EVERY`] until
/// `stop` resolves, batch after batch while there are more. Several processes may run it
/// at once: the store serialises their folds.
pub async fn fold(store: Arc<dyn Store>, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(FOLD_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = tick.tick() => {}
        }
        loop {
            match store.fold_stats(FOLD_BATCH).await {
                Ok(n) if n >= u64::from(FOLD_BATCH) => {}
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "folding ended jobs into the stats rollups failed");
                    break;
                }
            }
        }
    }
}

/// The cut for "older than `age`": now minus `age`.
fn cut(age: Duration) -> Timestamp {
    let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
    Timestamp::from_millis(Timestamp::now().as_millis().saturating_sub(age_ms))
}

/// Deletes every finished job that ended before `cut`, batch by batch; returns how many.
pub async fn prune(store: &dyn Store, cut: Timestamp) -> Result<u64, StoreError> {
    let mut total = 0;
    loop {
        let n = store.prune_batch(cut, BATCH).await?;
        total += n;
        if n < u64::from(BATCH) {
            return Ok(total);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Runs `hone prune`.
pub async fn run(args: PruneArgs) -> anyhow::Result<()> {
    let store = crate::store::connect(&args.database.database_url).await?;
    let cut = cut(args.older_than);
    let mut out = std::io::stdout().lock();
    if args.dry_run {
        let n = store.count_prunable(cut).await?;
        writeln!(
            out,
            "would delete {n} finished jobs that ended before {}",
            cut.to_rfc3339()
        )?;
        return Ok(());
    }
    let n = prune(store.as_ref(), cut).await?;
    writeln!(
        out,
        "deleted {n} finished jobs that ended before {}",
        cut.to_rfc3339()
    )?;
    Ok(())
}

/// Prunes jobs older than `days` now and then every hour, until `stop` resolves.
pub async fn retention(store: Arc<dyn Store>, days: u32, stop: impl Future<Output = ()>) {
    let age = Duration::from_secs(u64::from(days) * 86_400);
    let mut stop = std::pin::pin!(stop);
    loop {
        // Stopping mid-prune is safe: each batch is one statement.
        let pruned = tokio::select! {
            () = &mut stop => return,
            r = prune(store.as_ref(), cut(age)) => r,
        };
        match pruned {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, days, "retention: deleted old finished jobs"),
            Err(e) => tracing::warn!(error = %e, "retention: prune failed; trying next hour"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}
