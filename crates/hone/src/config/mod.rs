//! Configuration: command-line flags, each with a `HONE_*` environment variable (and the
//! provider variables the official SDKs use: `OPENAI_BASE_URL`, `OPENAI_API_KEY`). Read once,
//! here, and passed down; no library reads the environment.
//!
//! Flags come in groups ([`groups`]: database, HTTP, sandbox, worker, models, webhooks,
//! shutdown, logging); each sub-command takes only the groups it uses, so `hone api --help`
//! lists no sandbox flag. [`Settings`] is what a process runs, whichever command described it.

pub mod groups;

use clap::{Args, Parser, Subcommand};

pub use groups::*;

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
}

/// `hone serve`: everything.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The HTTP server.
    #[command(flatten)]
    pub http: HttpArgs,
    /// The sandbox.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// The worker.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The model providers.
    #[command(flatten)]
    pub models: ModelArgs,
    /// Webhook targets.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Webhook secrets.
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Webhook delivery.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Shutdown.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

/// `hone api`: HTTP, and the model settings it checks submissions against.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The HTTP server.
    #[command(flatten)]
    pub http: HttpArgs,
    /// The model providers.
    #[command(flatten)]
    pub models: ModelArgs,
    /// Webhook targets.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Webhook secrets.
    #[command(flatten)]
    pub secrets: SecretArgs,
    /// Shutdown.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

/// `hone worker`: the sandbox, the engine, the models, webhook delivery.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The sandbox.
    #[command(flatten)]
    pub sandbox: SandboxArgs,
    /// The worker.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The model providers.
    #[command(flatten)]
    pub models: ModelArgs,
    /// Webhook targets.
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Webhook delivery.
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    /// Shutdown.
    #[command(flatten)]
    pub shutdown: ShutdownArgs,
}

/// What a process runs, whichever sub-command described it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database.
    pub database: DatabaseArgs,
    /// Model providers (workers call them; the API checks submissions against them).
    pub models: ModelArgs,
    /// The webhook target policy.
    pub targets: TargetArgs,
    /// The grace period at shutdown.
    pub shutdown: ShutdownArgs,
    /// The HTTP side, if this process serves the API.
    pub http: Option<(HttpArgs, SecretArgs)>,
    /// The worker side, if this process runs jobs.
    pub worker: Option<(SandboxArgs, EngineArgs, DeliveryArgs)>,
}

impl From<ServeArgs> for Settings {
    fn from(a: ServeArgs) -> Self {
        Self {
            database: a.database,
            models: a.models,
            targets: a.targets,
            shutdown: a.shutdown,
            http: Some((a.http, a.secrets)),
            worker: Some((a.sandbox, a.engine, a.delivery)),
        }
    }
}

impl From<ApiArgs> for Settings {
    fn from(a: ApiArgs) -> Self {
        Self {
            database: a.database,
            models: a.models,
            targets: a.targets,
            shutdown: a.shutdown,
            http: Some((a.http, a.secrets)),
            worker: None,
        }
    }
}

impl From<WorkerArgs> for Settings {
    fn from(a: WorkerArgs) -> Self {
        Self {
            database: a.database,
            models: a.models,
            targets: a.targets,
            shutdown: a.shutdown,
            http: None,
            worker: Some((a.sandbox, a.engine, a.delivery)),
        }
    }
}
