//! Configuration: command-line flags, each with a `HONE_*` environment variable (and the
//! provider variables the official SDKs use: `OPENAI_BASE_URL`, `OPENAI_API_KEY`). Read once,
//! here, and passed down; no library reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// hone: runs language-model code against tests until it is right.
#[derive(Debug, Parser)]
#[command(name = "hone", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API and the workers in one process.
    Serve(Box<ServeArgs>),
    /// Run the HTTP API only (workers run elsewhere; for Postgres deployments).
    Api(Box<ServeArgs>),
    /// Run a worker only: claim and run jobs, no HTTP (for Postgres deployments).
    Worker(Box<ServeArgs>),
    /// Create or upgrade the database schema, then exit.
    Migrate(DatabaseArgs),
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created on first start) or `postgres://...`.
    #[arg(long, env = "HONE_DATABASE_URL", default_value = "sqlite://hone.db")]
    pub database_url: String,
}

/// Which sandbox backend runs code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxKind {
    /// bubblewrap namespaces (the default).
    Bubblewrap,
    /// A plain child process: NO isolation; only for hosts without namespaces.
    Unconfined,
}

/// Everything `hone serve` needs.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The database.
    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Webhook delivery.
    #[command(flatten)]
    pub webhooks: WebhookArgs,

    /// Address to listen on.
    #[arg(long, env = "HONE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Sandbox backend.
    #[arg(long, env = "HONE_SANDBOX", value_enum, default_value = "bubblewrap")]
    pub sandbox: SandboxKind,

    /// The bubblewrap binary.
    #[arg(long, env = "HONE_BWRAP", default_value = "/usr/bin/bwrap")]
    pub bwrap: PathBuf,

    /// Python interpreter for python jobs (the system one; a pyenv shim is slow and reads $HOME).
    #[arg(long, env = "HONE_PYTHON", default_value = "/usr/bin/python3")]
    pub python: PathBuf,

    /// Node.js for javascript jobs.
    #[arg(long, env = "HONE_NODE", default_value = "/usr/bin/node")]
    pub node: PathBuf,

    /// Bash for bash jobs.
    #[arg(long, env = "HONE_BASH", default_value = "/usr/bin/bash")]
    pub bash: PathBuf,

    /// Sandbox runs at once (default: the number of CPUs).
    #[arg(long, env = "HONE_SANDBOX_CONCURRENCY")]
    pub sandbox_concurrency: Option<usize>,

    /// When running as root, sandbox slot `i` runs as host uid `BASE + i` (never as root).
    #[arg(long, env = "HONE_SANDBOX_UID_BASE", default_value_t = 200_000)]
    pub sandbox_uid_base: u32,

    /// Size of a run's working directory and of its /tmp (each), in MiB.
    #[arg(long, env = "HONE_SANDBOX_DISK_MB", default_value_t = 64)]
    pub sandbox_disk_mb: u64,

    /// Limit memory and processes with per-slot cgroups when the host offers them (joining a
    /// cgroup v1 costs a few milliseconds per run; without, rlimits limit instead).
    #[arg(long, env = "HONE_SANDBOX_CGROUPS", default_value_t = true, action = clap::ArgAction::Set)]
    pub sandbox_cgroups: bool,

    /// The longest wall time any job's run may have, in ms (a job asking more gets this).
    #[arg(long, env = "HONE_MAX_TIMEOUT_MS", default_value_t = 60_000)]
    pub max_timeout_ms: u64,

    /// The most memory any job's run may have, in MiB.
    #[arg(long, env = "HONE_MAX_MEMORY_MB", default_value_t = 2_048)]
    pub max_memory_mb: u64,

    /// Seconds a stopping worker lets its jobs run before giving them back to the queue.
    #[arg(long, env = "HONE_SHUTDOWN_GRACE_S", default_value_t = 30)]
    pub shutdown_grace_s: u64,

    /// Seconds a worker's lease on a job lasts unless renewed.
    #[arg(long, env = "HONE_LEASE_S", default_value_t = 60)]
    pub lease_s: u64,

    /// Retries of a failed model request (429, 5xx, network) before the job is requeued.
    #[arg(long, env = "HONE_MODEL_RETRIES", default_value_t = 4)]
    pub model_retries: usize,

    /// How many times infrastructure errors may requeue a job before it fails.
    #[arg(long, env = "HONE_MAX_REQUEUES", default_value_t = 3)]
    pub max_requeues: u32,

    /// The first requeue delay after an infrastructure error, in ms (doubled each time).
    #[arg(long, env = "HONE_REQUEUE_DELAY_MS", default_value_t = 5_000)]
    pub requeue_delay_ms: u64,

    /// This worker's name in leases and `job.started` events (default: a random one).
    #[arg(long, env = "HONE_WORKER_ID")]
    pub worker_id: Option<String>,

    /// At most this many running jobs per tenant across the workers (unset: no cap).
    #[arg(long, env = "HONE_MAX_RUNNING_PER_TENANT")]
    pub max_running_per_tenant: Option<u32>,

    /// Jobs one worker runs at once.
    #[arg(long, env = "HONE_MAX_JOBS", default_value_t = 64)]
    pub max_jobs: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "HONE_BODY_LIMIT", default_value_t = hone_api::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,

    /// Base URL of the `openai` provider (any OpenAI-compatible server).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = "https://api.openai.com/v1"
    )]
    pub openai_base_url: String,

    /// API key of the `openai` provider.
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,

    /// Seconds before a model request times out.
    #[arg(long, env = "HONE_MODEL_TIMEOUT_S", default_value_t = 120)]
    pub model_timeout_s: u64,

    /// A JSONL transcript that the `replay` provider answers from.
    #[arg(long, env = "HONE_REPLAY_FILE")]
    pub replay_file: Option<PathBuf>,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Allow webhook targets on loopback, private, link-local and reserved addresses (a
    /// receiver on the same network); refused by default.
    #[arg(long, env = "HONE_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,

    /// Milliseconds before a delivery try times out.
    #[arg(long, env = "HONE_WEBHOOK_TIMEOUT_MS", default_value_t = 15_000)]
    pub webhook_timeout_ms: u64,

    /// Deliveries in flight at once, per worker.
    #[arg(long, env = "HONE_WEBHOOK_CONCURRENCY", default_value_t = 64)]
    pub webhook_concurrency: usize,

    /// The delays before each try, comma-separated (`0,5s,5m,30m,2h,5h,10h,10h`, the
    /// Standard Webhooks schedule, by default); jitter of 10% is added.
    #[arg(long, env = "HONE_WEBHOOK_SCHEDULE", value_parser = hone_webhook::Schedule::parse)]
    pub webhook_schedule: Option<hone_webhook::Schedule>,

    /// How long a rotated-out signing secret keeps signing, in seconds.
    #[arg(long, env = "HONE_WEBHOOK_SECRET_OVERLAP_S", default_value_t = 86_400)]
    pub webhook_secret_overlap_s: u64,
}
