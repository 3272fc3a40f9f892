//! Signals across processes: `NOTIFY hone_jobs` when a job is queued,
//! `NOTIFY hone_cancel, '<job id>'` when a running job is to be cancelled and
//! `NOTIFY hone_events, '<job id> <seq>'` for every event (from the `events` trigger), sent in
//! the same transaction as the change, and a `LISTEN` connection per listener.

use hone_domain::JobId;
use hone_store::{EventSignal, Signal, StoreError};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use crate::db_err;

/// The channel of "a job was queued".
pub(crate) const JOBS: &str = "hone_jobs";
/// The channel of "cancel this running job" (payload: the job id).
pub(crate) const CANCEL: &str = "hone_cancel";
/// The channel of "an event was committed" (payload: `<job id> <seq>`).
pub(crate) const EVENTS: &str = "hone_events";

/// Listens on both channels. After a lost connection (notifications sent meanwhile are
/// gone) the listener is told `JobQueued` so it claims; lost cancels are caught by the lease
/// heartbeat.
pub(crate) async fn listen(pool: &PgPool) -> Result<mpsc::Receiver<Signal>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
    listener.listen_all([JOBS, CANCEL]).await.map_err(db_err)?;
    let (out, rx) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let signal = match listener.try_recv().await {
                Ok(Some(n)) if n.channel() == CANCEL => match n.payload().parse::<JobId>() {
                    Ok(id) => Signal::CancelRequested(id),
                    Err(_) => continue,
                },
                Ok(Some(_)) | Ok(None) => Signal::JobQueued,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    Signal::JobQueued
                }
            };
            if out.send(signal).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Listens for committed events. After a lost connection (notifications sent meanwhile are
/// gone) the listener is told `Resync`, so it re-reads what it follows from the tables.
pub(crate) async fn listen_events(
    pool: &PgPool,
) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
    let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
    listener.listen(EVENTS).await.map_err(db_err)?;
    let (out, rx) = mpsc::channel(4096);
    tokio::spawn(async move {
        loop {
            let signal = match listener.try_recv().await {
                Ok(Some(n)) => match parse_event(n.payload()) {
                    Some(s) => s,
                    None => continue,
                },
                Ok(None) => EventSignal::Resync,
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN hone_events failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    EventSignal::Resync
                }
            };
            if out.send(signal).await.is_err() {
                return;
            }
        }
    });
    Ok(rx)
}

/// Parses `<job id> <seq>`.
fn parse_event(payload: &str) -> Option<EventSignal> {
    let (job, seq) = payload.split_once(' ')?;
    Some(EventSignal::Appended {
        job: job.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}
