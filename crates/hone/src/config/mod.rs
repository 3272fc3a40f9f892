//! Configuration: command-line flags, each with a `HONE_*` environment variable (and the
//! provider variables the official SDKs use: `OPENAI_BASE_URL`, `OPENAI_API_KEY`). Read once,
//! here, and passed down; no library reads the environment.
//!
//! Flags come in groups ([`groups`]: database, HTTP, sandbox, worker, models, webhooks,
//! shutdown, logging); each sub-command takes only the groups it uses, so `hone api --help`
//! lists no sandbox flag. [`Settings`] is what a process runs, whichever command described it.

pub mod access;
pub mod client;
pub mod file;
pub mod groups;
pub mod ops;

use clap::{Args, Parser, Subcommand};

pub use access::*;
pub use client::*;
pub use groups::*;
pub use ops::*;

/// hone runs language-model code against your tests until it is right: submit a coding job
/// over HTTP, and workers iterate actor, sandbox and critic until the code is accepted.
///
/// Start with `hone serve` (API and workers in one process, SQLite in ./hone.db).
#[derive(Debug, Parser)]
#[command(name = "hone", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// How to log.
    #[command(flatten)]
    pub log: LogArgs,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and the workers in one process (the way to start; SQLite or Postgres).
    Serve(Box<ServeArgs>),
    /// Run the HTTP API only, with workers in other processes (Postgres only).
    Api(Box<ApiArgs>),
    /// Run a worker only: claim and run jobs, no HTTP (Postgres only).
    Worker(Box<WorkerArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
    /// Create, list and revoke API keys in the database.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// List tenants with their quotas and usage, and set their quotas, in the database.
    #[command(subcommand)]
    Tenants(TenantsCommand),
    /// Delete finished jobs older than a cut (with their attempts, events and deliveries).
    Prune(PruneArgs),
    /// Submit a job to a running service (`HONE_URL`, `HONE_API_KEY`) and print it; with
    /// `--watch`, follow it until it ends.
    Submit(SubmitArgs),
    /// Follow a job's progress until it ends (exit status 0 succeeded, 1 failed, 2 cancelled
    /// or errored).
    Watch(JobArgs),
    /// List a running service's jobs, newest first, filtered.
    Jobs(JobsArgs),
    /// Cancel a job on a running service.
    Cancel(JobArgs),
    /// Re-run a job on a running service, as it was.
    Retry(JobArgs),
    /// Start a service on a temporary database with the recorded example, submit it, watch
    /// it, and print the dashboard's address.
    Demo(DemoArgs),
    /// Show a job on a running service: its outcome and each attempt's code, run and critique.
    Show(ShowArgs),
    /// Export training data from a running service's jobs as NDJSON on stdout
    /// (`hone export preferences --tag nightly > pairs.jsonl`).
    Export(ExportArgs),
}

impl Command {
    /// Whether it calls a running service over HTTP (its failures then exit with the status
    /// of their kind: `crate::client::failure`).
    pub fn is_client(&self) -> bool {
        matches!(
            self,
            Self::Submit(_)
                | Self::Watch(_)
                | Self::Jobs(_)
                | Self::Cancel(_)
                | Self::Retry(_)
                | Self::Show(_)
                | Self::Export(_)
        )
    }
}

/// The groups every running process takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Model providers (workers call them; the API checks submissions against them).
    #[command(flatten)]
    pub models: ModelArgs,
    /// The webhook target policy (checked at submission and at delivery).
    #[command(flatten)]
    pub targets: TargetArgs,
    /// The grace period at shutdown.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
    /// Metrics and retention.
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// The API side: the HTTP server, who may call it, and the webhook secrets it shows and
/// rotates.
#[derive(Debug, Clone, Args)]
pub struct ApiSide {
    /// The HTTP server.
    #[command(flatten)]
    pub http: HttpArgs,
    /// API keys and rate limits.
    #[command(flatten)]
    pub access: AccessArgs,
    /// Webhook secrets.
    #[command(flatten)]
    pub secrets: SecretArgs,
}

/// The worker side: the sandbox, the engine, webhook delivery.
#[derive(Debug, Clone, Args)]
pub struct WorkerSide {
    /// The sandbox.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// The worker.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// Webhook delivery.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
}

/// `hone serve`: both sides in one process.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// What every process takes.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The API side.
    #[command(flatten)]
    pub api: ApiSide,
    /// The worker side.
    #[command(flatten)]
    pub worker: WorkerSide,
}

/// `hone api`: the API side.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// What every process takes.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The API side.
    #[command(flatten)]
    pub api: ApiSide,
}

/// `hone worker`: the worker side.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// What every process takes.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The worker side.
    #[command(flatten)]
    pub worker: WorkerSide,
}

/// What a process runs, whichever sub-command described it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// What every process takes.
    pub common: CommonArgs,
    /// The API side, if this process serves HTTP.
    pub api: Option<ApiSide>,
    /// The worker side, if this process runs jobs.
    pub worker: Option<WorkerSide>,
}

impl From<ServeArgs> for Settings {
    fn from(a: ServeArgs) -> Self {
        Self {
            common: a.common,
            api: Some(a.api),
            worker: Some(a.worker),
        }
    }
}

impl From<ApiArgs> for Settings {
    fn from(a: ApiArgs) -> Self {
        Self {
            common: a.common,
            api: Some(a.api),
            worker: None,
        }
    }
}

impl From<WorkerArgs> for Settings {
    fn from(a: WorkerArgs) -> Self {
        Self {
            common: a.common,
            api: None,
            worker: Some(a.worker),
        }
    }
}
