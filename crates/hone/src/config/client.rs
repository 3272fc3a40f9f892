//! The client commands' configuration: where the service is and the key to call it with.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Secret;

/// The service to talk to.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Service")]
pub struct ClientArgs {
    /// The service's base URL.
    #[arg(
        long,
        env = "HONE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,

    /// The API key to send. Default: the key `hone serve` wrote beside its database
    /// (`./hone.key`), when there is one.
    #[arg(long, env = "HONE_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<Secret>,

    /// Where to read the key from when none is given.
    #[arg(long, default_value = "hone.key", global = true)]
    pub key_file: PathBuf,
}

/// How a command prints what it got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines for people.
    Text,
    /// The API's JSON, one document.
    Json,
}

/// How a command prints: `--output text|json`, or `--json` for short.
#[derive(Debug, Clone, Copy, Args)]
pub struct Format {
    /// How to print what the service answered.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// Print the API's JSON (the same as `--output json`).
    #[arg(long)]
    json: bool,
}

impl Format {
    /// The output chosen.
    pub fn output(self) -> Output {
        if self.json { Output::Json } else { self.output }
    }
}

/// `hone submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// A job spec as JSON (`-` for standard input), as `POST /v1/jobs` takes it.
    pub spec: PathBuf,
    /// Then follow the job until it ends, as `hone watch` does (and exit as it does).
    #[arg(long)]
    pub watch: bool,
    /// How to print.
    #[command(flatten)]
    pub format: Format,
    /// The service.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `hone jobs`: the job history, filtered.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// Only jobs in these statuses (repeat it).
    #[arg(long)]
    pub status: Vec<String>,
    /// Only jobs carrying every one of these tags (repeat it).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Only jobs whose task holds these words.
    #[arg(long)]
    pub q: Option<String>,
    /// At most this many (1 to 500).
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// How to print.
    #[command(flatten)]
    pub format: Format,
    /// The service.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `hone cancel`, `hone retry` and `hone watch`: one job by id.
#[derive(Debug, Args)]
pub struct JobArgs {
    /// The job's id.
    pub id: String,
    /// How to print.
    #[command(flatten)]
    pub format: Format,
    /// The service.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `hone show`: one job, its attempts rendered for a terminal.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The job's id.
    pub id: String,
    /// Only this attempt (1 is the first).
    #[arg(long)]
    pub attempt: Option<u32>,
    /// How to print.
    #[command(flatten)]
    pub format: Format,
    /// The service.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// `hone demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo's service listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Set by the binary: output goes to the process's stdout (a live line on a terminal).
    #[arg(skip)]
    pub terminal: bool,
}

/// What `hone export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportKind {
    /// Preference pairs: a failed attempt's code against the accepted code of its job.
    Preferences,
    /// Accepted jobs as chat transcripts in the chat fine-tuning format.
    Trajectories,
    /// Critiques with the code and run they judged, labelled by whether the next attempt
    /// passed.
    Critiques,
}

/// `hone export`: training data from the caller's jobs, as NDJSON on stdout.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// What to export.
    pub kind: ExportKind,
    /// Only jobs carrying every one of these tags (repeat it).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Only jobs in these languages (repeat it).
    #[arg(long)]
    pub language: Vec<String>,
    /// Only jobs whose actor or critic is one of these models (repeat it).
    #[arg(long)]
    pub model: Vec<String>,
    /// Only jobs whose task holds these words.
    #[arg(long)]
    pub q: Option<String>,
    /// Only jobs created at or after this RFC 3339 time.
    #[arg(long)]
    pub created_after: Option<String>,
    /// Only jobs created before this RFC 3339 time.
    #[arg(long)]
    pub created_before: Option<String>,
    /// Only jobs in these statuses (`critiques` only: the others come from succeeded jobs).
    #[arg(long)]
    pub status: Vec<String>,
    /// Only jobs that ended for these reasons (repeat it).
    #[arg(long)]
    pub reason: Vec<String>,
    /// Only jobs that ran at least this many iterations.
    #[arg(long)]
    pub min_iterations: Option<u32>,
    /// Only jobs that ran at most this many iterations.
    #[arg(long)]
    pub max_iterations: Option<u32>,
    /// `ndjson` (one JSON record a line) or `parquet` (one Parquet file).
    #[arg(long, default_value = "ndjson", value_parser = ["ndjson", "parquet"])]
    pub format: String,
    /// `trajectories` only: add each record's `metadata` (job id, language, model,
    /// iterations, tags, redactions); leave it out for a file to upload as it is.
    #[arg(long)]
    pub with_metadata: bool,
    /// The service.
    #[command(flatten)]
    pub client: ClientArgs,
}
