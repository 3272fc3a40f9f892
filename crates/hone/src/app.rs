//! The application: built from configuration, bound to its address, run until shut down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hone_api::AppState;
use hone_domain::Language;
use hone_engine::{Engine, EngineConfig};
use hone_llm::{OpenAiCompatible, OpenAiConfig, Providers, Replay, RetryPolicy};
use hone_sandbox::verify::Runtimes;
use hone_sandbox::{Bubblewrap, Sandbox, SandboxConfig, Unconfined, runtime};
use tokio::net::TcpListener;

use crate::config::{SandboxKind, ServeArgs};

/// Which parts a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// API and worker (`hone serve`).
    Both,
    /// HTTP only (`hone api`).
    Api,
    /// Worker only (`hone worker`).
    Worker,
}

/// A built application, bound to its port (if it serves HTTP), not yet running.
pub struct Application {
    http: Option<(TcpListener, axum::Router)>,
    engine: Option<Engine>,
    dispatcher: Option<hone_webhook::Dispatcher>,
}

/// The webhook dispatcher of a worker process.
fn build_dispatcher(
    args: &ServeArgs,
    store: Arc<dyn hone_store::Store>,
    worker_id: String,
) -> anyhow::Result<hone_webhook::Dispatcher> {
    let w = &args.webhooks;
    let config = hone_webhook::DispatcherConfig {
        worker_id,
        concurrency: w.webhook_concurrency,
        timeout: Duration::from_millis(w.webhook_timeout_ms.max(1)),
        schedule: w.webhook_schedule.clone().unwrap_or_default(),
        policy: policy(args),
        ..hone_webhook::DispatcherConfig::default()
    };
    hone_webhook::Dispatcher::new(store, config, Arc::new(hone_webhook::SystemLookup))
        .context("cannot build the webhook client")
}

fn policy(args: &ServeArgs) -> hone_webhook::TargetPolicy {
    hone_webhook::TargetPolicy {
        allow_private: args.webhooks.webhook_allow_private,
    }
}

/// Builds the sandbox and proves it works: refuses to start otherwise.
pub async fn build_sandbox(args: &ServeArgs) -> anyhow::Result<(Arc<dyn Sandbox>, Runtimes)> {
    let mut config = SandboxConfig {
        bwrap: args.bwrap.clone(),
        uid_base: args.sandbox_uid_base,
        work_dir_bytes: args.sandbox_disk_mb * 1024 * 1024,
        ..SandboxConfig::default()
    };
    config.max_limits.timeout_ms = args.max_timeout_ms;
    config.max_limits.memory_mb = args.max_memory_mb;
    if !args.sandbox_cgroups {
        config.cgroup_root = None;
    }
    if let Some(n) = args.sandbox_concurrency {
        config.concurrency = n;
    }
    let sandbox: Arc<dyn Sandbox> = match args.sandbox {
        SandboxKind::Bubblewrap => Arc::new(Bubblewrap::new(config)?),
        SandboxKind::Unconfined => {
            tracing::warn!(
                "SANDBOX IS UNCONFINED: model-written code runs as a plain child process \
                 with rlimits only, without namespace, network or file-system isolation"
            );
            Arc::new(Unconfined::new(config))
        }
    };
    let overrides = [
        (Language::Python, args.python.clone()),
        (Language::Javascript, args.node.clone()),
        (Language::Bash, args.bash.clone()),
    ];
    let (found, missing) = runtime::resolve(&overrides);
    for why in &missing {
        tracing::warn!(runtime = %why, "runtime unavailable; its jobs will fail");
    }
    if found.is_empty() {
        bail!("no language runtime found: {}", missing.join("; "));
    }
    hone_sandbox::self_check(sandbox.as_ref(), &found)
        .await
        .context("the sandbox does not work on this host; refusing to run jobs")?;
    let names: Vec<&str> = found.iter().map(|r| r.language.as_str()).collect();
    tracing::info!(backend = sandbox.name(), runtimes = ?names, "sandbox self-check passed");
    Ok((sandbox, Runtimes(found)))
}

/// The model providers named in configuration.
pub fn build_providers(args: &ServeArgs) -> anyhow::Result<Providers> {
    let mut providers = Providers::new();
    let openai = OpenAiCompatible::new(OpenAiConfig {
        base_url: args.openai_base_url.clone(),
        api_key: args.openai_api_key.clone(),
        timeout: Duration::from_secs(args.model_timeout_s),
        retry: RetryPolicy {
            max_retries: args.model_retries,
            ..RetryPolicy::default()
        },
    })?;
    providers.insert("openai", Arc::new(openai));
    if let Some(path) = &args.replay_file {
        let replay = Replay::from_file(path).map_err(anyhow::Error::msg)?;
        providers.insert("replay", Arc::new(replay));
    }
    Ok(providers)
}

impl Application {
    /// Connects the store, checks the sandbox (for workers), binds the listener (for APIs).
    pub async fn build(args: &ServeArgs, role: Role) -> anyhow::Result<Self> {
        let store = crate::store::connect(&args.database.database_url).await?;
        let mut sandbox_name = "none";
        let engine = if role == Role::Api {
            None
        } else {
            let (sandbox, runtimes) = build_sandbox(args).await?;
            sandbox_name = sandbox.name();
            Some(Engine {
                store: store.clone(),
                providers: build_providers(args)?,
                sandbox,
                runtimes,
                config: EngineConfig {
                    worker_id: args
                        .worker_id
                        .clone()
                        .unwrap_or_else(|| EngineConfig::default().worker_id),
                    max_jobs: args.max_jobs,
                    lease: Duration::from_secs(args.lease_s.max(1)),
                    shutdown_grace: Duration::from_secs(args.shutdown_grace_s),
                    max_requeues: args.max_requeues,
                    max_running_per_tenant: args.max_running_per_tenant,
                    requeue_delay: Duration::from_millis(args.requeue_delay_ms),
                    ..EngineConfig::default()
                },
                running: Arc::default(),
            })
        };
        let dispatcher = match &engine {
            Some(e) => Some(build_dispatcher(
                args,
                store.clone(),
                e.config.worker_id.clone(),
            )?),
            None => None,
        };
        let http = if role == Role::Worker {
            None
        } else {
            let hub = hone_api::live::Hub::start(store.clone())
                .await
                .context("cannot listen for events")?;
            let state = AppState {
                store,
                sandbox: sandbox_name,
                hub,
                webhook_policy: policy(args),
                secret_overlap: Duration::from_secs(args.webhooks.webhook_secret_overlap_s),
            };
            let router = hone_api::router(state, args.body_limit);
            let listener = TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("cannot listen on {}", args.listen))?;
            Some((listener, router))
        };
        Ok(Self {
            http,
            engine,
            dispatcher,
        })
    }

    /// The bound address (the real port when configured with port 0); `None` for a worker.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http.as_ref().and_then(|(l, _)| l.local_addr().ok())
    }

    /// Serves HTTP and/or runs the worker until `shutdown` resolves; the worker then lets
    /// its jobs finish within the grace period and gives the rest back to the queue.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let worker = self
            .engine
            .map(|e| tokio::spawn(e.run(stopped(rx.clone()))));
        let webhooks = self.dispatcher.map(|d| tokio::spawn(d.run(rx.clone())));
        if let Some((listener, router)) = self.http {
            tracing::info!(addr = %listener.local_addr()?, "listening");
            axum::serve(listener, router)
                .with_graceful_shutdown(stopped(rx))
                .await
                .context("the HTTP server failed")?;
        }
        if let Some(worker) = worker {
            worker.await.context("the worker panicked")?;
        }
        if let Some(webhooks) = webhooks {
            webhooks.await.context("the webhook dispatcher panicked")?;
        }
        Ok(())
    }
}
