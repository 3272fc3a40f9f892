//! One job's run around the loop (`iterate`): the lease kept alive while it runs, then the
//! ending the store records — succeeded, failed, cancelled, or requeued after an
//! infrastructure error — from how the loop stopped (`Halt`), and the best code a failed job
//! keeps.

use hone_domain::{Feedback, JobStatus, Outcome, OutcomeReason};
use hone_llm::LlmError;
use hone_sandbox::SandboxError;
use hone_store::{Claimed, FinishJob, Requeue, StoreError};
use tracing::Instrument;

use crate::Engine;
use crate::lease::{LeaseKeeper, Stop};

/// How a job's run on this worker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRun {
    /// The job ended in this status, for this reason.
    Finished(JobStatus, OutcomeReason),
    /// An infrastructure error sent it back to the queue.
    Requeued,
    /// Another worker owns it now; nothing more was written.
    LeaseLost,
    /// The store failed; the lease will expire and another worker will resume the job.
    Abandoned,
    /// The worker shut down and gave the job back to the queue.
    Released,
}

/// Why the loop stopped before a decision.
#[derive(Debug)]
pub(crate) enum Halt {
    Stop(Stop),
    Model(LlmError),
    Sandbox(SandboxError),
    Store(StoreError),
    /// The job's dollar budget forbids the next model call.
    Budget(String),
    /// The job's tests do not compile: no code can pass them (the sentence says where).
    BrokenTests(String),
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LeaseLost(_) => Halt::Stop(Stop::LeaseLost),
            e => Halt::Store(e),
        }
    }
}

/// Runs a claimed job until it ends, is requeued, or the lease is lost.
pub async fn run_job(engine: &Engine, mut claimed: Claimed) -> JobRun {
    // The service's system prompts fill in where the job set none (the stored spec keeps
    // what was submitted).
    engine.config.prompts.apply(&mut claimed.job.spec);
    let switch = engine.running.register(claimed.job.id);
    let keeper = LeaseKeeper::start(
        engine.store.clone(),
        claimed.lease.clone(),
        engine.config.lease,
        switch,
    );
    let span = crate::observe::job_span(
        claimed.job.id,
        claimed.job.spec.language,
        claimed.trace_parent.as_deref(),
    );
    let run = finish_run(engine, &claimed, &keeper).instrument(span).await;
    match run {
        JobRun::Finished(_, reason) => crate::observe::finished(reason),
        JobRun::Requeued => crate::observe::requeued(),
        JobRun::LeaseLost => crate::observe::lease_lost(),
        JobRun::Abandoned | JobRun::Released => {}
    }
    drop(keeper);
    engine.running.unregister(claimed.job.id);
    run
}

async fn finish_run(engine: &Engine, claimed: &Claimed, keeper: &LeaseKeeper) -> JobRun {
    // A job whose workers keep dying on it (a crash, an OOM kill, a panic) must not be run
    // for ever: past the limit, the worker that takes it over ends it.
    let losses = claimed.job.lease_losses;
    if losses > engine.config.max_lease_losses {
        tracing::error!(job = %claimed.job.id, losses, "job lost by its workers too often; failing it");
        let finish = failure(
            JobStatus::Failed,
            OutcomeReason::Error,
            best_code(engine, claimed).await,
            format!(
                "the job was lost by its worker {losses} times (crashed, killed or cut off \
                 from the database while running it); it was stopped so it cannot loop"
            ),
        );
        return match engine.store.finish_job(&claimed.lease, finish).await {
            Ok(()) => JobRun::Finished(JobStatus::Failed, OutcomeReason::Error),
            Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
            Err(_) => JobRun::Abandoned,
        };
    }
    let result = tokio::select! {
        r = crate::iterate::iterate(engine, claimed, keeper) => r,
        stop = keeper.stopped() => Err(Halt::Stop(stop)),
    };
    let job = claimed.job.id;
    let finish = match result {
        Ok(finish) => finish,
        Err(Halt::Stop(Stop::LeaseLost | Stop::No)) => {
            tracing::warn!(%job, "lease lost; another worker owns the job");
            return JobRun::LeaseLost;
        }
        Err(Halt::Stop(Stop::Shutdown)) => {
            return match engine
                .store
                .release_job(&claimed.lease, "worker shutting down")
                .await
            {
                Ok(()) => {
                    tracing::info!(%job, "released to the queue");
                    JobRun::Released
                }
                Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
                Err(_) => JobRun::Abandoned,
            };
        }
        Err(Halt::Stop(Stop::Cancel)) => failure(
            JobStatus::Cancelled,
            OutcomeReason::Cancelled,
            best_code(engine, claimed).await,
            "cancelled by a client while running".to_owned(),
        ),
        Err(Halt::Budget(why)) => failure(
            JobStatus::Failed,
            OutcomeReason::BudgetExhausted,
            best_code(engine, claimed).await,
            why,
        ),
        Err(Halt::BrokenTests(why)) => failure(
            JobStatus::Failed,
            OutcomeReason::Error,
            best_code(engine, claimed).await,
            why,
        ),
        // A provider's error may echo the request's key: scrubbed before it is stored.
        Err(Halt::Model(e)) if !e.is_transient() => failure(
            JobStatus::Failed,
            OutcomeReason::Error,
            best_code(engine, claimed).await,
            engine.providers.scrub(&e.to_string()),
        ),
        Err(Halt::Model(e)) => {
            let why = engine.providers.scrub(&e.to_string());
            return requeue(engine, claimed, why).await;
        }
        Err(Halt::Sandbox(e)) => return requeue(engine, claimed, e.to_string()).await,
        // A step the store keeps refusing must not make the job run for ever: it counts as
        // an infrastructure error (requeued, then failed). The cause stays in the log.
        Err(Halt::Store(e)) => {
            tracing::error!(%job, error = %e, "storing the job's progress failed");
            return requeue(engine, claimed, STORE_FAILED.to_owned()).await;
        }
    };
    let status = finish.status;
    let reason = finish.outcome.reason;
    match engine.store.finish_job(&claimed.lease, finish).await {
        Ok(()) => {
            tracing::info!(%job, status = status.as_str(), "job finished");
            JobRun::Finished(status, reason)
        }
        Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
        Err(e) => {
            tracing::error!(%job, error = %e, "recording the job's end failed");
            requeue(engine, claimed, STORE_FAILED.to_owned()).await
        }
    }
}

/// What a client is told when the store refused a write (the log has the database's words).
const STORE_FAILED: &str = "storing the job's progress failed; the worker's log has the cause";

pub(crate) fn failure(
    status: JobStatus,
    reason: OutcomeReason,
    code: Option<String>,
    message: String,
) -> FinishJob {
    FinishJob {
        status,
        outcome: Outcome {
            reason,
            accepted_iteration: None,
            code,
            message: Some(hone_domain::text::clean_owned(message)),
        },
    }
}

/// Sends the job back to the queue after an infrastructure error, with a growing delay, or
/// fails it once it has been requeued `max_requeues` times.
async fn requeue(engine: &Engine, claimed: &Claimed, why: String) -> JobRun {
    let job = claimed.job.id;
    if claimed.job.requeues >= engine.config.max_requeues {
        tracing::error!(%job, error = %why, "infrastructure error; retries exhausted");
        let finish = failure(
            JobStatus::Failed,
            OutcomeReason::Error,
            best_code(engine, claimed).await,
            format!(
                "infrastructure error after {} retries: {why}",
                claimed.job.requeues
            ),
        );
        return match engine
            .store
            .finish_job(&claimed.lease, finish.clone())
            .await
        {
            Ok(()) => JobRun::Finished(JobStatus::Failed, OutcomeReason::Error),
            Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
            // Perhaps the best code itself is what the store refuses: end the job without it.
            Err(e) => {
                tracing::error!(%job, error = %e, "recording the failure failed; retrying without code");
                let mut bare = finish;
                bare.outcome.code = None;
                match engine.store.finish_job(&claimed.lease, bare).await {
                    Ok(()) => JobRun::Finished(JobStatus::Failed, OutcomeReason::Error),
                    Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
                    Err(_) => JobRun::Abandoned,
                }
            }
        };
    }
    let base = engine.config.requeue_delay.as_millis() as u64;
    let delay = base.saturating_mul(1 << claimed.job.requeues.min(16));
    let jitter = u64::from(uuid::Uuid::now_v7().as_u128() as u16) % (delay / 4 + 1);
    tracing::warn!(%job, error = %why, delay_ms = delay + jitter, "infrastructure error; requeueing");
    let why = hone_domain::text::clean_owned(why);
    match engine
        .store
        .requeue_job(
            &claimed.lease,
            Requeue {
                reason: &why,
                delay_ms: delay + jitter,
            },
        )
        .await
    {
        Ok(_) => JobRun::Requeued,
        Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
        Err(_) => JobRun::Abandoned,
    }
}

/// The code of the best attempt so far: most checks passed, then latest.
pub(crate) async fn best_code(engine: &Engine, claimed: &Claimed) -> Option<String> {
    let attempts = engine
        .store
        .list_attempts(&claimed.tenant, claimed.job.id)
        .await
        .ok()
        .flatten()?;
    attempts
        .into_iter()
        .filter(|a| a.code.is_some())
        .max_by_key(|a| (a.score(), a.iteration))
        .and_then(|a| a.code)
}

pub(crate) async fn no_progress(
    engine: &Engine,
    claimed: &Claimed,
    feedback: &Feedback,
) -> FinishJob {
    failure(
        JobStatus::Failed,
        OutcomeReason::NoProgress,
        best_code(engine, claimed).await,
        format!(
            "{} iterations in a row failed the same way ({})",
            feedback.repeated, feedback.signature
        ),
    )
}
