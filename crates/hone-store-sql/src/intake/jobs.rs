//! What clients write: a job with its `job.queued` event (idempotent under a key), and a
//! cancel (a queued job ends at once; a running one is flagged for its worker).
//!
//! Both return what they changed; the topic announces it after the commit
//! ([`crate::backend::Backend::announce`]).

use hone_domain::{EventType, Job, JobId, JobStatus, Outcome, OutcomeReason, TenantId};
use hone_store::{CancelOutcome, Enqueued, NewJob, QuotaExceeded, StoreError};
use macro_rules_attribute::apply;
use serde_json::json;
use serde_json::value::RawValue;
use sqlx::AssertSqlSafe;
use sqlx::types::Json;

use crate::access::quotas::OVER_QUOTA;
use crate::events::{insert_event, json};
use crate::rows::{self, JOB_COLUMNS, get};
use crate::{SqlStore, db_err};

/// The channel that wakes workers when a job is queued.
pub const JOBS_CHANNEL: &str = "hone_jobs";
/// The channel that tells workers a running job is to be cancelled (payload: its id).
pub const CANCEL_CHANNEL: &str = "hone_cancel";

/// The columns a submission writes, in the order of its values.
const INSERT_COLUMNS: &str = "id, tenant_id, status, priority, language, spec, metadata, \
    idempotency_key, request_fingerprint, last_seq, available_at, created_at, updated_at, \
    webhook_url, webhook_events, retry_of, trace_parent, spec_bytes, actor_provider, \
    critic_provider";

/// The outcome of a job cancelled while still queued, as stored.
pub(crate) fn cancelled_outcome() -> Result<Box<RawValue>, StoreError> {
    json(
        "outcome",
        &Outcome {
            reason: OutcomeReason::Cancelled,
            accepted_iteration: None,
            code: None,
            message: Some("cancelled before a worker started it".to_owned()),
        },
    )
}

/// Whether `e` is SQLite failing the first write after another connection changed the
/// schema: a statement whose triggers write the full-text index (FTS5) is then refused with
/// "no such table" once, while its connection reloads the schema; run again, it succeeds.
/// (Seen with SQLite 3.40 and 3.51; Postgres never says this of a table that exists.)
pub(crate) fn is_stale_schema(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.message().starts_with("no such table: jobs"))
}

/// Whether `e` is a unique-key violation (an idempotency key taken meanwhile).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

fn existing((job, fingerprint): (Job, Option<String>), wanted: &str) -> Enqueued {
    if fingerprint.as_deref() == Some(wanted) {
        Enqueued::Existing(job)
    } else {
        Enqueued::KeyReused
    }
}

/// One job's INSERT values.
#[derive(Clone, Copy)]
struct Row<'a> {
    job: &'a NewJob,
    spec: &'a RawValue,
    metadata: &'a RawValue,
    now: i64,
}

#[apply(sql)]
impl<B> SqlStore<B> {
    async fn find_by_key(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(Job, Option<String>)>, StoreError> {
        let sql = format!(
            "SELECT {JOB_COLUMNS}, request_fingerprint FROM jobs \
             WHERE tenant_id = $1 AND idempotency_key = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(key)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?;
        row.map(|r| Ok((rows::job::<B>(&r)?, get::<B, _>(&r, "request_fingerprint")?)))
            .transpose()
    }

    /// Stores a queued job and its `job.queued` event (seq 1) in one statement: the `jobs`
    /// trigger appends the event (and on Postgres wakes the workers) inside the INSERT's own
    /// transaction, and the INSERT's own `WHERE` checks the tenant's quotas. Under an
    /// idempotency key, a job stored before with the same fingerprint is returned instead.
    pub(crate) async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError> {
        if let Some(idem) = &job.idempotency
            && let Some(found) = self.find_by_key(&job.tenant, &idem.key).await?
        {
            return Ok(existing(found, &idem.fingerprint));
        }
        let now_ts = self.clock.now();
        let now = now_ts.as_millis();
        let spec = json("spec", &job.spec)?;
        let metadata = json("metadata", &job.spec.metadata)?;
        // A tenant with a quota gets the check in the INSERT's own WHERE; the others, most,
        // the plain INSERT. A refused INSERT is named by a second read; if that finds room
        // (a queued job started in between), it is tried again.
        let checked = self.has_quota(&job.tenant).await?;
        let row = Row {
            job: &job,
            spec: &spec,
            metadata: &metadata,
            now,
        };
        let mut tries = 0;
        let inserted = loop {
            tries += 1;
            let stored = self.insert(row, checked).await;
            if let Ok(false) = stored {
                let mut conn = self.writer.acquire().await.map_err(db_err)?;
                match self.over_quota(&mut conn, &job.tenant, 1).await? {
                    Some(quota) => return Ok(Enqueued::OverQuota(quota)),
                    None if tries < 3 => continue,
                    None => {
                        return Ok(Enqueued::OverQuota(QuotaExceeded::QueuedJobs {
                            limit: self.queued_quota(&job.tenant).await?,
                        }));
                    }
                }
            }
            if let Err(e) = &stored
                && is_stale_schema(e)
                && tries < 3
            {
                continue;
            }
            break stored;
        };
        match inserted {
            Ok(_) => Ok(Enqueued::Created(job.queued(now_ts))),
            Err(e) if is_unique_violation(&e) && job.idempotency.is_some() => {
                let Some(idem) = &job.idempotency else {
                    return Err(db_err(e));
                };
                Ok(match self.find_by_key(&job.tenant, &idem.key).await? {
                    Some(found) => existing(found, &idem.fingerprint),
                    None => Enqueued::KeyInFlight,
                })
            }
            Err(e) => Err(db_err(e)),
        }
    }

    /// Runs the job's INSERT once: `Ok(false)` when a quota check refused it. With
    /// `checked`, the quota check is in the INSERT's own WHERE (`$14` today, `$15` the one
    /// job; the spec's size and providers are then `$16` to `$18`).
    async fn insert(&self, row: Row<'_>, checked: bool) -> Result<bool, sqlx::Error> {
        let Row {
            job,
            spec,
            metadata,
            now,
        } = row;
        let sql = if checked {
            format!(
                "INSERT INTO jobs ({INSERT_COLUMNS}) \
                 SELECT $1, $2, 'queued', $3, $4, $5, $6, $7, $8, 1, $9, $9, $9, $10, $11, $12, $13, $16, \
                 $17, $18 WHERE NOT EXISTS ({OVER_QUOTA}) RETURNING 1 AS stored"
            )
        } else {
            format!(
                "INSERT INTO jobs ({INSERT_COLUMNS}) \
                 VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, 1, $9, $9, $9, $10, $11, $12, $13, $14, \
                 $15, $16)"
            )
        };
        let (key, fingerprint) = job
            .idempotency
            .as_ref()
            .map(|i| (Some(i.key.as_str()), Some(i.fingerprint.as_str())))
            .unwrap_or_default();
        let webhook_url = job.spec.webhook.as_ref().map(|w| w.url.as_str());
        let webhook_events = job.spec.webhook.as_ref().map(|w| w.stored_filter());
        let query = sqlx::query(AssertSqlSafe(sql))
            .bind(B::id(job.id))
            .bind(job.tenant.as_str())
            .bind(i64::from(job.spec.priority))
            .bind(job.spec.language.as_str())
            .bind(Json(spec))
            .bind(Json(metadata))
            .bind(key)
            .bind(fingerprint)
            .bind(now)
            .bind(webhook_url)
            .bind(webhook_events.as_deref())
            .bind(job.retry_of.map(B::id))
            .bind(job.trace_parent.as_deref());
        let spec_bytes = i64::try_from(spec.get().len()).unwrap_or(i64::MAX);
        let query = if checked {
            query.bind(self.today()).bind(1_i64)
        } else {
            query
        };
        let query = query
            .bind(spec_bytes)
            .bind(job.spec.actor.provider.as_str())
            .bind(job.spec.critic.as_ref().map(|c| c.provider.as_str()));
        // `fetch_all`, not `fetch_optional`: SQLite commits an autocommit statement only
        // once it has run to its end (one left mid-way held the write transaction open
        // and made the batch benchmark 2x slower).
        if checked {
            let rows = query.fetch_all(&self.writer).await?;
            Ok(!rows.is_empty())
        } else {
            query.execute(&self.writer).await.map(|_| true)
        }
    }

    /// Cancels a queued job at once, or flags a running one for its worker. Returns what
    /// happened and, when an event was appended, its seq.
    pub(crate) async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<(CancelOutcome, Option<i64>), StoreError> {
        let now = self.now();
        let outcome = cancelled_outcome()?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let queued = sqlx::query(
            "UPDATE jobs SET status = 'cancelled', outcome = $1, finished_at = $2, \
             updated_at = $2, last_seq = last_seq + 1 \
             WHERE tenant_id = $3 AND id = $4 AND status = 'queued' RETURNING last_seq",
        )
        .bind(Json(&*outcome))
        .bind(now)
        .bind(tenant.as_str())
        .bind(B::id(id))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some(row) = queued {
            let seq: i64 = get::<B, _>(&row, "last_seq")?;
            let data = json!({"status": "cancelled", "reason": "cancelled"});
            insert_event::<B>(
                &mut tx,
                id,
                tenant.as_str(),
                seq,
                EventType::JobCancelled,
                data,
                now,
            )
            .await?;
            tx.commit().await.map_err(db_err)?;
            return Ok((CancelOutcome::Cancelled, Some(seq)));
        }
        let flagged = sqlx::query(
            "UPDATE jobs SET cancel_requested = TRUE, updated_at = $1 \
             WHERE tenant_id = $2 AND id = $3 AND status = 'running' RETURNING id",
        )
        .bind(now)
        .bind(tenant.as_str())
        .bind(B::id(id))
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .is_some();
        tx.commit().await.map_err(db_err)?;
        if flagged {
            return Ok((CancelOutcome::Requested, None));
        }
        let status = sqlx::query("SELECT status FROM jobs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(B::id(id))
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?
            .map(|row| get::<B, String>(&row, "status"))
            .transpose()?;
        let outcome = match status.as_deref().and_then(JobStatus::parse) {
            Some(s) => CancelOutcome::AlreadyFinished(s),
            None => CancelOutcome::NotFound,
        };
        Ok((outcome, None))
    }
}
