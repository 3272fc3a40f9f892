//! Postgres announcements after the commit: every change a store call committed is sent as
//! a `NOTIFY` by one task, which folds the announcements waiting at that moment into one
//! statement (`pg_notify` over two arrays), in a transaction of its own.
//!
//! Why not `NOTIFY` inside the writing transaction: Postgres serialises the commits of all
//! transactions that notify (a global lock queues the notifications at commit), which
//! halved single-submission throughput. Sent after the commit, nothing is announced that
//! was not committed. The store call hands its announcement to the task and returns: the
//! engine's steps do not wait a round trip for it. A process that dies (or stops) between a
//! commit and its announcement loses that notification only: workers poll the queue every
//! second, live streams re-read the table when quiet, and the webhook dispatcher polls its
//! outbox, so nothing committed is missed for longer than that.

use std::sync::{Arc, OnceLock};

use sqlx::PgPool;
use tokio::sync::mpsc;

/// The most notifications one statement sends.
const MAX_BATCH: usize = 4096;

/// One store call's notifications: (channel, payload).
type Batch = Vec<(&'static str, String)>;

/// The handle every clone of a Postgres store shares. Its task starts with the first
/// announcement (a store may be built outside a runtime) and ends with the last handle.
#[derive(Clone)]
pub struct Notifier {
    pool: PgPool,
    queue: Arc<OnceLock<mpsc::UnboundedSender<Batch>>>,
}

impl Notifier {
    /// A notifier sending through `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            queue: Arc::default(),
        }
    }

    /// Hands `notes` (channel, payload) to the task, which sends them with whatever else
    /// waits (a failure is logged: listeners then catch up by polling, see the module
    /// header).
    pub fn send(&self, notes: Batch) {
        if notes.is_empty() {
            return;
        }
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(run(self.pool.clone(), rx));
            tx
        });
        // An error means the task ended with the runtime: nothing more can be sent.
        let _ = queue.send(notes);
    }
}

/// Sends what waits, one statement at a time, until every handle is gone.
async fn run(pool: PgPool, mut queue: mpsc::UnboundedReceiver<Batch>) {
    while let Some(first) = queue.recv().await {
        let mut channels = Vec::new();
        let mut payloads = Vec::new();
        let mut next = Some(first);
        while let Some(batch) = next.take() {
            for (channel, payload) in batch {
                channels.push(channel);
                payloads.push(payload);
            }
            if channels.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        let sent =
            sqlx::query("SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS n (c, p)")
                .bind(&channels)
                .bind(&payloads)
                .execute(&pool)
                .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, count = channels.len(), "NOTIFY after commit failed; listeners will poll");
        }
    }
}
