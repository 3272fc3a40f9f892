//! The live workers and what they serve, and what the queued jobs need: a worker writes its
//! row every few seconds; the API reads the rows seen lately to tell a queued job that no
//! running worker can serve.

use hone_domain::{Language, Timestamp};
use hone_store::{QueueStats, QueuedNeed, Serves, StoreError};
use macro_rules_attribute::apply;

use crate::rows::{self, get};
use crate::{SqlStore, db_err};

/// A worker unseen for this long has its row dropped.
const FORGET_MS: i64 = 86_400_000;

/// The names of a stored list (`,python,bash,`).
fn names(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter(|n| !n.is_empty())
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Records that worker `id` is alive and what it serves; forgets workers unseen a day.
    pub(crate) async fn worker_alive(&self, id: &str, serves: &Serves) -> Result<(), StoreError> {
        let now = self.now();
        let languages = Serves::list(serves.languages.iter().map(|l| l.as_str()));
        let providers = Serves::list(serves.providers.iter().map(String::as_str));
        sqlx::query(
            "INSERT INTO workers (id, languages, providers, seen_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET languages = excluded.languages, \
             providers = excluded.providers, seen_at = excluded.seen_at",
        )
        .bind(id)
        .bind(languages.as_str())
        .bind(providers.as_str())
        .bind(now)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        sqlx::query("DELETE FROM workers WHERE seen_at < $1")
            .bind(now - FORGET_MS)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    /// What the workers seen at or after `since` serve.
    pub(crate) async fn live_workers(&self, since: Timestamp) -> Result<Vec<Serves>, StoreError> {
        let found = sqlx::query("SELECT languages, providers FROM workers WHERE seen_at >= $1")
            .bind(since.as_millis())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                let languages: String = get::<B, _>(row, "languages")?;
                let providers: String = get::<B, _>(row, "providers")?;
                Ok(Serves {
                    languages: names(&languages).filter_map(Language::parse).collect(),
                    providers: names(&providers).map(str::to_owned).collect(),
                })
            })
            .collect()
    }

    /// What the queued jobs need, grouped, with their counts.
    pub(crate) async fn queued_needs(&self) -> Result<Vec<QueuedNeed>, StoreError> {
        let found = sqlx::query(
            "SELECT language, actor_provider, critic_provider, count(*) AS jobs FROM jobs \
             WHERE status = 'queued' GROUP BY language, actor_provider, critic_provider",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .filter_map(|row| {
                let language: String = match get::<B, _>(row, "language") {
                    Ok(l) => l,
                    Err(e) => return Some(Err(e)),
                };
                let language = Language::parse(&language)?;
                let need = (|| {
                    Ok(QueuedNeed {
                        language,
                        actor_provider: get::<B, _>(row, "actor_provider")?,
                        critic_provider: get::<B, _>(row, "critic_provider")?,
                        jobs: u64::try_from(get::<B, i64>(row, "jobs")?).unwrap_or(0),
                    })
                })();
                Some(need)
            })
            .collect()
    }

    /// The queue across tenants, in one statement (each part served by an index).
    pub(crate) async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM jobs WHERE status = 'queued') AS queued, \
             (SELECT count(*) FROM jobs WHERE status = 'running') AS running, \
             (SELECT min(created_at) FROM jobs WHERE status = 'queued') AS oldest, \
             (SELECT count(*) FROM webhook_outbox WHERE state = 'pending') AS backlog",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let count = |c: &str| rows::get::<B, i64>(&row, c).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(QueueStats {
            queued: count("queued")?,
            running: count("running")?,
            oldest_queued: rows::get::<B, Option<i64>>(&row, "oldest")?.map(Timestamp::from_millis),
            webhook_backlog: count("backlog")?,
        })
    }
}
