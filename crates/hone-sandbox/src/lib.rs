//! hone's sandbox: runs code that a model wrote and nobody has read.
//!
//! - [`Sandbox`] is the seam: one run of one program with limits, returning raw output.
//! - [`Bubblewrap`] is the default backend (namespaces, no network, an empty environment, a
//!   fresh working directory, rlimits, a wall-clock timer that kills the process tree);
//!   [`Unconfined`] is a plain child process for hosts without namespaces, chosen only
//!   explicitly.
//! - [`runtime`] is the table of languages; [`traceback`] parses error reports;
//!   [`verify`] turns a job's code, tests and test cases into a domain [`Execution`].
//!
//! [`Execution`]: hone_domain::Execution

mod bwrap;
mod cgroup;
mod child;
mod limits;
mod process;
mod rundir;
pub mod runtime;
pub mod seccomp;
mod slots;
pub mod traceback;
mod unconfined;
pub mod verify;
mod warm;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use hone_domain::spec::Limits;

pub use bwrap::Bubblewrap;
pub use runtime::Runtime;
pub use unconfined::Unconfined;

/// One program to run.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// How to run it.
    pub runtime: Runtime,
    /// The whole program source (candidate code, then tests where they belong).
    pub source: String,
    /// Extra files placed, read-only, in the working directory.
    pub files: BTreeMap<String, String>,
    /// Fed to the program; empty input when `None`.
    pub stdin: Option<String>,
    /// The job's limits.
    pub limits: Limits,
}

/// How a run ended, before any interpretation of tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// The program exited with this code.
    Exited(i32),
    /// A signal killed it (not one of ours).
    Signaled(i32),
    /// Our wall-clock timer or the CPU limit killed it.
    Timeout,
    /// It wrote more than the output cap and was killed.
    OutputLimit,
    /// The kernel killed it for exceeding its memory cgroup.
    MemoryLimit,
    /// It failed after the process limit refused a fork.
    ProcessLimit,
}

/// Settings shared by the backends.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where run directories are created.
    pub run_root: PathBuf,
    /// Runs at once; more wait for a slot (the wait does not count against their time).
    pub concurrency: usize,
    /// The `bwrap` binary.
    pub bwrap: PathBuf,
    /// Size of the working directory and of `/tmp` (each), and the largest file.
    pub work_dir_bytes: u64,
    /// When the service runs as root, slot `i` runs as host uid `uid_base + i`.
    pub uid_base: u32,
    /// The cgroup mount to create run groups under; `None` never uses cgroups.
    pub cgroup_root: Option<PathBuf>,
    /// Refuse to start without per-run cgroups, rather than limit memory and processes with
    /// rlimits alone.
    pub require_cgroups: bool,
    /// Service-wide maxima: a job's limits are lowered to these.
    pub max_limits: Limits,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            run_root: std::env::temp_dir(),
            concurrency: std::thread::available_parallelism().map_or(2, usize::from),
            bwrap: PathBuf::from("/usr/bin/bwrap"),
            work_dir_bytes: 64 * 1024 * 1024,
            uid_base: 200_000,
            cgroup_root: Some(PathBuf::from("/sys/fs/cgroup")),
            require_cgroups: false,
            max_limits: Limits {
                timeout_ms: 60_000,
                memory_mb: 2_048,
                max_output_bytes: 16 * 1024 * 1024,
                max_processes: 256,
            },
        }
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// How it ended.
    pub termination: Termination,
    /// Captured stdout, up to the cap (lossy UTF-8).
    pub stdout: String,
    /// Captured stderr, up to the cap (lossy UTF-8).
    pub stderr: String,
    /// stdout went over the cap.
    pub stdout_truncated: bool,
    /// stderr went over the cap.
    pub stderr_truncated: bool,
    /// Wall time of the program, not counting the wait for a slot.
    pub duration: Duration,
    /// What the run used, where the backend measures it.
    pub usage: Option<ResourceUsage>,
}

/// What one run used: its process and every descendant it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceUsage {
    /// CPU time, user and system.
    pub cpu_time: Duration,
    /// Peak resident memory of the largest process, in KiB.
    pub peak_memory_kb: u64,
}

/// The sandbox failed (our fault, not the code's).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The run directory could not be prepared.
    #[error("cannot prepare the run directory: {0}")]
    Prepare(#[source] std::io::Error),
    /// The sandbox process could not be started.
    #[error("cannot start the sandbox ({program}): {source}")]
    Spawn {
        /// What we tried to start.
        program: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Waiting on or reading from the process failed.
    #[error("lost track of the sandboxed process: {0}")]
    Wait(#[source] std::io::Error),
    /// The sandbox itself reported a failure before the program ran.
    #[error("the sandbox failed to start the program: {0}")]
    Setup(String),
    /// The start-up check failed; the message says what is missing.
    #[error("sandbox self-check failed: {0}")]
    SelfCheck(String),
}

/// Runs programs in isolation.
#[async_trait]
pub trait Sandbox: Send + Sync + 'static {
    /// The backend's name (`bubblewrap`, `unconfined`), for logs and readiness.
    fn name(&self) -> &'static str;

    /// Runs one program under `request.limits`.
    async fn run(&self, request: RunRequest) -> Result<RunOutput, SandboxError>;

    /// The service-wide maxima a job's limits are lowered to.
    fn max_limits(&self) -> Limits;
}

/// Runs a tiny program in every runtime the sandbox knows and checks its output, so a host
/// that cannot sandbox is found at start, not on the first job.
pub async fn self_check(sandbox: &dyn Sandbox, runtimes: &[Runtime]) -> Result<(), SandboxError> {
    for runtime in runtimes {
        let request = RunRequest {
            runtime: runtime.clone(),
            source: runtime::hello_world(runtime.language).to_owned(),
            files: BTreeMap::new(),
            stdin: None,
            limits: Limits {
                timeout_ms: 10_000,
                memory_mb: 512,
                max_output_bytes: 4096,
                max_processes: 64,
            },
        };
        let out = sandbox.run(request).await.map_err(|e| {
            SandboxError::SelfCheck(format!("{} runtime: {e}", runtime.language.as_str()))
        })?;
        if out.termination != Termination::Exited(0) || out.stdout.trim() != "ok" {
            return Err(SandboxError::SelfCheck(format!(
                "{} runtime printed {:?} (stderr {:?}, {:?}) instead of \"ok\"",
                runtime.language.as_str(),
                out.stdout,
                out.stderr.trim(),
                out.termination,
            )));
        }
    }
    Ok(())
}
