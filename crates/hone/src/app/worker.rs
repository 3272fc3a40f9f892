//! The worker side of a process: the sandbox checked, the engine that runs jobs with what
//! this worker serves, and the webhook dispatcher beside it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_api::runtimes::RuntimeInfo;
use hone_engine::{Engine, EngineConfig};
use hone_store::Store;

use crate::config::file::ConfigFile;
use crate::config::{CommonArgs, DeliveryArgs, EngineArgs, WorkerSide};
use crate::models::build_providers;
use crate::wiring::build_sandbox;

/// A worker's parts, built.
pub(super) struct Worker {
    pub engine: Engine,
    pub dispatcher: hone_webhook::Dispatcher,
    /// The sandbox's name, for `/readyz`.
    pub sandbox: &'static str,
    /// Which runtimes work, for `/readyz` and job intake.
    pub runtimes: Arc<[RuntimeInfo]>,
}

impl Worker {
    /// Checks the sandbox and its runtimes, then builds the engine (serving the languages
    /// that work and the providers that are ready) and the webhook dispatcher.
    pub async fn build(
        side: &WorkerSide,
        common: &CommonArgs,
        file: &ConfigFile,
        store: Arc<dyn Store>,
        providers: &BTreeMap<String, Result<(), String>>,
        grace: Duration,
    ) -> anyhow::Result<Self> {
        let (sandbox, runtimes, report) = build_sandbox(&side.sandbox).await?;
        let mut config = engine_config(&side.engine, grace)?;
        config.serves = Some(hone_store::Serves {
            languages: report
                .iter()
                .filter(|r| r.ready)
                .map(|r| r.language)
                .collect(),
            providers: providers
                .iter()
                .filter(|(_, state)| state.is_ok())
                .map(|(name, _)| name.clone())
                .collect(),
        });
        let dispatcher = build_dispatcher(
            &side.delivery,
            common.targets.webhook_allow_private,
            store.clone(),
            config.worker_id.clone(),
        )?;
        Ok(Self {
            sandbox: sandbox.name(),
            runtimes: report.into(),
            engine: Engine {
                store,
                providers: build_providers(&common.models, file)?,
                sandbox,
                runtimes,
                config,
                running: Arc::default(),
            },
            dispatcher,
        })
    }
}

/// The webhook dispatcher of a worker process.
fn build_dispatcher(
    delivery: &DeliveryArgs,
    allow_private: bool,
    store: Arc<dyn Store>,
    worker_id: String,
) -> anyhow::Result<hone_webhook::Dispatcher> {
    let config = hone_webhook::DispatcherConfig {
        worker_id,
        concurrency: delivery.webhook_concurrency,
        timeout: Duration::from_millis(delivery.webhook_timeout_ms),
        schedule: delivery.webhook_schedule.clone().unwrap_or_default(),
        policy: hone_webhook::TargetPolicy { allow_private },
        ..hone_webhook::DispatcherConfig::default()
    };
    hone_webhook::Dispatcher::new(store, config, Arc::new(hone_webhook::SystemLookup))
        .context("cannot build the webhook client")
}

fn engine_config(e: &EngineArgs, grace: Duration) -> anyhow::Result<EngineConfig> {
    let prompts = match &e.prompts_dir {
        Some(dir) => crate::wiring::load_prompts(dir)?,
        None => Default::default(),
    };
    Ok(EngineConfig {
        prompts,
        worker_id: e
            .worker_id
            .clone()
            .unwrap_or_else(|| EngineConfig::default().worker_id),
        max_jobs: e.max_jobs,
        lease: Duration::from_secs(e.lease_s),
        shutdown_grace: grace,
        max_requeues: e.max_requeues,
        max_lease_losses: e.max_lease_losses,
        max_running_per_tenant: e.max_running_per_tenant,
        requeue_delay: Duration::from_millis(e.requeue_delay_ms),
        ..EngineConfig::default()
    })
}
