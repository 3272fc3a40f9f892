//! The flag groups, one struct each, with their headings in `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Log output, for every sub-command.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub struct LogArgs {
    /// What to log: a level (`info`, `debug`) or per-module directives (`info,hone_engine=debug`).
    #[arg(long = "log", env = "HONE_LOG", default_value = "info", global = true)]
    pub filter: String,

    /// `text` for people (coloured only on a terminal), `json` (one object a line) for log
    /// shippers.
    #[arg(
        long,
        env = "HONE_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line.
    Json,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Database")]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created on first start) or `postgres://...`.
    #[arg(long, env = "HONE_DATABASE_URL", default_value = "sqlite://hone.db")]
    pub database_url: String,
}

/// How the process stops.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Shutdown")]
pub struct ShutdownArgs {
    /// Seconds given, on SIGTERM or SIGINT, to requests and jobs in flight: requests still
    /// open then are cut, jobs still running go back to the queue.
    #[arg(long, env = "HONE_SHUTDOWN_GRACE_S", default_value_t = 30)]
    pub shutdown_grace_s: u64,
}

/// The HTTP server.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "HTTP")]
pub struct HttpArgs {
    /// Address to listen on.
    #[arg(long, env = "HONE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Largest request body of the routes below not named otherwise, in bytes (`413` beyond).
    #[arg(long, env = "HONE_BODY_LIMIT", default_value_t = hone_api::DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,

    /// Largest job body (`POST /v1/jobs`, a retry's changes), in bytes.
    #[arg(long, env = "HONE_JOB_BODY_LIMIT", default_value_t = hone_api::DEFAULT_JOB_BODY_LIMIT)]
    pub job_body_limit: usize,

    /// Largest batch request body (`POST /v1/jobs/batch`, up to 1,000 specs), in bytes.
    #[arg(long, env = "HONE_BATCH_BODY_LIMIT", default_value_t = hone_api::DEFAULT_BATCH_BODY_LIMIT)]
    pub batch_body_limit: usize,

    /// Seconds a request's head may take to arrive; also how long an idle kept-alive
    /// connection stays open.
    #[arg(long, env = "HONE_HTTP_HEADER_TIMEOUT_S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_header_timeout_s: u64,

    /// Seconds a request's body may take to arrive whole (`408` beyond).
    #[arg(long, env = "HONE_HTTP_BODY_TIMEOUT_S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_body_timeout_s: u64,

    /// Seconds a connection may move no byte either way before it is closed (SSE streams
    /// send a heartbeat every 15 s).
    #[arg(long, env = "HONE_HTTP_IDLE_TIMEOUT_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub http_idle_timeout_s: u64,

    /// Connections open at once; more wait to be accepted.
    #[arg(long, env = "HONE_HTTP_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = at_least_one)]
    pub http_max_connections: usize,

    /// Live streams (SSE: `/v1/events`, a job's events, the dashboard's) one API key may hold
    /// open at once (`429` beyond).
    #[arg(long, env = "HONE_MAX_STREAMS_PER_KEY", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_key: u32,

    /// Live streams all of one tenant's keys may hold open together (`429` beyond).
    #[arg(long, env = "HONE_MAX_STREAMS_PER_TENANT", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams_per_tenant: u32,

    /// Live streams the process holds open for everyone (`503` beyond). By default half the
    /// connection cap; it must stay below it, so requests and probes always find connections.
    #[arg(long, env = "HONE_MAX_STREAMS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams: Option<u32>,
}

impl HttpArgs {
    /// The caps on open streams; an error naming the variables when the process's cap would
    /// not leave connections for requests and probes.
    pub fn stream_caps(&self) -> Result<hone_api::live::StreamCaps, String> {
        let connections = self.http_max_connections;
        let total = match self.max_streams {
            None => (connections / 2).max(1),
            Some(n) if (n as usize) < connections => n as usize,
            Some(n) => {
                return Err(format!(
                    "HONE_MAX_STREAMS ({n}) must be below HONE_HTTP_MAX_CONNECTIONS \
                     ({connections}), so that requests and probes always find a connection"
                ));
            }
        };
        Ok(hone_api::live::StreamCaps {
            per_key: self.max_streams_per_key as usize,
            per_tenant: self.max_streams_per_tenant as usize,
            total,
        })
    }
}

/// Which sandbox backend runs code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SandboxKind {
    /// bubblewrap namespaces (the default).
    Bubblewrap,
    /// A plain child process: NO isolation; only for hosts without namespaces.
    Unconfined,
}

/// Where and how code runs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Sandbox")]
pub struct SandboxArgs {
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

    /// Refuse to start when per-run cgroups cannot be made (a container without a writable,
    /// delegated cgroup), rather than fall back to rlimits.
    #[arg(long, env = "HONE_SANDBOX_REQUIRE_CGROUPS", default_value_t = false, action = clap::ArgAction::Set)]
    pub sandbox_require_cgroups: bool,

    /// The longest wall time any job's run may have, in ms (a job asking more gets this).
    #[arg(long, env = "HONE_MAX_TIMEOUT_MS", default_value_t = 60_000)]
    pub max_timeout_ms: u64,

    /// The most memory any job's run may have, in MiB.
    #[arg(long, env = "HONE_MAX_MEMORY_MB", default_value_t = 2_048)]
    pub max_memory_mb: u64,
}

/// How a worker takes and runs jobs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Worker")]
pub struct EngineArgs {
    /// A directory of system prompts for jobs that set none: `actor.md`, `critic.md`, and
    /// per language `actor.python.md`, `critic.javascript.md`, ... (docs/prompts.md).
    #[arg(long, env = "HONE_PROMPTS_DIR")]
    pub prompts_dir: Option<PathBuf>,

    /// Jobs one worker runs at once.
    #[arg(long, env = "HONE_MAX_JOBS", default_value_t = 64)]
    pub max_jobs: usize,

    /// Seconds a worker's lease on a job lasts unless renewed.
    #[arg(long, env = "HONE_LEASE_S", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub lease_s: u64,

    /// How many times infrastructure errors (model or sandbox unavailable, a write the
    /// database refuses) may requeue a job before it fails.
    #[arg(long, env = "HONE_MAX_REQUEUES", default_value_t = 3)]
    pub max_requeues: u32,

    /// How many times a job may be lost by its worker (crashed, killed, or cut off until its
    /// lease expired) before the worker taking it over fails it instead of running it again.
    #[arg(long, env = "HONE_MAX_LEASE_LOSSES", default_value_t = 5)]
    pub max_lease_losses: u32,

    /// The first requeue delay after an infrastructure error, in ms (doubled each time).
    #[arg(long, env = "HONE_REQUEUE_DELAY_MS", default_value_t = 5_000)]
    pub requeue_delay_ms: u64,

    /// This worker's name in leases and `job.started` events (default: a random one).
    #[arg(long, env = "HONE_WORKER_ID")]
    pub worker_id: Option<String>,

    /// At most this many running jobs per tenant across the workers (unset: no cap).
    #[arg(long, env = "HONE_MAX_RUNNING_PER_TENANT")]
    pub max_running_per_tenant: Option<u32>,
}

/// The model providers jobs can name.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Model providers")]
pub struct ModelArgs {
    /// Base URL of the `openai` provider (any OpenAI-compatible server: vLLM, llama.cpp,
    /// Ollama, LiteLLM, ...).
    #[arg(
        long,
        env = "OPENAI_BASE_URL",
        default_value = hone_llm::OPENAI_PUBLIC_URL
    )]
    pub openai_base_url: String,

    /// API key of the `openai` provider (needed for the public endpoint).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    pub openai_api_key: Option<String>,

    /// Base URL of the `anthropic` provider (the Messages API).
    #[arg(
        long,
        env = "ANTHROPIC_BASE_URL",
        default_value = hone_llm::ANTHROPIC_PUBLIC_URL
    )]
    pub anthropic_base_url: String,

    /// API key of the `anthropic` provider (needed for the public endpoint).
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,

    /// The most tokens an `anthropic` answer may have (the API requires a limit).
    #[arg(long, env = "HONE_ANTHROPIC_MAX_TOKENS", default_value_t = 8192)]
    pub anthropic_max_tokens: u32,

    /// At most this many `openai` calls in flight from this process (unset: no limit);
    /// more wait their turn.
    #[arg(long, env = "HONE_OPENAI_MAX_CONCURRENCY")]
    pub openai_max_concurrency: Option<usize>,

    /// At most this many `anthropic` calls in flight from this process (unset: no limit).
    #[arg(long, env = "HONE_ANTHROPIC_MAX_CONCURRENCY")]
    pub anthropic_max_concurrency: Option<usize>,

    /// Seconds before a model request times out.
    #[arg(long, env = "HONE_MODEL_TIMEOUT_S", default_value_t = 120)]
    pub model_timeout_s: u64,

    /// Retries of a failed model request (429, 5xx, network) before the job is requeued.
    #[arg(long, env = "HONE_MODEL_RETRIES", default_value_t = 4)]
    pub model_retries: usize,

    /// Record every `openai` and `anthropic` answer into `DIR/<job id>.jsonl`, a transcript
    /// the `replay` provider can answer from (a real session becomes a regression test).
    #[arg(long, env = "HONE_RECORD_DIR")]
    pub record_dir: Option<PathBuf>,

    /// A JSONL transcript that the `replay` provider answers from.
    #[arg(long, env = "HONE_REPLAY_FILE")]
    pub replay_file: Option<PathBuf>,

    /// The configuration file: named providers and model prices (default: ./hone.toml if
    /// it exists). See docs/models.md.
    #[arg(long = "config", env = "HONE_CONFIG")]
    pub config_file: Option<PathBuf>,
}

/// Which webhook targets are allowed (checked at submission and at delivery).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct TargetArgs {
    /// Allow webhook targets on loopback, private, link-local and reserved addresses (a
    /// receiver on the same network); refused by default.
    #[arg(long, env = "HONE_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
}

/// The tenants' webhook signing secrets.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct SecretArgs {
    /// How long a rotated-out signing secret keeps signing, in seconds.
    #[arg(long, env = "HONE_WEBHOOK_SECRET_OVERLAP_S", default_value_t = 86_400)]
    pub webhook_secret_overlap_s: u64,

    /// The most secrets that sign at once; a rotation beyond it retires the oldest.
    #[arg(long, env = "HONE_WEBHOOK_MAX_SECRETS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub webhook_max_secrets: u32,
}

/// How webhooks are delivered.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Webhooks")]
pub struct DeliveryArgs {
    /// Milliseconds before a delivery try times out.
    #[arg(long, env = "HONE_WEBHOOK_TIMEOUT_MS", default_value_t = 15_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_timeout_ms: u64,

    /// Deliveries in flight at once, per worker.
    #[arg(long, env = "HONE_WEBHOOK_CONCURRENCY", default_value_t = 64)]
    pub webhook_concurrency: usize,

    /// The delays before each try, comma-separated (`0,5s,5m,30m,2h,5h,10h,10h`, the
    /// Standard Webhooks schedule, by default); jitter of 10% is added.
    #[arg(long, env = "HONE_WEBHOOK_SCHEDULE", value_parser = hone_webhook::Schedule::parse)]
    pub webhook_schedule: Option<hone_webhook::Schedule>,
}

/// A count that must be at least 1 (`0` is refused when parsed, naming the flag, rather than
/// raised to 1 later).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::config::Cli;

    #[test]
    fn a_value_it_cannot_honour_is_refused_naming_the_flag() {
        for (flag, value) in [
            ("--http-header-timeout-s", "0"),
            ("--http-body-timeout-s", "0"),
            ("--http-idle-timeout-s", "0"),
            ("--http-max-connections", "0"),
            ("--lease-s", "0"),
            ("--webhook-timeout-ms", "0"),
        ] {
            let refused = Cli::try_parse_from(["hone", "serve", flag, value]);
            let Err(e) = refused else {
                panic!("{flag} {value} was accepted");
            };
            assert!(e.to_string().contains(flag), "{flag}: {e}");
        }
        assert!(Cli::try_parse_from(["hone", "serve", "--lease-s", "1"]).is_ok());
    }
}
