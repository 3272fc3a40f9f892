//! hone's worker. [`Engine::run`] claims queued jobs and runs each as a task:
//! actor -> sandbox -> critic -> decide, writing every step to the store before the next, so
//! a job re-claimed after a crash resumes from its last stored step without repeating it.
//!
//! - [`job`] runs one claimed job to its end ([`job::run_job`], callable directly from
//!   tests): the loop (`iterate`), then recording the end, a requeue or a release;
//! - [`kind`] is the seam between the loop and what a job is ([`kind::Kind`]: how the actor
//!   is asked, how its answer is run and its checks judged, how the critic is asked);
//!   [`kind::Program`] is today's kind, and [`job::run_job_as`] runs a job as any kind;
//! - `iterate` is the loop; `draw` draws an iteration's answers (one, or candidates run to
//!   choose the best); `outcome` holds every way a run ends and what the store records;
//! - [`meter`] measures a job's spending (tokens, time, dollars) and [`plan`] holds the
//!   loop's decisions as pure functions: resume, budgets ([`plan::budget`]), accept or retry;
//! - [`steps`] makes the model calls (the actor's code, the critic's review with one repair);
//! - [`lease`] keeps a job's lease alive and notices cancellation or a lost lease.

mod draw;
mod iterate;
pub mod job;
pub mod kind;
pub mod lease;
mod memory;
pub mod meter;
pub mod observe;
mod outcome;
pub mod plan;
pub mod steps;

use std::sync::Arc;
use std::time::Duration;

use hone_llm::Providers;
use hone_sandbox::Sandbox;
use hone_sandbox::verify::Runtimes;
use std::collections::HashMap;
use std::sync::Mutex;

use hone_domain::JobId;
use hone_store::{ClaimJobs, Signal, Store};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::lease::Stop;

/// How a worker behaves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Written into leases; unique per process.
    pub worker_id: String,
    /// Jobs run at once by this worker (most of a job's time is spent waiting on models).
    pub max_jobs: usize,
    /// How long a lease lasts unless renewed.
    pub lease: Duration,
    /// How often to look for work when nothing wakes the worker.
    pub poll_interval: Duration,
    /// How many times an infrastructure error may requeue a job before it fails.
    pub max_requeues: u32,
    /// How many times a job may be lost by its worker (a crash, a kill, an expired lease)
    /// before the worker that takes it over fails it instead of running it again.
    pub max_lease_losses: u32,
    /// How long a shutting-down worker lets its jobs run before it gives them back.
    pub shutdown_grace: Duration,
    /// The first requeue delay; doubled each time, with jitter.
    pub requeue_delay: Duration,
    /// At most this many running jobs per tenant, so one tenant cannot starve the rest.
    pub max_running_per_tenant: Option<u32>,
    /// The jobs this worker can serve (languages with a working runtime, usable model
    /// providers); it claims only those and leaves the rest queued for workers that can.
    /// `None`: any job.
    pub serves: Option<hone_store::Serves>,
    /// Stop a job with `no_progress` once this many iterations in a row failed the same way
    /// (0: never).
    pub no_progress_limit: u32,
    /// The service's system prompts for jobs that set none.
    pub prompts: hone_domain::prompt::PromptDefaults,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", uuid::Uuid::now_v7().simple()),
            max_jobs: 64,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            max_requeues: 3,
            max_lease_losses: 5,
            shutdown_grace: Duration::from_secs(30),
            requeue_delay: Duration::from_secs(5),
            no_progress_limit: 3,
            prompts: hone_domain::prompt::PromptDefaults::default(),
            max_running_per_tenant: None,
            serves: None,
        }
    }
}

/// Everything a job needs to run.
#[derive(Clone)]
pub struct Engine {
    /// Where jobs and their steps live.
    pub store: Arc<dyn Store>,
    /// Model clients by name.
    pub providers: Providers,
    /// Where code runs.
    pub sandbox: Arc<dyn Sandbox>,
    /// The sandbox's runtimes.
    pub runtimes: Runtimes,
    /// Worker settings.
    pub config: EngineConfig,
    /// The stop switch of every job this worker runs.
    pub running: Arc<Running>,
}

/// The jobs in flight on this worker, each with the switch that stops it.
#[derive(Default)]
pub struct Running {
    stops: Mutex<HashMap<JobId, watch::Sender<Stop>>>,
}

impl Running {
    /// Registers a job; returns its switch.
    pub fn register(&self, job: JobId) -> watch::Sender<Stop> {
        let (tx, _) = watch::channel(Stop::No);
        if let Ok(mut stops) = self.stops.lock() {
            stops.insert(job, tx.clone());
        }
        tx
    }

    /// Forgets a job that ended.
    pub fn unregister(&self, job: JobId) {
        if let Ok(mut stops) = self.stops.lock() {
            stops.remove(&job);
        }
    }

    /// Stops one job, if it runs here.
    pub fn stop(&self, job: JobId, why: Stop) {
        if let Some(tx) = self.stops.lock().ok().and_then(|s| s.get(&job).cloned()) {
            let _ = tx.send(why);
        }
    }

    /// Stops every job.
    pub fn stop_all(&self, why: Stop) {
        if let Ok(stops) = self.stops.lock() {
            for tx in stops.values() {
                let _ = tx.send(why);
            }
        }
    }
}

impl Engine {
    /// Claims and runs jobs until `shutdown` resolves; then stops claiming, lets the jobs in
    /// flight run for the grace period, and gives the rest back to the queue.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let alive = self.config.serves.clone().map(|serves| {
            tokio::spawn(alive(
                self.store.clone(),
                self.config.worker_id.clone(),
                serves,
            ))
        });
        let mut running: JoinSet<job::JobRun> = JoinSet::new();
        let mut signals = match self.store.listen().await {
            Ok(rx) => Some(rx),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for signals; polling only");
                None
            }
        };
        tracing::info!(worker = %self.config.worker_id, max_jobs = self.config.max_jobs, "worker started");
        loop {
            let free = self.config.max_jobs.saturating_sub(running.len());
            if free > 0 {
                let claim = ClaimJobs {
                    worker: self.config.worker_id.clone(),
                    limit: u32::try_from(free).unwrap_or(u32::MAX),
                    lease_ms: u64::try_from(self.config.lease.as_millis()).unwrap_or(u64::MAX),
                    per_tenant: self.config.max_running_per_tenant,
                    serves: self.config.serves.clone(),
                };
                match self.store.claim_jobs(claim).await {
                    Ok(claimed) => {
                        for c in claimed {
                            let engine = self.clone();
                            running.spawn(async move { job::run_job(&engine, c).await });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming jobs failed"),
                }
            }
            let signal = async {
                match signals.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                s = signal => match s {
                    Some(Signal::CancelRequested(job)) => self.running.stop(job, Stop::Cancel),
                    Some(Signal::JobQueued) => {}
                    None => signals = None,
                },
                Some(_) = running.join_next(), if !running.is_empty() => {}
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        tracing::info!(
            in_flight = running.len(),
            grace = ?self.config.shutdown_grace,
            "worker stopping: no more claims"
        );
        let drain = async { while running.join_next().await.is_some() {} };
        if tokio::time::timeout(self.config.shutdown_grace, drain)
            .await
            .is_err()
        {
            tracing::info!(
                in_flight = running.len(),
                "grace period over; releasing leases"
            );
            self.running.stop_all(Stop::Shutdown);
            while running.join_next().await.is_some() {}
        }
        if let Some(alive) = alive {
            alive.abort();
        }
        tracing::info!("worker stopped");
    }
}

/// Says every [`hone_store::ALIVE_EVERY`] that worker `id` is alive and serves `serves`, so the
/// API can
/// tell a queued job that no running worker serves.
async fn alive(store: Arc<dyn Store>, id: String, serves: hone_store::Serves) {
    let mut tick = tokio::time::interval(hone_store::ALIVE_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = store.worker_alive(&id, &serves).await {
            tracing::warn!(error = %e, "cannot record that this worker is alive");
        }
    }
}
