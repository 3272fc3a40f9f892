//! A claimed job's work: the claim itself and the attempt steps (start, code, execution,
//! critique, decision). Each step is described once here, as a [`Step`]; how it is written
//! is the backend's ([`crate::Backend::write_step`]): the same guard, the same columns, the
//! same event, in one statement or one transaction.

use hone_domain::text::one_line;
use hone_domain::{
    AttemptStatus, Critique, EventType, Execution, Feedback, ModelCall, TenantId, Usage,
};
use hone_store::{ActorOutput, ClaimJobs, Claimed, Lease, Serves, StoreError};
use macro_rules_attribute::apply;

/// The most characters of a longer text (an error, a critique) an event carries; the attempt
/// has it whole.
const EVENT_TEXT: usize = 200;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sqlx::AssertSqlSafe;
use sqlx::types::Json;

use crate::events::{insert_event, json as to_json};
use crate::rows::{self, get};
use crate::{Backend, SqlStore, db_err, ms};

/// One attempt step: what it writes, under which lease, and the event it appends.
pub struct Step<'a> {
    /// The lease the step is written under; a worker that lost it writes nothing.
    pub lease: &'a Lease,
    /// The attempt.
    pub iteration: u32,
    /// The step's name in [`StoreError::StepExists`].
    pub name: &'static str,
    /// Model tokens the step adds to the job's totals.
    pub usage: Usage,
    /// The event appended with the step.
    pub kind: EventType,
    /// The event's data.
    pub data: Value,
    /// The attempt row's change.
    pub write: Write,
    /// The step's time, in milliseconds since the epoch.
    pub now: i64,
}

/// How a step changes the attempt row.
pub enum Write {
    /// Inserts the attempt (`status = 'running'`) and sets the job's `iterations` to it.
    Start,
    /// Updates the attempt's columns once: `set` is a `SET` list over `$14`, `$15`, … (the
    /// `params`, in order; `$4` is the step's time), `once` the condition that makes the
    /// step write at most once.
    Update {
        /// The `SET` list.
        set: &'static str,
        /// The condition that holds until the step is written.
        once: &'static str,
        /// `$14` onwards.
        params: Vec<Param>,
    },
}

/// A value bound to an attempt column.
pub enum Param {
    /// A text column.
    Text(String),
    /// A JSON column (`NULL` for `None`).
    Json(Option<Box<RawValue>>),
}

/// `$1` the job, `$2` the worker, `$3` the iteration, `$4` now, `$5`–`$7` the usage's
/// tokens, `$8` the event type, `$9` its data, `$10`–`$12` the cached and reasoning tokens,
/// `$13` the cost in picodollars, then the step's params: the binds every step
/// statement takes, whichever subset it uses.
pub fn bind_step<'q, B>(
    query: sqlx::query::Query<'q, B, B::Arguments>,
    step: &'q Step<'q>,
) -> sqlx::query::Query<'q, B, B::Arguments>
where
    B: Backend,
    for<'e> i64: sqlx::Encode<'e, B> + sqlx::Type<B>,
    for<'e> &'e str: sqlx::Encode<'e, B> + sqlx::Type<B>,
    for<'e> Json<&'e Value>: sqlx::Encode<'e, B> + sqlx::Type<B>,
    for<'e> Option<Json<&'e RawValue>>: sqlx::Encode<'e, B> + sqlx::Type<B>,
{
    let mut query = query
        .bind(B::id(step.lease.job))
        .bind(step.lease.worker.as_str())
        .bind(i64::from(step.iteration))
        .bind(step.now)
        .bind(ms(step.usage.prompt_tokens))
        .bind(ms(step.usage.completion_tokens))
        .bind(ms(step.usage.total_tokens))
        .bind(step.kind.as_str())
        .bind(Json(&step.data))
        .bind(ms(step.usage.cache_read_tokens))
        .bind(ms(step.usage.cache_write_tokens))
        .bind(ms(step.usage.reasoning_tokens))
        .bind(step.usage.cost_usd.picos_i64());
    if let Write::Update { params, .. } = &step.write {
        for param in params {
            query = match param {
                Param::Text(text) => query.bind(text.as_str()),
                Param::Json(value) => query.bind(value.as_deref().map(Json)),
            };
        }
    }
    query
}

/// A step whose guard held but which was written already.
pub fn step_exists(step: &Step<'_>) -> StoreError {
    StoreError::StepExists {
        job: step.lease.job,
        iteration: step.iteration,
        step: step.name,
    }
}

fn json_param<T: serde::Serialize>(what: &'static str, v: &T) -> Result<Param, StoreError> {
    Ok(Param::Json(Some(to_json(what, v)?)))
}

fn step<'a>(
    lease: &'a Lease,
    iteration: u32,
    name: &'static str,
    kind: EventType,
    now: i64,
) -> Step<'a> {
    Step {
        lease,
        iteration,
        name,
        usage: Usage::default(),
        kind,
        data: json!({"iteration": iteration}),
        write: Write::Start,
        now,
    }
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Leases claimable jobs to `claim.worker` (see [`Backend::claim_sql`]), appending each
    /// one's `job.started` event, highest priority first. Returns each with its event's seq.
    pub(crate) async fn claim_jobs(
        &self,
        claim: ClaimJobs,
    ) -> Result<Vec<(Claimed, i64)>, StoreError> {
        let now = self.now();
        let (languages, providers) = match &claim.serves {
            Some(s) => (
                Some(Serves::list(s.languages.iter().map(|l| l.as_str()))),
                Some(Serves::list(s.providers.iter().map(String::as_str))),
            ),
            None => (None, None),
        };
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let found = sqlx::query(AssertSqlSafe(B::claim_sql()))
            .bind(claim.worker.as_str())
            .bind(now + ms(claim.lease_ms))
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(now)
            .bind(i64::from(claim.limit))
            .bind(claim.per_tenant.map(i64::from))
            .bind(languages.as_deref())
            .bind(providers.as_deref())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut claimed = Vec::with_capacity(found.len());
        for row in &found {
            let job = rows::job::<B>(row)?;
            let seq: i64 = get::<B, _>(row, "last_seq")?;
            let tenant: String = get::<B, _>(row, "tenant_id")?;
            let data =
                json!({"status": "running", "iteration": job.iterations, "worker": claim.worker});
            insert_event::<B>(
                &mut tx,
                job.id,
                &tenant,
                seq,
                EventType::JobStarted,
                data,
                now,
            )
            .await?;
            let lease = Lease {
                job: job.id,
                worker: claim.worker.clone(),
            };
            let tenant = TenantId(tenant);
            let trace_parent = get::<B, Option<String>>(row, "trace_parent")?;
            claimed.push((
                Claimed {
                    job,
                    lease,
                    tenant,
                    trace_parent,
                },
                seq,
            ));
        }
        tx.commit().await.map_err(db_err)?;
        claimed.sort_by(|(a, _), (b, _)| {
            (b.job.spec.priority.cmp(&a.job.spec.priority)).then(a.job.id.cmp(&b.job.id))
        });
        Ok(claimed)
    }

    /// Starts attempt `iteration`. Returns the event's seq.
    pub(crate) async fn start_attempt(
        &self,
        lease: &Lease,
        iteration: u32,
    ) -> Result<i64, StoreError> {
        let step = step(
            lease,
            iteration,
            "attempt",
            EventType::AttemptStarted,
            self.now(),
        );
        B::write_step(&self.writer, step).await
    }

    /// Records the actor's code and call (and, when the job draws several answers, every
    /// candidate, whose calls all count in the job's usage).
    pub(crate) async fn record_actor_output(
        &self,
        lease: &Lease,
        output: ActorOutput<'_>,
    ) -> Result<i64, StoreError> {
        let ActorOutput {
            iteration,
            code,
            call,
            candidates,
            lessons,
        } = output;
        let mut usage = call.usage;
        let mut data = json!({"iteration": iteration, "code_bytes": code.len()});
        let listed = if candidates.is_empty() {
            Param::Json(None)
        } else {
            usage = Usage::default();
            for c in candidates {
                usage.add(c.actor.usage);
            }
            data["candidates"] = json!(candidates.len());
            json_param("candidates", &candidates)?
        };
        let shown = if lessons.is_empty() {
            Param::Json(None)
        } else {
            data["lessons"] = json!(lessons.len());
            json_param("lessons", &lessons)?
        };
        let params = vec![
            Param::Text(code.to_owned()),
            json_param("actor call", call)?,
            listed,
            shown,
        ];
        B::write_step(
            &self.writer,
            Step {
                usage,
                data,
                write: Write::Update {
                    set: "code = $14, actor = $15, candidates = $16, lessons = $17",
                    once: "code IS NULL AND status = 'running'",
                    params,
                },
                ..step(lease, iteration, "code", EventType::AttemptCode, self.now())
            },
        )
        .await
    }

    /// Records the sandbox run.
    pub(crate) async fn record_execution(
        &self,
        lease: &Lease,
        iteration: u32,
        execution: &Execution,
    ) -> Result<i64, StoreError> {
        // The error in a line, so a progress view can say what happened without reading the
        // attempt.
        let error = execution
            .traceback
            .as_ref()
            .map(|t| one_line(&format!("{}: {}", t.error_type, t.message), EVENT_TEXT));
        let data = json!({"iteration": iteration, "status": execution.status,
                          "duration_ms": execution.duration_ms, "error": error});
        B::write_step(
            &self.writer,
            Step {
                data,
                write: Write::Update {
                    set: "execution = $14",
                    once: "code IS NOT NULL AND execution IS NULL AND status = 'running'",
                    params: vec![json_param("execution", execution)?],
                },
                ..step(
                    lease,
                    iteration,
                    "execution",
                    EventType::AttemptExecuted,
                    self.now(),
                )
            },
        )
        .await
    }

    /// Records the critic's review and call.
    pub(crate) async fn record_critique(
        &self,
        lease: &Lease,
        iteration: u32,
        critique: &Critique,
        call: &ModelCall,
    ) -> Result<i64, StoreError> {
        let params = vec![
            json_param("critique", critique)?,
            json_param("critic call", call)?,
        ];
        B::write_step(
            &self.writer,
            Step {
                usage: call.usage,
                data: json!({"iteration": iteration, "verdict": critique.verdict,
                              "summary": one_line(&critique.summary, EVENT_TEXT)}),
                write: Write::Update {
                    set: "critique = $14, critic = $15",
                    once: "critique IS NULL AND status = 'running'",
                    params,
                },
                ..step(
                    lease,
                    iteration,
                    "critique",
                    EventType::AttemptCritiqued,
                    self.now(),
                )
            },
        )
        .await
    }

    /// Ends the attempt with `status` and the feedback for the next one.
    pub(crate) async fn finish_attempt(
        &self,
        lease: &Lease,
        iteration: u32,
        status: AttemptStatus,
        feedback: Option<&Feedback>,
    ) -> Result<i64, StoreError> {
        let feedback = feedback.map(|f| to_json("feedback", f)).transpose()?;
        B::write_step(
            &self.writer,
            Step {
                data: json!({"iteration": iteration, "status": status}),
                write: Write::Update {
                    set: "status = $14, feedback = $15, finished_at = $4",
                    once: "status = 'running'",
                    params: vec![
                        Param::Text(status.as_str().to_owned()),
                        Param::Json(feedback),
                    ],
                },
                ..step(
                    lease,
                    iteration,
                    "decision",
                    EventType::AttemptFinished,
                    self.now(),
                )
            },
        )
        .await
    }
}
