//! One job's run: the lease kept alive while the loop (`iterate`) runs, then what the store
//! records of how it stopped — the ending (`outcome`), a requeue after an
//! infrastructure error, or a release when the worker shuts down.

use hone_domain::{JobStatus, OutcomeReason};
use hone_store::{Claimed, Requeue, StoreError};
use tracing::Instrument;

use crate::Engine;
use crate::kind::{self, Kind};
use crate::lease::{LeaseKeeper, Stop};
use crate::outcome::{self, End, Halt};

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

/// Runs a claimed job until it ends, is requeued, or the lease is lost.
pub async fn run_job(engine: &Engine, claimed: Claimed) -> JobRun {
    let kind = kind::of(&claimed.job.spec);
    run_job_as(engine, kind, claimed).await
}

/// Runs a claimed job as a job of `kind`: the loop, the budgets, the store's records and
/// the stream are the same for every kind.
pub async fn run_job_as(engine: &Engine, kind: &dyn Kind, mut claimed: Claimed) -> JobRun {
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
    let run = finish_run(engine, kind, &claimed, &keeper)
        .instrument(span)
        .await;
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

async fn finish_run(
    engine: &Engine,
    kind: &dyn Kind,
    claimed: &Claimed,
    keeper: &LeaseKeeper,
) -> JobRun {
    // A job whose workers keep dying on it (a crash, an OOM kill, a panic) must not be run
    // for ever: past the limit, the worker that takes it over ends it.
    let losses = claimed.job.lease_losses;
    if losses > engine.config.max_lease_losses {
        tracing::error!(job = %claimed.job.id, losses, "job lost by its workers too often; failing it");
        let finish = outcome::finish(engine, claimed, End::LostTooOften(losses)).await;
        return match engine.store.finish_job(&claimed.lease, finish).await {
            Ok(()) => JobRun::Finished(JobStatus::Failed, OutcomeReason::Error),
            Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
            Err(_) => JobRun::Abandoned,
        };
    }
    let result = tokio::select! {
        r = crate::iterate::iterate(engine, kind, claimed, keeper) => r,
        stop = keeper.stopped() => Err(Halt::Stop(stop)),
    };
    let job = claimed.job.id;
    let end = match result {
        Ok(end) => end,
        Err(Halt::Stop(Stop::LeaseLost | Stop::No)) => {
            tracing::warn!(%job, "lease lost; another worker owns the job");
            return JobRun::LeaseLost;
        }
        Err(Halt::Stop(Stop::Shutdown)) => return release(engine, claimed).await,
        Err(Halt::Stop(Stop::Cancel)) => End::Cancelled,
        // A provider's error may echo the request's key: scrubbed before it is stored.
        Err(Halt::Model(e)) if !e.is_transient() => {
            End::ModelRefused(engine.providers.scrub(&e.to_string()))
        }
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
    let finish = outcome::finish(engine, claimed, end).await;
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

/// Gives the job back to the queue at once: the worker is shutting down.
async fn release(engine: &Engine, claimed: &Claimed) -> JobRun {
    let released = engine
        .store
        .release_job(&claimed.lease, "worker shutting down")
        .await;
    match released {
        Ok(()) => {
            tracing::info!(job = %claimed.job.id, "released to the queue");
            JobRun::Released
        }
        Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
        Err(_) => JobRun::Abandoned,
    }
}

/// Sends the job back to the queue after an infrastructure error, with a growing delay, or
/// fails it once it has been requeued `max_requeues` times.
async fn requeue(engine: &Engine, claimed: &Claimed, why: String) -> JobRun {
    let job = claimed.job.id;
    if claimed.job.requeues >= engine.config.max_requeues {
        tracing::error!(%job, error = %why, "infrastructure error; retries exhausted");
        let retries = claimed.job.requeues;
        let finish = outcome::finish(engine, claimed, End::Retried { retries, why }).await;
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
    let requeue = Requeue {
        reason: &why,
        delay_ms: delay + jitter,
    };
    match engine.store.requeue_job(&claimed.lease, requeue).await {
        Ok(_) => JobRun::Requeued,
        Err(StoreError::LeaseLost(_)) => JobRun::LeaseLost,
        Err(_) => JobRun::Abandoned,
    }
}
